using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using EmbeddedChroma.Client;

namespace EmbeddedChroma.Benchmarks.Wire;

/// <summary>
/// <c>-- wire-load [seconds] [adds] [targets]</c>: the same remote client against this project's host (the ready host,
/// its own process) and against Chroma's own server (<c>eng/chroma-server.sh</c>), in one run on loopback. For each:
/// <c>adds</c> (default 150) requests of 100 × 384 cosine vectors at 1 connection and as many at 8, into a collection of
/// their own (so each add phase has enough requests for a p99); then a 10,000 × 384 collection is filled, indexing is
/// let settle in both collections (the host: until its <c>indexing_status</c> reports nothing unindexed, at most 2 minutes each; Chroma's server
/// does not implement that route: 3 seconds each), 2 seconds of queries warm up (not measured), and k = 10 queries run for <c>seconds</c> (default 10) at 1 and at 8
/// concurrent connections, then at 1 connection while another connection keeps adding. Prints requests/s, p50 and p99
/// per phase and every failed request. <c>targets</c> (default <c>host,chroma</c>) is a comma list of <c>chroma</c> and
/// <c>host[@REPO][+NAME=VALUE…]</c>: the ready host built from another checkout (a before/after run), with extra
/// environment variables (e.g. <c>host+DOTNET_gcServer=0</c>). Bounded: every phase stops by itself; every server is
/// stopped (SIGTERM to a host's own process, SIGINT to Chroma's) and its folder deleted at the end. Each target is measured by a client
/// process of its own (this benchmark started again as <c>wire-load-target</c>, which prints its rows for this one), after
/// a <c>sync</c>, and each such process first runs its client code once against a throw-away host of this checkout
/// (<see cref="WarmClient"/>): every target gets the same fresh, warmed client, whatever its position in the list.
/// </summary>
public static class WireLoadCommand
{
    private const int Dimension = 384;
    private const int Records = 10_000;
    private const int Batch = 100;
    private const int WarmUpSeconds = 2;

    /// <summary>The internal subcommand a <c>wire-load</c> run starts once per target: <c>wire-load-target SECONDS ADDS TARGET</c>.</summary>
    private const string TargetCommand = "wire-load-target";

    /// <summary>Marks a child's table row on its standard output.</summary>
    private const string RowMark = "wire-load-row ";

    /// <summary>True for <c>wire-load</c> (and its per-target child, <c>wire-load-target</c>).</summary>
    public static bool Handles(string[] args) => args.Length > 0 && (args[0] == "wire-load" || args[0] == TargetCommand);

    /// <summary>Runs the comparison and prints the table.</summary>
    public static int Run(string[] args)
    {
        if (args[0] == TargetCommand)
        {
            return RunTarget(args);
        }

        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10;
        var adds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 150;
        var targets = args.Length > 3 ? args[3].Split(',', StringSplitOptions.RemoveEmptyEntries) : ["host", "chroma"];
        var rows = new List<string>();
        foreach (var target in targets)
        {
            // Each target is measured by a client process of its own: nothing of an earlier target (this process's heap,
            // thread pool, JIT state, connection pools, generated data) reaches it, and its file write-back is done.
            Sync();
            rows.AddRange(RunChild(seconds, adds, target));
        }

        Console.WriteLine();
        Console.WriteLine("| target | phase | connections | requests | failed | requests/s | p50 ms | p99 ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    /// <summary>
    /// Starts this benchmark again as <c>wire-load-target</c> for one target and collects the table rows it prints; its
    /// other output (progress, diagnostics) is passed on, its standard error (failed requests) goes straight through.
    /// </summary>
    private static List<string> RunChild(int seconds, int adds, string target)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(info.FileName) == "dotnet")
        {
            info.ArgumentList.Add(typeof(WireLoadCommand).Assembly.Location);
        }

        foreach (var a in new[] { TargetCommand, seconds.ToString(CultureInfo.InvariantCulture), adds.ToString(CultureInfo.InvariantCulture), target })
        {
            info.ArgumentList.Add(a);
        }

        using var child = Process.Start(info)!;
        var rows = new List<string>();
        while (child.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith(RowMark, StringComparison.Ordinal))
            {
                rows.Add(line[RowMark.Length..]);
            }
            else
            {
                Console.WriteLine(line);
            }
        }

        child.WaitForExit();
        if (child.ExitCode != 0 || rows.Count == 0)
        {
            throw new InvalidOperationException($"the client process of target '{target}' failed (exit code {child.ExitCode})");
        }

