using System.Diagnostics;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>sketch-profile --base B.fbin --queries Q.fbin [--n 0] [--shares 0.01,0.1,0.5] [--shortlist 256] [--rerank 64] [--seconds 2] [--contiguous 0|1]</c>:
/// the sign sketch's filtered scan (<see cref="SignSketch"/>) timed alone, in memory, on the first n rows (normalized,
/// cosine): per share of rows allowed (every ⌈1/share⌉-th... no: a seeded random subset), the ns per query and per
/// allowed row of (a) the Hamming stage alone (shortlist = rerank = k), (b) the whole scan at the given shortlist and
/// re-rank, and (c) an exact scan of the same rows, and the sketch's recall@10 against it. Measures the kernel, not the store.
/// </summary>
internal static class SketchProfileCommand
{
    private const int K = 10;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "sketch-profile";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        var (data, count, dimension, stride) = BigAnnFiles.ReadFbin(options.String("base"));
        var (queryData, queryCount, _, queryStride) = BigAnnFiles.ReadFbin(options.String("queries"));
        var n = options.Int("n", 0) is > 0 and var limit ? Math.Min(limit, count) : count;
        var shares = options.String("shares", "0.01,0.04,0.1,0.2,0.5").Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var shortlist = options.Int("shortlist", 256);
        var rerank = options.Int("rerank", 64);
        var seconds = options.Double("seconds", 2);
        var contiguous = options.Int("contiguous", 0) != 0;
        options.ThrowIfUnused();

        var normalized = new float[n * stride];
        for (var i = 0; i < n; i++)
        {
            VectorMath.Normalize(data.AsSpan(i * stride, dimension), normalized.AsSpan(i * stride, dimension));
        }

        var rows = new ArrayVectorRows(normalized, dimension, stride);

        var build = Stopwatch.StartNew();
        var sketch = SignSketch.Build(rows, n);
        Console.WriteLine($"sketch-profile: {n} × {dimension}, sketch built in {build.Elapsed.TotalMilliseconds:F1} ms ({sketch.MemoryBytes / 1048576.0:F1} MiB)");
        var queries = Enumerable.Range(0, queryCount).Select(q =>
        {
            var query = new float[dimension];
            VectorMath.Normalize(queryData.AsSpan(q * queryStride, dimension), query);
            return query;
        }).ToArray();
        var buffer = new Neighbor[K];
        var truth = new Neighbor[K];
        foreach (var share in shares)
        {
            var random = new Random(1);
            var admitted = new ulong[(n + 63) / 64];
            var allowed = 0;
            for (var i = 0; i < n; i++)
            {
                if (contiguous ? i < share * n : random.NextDouble() < share)
                {
                    admitted[i >> 6] |= 1UL << (i & 63);
                    allowed++;
                }
            }

            double Time(Action<float[]> search)
            {
                var clock = Stopwatch.StartNew();
                var done = 0;
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    search(queries[done++ % queries.Length]);
                }

                return clock.Elapsed.TotalMilliseconds * 1e6 / done;
            }

            var hamming = Time(q => sketch.Search<DotDistanceKernel>(rows, q, l2: false, K, K, K, admitted, buffer));
            var estimates = Time(q => sketch.Search<DotDistanceKernel>(rows, q, l2: false, K, allowed, K, admitted, buffer));
            Console.WriteLine($"  estimate stage over every allowed row: {estimates / 1000:F1} µs ({estimates / allowed:F2} ns/row)");
            var whole = Time(q => sketch.Search<DotDistanceKernel>(rows, q, l2: false, K, shortlist, rerank, admitted, buffer));
            var exact = Time(q => ExactScan.Search(rows, DistanceSpace.Cosine, q, K, admitted, buffer));
            double hits = 0;
            var measured = Math.Min(queries.Length, 300);
            for (var q = 0; q < measured; q++)
            {
                var got = sketch.Search<DotDistanceKernel>(rows, queries[q], l2: false, K, shortlist, rerank, admitted, buffer);
                var expected = ExactScan.Search(rows, DistanceSpace.Cosine, queries[q], K, admitted, truth);
                hits += buffer.AsSpan(0, got).ToArray().Count(h => truth.AsSpan(0, expected).ToArray().Any(t => t.Slot == h.Slot)) / (double)expected;
            }

            Console.WriteLine($"share {share,6:P1} ({allowed,7} rows): hamming stage {hamming / 1000,8:F1} µs ({hamming / allowed,5:F2} ns/row)  whole {whole / 1000,8:F1} µs  exact {exact / 1000,8:F1} µs ({exact / allowed,6:F1} ns/row)  recall@10 {hits / measured:F4}");
        }

        return 0;
    }
}
