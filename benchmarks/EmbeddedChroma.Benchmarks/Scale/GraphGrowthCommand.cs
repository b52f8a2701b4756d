using System.Diagnostics;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>graph-growth [--capacity 640000 --nodes 2000 --dim 384 --rounds 5]</c>: how long searches wait while the graph
/// grows ahead of its inserts (<see cref="HnswIndex.Reserve"/>, what the background indexer calls between its chunks).
/// A cosine graph of <c>--nodes</c> clustered rows with room for <c>--capacity</c> slots (the arrays' size, and so the
/// copy's, depends on the capacity alone); one thread searches it over and over, timing each search, while the main
/// thread doubles the room, <c>--rounds</c> times on fresh graphs: the longest search during each growth against the
/// longest before it, and the growth's own time.
/// </summary>
internal static class GraphGrowthCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "graph-growth";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        int capacity = options.Int("capacity", 640_000);
        int nodes = options.Int("nodes", 2_000);
        int dimension = options.Int("dim", 384);
        int rounds = options.Int("rounds", 5);
        options.ThrowIfUnused();

        var rows = new ArrayVectorRows(GraphCheckpointCommand.Clustered(nodes, dimension, seed: 23), dimension, dimension);
        var allowed = new ulong[(capacity + 63) / 64 * 2];
        Array.Fill(allowed, ulong.MaxValue);
        for (int round = 0; round < rounds; round++)
        {
            using var graph = HnswIndex.Create(rows, DistanceSpace.Cosine, new HnswParameters(M: 16, EfConstruction: 100, Ef: 64, InitialCapacity: capacity));
            for (int slot = 0; slot < nodes; slot++)
            {
                graph.Insert(slot);
            }

            double longestBefore = 0;
            double longestDuring = 0;
            int phase = 0; // 0: before the growth, 1: during it, 2: done
            var searcher = new Thread(() =>
            {
                var found = new Neighbor[10];
                var filter = SlotFilter.FromBitmap(allowed);
                for (int q = 0; Volatile.Read(ref phase) < 2; q++)
                {
                    int now = Volatile.Read(ref phase);
                    long start = Stopwatch.GetTimestamp();
                    graph.Search(rows.GetRow(q % nodes), 10, 64, filter, found);
                    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    if (now == 0)
                    {
                        longestBefore = Math.Max(longestBefore, ms);
                    }
                    else if (Volatile.Read(ref phase) == 1)
                    {
                        longestDuring = Math.Max(longestDuring, ms);
                    }
                }
            });
            searcher.Start();
            Thread.Sleep(300);
            Volatile.Write(ref phase, 1);
            long grow = Stopwatch.GetTimestamp();
            graph.Reserve(capacity + 1);
            double growMs = Stopwatch.GetElapsedTime(grow).TotalMilliseconds;
            Thread.Sleep(50);
            Volatile.Write(ref phase, 2);
            searcher.Join();
            Console.WriteLine($"graph-growth {capacity} → {graph.Capacity} slots: Reserve {growMs:F1} ms; longest search during it {longestDuring:F2} ms (before it {longestBefore:F2} ms)");
        }

        return 0;
    }
}
