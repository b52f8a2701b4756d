using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>graph-checkpoint --n 100000 --dim 384 --small 1000 [--m 16 --efc 100 --folder DIR --out FILE]</c>: what a graph
/// checkpoint writes, at the graph level (no store, so the figures are the file's alone). Builds a cosine graph over
/// clustered rows in batches of 1,000 (all cores), saving whenever the background indexer would (at least
/// <see cref="Storage.VectorIndexer.CheckpointMinimum"/> changes and a quarter of the graph since the last save), then
/// adds <c>--small</c> rows and saves once more (a close after a small change). Each save is timed (flush to disk
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
        int m = options.Int("m", 16);
        int efConstruction = options.Int("efc", 100);
        string folder = options.String("folder", Path.Combine(Path.GetTempPath(), "ec-graph-checkpoint"));
        string? output = options.String("out", "") is { Length: > 0 } o ? o : null;
        options.ThrowIfUnused();

        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "graph.hnsw");
        string wholePath = Path.Combine(folder, "whole.hnsw");
        File.Delete(path);
        var rows = new ArrayVectorRows(Clustered(n + small, dimension, seed: 17), dimension, dimension);
        var parameters = new HnswParameters(M: m, EfConstruction: efConstruction, Ef: 64, InitialCapacity: n + small);
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

        // A small change: which nodes it touches, then the appended save and a whole save of the same graph.
        int[][] before = Links(graph, n);
        Parallel.For(n, n + small, slot => graph.Insert(slot));
        int[][] after = Links(graph, n);
        var touched = Enumerable.Range(0, n).Where(slot => !before[slot].AsSpan().SequenceEqual(after[slot])).ToArray();
        int recordBytes = (1 + parameters.MaxM0) * sizeof(int);
        int pages = touched.Select(slot => (long)slot * recordBytes / 4096).Distinct().Count();
        int blocks = touched.Select(slot => slot / 256).Distinct().Count();
        int totalPages = (int)(((long)n * recordBytes) + 4095) / 4096;

        var appendTimer = Stopwatch.StartNew();
        graph.Save(path, ++stamp);
        double appendMs = appendTimer.Elapsed.TotalMilliseconds;
        long appendBytes = graph.LastSaveBytes;
        int appendNodes = graph.LastSaveNodes;
        bool appended = graph.LastSaveAppended;
        File.Delete(wholePath);
        var wholeTimer = Stopwatch.StartNew();
        graph.Save(wholePath, stamp);
        double wholeMs = wholeTimer.Elapsed.TotalMilliseconds;
        long wholeBytes = graph.LastSaveBytes;

        // The appended file loads as the graph.
        var loadTimer = Stopwatch.StartNew();
        using var loaded = HnswIndex.TryLoad(path, rows, DistanceSpace.Cosine, parameters, stamp) ?? throw new InvalidOperationException("The appended file did not load.");
        double loadMs = loadTimer.Elapsed.TotalMilliseconds;
        var loadWholeTimer = Stopwatch.StartNew();
        using var loadedWhole = HnswIndex.TryLoad(wholePath, rows, DistanceSpace.Cosine, parameters, stamp) ?? throw new InvalidOperationException("The whole file did not load.");
        double loadWholeMs = loadWholeTimer.Elapsed.TotalMilliseconds;

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
            ["small_change_nodes_touched"] = touched.Length + small,
            ["small_change_old_nodes_touched"] = touched.Length,
            ["small_change_level0_pages_touched"] = pages,
            ["level0_pages"] = totalPages,
            ["small_change_256_node_blocks_touched"] = blocks,
            ["level0_256_node_blocks"] = (n + 255) / 256,
            ["small_change_save_appended"] = appended,
            ["small_change_save_nodes"] = appendNodes,
            ["small_change_save_bytes"] = appendBytes,
            ["small_change_save_ms"] = Math.Round(appendMs, 1),
            ["whole_save_bytes"] = wholeBytes,
            ["whole_save_ms"] = Math.Round(wholeMs, 1),
            ["load_appended_ms"] = Math.Round(loadMs, 1),
            ["load_whole_ms"] = Math.Round(loadWholeMs, 1),
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
            $"+{small:N0}: touched {touched.Length + small:N0} nodes over {pages:N0} of {totalPages:N0} level-0 pages; save {(appended ? "appended" : "WHOLE")} " +
            $"{appendBytes / 1e6:F2} MB in {appendMs:F0} ms vs whole {wholeBytes / 1e6:F2} MB in {wholeMs:F0} ms; load {loadMs:F0} ms vs {loadWholeMs:F0} ms"));
        return 0;
    }

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

    private static float[] Clustered(int count, int dimension, int seed)
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
