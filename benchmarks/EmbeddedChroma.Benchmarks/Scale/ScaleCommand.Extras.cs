using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Index;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>The columns of issue #17 the first scale runs lacked: filtered queries, hnswlib in the same run, the store without documents.</summary>
internal static partial class ScaleCommand
{
    internal static bool OnOff(AnnArguments options, string name) =>
        options.String(name, "on") switch
        {
            "on" => true,
            "off" => false,
            var other => throw new ArgumentException($"--{name} is on or off; got '{other}'."),
        };

    /// <summary>
    /// Filtered queries: for each bound b of <paramref name="buckets"/>, <c>{"bucket": {"$lt": b}}</c> admits exactly the
    /// rows with <c>row % 1000 &lt; b</c> (b/1000 of them). The exact filtered top-10 is brute force over the admitted rows
    /// (<see cref="ExactScan"/> through <see cref="AnnDataGenerator.ExactTruth"/>, queries in parallel). At the ef that
    /// reached recall 0.95 unfiltered and the next ef of <paramref name="efs"/>, each query set is run single-threaded:
    /// first unfiltered (the same queries, the baseline of the ratio), then once per bound.
    /// </summary>
    private static void FilteredQueries(
        Collection collection, float[] data, int n, int dimension, int stride, float[][] allQueries, int count, int[] buckets, int[] efs, int? ef95,
        Dictionary<string, object?> result)
    {
        var queries = allQueries.AsSpan(0, count).ToArray();
        float[] flat = new float[count * dimension];
        for (int q = 0; q < count; q++)
        {
            queries[q].CopyTo(flat, q * dimension);
        }

        var rows = new ArrayVectorRows(data, dimension, stride);
        var truths = new Dictionary<int, int[]>();
        var computing = Stopwatch.StartNew();
        foreach (int bound in buckets)
        {
            var admitted = new ulong[(n + 63) / 64];
            for (int row = 0; row < n; row++)
            {
                if (row % 1000 < bound)
                {
                    admitted[row >> 6] |= 1UL << (row & 63);
                }
            }

            truths[bound] = AnnDataGenerator.ExactTruth(rows, DistanceSpace.Cosine, flat, dimension, K, admitted);
        }

        result["filtered_truth_seconds"] = computing.Elapsed.TotalSeconds;
        Console.WriteLine($"  filtered truth for {count} queries × {buckets.Length} filters in {computing.Elapsed.TotalSeconds:F1} s");

        var sorted = efs.Order().ToArray();
        int first = ef95 ?? sorted[^1];
        var measuredEfs = new List<int> { first };
        int next = Array.FindIndex(sorted, e => e > first);
        if (next >= 0)
        {
            measuredEfs.Add(sorted[next]);
        }

        var points = new List<Dictionary<string, object?>>();
        var latencies = new double[count];
        foreach (int ef in measuredEfs)
        {
            collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
            var unfiltered = QueryPass(collection, queries, null, null, latencies);
            Console.WriteLine($"  filtered @ ef {ef}: unfiltered baseline p50 {unfiltered.P50Ms:F3} ms, p99 {unfiltered.P99Ms:F3} ms, {unfiltered.Qps:F0} QPS");
            foreach (int bound in buckets)
            {
                var plans = Plans(collection, queries, Where.Lt("bucket", bound));
                var pass = QueryPass(collection, queries, Where.Lt("bucket", bound), truths[bound], latencies);
                var point = new Dictionary<string, object?>
                {
                    ["ef"] = ef,
                    ["selectivity"] = bound / 1000.0,
                    ["where"] = "{\"bucket\": {\"$lt\": " + bound.ToString(CultureInfo.InvariantCulture) + "}}",
                    ["recall_at_10"] = pass.Recall,
                    ["p50_ms"] = pass.P50Ms,
                    ["p99_ms"] = pass.P99Ms,
                    ["qps"] = pass.Qps,
                    ["unfiltered_p50_ms"] = unfiltered.P50Ms,
                    ["unfiltered_p99_ms"] = unfiltered.P99Ms,
                    ["unfiltered_qps"] = unfiltered.Qps,
                    ["p50_over_unfiltered"] = pass.P50Ms / unfiltered.P50Ms,
                    ["p99_over_unfiltered"] = pass.P99Ms / unfiltered.P99Ms,
                    ["plans"] = plans,
                };
                points.Add(point);
                Console.WriteLine(
                    $"  filtered @ ef {ef}, {bound / 10.0,4:0.#} %: recall@10 {pass.Recall:F4}, p50 {pass.P50Ms:F3} ms ({pass.P50Ms / unfiltered.P50Ms:F2}× unfiltered), " +
                    $"p99 {pass.P99Ms:F3} ms ({pass.P99Ms / unfiltered.P99Ms:F2}×), {pass.Qps:F0} QPS; plans " +
                    string.Join(", ", plans.Select(p => $"{p.Key} {p.Value}")));
            }
        }

        result["filtered_queries"] = count;
        result["filtered_curve"] = points;
    }

