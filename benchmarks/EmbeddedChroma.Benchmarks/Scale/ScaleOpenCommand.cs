using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Benchmarks.Ann;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Benchmarks.Scale;

/// <summary>
/// <c>scale-build</c> and <c>scale-open</c>: the store's own resident memory and open time at scale, measured in a process
/// that holds nothing but the store (issue #17).
/// <code>
/// scale-build --data DIR (ann-gen folder) --n N --folder STORE [--documents on|off]  builds the scale collection (as `scale` does) and
///                                                                  closes it; the admin key goes to STORE.key
/// scale-open  --data DIR --folder STORE [--queries 200] [--ef 0 (the collection's)] [--where-document 0|1]
///             [--json OUT]
/// </code>
/// <para><c>scale-open</c>, in a fresh process: Open, GetClient, GetCollection, the first query (which loads the
/// collection: slot map, arena, graph), each step's time and the load's own steps (<see cref="OpenTrace"/>); then every
/// query once (p50); then the resident memory while querying — VmRSS and its anonymous / file / shared parts, the
/// resident bytes of each mapping kind from <c>/proc/self/smaps</c> (arena <c>.vec</c>, graph <c>.hnsw</c>, filter
/// index <c>.flt</c>, SQLite files, code, anonymous), the GC heap (<see cref="GC.GetGCMemoryInfo()"/>) and SQLite's
/// own allocations (<c>sqlite3_memory_used</c>, mostly page cache) — against the collection's float32 vectors and graph.
/// With <c>--where-document 1</c>, then the first and second <c>where_document</c> get (<c>$contains</c>).</para>
/// </summary>
internal static class ScaleOpenCommand
{
    private const int K = 10;

    public static bool Handles(string[] args) => args.Length > 0 && args[0] is "scale-build" or "scale-open";