        return rows;
    }

    /// <summary>
    /// <c>wire-load-target SECONDS ADDS TARGET</c>, in a process of its own: warms this client against a throw-away host,
    /// then starts the target, runs the phases, stops it, deletes its folder and prints the rows (marked) for the parent.
    /// </summary>
    private static int RunTarget(string[] args)
    {
        var seconds = int.Parse(args[1], CultureInfo.InvariantCulture);
        var adds = int.Parse(args[2], CultureInfo.InvariantCulture);
        var target = args[3];
        var repo = FindRepo();
        WarmClient(repo);
        Sync();
        var folder = Directory.CreateTempSubdirectory("ec-wire-load-").FullName;
        List<string> rows;
        try
        {
            using var server = target == "chroma" ? StartChroma(repo, folder, out var key) : StartHost(repo, target, folder, out key);
            try
            {
                rows = LoadAsync(target, server.Address, key, seconds, adds, server.ServerPid).GetAwaiter().GetResult();
            }
            finally
            {
                var stopping = Stopwatch.StartNew();
                server.Stop();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{target}: stopped in {stopping.Elapsed.TotalSeconds:F1} s"));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        rows.ForEach(row => Console.WriteLine(RowMark + row));
        return 0;
    }

    /// <summary>Waits until the kernel has written back every dirty page (<c>sync</c>), so no target pays for an earlier one's files.</summary>
    private static void Sync()
    {
        using var sync = Process.Start("sync");
        sync.WaitForExit();
    }

    /// <summary>
    /// Runs this process's client code once before its target is measured: 60 adds of 100 × 384 and 2 seconds of queries
    /// against a throw-away host of this checkout, so that no target's phases carry the client's own start (its JIT:
    /// 7–22 ms of this process's CPU per add over the first 150 adds, against 1–3 ms once warm; on 2 cores that CPU is
    /// taken from the server measured first).
    /// </summary>
    private static void WarmClient(string repo)
    {
        var folder = Directory.CreateTempSubdirectory("ec-wire-load-warm-").FullName;
        try
        {
            using var server = StartHost(repo, "host", folder, out var key);
            try
            {
                WarmClientAsync(server.Address, key).GetAwaiter().GetResult();
            }
            finally
            {
                server.Stop();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The benchmark's client of one target: no retries, so every failed request is counted.</summary>
    private static ChromaRemoteClient Client(Uri address, string? key, HttpClient http) => new(new ChromaRemoteClientOptions
    {
        BaseAddress = address,
        Credential = key is null ? null : ChromaCredential.FromKey(key),
        HttpClient = http,
        MaxRetries = 0,
    });

    private static async Task WarmClientAsync(Uri address, string? key)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });
        using var client = Client(address, key, http);
        var random = new Random(1);
        var vectors = Enumerable.Range(0, 6_000).Select(_ => Vector(random)).ToArray();
        var collection = await client.CreateCollectionAsync("client-warm-up", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
        var added = 0;
        var taken = 0;
        _ = await RunAsync(1, () => Interlocked.Increment(ref taken) <= 60, () => AddBatch(collection, vectors, Interlocked.Add(ref added, Batch) - Batch)).ConfigureAwait(false);
        _ = await QueriesAsync(collection, 1, WarmUpSeconds).ConfigureAwait(false);
    }

    private static async Task<List<string>> LoadAsync(string target, Uri address, string? key, int seconds, int adds, int serverPid)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });
        using var client = Client(address, key, http);
        var cosine = new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } };
        var random = new Random(42);
        var vectors = Enumerable.Range(0, Records).Select(_ => Vector(random)).ToArray();
        var rows = new List<string>();

        // Adds: a collection of their own, growing through the HNSW threshold as under a real ingest.
        var ingest = await client.CreateCollectionAsync("ingest", cosine);
        var added = 0;
        Task AddOne() => AddBatch(ingest, vectors, Interlocked.Add(ref added, Batch) - Batch);
        foreach (var connections in new[] { 1, 8 })
        {
            var taken = 0;
            var stats = await RunAsync(connections, () => Interlocked.Increment(ref taken) <= adds, AddOne).ConfigureAwait(false);
            rows.Add(Row(target, "add (100 per request)", connections, stats));
        }

        // Queries: 10,000 records, indexing settled.
        var collection = await client.CreateCollectionAsync("load", cosine);
        var fillTaken = 0;
        var fillNext = 0;
        var fill = await RunAsync(8, () => Interlocked.Increment(ref fillTaken) <= Records / Batch, () => AddBatch(collection, vectors, Interlocked.Add(ref fillNext, Batch) - Batch)).ConfigureAwait(false);
        var count = await collection.CountAsync();
        var settle = Stopwatch.StartNew();
        // Both collections: the add phases' collection may still be linking what they wrote (a host whose adds outrun its
        // indexer leaves it a backlog), which would otherwise run beside the query phases on the same cores.
        await SettleAsync(http, address, key, ingest.Id).ConfigureAwait(false);
        await SettleAsync(http, address, key, collection.Id).ConfigureAwait(false);
        Console.WriteLine($"{target}: {ingest.Name} {await ingest.CountAsync()} records, {collection.Name} {count} records ({fill.Failed} failed adds), indexing settled after {settle.Elapsed.TotalSeconds:F1} s");

        // Warm-up, not measured, for every target alike: the query route's code runs here for the first time, and a
        // .NET host's first second of it is the JIT's (tier-0 code, then the optimised tier), not a server's steady state.
        await QueriesAsync(collection, 1, WarmUpSeconds).ConfigureAwait(false);
        foreach (var connections in new[] { 1, 8 })
        {
            var probe = new WireLoadProbe(serverPid);
            var stats = await QueriesAsync(collection, connections, seconds).ConfigureAwait(false);
            Console.WriteLine(probe.Report($"{target} query {connections} conn ({stats.Requests / stats.Seconds:F0}/s, p50 {stats.P50:F2})", stats.Requests));
            rows.Add(Row(target, "query (k = 10)", connections, stats));
        }

        // Queries at 1 connection while another connection keeps adding (to the ingest collection).
        var stop = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        var writer = RunAsync(1, () => Stopwatch.GetTimestamp() < stop, AddOne);
        var during = await QueriesAsync(collection, 1, seconds).ConfigureAwait(false);
        var writes = await writer.ConfigureAwait(false);
        rows.Add(Row(target, $"query (k = 10) during adds ({writes.Requests} adds, {writes.Failed} failed)", 1, during));
        return rows;
    }

    /// <summary>Adds records <paramref name="first"/>… (ids r0, r1, …; vectors reused round the 10,000).</summary>
    internal static Task AddBatch(IChromaCollection collection, float[][] vectors, int first) =>
        collection.AddAsync(new RecordBatch
        {
            Ids = Enumerable.Range(first, Batch).Select(i => "r" + i.ToString(CultureInfo.InvariantCulture)).ToArray(),
            Embeddings = Enumerable.Range(first, Batch).Select(i => vectors[i % vectors.Length]).ToArray(),
        });

    private static Task<Stats> QueriesAsync(IChromaCollection collection, int connections, int seconds)
    {
        var until = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        var queryRandom = new Random(7);
        return RunAsync(connections, () => Stopwatch.GetTimestamp() < until, async () =>
        {
            float[] q;
            lock (queryRandom)
            {
                q = Vector(queryRandom);
            }

            var result = await collection.QueryAsync(new QueryRequest { QueryEmbeddings = [q], NResults = 10, Include = Include.Distances }).ConfigureAwait(false);
            if (result.Ids[0].Count != 10)
            {
                throw new InvalidOperationException($"query returned {result.Ids[0].Count} ids, not 10");
            }
        });
    }

    /// <summary>
    /// Waits until the host's <c>indexing_status</c> reports nothing unindexed (at most 2 minutes). Chroma's local server
    /// answers that route "not implemented": it gets a fixed 3 seconds, as before.
    /// </summary>
    internal static async Task SettleAsync(HttpClient http, Uri address, string? key, Guid collection)
    {
        var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address, $"api/v2/tenants/default_tenant/databases/default_database/collections/{collection}/indexing_status"));
            if (key is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }

            using var response = await http.SendAsync(request).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await Task.Delay(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                return;
            }

            using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false));
            if (body.RootElement.GetProperty("num_unindexed_ops").GetInt64() == 0)
            {
                return;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    private sealed record Stats(int Requests, int Failed, double Seconds, double P50, double P99);

    private static async Task<Stats> RunAsync(int connections, Func<bool> more, Func<Task> request)
    {
        var latencies = new List<double>();
        var failed = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            var mine = new List<double>();
            while (more())
            {
                var t = Stopwatch.GetTimestamp();
                try
                {
                    await request().ConfigureAwait(false);
                    mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                catch (Exception ex) when (ex is ChromaException or InvalidOperationException)
                {
                    Interlocked.Increment(ref failed);
                    Console.Error.WriteLine($"failed: {ex.GetType().Name}: {ex.Message}");
                }
            }

            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        }))).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        latencies.Sort();
        double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
        return new Stats(latencies.Count + failed, failed, elapsed, Percentile(0.50), Percentile(0.99));
    }

    private static string Row(string target, string phase, int connections, Stats s) =>
        string.Create(CultureInfo.InvariantCulture, $"| {target} | {phase} | {connections} | {s.Requests} | {s.Failed} | {s.Requests / s.Seconds:F0} | {s.P50:F2} | {s.P99:F2} |");

    internal static float[] Vector(Random random)
    {
        var v = new float[Dimension];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return v;
    }

    internal static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EmbeddedChroma.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("run from inside the repository (EmbeddedChroma.sln not found above the binary)");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static ServerProcess StartHost(string repo, string spec, string folder, out string? key, params string[] hostArguments)
    {
        // host[@REPO][+NAME=VALUE…]
        var parts = spec.Split('+');
        if (parts[0].StartsWith("host@", StringComparison.Ordinal))
        {
            repo = parts[0]["host@".Length..];
        }
        else if (parts[0] != "host")
        {
            throw new ArgumentException($"unknown target '{spec}': chroma, or host[@REPO][+NAME=VALUE…]");
        }

        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var variable in parts.Skip(1))
        {
            var eq = variable.IndexOf('=', StringComparison.Ordinal);
            info.Environment[variable[..eq]] = variable[(eq + 1)..];
        }

        foreach (var a in new[] { "run", "-c", "Release", "--project", Path.Combine(repo, "src", "EmbeddedChroma.Server"), "--", "--path", Path.Combine(folder, "store"), "--port", port.ToString(CultureInfo.InvariantCulture) }.Concat(hostArguments))
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        string? found = null;
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (found is null && DateTime.UtcNow < deadline)
        {
            var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the host ended before printing its admin key");
            if (line.StartsWith("admin key: ", StringComparison.Ordinal))
            {
                found = line["admin key: ".Length..].Trim();
            }
        }

        _ = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is not null)
            {
                // drain the request log so the host never blocks on a full pipe
            }
        });
        key = found ?? throw new InvalidOperationException("the host printed no admin key");
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        server.WaitReady(key);
        return server;
    }

    private static ServerProcess StartChroma(string repo, string folder, out string? key)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(repo, "eng", "chroma-server.sh"), "run", Path.Combine(folder, "data"), port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        key = null;
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        server.WaitReady(null);
        return server;
    }

    internal sealed class ServerProcess(Process process, Uri address) : IDisposable
    {
        public Uri Address { get; } = address;

        /// <summary>The started process (<c>dotnet run</c> for a host: the host itself is its child).</summary>
        public int ProcessId => process.Id;

        public void WaitReady(string? key)
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Address, "api/v2/heartbeat"));
                    if (key is not null)
                    {
                        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                    }

                    if (http.Send(request).IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Thread.Sleep(200);
            }

            throw new InvalidOperationException($"no heartbeat from {Address} within 3 minutes");
        }

        /// <summary>
        /// The server's own process: for a host, the <c>EmbeddedChroma.Server</c> process <c>dotnet run</c> started (its
        /// child); for Chroma, the started process itself (the script <c>exec</c>s the server).
        /// </summary>
        public int ServerPid => WireAddCpuCommand.HostPid(process.Id) ?? process.Id;

        /// <summary>
        /// A graceful stop: SIGTERM to a host's own process (it closes its store and exits; <c>dotnet run</c> then ends),
        /// SIGINT to Chroma's (it ignores SIGTERM); then waits for the started process, killing it after 15 seconds.
        /// Before, a SIGINT went to <c>dotnet run</c>, which does not pass it on to the host it started: every host
        /// stop took the full 15 seconds and ended in a kill. SIGINT does not serve for the host: a process started in
        /// the background by a non-interactive shell ignores it, and so does the host it starts.
        /// </summary>
        public void Stop()
        {
            if (!process.HasExited)
            {
                var host = WireAddCpuCommand.HostPid(process.Id);
                using (Process.Start("kill", [host is null ? "-INT" : "-TERM", (host ?? process.Id).ToString(CultureInfo.InvariantCulture)]))
                {
                }

                if (!process.WaitForExit(15_000))
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }

        public void Dispose()
        {
            Stop();
            process.Dispose();
        }
    }
}
