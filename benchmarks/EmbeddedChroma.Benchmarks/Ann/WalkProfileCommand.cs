using System.Diagnostics;
using System.Text.Json.Nodes;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>walk-profile --data DIR [--graph PATH] [--ef 32] [--walk-ef 20,24,32] [--filters section,size] [--min-share 0.2]
/// [--seconds 1] [--rounds 3] [--m 16] [--ef-construction 128]</c>: the filtered graph walks timed alone, in memory, on
/// the real-text set (<c>ann-gen-debian</c>'s folder: base and query vectors, records' metadata, the filters): per filter
/// of at least <c>min-share</c>, the plain filtered walk (every crossed node's distance exact) and the sketch-steered walk
/// (<see cref="HnswIndex.SearchSketched"/>: disallowed nodes by their sign-sketch estimate) at each walk ef and the sketch
/// scan (<see cref="SignSketch.Search{TKernel}"/> with the planner's shortlist 8·ef and re-rank 3·ef), each paired
/// with the unfiltered walk at <c>ef</c> (rounds alternate, so a slow spell of the machine hits all alike), with
/// recall@10 against the exact top 10 of the allowed rows. The graph (cosine, normalized rows) is built once with two
/// threads and kept at <c>--graph</c>. Measures the walk, not the store.
/// </summary>
internal static class WalkProfileCommand
{
    private const int K = 10;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "walk-profile";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        var folder = options.String("data");
        var graphPath = options.String("graph", Path.Combine(Path.GetTempPath(), "walk-profile.graph"));
        var ef = options.Int("ef", 32);
        var walkEfs = options.String("walk-ef", "20,24,32").Split(',').Select(int.Parse).ToArray();
        var minShare = options.Double("min-share", 0.2);
        var seconds = options.Double("seconds", 1);
        var rounds = options.Int("rounds", 3);
        var m = options.Int("m", 16);
        var efConstruction = options.Int("ef-construction", 128);
        options.ThrowIfUnused();

        var (data, count, dimension, stride) = BigAnnFiles.ReadFbin(Path.Combine(folder, "base.fbin"));
        var (queryData, queryCount, _, queryStride) = BigAnnFiles.ReadFbin(Path.Combine(folder, "queries.fbin"));
        for (var i = 0; i < count; i++)
        {
            VectorMath.Normalize(data.AsSpan(i * stride, dimension), data.AsSpan(i * stride, dimension));
        }

        var rows = new ArrayVectorRows(data, dimension, stride);
        var queries = Enumerable.Range(0, queryCount).Select(q =>
        {
            var query = new float[dimension];
            VectorMath.Normalize(queryData.AsSpan(q * queryStride, dimension), query);
            return query;
        }).ToArray();

        var parameters = new HnswParameters(M: m, EfConstruction: efConstruction, InitialCapacity: count);
        var graph = File.Exists(graphPath) ? HnswIndex.TryLoad(graphPath, rows, DistanceSpace.Cosine, parameters, count) : null;
        if (graph is null)
        {
            graph = HnswIndex.Create(rows, DistanceSpace.Cosine, parameters);
            var seconds0 = AnnRunner.Build(graph.Insert, count, 2);
            graph.Save(graphPath, count);
            Console.WriteLine($"walk-profile: built {count} × {dimension} (M {m}, efC {efConstruction}) in {seconds0:F1} s → {graphPath}");
        }