    public static int Run(string[] args)
    {
        try
        {
            var options = new AnnArguments(args);
            return args[0] == "scale-build" ? Build(options) : Open(options);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    private static int Build(AnnArguments options)
    {
        var (data, n, dimension, stride) = ScaleCommand.LoadBase(options.String("data"), options.Int("n"));
        string folder = options.String("folder");
        bool documents = ScaleCommand.OnOff(options, "documents");
        options.ThrowIfUnused();
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new ArgumentException($"--folder {folder} must be new or empty.");
        }

        using (var store = ChromaStore.Create(folder, out string adminKey, new ChromaStoreOptions { AutoCompaction = false }))
        {
            File.WriteAllText(folder + ".key", adminKey);
            var collection = ScaleCommand.CreateCollection(store, adminKey);
            using var checkpoints = new ScaleCommand.CheckpointWatch();
            var ingest = ScaleCommand.Ingest(collection, data, n, dimension, stride, pacedByIndex: false, checkpoints, documents);
            Console.WriteLine($"scale-build {n} × {dimension}: {ingest.RecordsPerSecond:F0} records/s, index ready {ingest.IndexReadySeconds:F1} s");
        }

        return 0;
    }

    private static int Open(AnnArguments options)
    {
        string dataFolder = options.String("data");
        string folder = options.String("folder");
        int queryLimit = options.Int("queries", 200);
        int ef = options.Int("ef", 0);
        bool whereDocument = options.Int("where-document", 0) != 0;
        string jsonPath = options.String("json", string.Empty);
        options.ThrowIfUnused();
        string adminKey = File.ReadAllText(folder + ".key");
        var (queryData, queryCount, dimension, _) = BigAnnFiles.ReadFbin(Path.Combine(dataFolder, "queries.fbin"), paddingMultiple: 1);
        queryCount = Math.Min(queryCount, queryLimit);
        var queries = new float[queryCount][];
        for (int q = 0; q < queryCount; q++)
        {
            queries[q] = queryData.AsSpan(q * dimension, dimension).ToArray();
            ScaleCommand.Normalize(queries[q]);
        }

        queryData = [];
        var steps = new Dictionary<string, double>(StringComparer.Ordinal);
        OpenTrace.Observer = (step, elapsed) =>
        {
            lock (steps)
            {
                steps[step] = steps.GetValueOrDefault(step) + elapsed.TotalMilliseconds;
            }
        };
        var result = new Dictionary<string, object?>
        {
            ["command"] = "scale-open",
            ["load_avg_1m_start"] = ScaleCommand.LoadAverage(),
        };

        var watch = Stopwatch.StartNew();
        using var store = ChromaStore.Open(folder, new ChromaStoreOptions { AutoCompaction = false });
        double open = watch.Elapsed.TotalMilliseconds;
        var client = store.GetClient(adminKey);
        double gotClient = watch.Elapsed.TotalMilliseconds;
        var collection = client.GetCollection(ScaleCommand.CollectionName);
        double gotCollection = watch.Elapsed.TotalMilliseconds;
        collection.Query([queries[0]], K, include: Include.None);
        double firstQuery = watch.Elapsed.TotalMilliseconds;
        OpenTrace.Observer = null;
        result["n"] = collection.Count();
        result["dim"] = dimension;
        result["open_ms"] = open;
        result["get_client_ms"] = gotClient - open;
        result["get_collection_ms"] = gotCollection - gotClient;
        result["first_query_ms"] = firstQuery - gotCollection;
        result["open_to_first_query_ms"] = firstQuery;
        result["steps_ms"] = steps.ToDictionary(s => s.Key, s => Math.Round(s.Value, 1));
        result["graph_loaded"] = collection.Indexer?.LoadedFromFile ?? false;
        Console.WriteLine($"open {open:F0} ms, client {gotClient - open:F0} ms, collection {gotCollection - gotClient:F0} ms, first query {firstQuery - gotCollection:F0} ms (total {firstQuery:F0} ms; graph loaded: {result["graph_loaded"]})");
        Console.WriteLine("  " + string.Join(", ", steps.Select(s => $"{s.Key} {s.Value:F1} ms")));

        result["sqlite_memory_before_first_write_bytes"] = SQLitePCL.raw.sqlite3_memory_used();
        if (ef > 0)
        {
            // The open's first write: it also compares a current document-index stamp with the FTS5 tables (a digest of them).
            long before = Stopwatch.GetTimestamp();
            collection.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = ef });
            result["first_write_ms"] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
        }

        result["sqlite_memory_before_queries_bytes"] = SQLitePCL.raw.sqlite3_memory_used();

        var latencies = new double[queries.Length];
        for (int q = 0; q < queries.Length; q++)
        {
            long before = Stopwatch.GetTimestamp();
            collection.Query([queries[q]], K, include: Include.None);
            latencies[q] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
        }

        result["query_p50_ms"] = ScaleCommand.Percentile(latencies, 0.5);
        var memory = Memory(collection, dimension);
        foreach (var (key, value) in memory)
        {
            result[key] = value;
        }

        Console.WriteLine("  " + string.Join(", ", memory.Select(m => $"{m.Key} {(m.Value is long bytes ? (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB" : m.Value)}")));

        if (whereDocument)
        {
            long before = Stopwatch.GetTimestamp();
            int found = collection.Get(whereDocument: WhereDocument.Contains("checkpoint graph"), limit: 10, include: Include.None).Ids.Count;
            result["first_where_document_get_ms"] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
            before = Stopwatch.GetTimestamp();
            collection.Get(whereDocument: WhereDocument.Contains("memory cache"), limit: 10, include: Include.None);
            result["second_where_document_get_ms"] = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
            Console.WriteLine($"  first where_document get {result["first_where_document_get_ms"]:F0} ms ({found} found), second {result["second_where_document_get_ms"]:F1} ms");
        }

        result["load_avg_1m_end"] = ScaleCommand.LoadAverage();
        ScaleCommand.Emit(jsonPath, result);
        return 0;
    }

