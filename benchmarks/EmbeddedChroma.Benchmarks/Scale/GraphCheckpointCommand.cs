using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>graph-checkpoint --n 100000 --dim 384 --small 1000 [--rounds 3 --m 16 --efc 100 --folder DIR --out FILE]</c>: what a graph
/// checkpoint writes, at the graph level (no store, so the figures are the file's alone). Builds a cosine graph over
/// clustered rows in batches of 1,000 (all cores), saving whenever the background indexer would (at least
/// <see cref="Storage.VectorIndexer.CheckpointMinimum"/> changes and a quarter of the graph since the last save), then
/// adds <c>--small</c> rows and saves once more (a close after a small change), <c>--rounds</c> times. Each save is timed (flush to disk
/// included) and its bytes counted, against what a whole save of the same graph writes (the format before segments:
/// every save was whole): the build's total, and for the small change both saves are timed in the same run. Also counts
/// how many nodes the small change touched and over how many 4 KiB pages / 256-node blocks of the level-0 block they lie
/// (why a segment of changed nodes rather than blocks rewritten in place).
/// </summary>
internal static class GraphCheckpointCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "graph-checkpoint";

    public static int Run(string[] args)
    {
        var options = new AnnArguments(args);
        int n = options.Int("n", 100_000);
        int dimension = options.Int("dim", 384);
        int small = options.Int("small", 1_000);
        int rounds = options.Int("rounds", 3);
        int m = options.Int("m", 16);
        int efConstruction = options.Int("efc", 100);
        string folder = options.String("folder", Path.Combine(Path.GetTempPath(), "ec-graph-checkpoint"));
        string? output = options.String("out", "") is { Length: > 0 } o ? o : null;
        options.ThrowIfUnused();

        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "graph.hnsw");
        string wholePath = Path.Combine(folder, "whole.hnsw");
        File.Delete(path);
        var rows = new ArrayVectorRows(Clustered(n + (small * rounds), dimension, seed: 17), dimension, dimension);
        var parameters = new HnswParameters(M: m, EfConstruction: efConstruction, Ef: 64, InitialCapacity: n + (small * rounds));
        using var graph = HnswIndex.Create(rows, DistanceSpace.Cosine, parameters);

        // The build, checkpointed as the indexer does.
        long buildBytes = 0;
        long buildWholeBytes = 0;
        double buildSaveSeconds = 0;
        var checkpoints = new List<object>();
        int changes = 0;
        long stamp = 0;
        var build = Stopwatch.StartNew();
        for (int start = 0; start < n; start += 1_000)
        {
            int end = Math.Min(n, start + 1_000);
            Parallel.For(start, end, slot => graph.Insert(slot));
            changes += end - start;
            if (changes >= Math.Max(Storage.VectorIndexer.CheckpointMinimum, graph.Count / 4))
            {
                long whole = graph.WholeSaveBytes;
                var save = Stopwatch.StartNew();
                graph.Save(path, ++stamp);
                double seconds = save.Elapsed.TotalSeconds;
                buildBytes += graph.LastSaveBytes;
                buildWholeBytes += whole;
                buildSaveSeconds += seconds;
                checkpoints.Add(new { nodes = graph.Count, changes, bytes = graph.LastSaveBytes, whole_bytes = whole, appended = graph.LastSaveAppended, ms = Math.Round(seconds * 1000, 1) });
                changes = 0;
            }
        }

        // The close at the end of the build.
        if (changes > 0)
        {
            buildWholeBytes += graph.WholeSaveBytes;
            var save = Stopwatch.StartNew();
            graph.Save(path, ++stamp);
            buildSaveSeconds += save.Elapsed.TotalSeconds;
            buildBytes += graph.LastSaveBytes;
            checkpoints.Add(new { nodes = graph.Count, changes, bytes = graph.LastSaveBytes, whole_bytes = graph.LastSaveBytes, appended = graph.LastSaveAppended, ms = Math.Round(save.Elapsed.TotalMilliseconds, 1) });
        }

        double buildSeconds = build.Elapsed.TotalSeconds;

        // A small change: which nodes it touches (first round), then the appended save; the same graph, loaded from that
        // file into a second object (so the first keeps appending), saved whole to another path: the save before segments.
        // Repeated, and the medians reported: the machine is shared and a single fsync can take a while.
        int[][] before = Links(graph, n);
        int touchedNodes = 0;
        int pages = 0;
        int blocks = 0;
        int recordBytes = (1 + parameters.MaxM0) * sizeof(int);
        int totalPages = (int)(((long)n * recordBytes) + 4095) / 4096;
        var appendMs = new List<double>();
        var wholeMs = new List<double>();
        var loadMs = new List<double>();
        var loadWholeMs = new List<double>();
        long appendBytes = 0;
        int appendNodes = 0;
        long wholeBytes = 0;
        bool appended = true;
        var appendBytesPerRound = new List<long>();
        for (int round = 0; round < rounds; round++)
        {
            int first = n + (round * small);
            Parallel.For(first, first + small, slot => graph.Insert(slot));
            if (round == 0)
            {
                int[][] after = Links(graph, n);
                int[] touched = Enumerable.Range(0, n).Where(slot => !before[slot].AsSpan().SequenceEqual(after[slot])).ToArray();
                touchedNodes = touched.Length + small;
                pages = touched.Select(slot => (long)slot * recordBytes / 4096).Distinct().Count();
                blocks = touched.Select(slot => slot / 256).Distinct().Count();
            }

            var appendTimer = Stopwatch.StartNew();
            graph.Save(path, ++stamp);
            appendMs.Add(appendTimer.Elapsed.TotalMilliseconds);
            appendBytes += graph.LastSaveBytes;
            appendNodes += graph.LastSaveNodes;
            appended &= graph.LastSaveAppended;
            appendBytesPerRound.Add(graph.LastSaveBytes);

            var loadTimer = Stopwatch.StartNew();
            using var copy = HnswIndex.TryLoad(path, rows, DistanceSpace.Cosine, parameters, stamp) ?? throw new InvalidOperationException("The appended file did not load.");
            loadMs.Add(loadTimer.Elapsed.TotalMilliseconds);
            File.Delete(wholePath);
            var wholeTimer = Stopwatch.StartNew();
            copy.Save(wholePath, stamp);
            wholeMs.Add(wholeTimer.Elapsed.TotalMilliseconds);
            wholeBytes += copy.LastSaveBytes;
            var loadWholeTimer = Stopwatch.StartNew();
            using var whole = HnswIndex.TryLoad(wholePath, rows, DistanceSpace.Cosine, parameters, stamp) ?? throw new InvalidOperationException("The whole file did not load.");
            loadWholeMs.Add(loadWholeTimer.Elapsed.TotalMilliseconds);
        }

        appendBytes /= rounds;
        appendNodes /= rounds;
        wholeBytes /= rounds;

        var result = new Dictionary<string, object?>
        {
            ["command"] = "graph-checkpoint",
            ["n"] = n,
            ["dim"] = dimension,
            ["m"] = m,
            ["efc"] = efConstruction,
            ["build_s"] = Math.Round(buildSeconds, 1),
            ["build_checkpoints"] = checkpoints,
            ["build_checkpoint_bytes"] = buildBytes,
            ["build_checkpoint_bytes_whole_only"] = buildWholeBytes,
            ["build_checkpoint_s"] = Math.Round(buildSaveSeconds, 2),
            ["small_change_inserts"] = small,
            ["rounds"] = rounds,
            ["small_change_nodes_touched"] = touchedNodes,
            ["small_change_level0_pages_touched"] = pages,
            ["level0_pages"] = totalPages,
            ["small_change_256_node_blocks_touched"] = blocks,
            ["level0_256_node_blocks"] = (n + 255) / 256,
            ["small_change_save_appended_every_round"] = appended,
            ["small_change_save_nodes"] = appendNodes,
            ["small_change_save_bytes"] = appendBytes,
            ["small_change_save_bytes_per_round"] = appendBytesPerRound,
            ["small_change_save_ms"] = appendMs.Select(v => Math.Round(v, 1)).ToArray(),
            ["whole_save_bytes"] = wholeBytes,
            ["whole_save_ms"] = wholeMs.Select(v => Math.Round(v, 1)).ToArray(),
            ["load_appended_ms"] = loadMs.Select(v => Math.Round(v, 1)).ToArray(),
            ["load_whole_ms"] = loadWholeMs.Select(v => Math.Round(v, 1)).ToArray(),
            ["file_bytes_appended"] = new FileInfo(path).Length,
            ["load_average"] = LoadAverage(),
        };
        string line = JsonSerializer.Serialize(result);
        Console.WriteLine(line);
        if (output is not null)
        {
            File.AppendAllText(output, line + Environment.NewLine);
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{n:N0} x {dimension}: build {buildSeconds:F0} s, {checkpoints.Count} saves wrote {buildBytes / 1e6:F1} MB (whole saves: {buildWholeBytes / 1e6:F1} MB); " +
            $"+{small:N0}: touched {touchedNodes:N0} nodes over {pages:N0} of {totalPages:N0} level-0 pages; save {(appended ? "appended" : "WHOLE")} " +
            $"{appendBytes / 1e6:F2} MB in {Median(appendMs):F0} ms vs whole {wholeBytes / 1e6:F2} MB in {Median(wholeMs):F0} ms (medians of {rounds}); " +
            $"load {Median(loadMs):F0} ms vs {Median(loadWholeMs):F0} ms"));
        return 0;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>Every node's links at every level (level-0 list first), to find the nodes a change touched.</summary>
    private static int[][] Links(HnswIndex graph, int slots)
    {
        var all = new int[slots][];
        var buffer = new int[graph.Parameters.MaxM0];
        var list = new List<int>();
        for (int slot = 0; slot < slots; slot++)
        {
            list.Clear();
            for (int level = 0; level <= graph.MaxLevel; level++)
            {
                int count = graph.GetLinks(slot, level, buffer);
                list.Add(count);
                list.AddRange(buffer.AsSpan(0, count));
            }

            all[slot] = [.. list];
        }

        return all;
    }

    internal static float[] Clustered(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        var centres = new float[100][];
        for (int c = 0; c < centres.Length; c++)
        {
            centres[c] = Enumerable.Range(0, dimension).Select(_ => (float)Gaussian(random)).ToArray();
        }

        var data = new float[count * dimension];
        for (int i = 0; i < count; i++)
        {
            float[] centre = centres[random.Next(centres.Length)];
            Span<float> row = data.AsSpan(i * dimension, dimension);
            double norm = 0;
            for (int d = 0; d < dimension; d++)
            {
                row[d] = centre[d] + (float)(0.5 * Gaussian(random));
                norm += row[d] * row[d];
            }

            float scale = (float)(1 / Math.Sqrt(norm));
            for (int d = 0; d < dimension; d++)
            {
                row[d] *= scale;
            }
        }

        return data;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