    /// <summary>
    /// The store's query plan per query ("filtered" = exact scan of the allowed rows, "graph" = the walk with the filter
    /// inside it) from the "embeddedchroma.query.plan" tag of its activities, in an untimed pass over (up to) 50 of the
    /// queries: listening to activities costs time, so the timed pass runs without the listener.
    /// </summary>
    private static Dictionary<string, int> Plans(Collection collection, float[][] queries, Where where)
    {
        var plans = new Dictionary<string, int>(StringComparer.Ordinal);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "EmbeddedChroma",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("embeddedchroma.query.plan") is string plan)
                {
                    lock (plans)
                    {
                        plans[plan] = plans.GetValueOrDefault(plan) + 1;
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        for (int q = 0; q < Math.Min(50, queries.Length); q++)
        {
            collection.Query([queries[q]], K, where: where, include: Include.None);
        }

        return plans;
    }

    private readonly record struct Pass(double Recall, double P50Ms, double P99Ms, double Qps);

    /// <summary>Every query once, single-threaded, ids only, after 10 untimed warm-up queries; recall against <paramref name="truth"/> (−1 = no row).</summary>
    private static Pass QueryPass(Collection collection, float[][] queries, Where? where, int[]? truth, double[] latencies)
    {
        for (int q = 0; q < Math.Min(10, queries.Length); q++)
        {
            collection.Query([queries[q]], K, where: where, include: Include.None);
        }

        int hits = 0;
        int expected = 0;
        var all = Stopwatch.StartNew();
        for (int q = 0; q < queries.Length; q++)
        {
            long before = Stopwatch.GetTimestamp();
            var ids = collection.Query([queries[q]], K, where: where, include: Include.None).Ids[0];
            latencies[q] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
            if (truth is not null)
            {
                var row = truth.AsSpan(q * K, K);
                foreach (int t in row)
                {
                    expected += t >= 0 ? 1 : 0;
                }

                foreach (string id in ids)
                {
                    hits += row.Contains(int.Parse(id.AsSpan(1), CultureInfo.InvariantCulture)) ? 1 : 0;
                }
            }
        }

        double seconds = all.Elapsed.TotalSeconds;
        var used = latencies.AsSpan(0, queries.Length).ToArray();
        return new Pass(expected == 0 ? 0 : hits / (double)expected, Percentile(used, 0.50), Percentile(used, 0.99), queries.Length / seconds);
    }

    /// <summary>
    /// Native hnswlib (M 16, ef_construction 100, <paramref name="threads"/> build threads) from the same normalized rows,
    /// built in this process once the store's index is ready and its memory was measured; then, per ef ascending, a
    /// store pass and an hnswlib pass over the same queries (single-threaded, k = 10, after 20 warm-up queries each),
    /// until both pass recall 0.995. The index is freed before returning.
    /// </summary>
    private static void HnswlibAnchor(
        Collection collection, string library, float[] data, int n, int dimension, int stride, float[][] queries, int[] truth, int[] efs, int threads,
        Dictionary<string, object?> result)
    {
        Console.WriteLine($"  hnswlib anchor: building {n} × {dimension} (M 16, ef_construction 100, {threads} threads) …");
        using var index = HnswlibEngine.Create(library, DistanceSpace.Cosine, dimension, 16, 100, n);
        var building = Stopwatch.StartNew();
        index.AddAll(data, n, stride, threads);
        double buildSeconds = building.Elapsed.TotalSeconds;
        if (index.Count != n)
        {
            throw new InvalidOperationException($"hnswlib holds {index.Count} vectors after adding {n}.");
        }

        result["hnswlib_build_seconds"] = buildSeconds;
        result["hnswlib_build_threads"] = threads;
        result["hnswlib_index_bytes"] = index.IndexBytes;
        result["index_ready_over_hnswlib_build"] = result["index_ready_seconds"] is double ready ? ready / buildSeconds : null;
        Console.WriteLine($"  hnswlib built in {buildSeconds:F1} s ({index.IndexBytes / 1048576.0:F0} MiB vectors + links)");

        var labels = new long[K];
        var distances = new float[K];
        var latencies = new double[queries.Length];
        var points = new List<Dictionary<string, object?>>();
        (int Ef, double Recall, double Qps)? store95 = null, hnswlib95 = null;
        foreach (int ef in efs.Order())
        {
            collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
            for (int q = 0; q < Math.Min(20, queries.Length); q++)
            {
                collection.Query([queries[q]], K, include: Include.None);
            }

            var store = QueryPass(collection, queries, null, truth, latencies);

            index.SetEf(ef);
            for (int q = 0; q < Math.Min(20, queries.Length); q++)
            {
                index.Search(queries[q], labels, distances);
            }

            int hits = 0;
            var all = Stopwatch.StartNew();
            for (int q = 0; q < queries.Length; q++)
            {
                long before = Stopwatch.GetTimestamp();
                int found = index.Search(queries[q], labels, distances);
                latencies[q] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
                var expected = truth.AsSpan(q * K, K);
                for (int i = 0; i < found; i++)
                {
                    hits += expected.Contains((int)labels[i]) ? 1 : 0;
                }
            }

            var native = new Pass(hits / (double)(queries.Length * K), Percentile(latencies, 0.50), Percentile(latencies, 0.99), queries.Length / all.Elapsed.TotalSeconds);
            points.Add(new Dictionary<string, object?>
            {
                ["ef"] = ef,
                ["store_recall_at_10"] = store.Recall,
                ["store_p50_ms"] = store.P50Ms,
                ["store_p99_ms"] = store.P99Ms,
                ["store_qps"] = store.Qps,
                ["hnswlib_recall_at_10"] = native.Recall,
                ["hnswlib_p50_ms"] = native.P50Ms,
                ["hnswlib_p99_ms"] = native.P99Ms,
                ["hnswlib_qps"] = native.Qps,
                ["qps_ratio"] = store.Qps / native.Qps,
            });
            Console.WriteLine(
                $"  ef {ef,4}: store recall {store.Recall:F4} {store.Qps:F0} QPS (p50 {store.P50Ms:F3} ms) | hnswlib recall {native.Recall:F4} " +
                $"{native.Qps:F0} QPS (p50 {native.P50Ms:F3} ms) | {store.Qps / native.Qps:F2}×");
            if (store95 is null && store.Recall >= 0.95)
            {
                store95 = (ef, store.Recall, store.Qps);
            }

            if (hnswlib95 is null && native.Recall >= 0.95)
            {
                hnswlib95 = (ef, native.Recall, native.Qps);
            }

            if (store.Recall >= 0.995 && native.Recall >= 0.995)
            {
                break;
            }
        }

        result["anchor_curve"] = points;
        result["anchor_store_ef_095"] = store95?.Ef;
        result["anchor_store_qps_095"] = store95?.Qps;
        result["anchor_hnswlib_ef_095"] = hnswlib95?.Ef;
        result["anchor_hnswlib_qps_095"] = hnswlib95?.Qps;
        result["qps_095_over_hnswlib"] = store95 is { } s && hnswlib95 is { } h ? s.Qps / h.Qps : null;
        Console.WriteLine(
            $"  at recall 0.95: store ef {store95?.Ef} {store95?.Qps:F0} QPS, hnswlib ef {hnswlib95?.Ef} {hnswlib95?.Qps:F0} QPS: " +
            $"{(store95 is { } a && hnswlib95 is { } b ? (a.Qps / b.Qps).ToString("F2", CultureInfo.InvariantCulture) : "–")}×");
    }

    /// <summary>
    /// Disk against the raw float32 vectors (n × dim × 4): the ratio, each file's length and allocated bytes (the arena's
    /// capacity slack is a sparse tail when never written), and the SQLite file by table and index (<see cref="SqliteBreakdown"/>).
    /// </summary>
    private static void DiskReport(string folder, int n, int dimension, Dictionary<string, object?> result)
    {
        long raw = (long)n * dimension * sizeof(float);
        var disk = (Dictionary<string, long>)result["disk_bytes"]!;
        result["disk_over_raw_vectors"] = disk["total"] / (double)raw;
        var files = new Dictionary<string, object?>(StringComparer.Ordinal);
        long allocated = 0;
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            long blocks = AllocatedBytes(file.FullName);
            allocated += Math.Max(0, blocks);
            files[Path.GetRelativePath(folder, file.FullName)] = new Dictionary<string, long> { ["length"] = file.Length, ["allocated"] = blocks };
        }

        result["disk_files"] = files;
        result["disk_allocated_bytes"] = allocated;
        result["disk_allocated_over_raw_vectors"] = allocated / (double)raw;
        var sqlite = SqliteBreakdown(Path.Combine(folder, "chroma.sqlite3"));
        if (sqlite is not null)
        {
            result["sqlite_breakdown"] = sqlite;
        }

        Console.WriteLine(
            $"  disk {disk["total"] / 1048576.0:F0} MiB = {disk["total"] / (double)raw:F2}× the raw vectors ({raw / 1048576.0:F0} MiB); allocated " +
            $"{allocated / 1048576.0:F0} MiB = {allocated / (double)raw:F2}×; " + string.Join(", ", disk.Where(d => d.Key != "total").Select(d => $"{d.Key} {d.Value / 1048576.0:F0} MiB")));
    }