        var sketch = SignSketch.Build(rows, count);
        var metadata = File.ReadLines(Path.Combine(folder, "records.jsonl")).Select(line => JsonNode.Parse(line)!["metadata"]!.AsObject()).ToArray();
        var everything = Bitmap(count, _ => true);
        var buffer = new Neighbor[K];
        var truth = new Neighbor[K];
        Console.WriteLine($"walk-profile: {count} × {dimension}, {queryCount} queries, unfiltered ef {ef}, sketch {sketch.MemoryBytes / 1048576.0:F1} MiB");
        foreach (var line in File.ReadLines(Path.Combine(folder, "filters.jsonl")))
        {
            var filter = JsonNode.Parse(line)!.AsObject();
            var share = filter["selectivity"]!.GetValue<double>();
            if (share < minShare)
            {
                continue;
            }

            var where = filter["where"]!.AsObject();
            var admitted = Bitmap(count, slot => Matches(metadata[slot], where));
            var expected = queries.Select(q =>
            {
                var found = ExactScan.Search(rows, DistanceSpace.Cosine, q, K, SlotFilter.FromBitmap(admitted), truth);
                return truth.AsSpan(0, found).ToArray().Select(n => n.Slot).ToHashSet();
            }).ToArray();

            double Recall(Func<float[], int> search)
            {
                double hits = 0;
                for (var q = 0; q < queries.Length; q++)
                {
                    var found = search(queries[q]);
                    hits += buffer.AsSpan(0, found).ToArray().Count(n => expected[q].Contains(n.Slot)) / (double)expected[q].Count;
                }

                return hits / queries.Length;
            }

            double Time(Func<float[], int> search)
            {
                var clock = Stopwatch.StartNew();
                var done = 0;
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    search(queries[done++ % queries.Length]);
                }

                return clock.Elapsed.TotalMilliseconds * 1000 / done;
            }

            var variants = new List<(string Name, Func<float[], int> Search)> { ("unfiltered", q => graph.Search(q, K, ef, SlotFilter.FromBitmap(everything), buffer)) };
            foreach (var walkEf in walkEfs)
            {
                variants.Add(($"walk ef {walkEf}", q => graph.Search(q, K, walkEf, SlotFilter.FromBitmap(admitted), buffer)));
                variants.Add(($"sketched ef {walkEf}", q => graph.SearchSketched(q, K, walkEf, admitted, sketch, buffer)));
            }

            variants.Add(("sketch scan", q => sketch.Search<DotDistanceKernel>(rows, q, l2: false, K, Math.Max(3 * ef, 8 * ef), 3 * ef, admitted, buffer)));
            var times = new double[variants.Count];
            for (var round = 0; round < rounds; round++)
            {
                for (var v = 0; v < variants.Count; v++)
                {
                    times[v] += Time(variants[v].Search) / rounds;
                }
            }

            Console.WriteLine($"{filter["name"]!.GetValue<string>()} ({share:P1}):");
            for (var v = 0; v < variants.Count; v++)
            {
                var recall = v == 0 ? double.NaN : Recall(variants[v].Search);
                Console.WriteLine($"  {variants[v].Name,-16} {times[v],8:F1} µs  {times[v] / times[0],5:F2}×  recall@10 {recall:F4}");
            }
        }

        return 0;
    }

    private static ulong[] Bitmap(int count, Func<int, bool> admit)
    {
        var bits = new ulong[(count + 63) / 64];
        for (var slot = 0; slot < count; slot++)
        {
            if (admit(slot))
            {
                bits[slot >> 6] |= 1UL << (slot & 63);
            }
        }

        return bits;
    }

    /// <summary>The filters <c>ann-gen-debian</c> writes: a value, <c>$in</c> a list, or <c>$lt</c> a number, per key.</summary>
    private static bool Matches(JsonObject metadata, JsonObject where)
    {
        foreach (var (key, condition) in where)
        {
            var value = metadata[key];
            var matched = condition switch
            {
                JsonObject { Count: 1 } op when op["$in"] is JsonArray list => list.Any(v => JsonNode.DeepEquals(v, value)),
                JsonObject { Count: 1 } op when op["$lt"] is JsonNode bound => value is not null && value.GetValue<double>() < bound.GetValue<double>(),
                JsonObject => throw new NotSupportedException($"walk-profile: filter {where.ToJsonString()} is not one ann-gen-debian writes"),
                _ => JsonNode.DeepEquals(condition, value),
            };
            if (!matched)
            {
                return false;
            }
        }

        return true;
    }
}