    /// <summary>The process's resident memory, broken down by mapping kind, GC heap and SQLite's allocations.</summary>
    internal static Dictionary<string, object?> Memory(Collection collection, int dimension)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        long vectors = (long)collection.Count() * dimension * sizeof(float);
        long graph = collection.Indexer?.Graph?.MemoryBytes ?? 0;
        result["vector_bytes_raw"] = vectors;
        result["graph_memory_bytes"] = graph;
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            foreach (var field in (ReadOnlySpan<string>)["VmRSS", "RssAnon", "RssFile", "RssShmem"])
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    result["status_" + field] = Kilobytes(line);
                }
            }
        }

        var byKind = new Dictionary<string, long>(StringComparer.Ordinal);
        string kind = "anonymous";
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && IsMappingHeader(line))
            {
                kind = Classify(line);
            }
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                byKind[kind] = byKind.GetValueOrDefault(kind) + Kilobytes(line);
            }
        }

        result["rss_by_mapping"] = byKind;
        var gc = GC.GetGCMemoryInfo();
        result["gc_heap_bytes"] = gc.HeapSizeBytes;
        result["gc_committed_bytes"] = gc.TotalCommittedBytes;
        result["sqlite_memory_used_bytes"] = SQLitePCL.raw.sqlite3_memory_used();
        result["sqlite_memory_highwater_bytes"] = SQLitePCL.raw.sqlite3_memory_highwater(0);
        long rss = result["status_VmRSS"] is long r ? r : 0;
        result["rss_over_vectors_and_graph"] = Math.Round(rss / (double)Math.Max(1, vectors + graph), 3);
        return result;
    }

    private static bool IsMappingHeader(string line)
    {
        // "start-end perms offset dev inode [path]": the second field is the permissions (4 characters).
        var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && parts[0].Contains('-', StringComparison.Ordinal) && parts[1].Length == 4;
    }

    private static string Classify(string header)
    {
        var parts = header.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        string path = parts.Length >= 6 ? parts[5].Trim() : string.Empty;
        return path switch
        {
            "" => "anonymous",
            _ when path.EndsWith(".vec", StringComparison.Ordinal) => "arena .vec",
            _ when path.EndsWith(".hnsw", StringComparison.Ordinal) => "graph .hnsw",
            _ when path.EndsWith(".flt", StringComparison.Ordinal) => "filter .flt",
            _ when path.Contains("chroma.sqlite3", StringComparison.Ordinal) => "sqlite files",
            _ when path.Contains("keyring", StringComparison.Ordinal) => "keyring files",
            _ when path.EndsWith(".so", StringComparison.Ordinal) || path.Contains(".so.", StringComparison.Ordinal) || path.EndsWith(".dll", StringComparison.Ordinal) => "code",
            "[heap]" => "native heap",
            _ when path.StartsWith('[') => "other " + path,
            _ when path.StartsWith("/memfd:", StringComparison.Ordinal) || path.StartsWith("/dev/shm", StringComparison.Ordinal) => "shared memory",
            _ => "other files",
        };
    }

    /// <summary>
    /// Runs <c>scale-open</c> on the closed store in a child process (this benchmark's own arrays and ingest garbage are
    /// not in its memory) and returns its JSON line, or null when it failed.
    /// </summary>
    internal static System.Text.Json.JsonElement? RunChild(string dataFolder, string folder, int queries, int ef)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ScaleOpenCommand).Assembly.Location);
        }

        foreach (var argument in (string[])["scale-open", "--data", dataFolder, "--folder", folder, "--queries", queries.ToString(CultureInfo.InvariantCulture),
            "--ef", ef.ToString(CultureInfo.InvariantCulture), "--where-document", "1"])
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;
        string? json = null;
        while (child.StandardOutput.ReadLine() is { } line)
        {
            Console.WriteLine("  [child] " + line);
            if (line.StartsWith('{'))
            {
                json = line;
            }
        }

        child.WaitForExit();
        return child.ExitCode == 0 && json is not null ? System.Text.Json.JsonDocument.Parse(json).RootElement.Clone() : null;
    }

    private static long Kilobytes(string line)
    {
        var digits = line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim();
        digits = digits[..digits.IndexOf(' ')];
        return long.Parse(digits, CultureInfo.InvariantCulture) * 1024;
    }
}
