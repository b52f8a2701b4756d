using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cloud.Unum.USearch;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// A USearch dense index over slots 0…n−1 used as keys, for the <c>ann</c> comparison, storing its vector copies as
/// float32 (engine <c>usearch</c>) or in USearch's own scalar quantization: <c>usearch-f16</c> (IEEE half) or
/// <c>usearch-i8</c> (USearch's int8 cast: each component ×127, rounded and clamped, which assumes components in
/// [−1, 1], i.e. normalized vectors; meant for cosine). Vectors are always passed in and queried as float32;
/// USearch converts them on add and on search. Metric mapping: l2 → squared L2 (<see cref="MetricKind.L2sq"/>), cosine → <see cref="MetricKind.Cos"/>,
/// ip → <see cref="MetricKind.Ip"/>; connectivity = M, expansion_add = efConstruction, expansion_search = ef.
/// </summary>
/// <remarks>
/// <para>Thread safety (from <c>index_dense.hpp</c>): every add or search borrows one of the index's per-thread
/// contexts (<c>thread_lock_(any_thread())</c>, a mutex-guarded pool sized by <c>threads_add</c> /
/// <c>threads_search</c>), so adds from several threads are safe once capacity is reserved; <c>reserve</c> itself is
/// not thread-safe, hence <see cref="Create"/> reserves the full capacity up front. The C# binding has no batch
/// multi-threaded add (its <c>Add(keys, vectors)</c> loops on the calling thread), so the build runs our own threads.</para>
/// <para>USearch keeps its own copy of every vector: <see cref="MemoryBytes"/> includes n × dim × 4 (f16: 2, i8: 1) bytes of vectors,
/// unlike <see cref="EmbeddedChroma.Index.Hnsw.HnswIndex.MemoryBytes"/>, which counts the graph only.</para>
/// </remarks>
internal sealed unsafe class USearchEngine : IDisposable
{
    private nint _index;

    private USearchEngine(nint index) => _index = index;

    /// <summary>The engine names the <c>ann</c> harness accepts for USearch, with the storage scalar kind of each.</summary>
    public static bool TryParseEngine(string engine, out ScalarKind quantization)
    {
        quantization = engine switch
        {
            "usearch" or "usearch-f32" => ScalarKind.Float32,
            "usearch-f16" => ScalarKind.Float16,
            "usearch-i8" => ScalarKind.Int8,
            _ => ScalarKind.Unknown,
        };
        return quantization != ScalarKind.Unknown;
    }

    /// <summary>Bytes one stored component takes for <paramref name="quantization"/>.</summary>
    public static int BytesPerComponent(ScalarKind quantization) => quantization switch
    {
        ScalarKind.Float16 => 2,
        ScalarKind.Int8 => 1,
        _ => sizeof(float),
    };

    public static USearchEngine Create(DistanceSpace space, int dimension, int m, int efConstruction, int capacity, int threads, ScalarKind quantization = ScalarKind.Float32)
    {
        MetricKind metric = space switch
        {
            DistanceSpace.L2 => MetricKind.L2sq,
            DistanceSpace.Cosine => MetricKind.Cos,
            DistanceSpace.InnerProduct => MetricKind.Ip,
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, null),
        };
        var options = new IndexOptions(metric, 0, quantization, (ulong)dimension, (ulong)m, (ulong)efConstruction, 64, false);
        nint error = 0;
        nint index = USearchNative.Init(&options, &error);
        USearchNative.ThrowIfError(error, "init");
        var engine = new USearchEngine(index);
        USearchNative.Reserve(index, (nuint)capacity, &error);
        USearchNative.ThrowIfError(error, "reserve");
        USearchNative.ChangeThreadsAdd(index, (nuint)Math.Max(threads, 1), &error);
        USearchNative.ThrowIfError(error, "change_threads_add");
        USearchNative.ChangeThreadsSearch(index, (nuint)Math.Max(threads, 1), &error);
        USearchNative.ThrowIfError(error, "change_threads_search");
        return engine;
    }

    public int Count
    {
        get
        {
            nint error = 0;
            nuint size = USearchNative.Size(_index, &error);
            USearchNative.ThrowIfError(error, "size");
            return (int)size;
        }
    }

    /// <summary><c>index_dense_t::memory_usage()</c>: graph, key lookup table and the vector copies.</summary>
    public long MemoryBytes
    {
        get
        {
            nint error = 0;
            nuint bytes = USearchNative.MemoryUsage(_index, &error);
            USearchNative.ThrowIfError(error, "memory_usage");
            return (long)bytes;
        }
    }

    /// <summary>Length of the saved index (header, graph and vectors).</summary>
    public long SerializedBytes
    {
        get
        {
            nint error = 0;
            nuint bytes = USearchNative.SerializedLength(_index, &error);
            USearchNative.ThrowIfError(error, "serialized_length");
            return (long)bytes;
        }
    }

    /// <summary>The SIMD target USearch dispatched to for this metric (e.g. "skylake", "sapphire").</summary>
    public string HardwareAcceleration
    {
        get
        {
            nint error = 0;
            nint name = USearchNative.HardwareAcceleration(_index, &error);
            USearchNative.ThrowIfError(error, "hardware_acceleration");
            return Marshal.PtrToStringUTF8(name) ?? "serial";
        }
    }

    /// <summary>Adds <paramref name="vector"/> under <paramref name="key"/> (copied). Safe from several threads.</summary>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        nint error = 0;
        fixed (float* row = vector)
        {
            USearchNative.Add(_index, key, row, ScalarKind.Float32, &error);
        }

        USearchNative.ThrowIfError(error, "add");
    }

    /// <summary>Sets the search-time candidate list size (ef). Not thread-safe with searches in flight.</summary>
    public void SetExpansionSearch(int ef)
    {
        nint error = 0;
        USearchNative.ChangeExpansionSearch(_index, (nuint)ef, &error);
        USearchNative.ThrowIfError(error, "change_expansion_search");
    }

    /// <summary>Top-k keys, best first; returns how many were written.</summary>
    public int Search(ReadOnlySpan<float> query, Span<ulong> keys, Span<float> distances)
    {
        nint error = 0;
        nuint found;
        fixed (float* q = query)
        fixed (ulong* k = keys)
        fixed (float* d = distances)
        {
            found = USearchNative.Search(_index, q, ScalarKind.Float32, (nuint)keys.Length, k, d, &error);
        }

        USearchNative.ThrowIfError(error, "search");
        return (int)found;
    }

    /// <summary>
    /// Top-k keys among those whose bit is set in <paramref name="admitted"/> (a bitmap over keys, pinned for the
    /// call). USearch calls back into managed code for each candidate it
    /// considers for the result set, so the filtered figures include one reverse P/Invoke per such candidate.
    /// </summary>
    public int FilteredSearch(ReadOnlySpan<float> query, ulong[] admitted, Span<ulong> keys, Span<float> distances)
    {
        nint error = 0;
        nuint found;
        fixed (float* q = query)
        fixed (ulong* k = keys)
        fixed (float* d = distances)
        fixed (ulong* bits = admitted)
        {
            found = USearchNative.FilteredSearch(_index, q, ScalarKind.Float32, (nuint)keys.Length, &IsAdmitted, bits, k, d, &error);
        }

        USearchNative.ThrowIfError(error, "filtered_search");
        return (int)found;
    }

    public void Dispose()
    {
        if (_index != 0)
        {
            nint error = 0;
            USearchNative.Free(_index, &error);
            _index = 0;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int IsAdmitted(ulong key, void* state) => (int)((((ulong*)state)[key >> 6] >> (int)(key & 63)) & 1);
}
