using System.Diagnostics;
using System.Globalization;
using System.Text;
using EmbeddedChroma.CrashHost;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A running <c>CrashHost</c> child (<c>dotnet CrashHost.dll &lt;folder&gt; &lt;seed&gt; loop &lt;firstBatch&gt;</c>), its
/// stdout lines collected in the background. CrashHost.dll sits next to the test assembly (project reference;
/// the SDK copies its runtimeconfig.json and deps.json too).
/// </summary>
internal sealed class CrashHostProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly Task _reader;
    private bool _eof;

    private CrashHostProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
        _reader = Task.Run(ReadAll);
    }

    public static string HostDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "CrashHost.dll");
            File.Exists(path).Should().BeTrue($"the test project copies CrashHost.dll to {AppContext.BaseDirectory}");
            File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")).Should().BeTrue("dotnet needs the host's runtimeconfig.json to run it");
            return path;
        }
    }

    /// <summary>The dotnet muxer: the one running the tests (DOTNET_HOST_PATH, or this process when it is dotnet), else the PATH's.</summary>
    private static string DotnetPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
            {
                return host;
            }

            var self = Environment.ProcessPath;
            return self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? self : "dotnet";
        }
    }

    /// <summary>Starts the host's "reopen" mode: open, rebuild the arena (and graph), query, close, over and over.</summary>
    public static CrashHostProcess StartReopen(string folder, int seed) => Launch(folder, seed.ToString(CultureInfo.InvariantCulture), "reopen");

    public static CrashHostProcess Start(string folder, int seed, long firstBatch) =>
        Launch(folder, seed.ToString(CultureInfo.InvariantCulture), "loop", firstBatch.ToString(CultureInfo.InvariantCulture));

    private static CrashHostProcess Launch(string folder, params string[] arguments)
    {
        var info = new ProcessStartInfo(DotnetPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(HostDll);
        info.ArgumentList.Add(folder);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return new CrashHostProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start"));
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>A snapshot of the lines read so far (the last one may be cut short by a kill).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Number of complete ACK lines so far.</summary>
    public int AckCount => Lines.Count(l => CrashWorkload.Parse(l) is { Acknowledged: true });

    private async Task ReadAll()
    {
        var output = _process.StandardOutput;
        while (await output.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (_lines)
            {
                _lines.Add(line);
                Monitor.PulseAll(_lines);
            }
        }

        lock (_lines)
        {
            _eof = true;
            Monitor.PulseAll(_lines);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds over the lines; fails when the host ends or the time runs out.</summary>
    public void WaitFor(Func<IReadOnlyList<string>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lines)
        {
            while (!condition(_lines))
            {
                var left = deadline - DateTime.UtcNow;
                if (_eof || left <= TimeSpan.Zero)
                {
                    throw new Xunit.Sdk.XunitException(
                        $"CrashHost {(_eof ? "ended" : "timed out")} before {what}; last lines: {string.Join(" | ", _lines.TakeLast(3).Select(Short))}; stderr: {Stderr}");
                }

                Monitor.Wait(_lines, left);
            }
        }
    }

    /// <summary>SIGKILL (TerminateProcess on Windows) of the host and its children, then reads its output to the end.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        Finish();
    }

    /// <summary>Asks the host to finish its batch and close cleanly.</summary>
    public void Stop()
    {
        _process.StandardInput.WriteLine("STOP");
        _process.StandardInput.Flush();
        Finish();
    }

    private void Finish()
    {
        _process.WaitForExit(TimeSpan.FromSeconds(60)).Should().BeTrue("the host ends");
        _reader.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("stdout reaches its end once the host is gone");
        _process.WaitForExit();
    }

    private static string Short(string line) => line.Length <= 80 ? line : line[..80] + "…";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }
}
