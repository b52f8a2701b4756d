using System.Reflection;
using System.Runtime.InteropServices;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// Native hnswlib 0.6.2 (Debian's header-only <c>libhnswlib-dev</c>) through the C-ABI shim
/// <c>benchmarks/native/hnswlib_shim.cpp</c>, built by <c>benchmarks/native/build-hnswlib.sh</c> with
/// <c>g++ -O3 -march=native</c>. l2 → <c>L2Space</c> (squared L2), ip → <c>InnerProductSpace</c> (1 − dot, raw inner
/// product, as Chroma's hnswlib does); cosine runs <c>InnerProductSpace</c> over the normalized rows the harness
/// prepares (hnswlib's python binding normalizes and uses the same space). Labels are slots.
/// </summary>
/// <remarks>
/// <para>The build runs inside the shim: <c>--threads</c> std::threads pull rows from a shared counter and call
/// <c>addPoint</c> (thread-safe for distinct labels), as the python binding's <c>add_items</c> does.</para>
/// <para><see cref="IndexBytes"/>: for the elements added, hnswlib's level-0 block (<c>size_data_per_element_</c> =
/// 2M links + count word + the float32 vector + an 8-byte label), the upper-level link lists
/// (level × <c>size_links_per_element_</c>) and <c>element_levels_</c>; not the unused capacity, the label map, the
/// per-element mutexes or the visited-list pool.</para>
/// </remarks>
internal sealed unsafe partial class HnswlibEngine : IDisposable
{
    private const string Library = "hnswlib_shim";
    private static string? s_libraryPath;
    private nint _index;

    private HnswlibEngine(nint index) => _index = index;

    /// <summary>Where the shim is looked for when <c>--hnswlib-lib</c> is not given: benchmarks/native/build/ above the current or the binary's folder.</summary>
    public static string DefaultLibraryPath()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
            {
                string candidate = Path.Combine(folder.FullName, "benchmarks", "native", "build", "libhnswlib_shim.so");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new ArgumentException("libhnswlib_shim.so not found: run benchmarks/native/build-hnswlib.sh or pass --hnswlib-lib PATH.");
    }

    public static HnswlibEngine Create(string libraryPath, DistanceSpace space, int dimension, int m, int efConstruction, int capacity)
    {
        if (!File.Exists(libraryPath))
        {
            throw new ArgumentException($"--hnswlib-lib: '{libraryPath}' does not exist (run benchmarks/native/build-hnswlib.sh).");
        }

        if (Interlocked.CompareExchange(ref s_libraryPath, libraryPath, null) is null)
        {
            NativeLibrary.SetDllImportResolver(typeof(HnswlibEngine).Assembly, Resolve);
        }

        int kind = space == DistanceSpace.L2 ? 0 : 1;
        nint index = NativeCreate(kind, dimension, capacity, m, efConstruction, 100);
        return index == 0 ? throw new InvalidOperationException("hnsw_shim_create failed.") : new HnswlibEngine(index);
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library ? NativeLibrary.Load(s_libraryPath!) : 0;

    public long Count => NativeCount(_index);

    public long IndexBytes => NativeIndexBytes(_index);

    /// <summary>Adds rows [0, count) (row i at <c>i × stride</c>) as labels 0…count−1 from <paramref name="threads"/> native threads.</summary>
    public void AddAll(float[] data, int count, int stride, int threads)
    {
        fixed (float* rows = data)
        {
            Check(NativeAdd(_index, rows, count, stride, threads), "add");
        }
    }

    public void SetEf(int ef) => Check(NativeSetEf(_index, ef), "set_ef");

    /// <summary>Top-k labels, best first; returns how many were written.</summary>
    public int Search(ReadOnlySpan<float> query, Span<long> labels, Span<float> distances)
    {
        int found;
        fixed (float* q = query)
        fixed (long* l = labels)
        fixed (float* d = distances)
        {
            found = NativeSearch(_index, q, labels.Length, l, d);
        }

        Check(found, "search");
        return found;
    }

    public void Dispose()
    {
        if (_index != 0)
        {
            NativeFree(_index);
            _index = 0;
        }
    }

    private static void Check(int code, string what)
    {
        if (code < 0)
        {
            throw new InvalidOperationException($"hnsw_shim_{what} failed ({code}).");
        }
    }

    [LibraryImport(Library, EntryPoint = "hnsw_shim_create")]
    private static partial nint NativeCreate(int space, int dimension, long maxElements, int m, int efConstruction, long seed);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_add")]
    private static partial int NativeAdd(nint index, float* data, long count, long stride, int threads);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_set_ef")]
    private static partial int NativeSetEf(nint index, int ef);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_search")]
    private static partial int NativeSearch(nint index, float* query, int k, long* labels, float* distances);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_count")]
    private static partial long NativeCount(nint index);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_index_bytes")]
    private static partial long NativeIndexBytes(nint index);

    [LibraryImport(Library, EntryPoint = "hnsw_shim_free")]
    private static partial void NativeFree(nint index);
}
