using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using EmbeddedChroma.Client;

namespace EmbeddedChroma.Benchmarks.Wire;

/// <summary>
/// <c>-- wire-add-cpu [targets]</c>: where the CPU of a 1-connection add phase goes, measured as CPU time rather than
/// wall time (so a shared, loaded machine distorts it much less). The ready host (its own process) takes 150 adds of
/// 100 × 384 at 1 connection through <see cref="ChromaRemoteClient"/> into a fresh collection right after its start
/// (<i>cold</i>, as <c>wire-load</c>'s first phase), then, once that collection's indexing settled, 150 more into
/// another fresh collection (<i>warm</i>: every code path has run). For each half of each phase (requests 1–50 before
/// the HNSW threshold, 51–150 while the graph is built): wall time per add, and the host's CPU per add by thread group
/// (from <c>/proc/PID/task/*/stat</c>: the tiered JIT's background worker, the GC's threads, the thread pool — requests
/// and the background indexer —, the rest), and this client's own CPU per add. <c>targets</c> as in <c>wire-load</c>
/// (<c>host[@REPO][+NAME=VALUE…]</c>, default <c>host</c>). Linux only.
/// </summary>
public static class WireAddCpuCommand
{
    private const int Requests = 150;
    private const int Threshold = 50;

    /// <summary>True for <c>wire-add-cpu</c>.</summary>
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "wire-add-cpu";

    /// <summary>Runs the phases and prints the table.</summary>
    public static int Run(string[] args)
    {
        var targets = args.Length > 1 ? args[1].Split(',', StringSplitOptions.RemoveEmptyEntries) : ["host"];
        var repo = WireLoadCommand.FindRepo();
        var random = new Random(42);
        var vectors = Enumerable.Range(0, 10_000).Select(_ => WireLoadCommand.Vector(random)).ToArray();
        var rows = new List<string>();
        foreach (var target in targets)
        {
            var folder = Directory.CreateTempSubdirectory("ec-wire-add-cpu-").FullName;
            using var server = WireLoadCommand.StartHost(repo, target, folder, out var key);
            try
            {
                var pid = HostPid(server.ProcessId) ?? throw new InvalidOperationException("the host's process was not found under dotnet run");
                rows.AddRange(PhasesAsync(target, server.Address, key!, pid, vectors).GetAwaiter().GetResult());
            }
            finally
            {
                server.Stop();
                Directory.Delete(folder, recursive: true);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| target | phase | adds | wall ms/add (p50 / p99) | host CPU ms/add | JIT worker | GC threads | thread pool | other | client CPU ms/add |");
        Console.WriteLine("|---|---|---:|---|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static async Task<List<string>> PhasesAsync(string target, Uri address, string key, int pid, float[][] vectors)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 });
        using var client = new ChromaRemoteClient(new ChromaRemoteClientOptions
        {
            BaseAddress = address,
            Credential = ChromaCredential.FromKey(key),
            HttpClient = http,
            MaxRetries = 0,
        });
        var cosine = new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } };
        var rows = new List<string>();
        foreach (var phase in new[] { "cold", "warm" })
        {
            var collection = await client.CreateCollectionAsync(phase, cosine).ConfigureAwait(false);
            for (var half = 0; half < 2; half++)
            {
                var from = half == 0 ? 0 : Threshold;
                var to = half == 0 ? Threshold : Requests;
                var latencies = new List<double>();
                var hostBefore = ThreadCpu(pid);
                var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
                for (var n = from; n < to; n++)
                {
                    var t = Stopwatch.GetTimestamp();
                    await WireLoadCommand.AddBatch(collection, vectors, n * 100).ConfigureAwait(false);
                    latencies.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }

                var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - clientBefore).TotalMilliseconds;
                var hostAfter = ThreadCpu(pid);
                var groups = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var (thread, (name, ms)) in hostAfter)
                {
                    var used = ms - (hostBefore.TryGetValue(thread, out var b) ? b.Ms : 0);
                    var group = Group(name);
                    groups[group] = groups.GetValueOrDefault(group) + used;
                }

                var count = to - from;
                latencies.Sort();
                var label = $"{phase}, adds {from + 1}–{to}{(half == 0 ? " (no graph)" : " (graph building)")}";
                rows.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {target} | {label} | {count} | {latencies[count / 2]:F1} / {latencies[Math.Min(count - 1, (int)(0.99 * count))]:F1} | {groups.Values.Sum() / count:F2} | {groups.GetValueOrDefault("jit") / count:F2} | {groups.GetValueOrDefault("gc") / count:F2} | {groups.GetValueOrDefault("pool") / count:F2} | {groups.GetValueOrDefault("other") / count:F2} | {clientCpu / count:F2} |"));
            }

            await WireLoadCommand.SettleAsync(http, address, key, collection.Id).ConfigureAwait(false);
        }

        return rows;
    }

    private static string Group(string name) =>
        name.StartsWith(".NET Tiered", StringComparison.Ordinal) ? "jit"
        : name.Contains("GC", StringComparison.Ordinal) ? "gc"
        : name.StartsWith(".NET TP Worker", StringComparison.Ordinal) ? "pool"
        : "other";

    /// <summary>CPU time (user + system, ms) of each thread of <paramref name="pid"/>, with its name.</summary>
    internal static Dictionary<int, (string Name, double Ms)> ThreadCpu(int pid)
    {
        var result = new Dictionary<int, (string, double)>();
        var tick = 1000.0 / 100; // USER_HZ is 100 on Linux
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var name = stat[(open + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                var ms = (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) * tick;
                result[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (name, ms);
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }

        return result;
    }

    /// <summary>The ready host's own process: <paramref name="root"/> itself or its descendant running EmbeddedChroma.Server.</summary>
    internal static int? HostPid(int root)
    {
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            var pid = queue.Dequeue();
            try
            {
                if (File.ReadAllText($"/proc/{pid}/cmdline").Contains("EmbeddedChroma.Server.dll", StringComparison.Ordinal)
                    || File.ReadAllText($"/proc/{pid}/comm").StartsWith("EmbeddedChroma", StringComparison.Ordinal))
                {
                    return pid;
                }

                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        queue.Enqueue(int.Parse(child, CultureInfo.InvariantCulture));
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return null;
    }
}