    /// <summary>st_blocks × 512 through <c>stat</c> (−1 when it cannot be read).</summary>
    private static long AllocatedBytes(string path)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", path]) { RedirectStandardOutput = true, UseShellExecute = false });
            if (process is null)
            {
                return -1;
            }

            string[] parts = process.StandardOutput.ReadToEnd().Trim().Split(' ');
            process.WaitForExit();
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * long.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>
    /// The closed store's SQLite file, read-only: page size, page count, free pages, and bytes per table or index from the
    /// <c>dbstat</c> virtual table when this SQLite build has it (null when the file cannot be read).
    /// </summary>
    private static Dictionary<string, object?>? SqliteBreakdown(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var breakdown = new Dictionary<string, object?>(StringComparer.Ordinal);
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            long Scalar(string sql)
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            long pageSize = Scalar("PRAGMA page_size");
            breakdown["page_size"] = pageSize;
            breakdown["page_count"] = Scalar("PRAGMA page_count");
            breakdown["freelist_pages"] = Scalar("PRAGMA freelist_count");
            breakdown["freelist_bytes"] = Scalar("PRAGMA freelist_count") * pageSize;
            try
            {
                var tables = new Dictionary<string, long>(StringComparer.Ordinal);
                using var command = connection.CreateCommand();
                command.CommandText = "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    tables[reader.GetString(0)] = reader.GetInt64(1);
                }

                breakdown["bytes_by_table"] = tables;
                Console.WriteLine(
                    $"  sqlite: {breakdown["freelist_bytes"]} free bytes; by table: " +
                    string.Join(", ", tables.Take(8).Select(t => $"{t.Key} {t.Value / 1048576.0:F1} MiB")));
            }
            catch (SqliteException e)
            {
                // The bundled SQLite is built without dbstat; Debian's sqlite3 command line has it.
                var tables = DbstatByCommandLine(path);
                breakdown["bytes_by_table"] = tables is null ? "dbstat unavailable: " + e.Message : tables;
                if (tables is not null)
                {
                    Console.WriteLine(
                        $"  sqlite: {breakdown["freelist_bytes"]} free bytes; by table (sqlite3 dbstat): " +
                        string.Join(", ", tables.Take(8).Select(t => $"{t.Key} {t.Value / 1048576.0:F1} MiB")));
                }
            }
        }
        catch (SqliteException e)
        {
            breakdown["error"] = e.Message;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
        }

        return breakdown;
    }

    /// <summary>Bytes per table or index from <c>sqlite3 -readonly FILE</c>'s <c>dbstat</c> (null when the command is missing or fails).</summary>
    private static Dictionary<string, long>? DbstatByCommandLine(string path)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("sqlite3", ["-readonly", "-separator", "\t", path, "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            string output = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                return null;
            }

            var tables = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string[] parts = line.Split('\t');
                tables[parts[0]] = long.Parse(parts[1], CultureInfo.InvariantCulture);
            }

            return tables;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
