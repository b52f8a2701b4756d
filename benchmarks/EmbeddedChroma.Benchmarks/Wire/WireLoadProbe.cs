using System.Diagnostics;
using System.Globalization;

namespace EmbeddedChroma.Benchmarks.Wire;

/// <summary>
/// Diagnostics of one <c>wire-load</c> phase, printed beside it (Linux, from <c>/proc</c>): CPU per request of this client
/// process, of the server's process (by thread name) and of the rest of the machine (so a run on a shared machine shows
/// what it competed with), this process's context switches (involuntary ones per thread: thread-pool workers that spin
/// while they wait), GC collections and thread counts.
/// </summary>
internal sealed class WireLoadProbe
{
    private readonly int serverPid;
    private readonly double clientCpu;
    private readonly double serverCpu;
    private readonly long voluntary;
    private readonly long involuntary;
    private readonly int gc0;
    private readonly int gc1;
    private readonly int gc2;
    private readonly double machineBusy;
    private readonly Dictionary<int, (string Name, double Ms)> serverThreads;
    private readonly Dictionary<int, (string Name, double Ms, long Invol)> clientThreads;

    public WireLoadProbe(int serverPid)
    {
        this.serverPid = serverPid;
        clientCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        serverCpu = Cpu(serverPid);
        (voluntary, involuntary) = Switches();
        gc0 = GC.CollectionCount(0);
        gc1 = GC.CollectionCount(1);
        gc2 = GC.CollectionCount(2);
        machineBusy = MachineBusy();
        serverThreads = Threads(serverPid);
        clientThreads = ClientThreads();
    }

    /// <summary>This process's threads: name, CPU ms, involuntary context switches.</summary>
    private static Dictionary<int, (string Name, double Ms, long Invol)> ClientThreads()
    {
        var result = new Dictionary<int, (string, double, long)>();
        foreach (var (tid, (name, ms)) in WireAddCpuCommand.ThreadCpu(Environment.ProcessId))
        {
            try
            {
                var invol = File.ReadLines($"/proc/self/task/{tid}/status").Where(l => l.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal)).Select(l => long.Parse(l.Split(':')[1].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
                result[tid] = (name, ms, invol);
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    private static Dictionary<int, (string Name, double Ms)> Threads(int pid)
    {
        try
        {
            return WireAddCpuCommand.ThreadCpu(pid);
        }
        catch (IOException)
        {
            return [];
        }
    }

    public string Report(string label, int requests)
    {
        var c = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds - clientCpu;
        var s = Cpu(serverPid) - serverCpu;
        var (v, i) = Switches();
        var others = MachineBusy() - machineBusy - c - s;
        var clientTop = ClientThreads().Select(t => (t.Value.Name, Ms: t.Value.Ms - (clientThreads.TryGetValue(t.Key, out var b) ? b.Ms : 0), Invol: t.Value.Invol - (clientThreads.TryGetValue(t.Key, out var b2) ? b2.Invol : 0)))
            .OrderByDescending(t => t.Invol).Take(4)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {t.Ms / requests:F3} ms {(double)t.Invol / requests:F2} invol"));
        var top = Threads(serverPid).Select(t => (t.Value.Name, Ms: t.Value.Ms - (serverThreads.TryGetValue(t.Key, out var b) ? b.Ms : 0)))
            .GroupBy(t => t.Name).Select(g => (Name: g.Key, Ms: g.Sum(x => x.Ms), N: g.Count(x => x.Ms > 0))).OrderByDescending(g => g.Ms).Take(6)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Name}×{g.N} {g.Ms / requests:F3}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"probe {label}: {requests} req, client CPU {c / requests:F3} ms/req, server CPU {s / requests:F3} ms/req, rest of the machine {others / requests:F3} ms/req, client ctxsw vol {(double)(v - voluntary) / requests:F2} invol {(double)(i - involuntary) / requests:F2} /req, GC {GC.CollectionCount(0) - gc0}/{GC.CollectionCount(1) - gc1}/{GC.CollectionCount(2) - gc2}, heap {GC.GetTotalMemory(false) / 1e6:F0} MB, pool threads {ThreadPool.ThreadCount}, process threads {Process.GetCurrentProcess().Threads.Count}; server threads ms/req: {string.Join(", ", top)}; client threads /req: {string.Join(", ", clientTop)}");
    }

    private static double Cpu(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) * 10;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>CPU time (ms) the whole machine spent busy (not idle, not waiting for IO).</summary>
    private static double MachineBusy()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (f[0] + f[1] + f[2] + f[5] + f[6]) * 10;
    }

    private static (long Voluntary, long Involuntary) Switches()
    {
        long v = 0, i = 0;
        foreach (var line in Directory.EnumerateDirectories("/proc/self/task").SelectMany(t => { try { return File.ReadAllLines(Path.Combine(t, "status")); } catch (IOException) { return []; } }))
        {
            if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
            {
                v += long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
            {
                i += long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (v, i);
    }
}
