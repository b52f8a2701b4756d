using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// The C entry points of the <c>libusearch_c</c> native library that the Cloud.Unum.USearch package ships
/// (<c>runtimes/&lt;rid&gt;/native</c>), declared here because the package's managed wrapper
/// (<see cref="USearchIndex"/>) does not expose them: it has no <c>reserve</c>, no way to change
/// <c>expansion_search</c> after construction, no memory usage, no filtered search, and its <c>Search</c> allocates
/// two result arrays per call. Signatures follow <c>c/usearch.h</c> of USearch 2.26; <see cref="IndexOptions"/> is the
/// package's own mirror of <c>usearch_init_options_t</c>. Every call takes a <c>char const** error</c> out-parameter
/// that is left null on success.
/// </summary>
internal static unsafe partial class USearchNative
{
    private const string Library = "libusearch_c";

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    public static partial nint Init(IndexOptions* options, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    public static partial void Free(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    public static partial void Reserve(nint index, nuint capacity, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    public static partial void ChangeThreadsAdd(nint index, nuint threads, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    public static partial void ChangeThreadsSearch(nint index, nuint threads, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    public static partial void ChangeExpansionSearch(nint index, nuint expansion, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_add")]
    public static partial void Add(nint index, ulong key, float* vector, ScalarKind kind, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    public static partial nuint Search(nint index, float* query, ScalarKind kind, nuint count, ulong* keys, float* distances, nint* error);

    /// <summary><c>filter(key, state)</c> returns non-zero for keys that may be returned; the walk still passes through the others.</summary>
    [LibraryImport(Library, EntryPoint = "usearch_filtered_search")]
    public static partial nuint FilteredSearch(
        nint index, float* query, ScalarKind kind, nuint count, delegate* unmanaged[Cdecl]<ulong, void*, int> filter, void* state,
        ulong* keys, float* distances, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_size")]
    public static partial nuint Size(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_memory_usage")]
    public static partial nuint MemoryUsage(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_serialized_length")]
    public static partial nuint SerializedLength(nint index, nint* error);

    [LibraryImport(Library, EntryPoint = "usearch_hardware_acceleration")]
    public static partial nint HardwareAcceleration(nint index, nint* error);

    /// <summary>Throws when a call set its error string (a static or leaked C string; never freed here).</summary>
    public static void ThrowIfError(nint error, string operation)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"usearch_{operation} failed: {Marshal.PtrToStringUTF8(error)}");
        }
    }
}
