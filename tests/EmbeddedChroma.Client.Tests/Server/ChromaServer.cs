using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EmbeddedChroma.Client.Tests.Server;

/// <summary>
/// Chroma's own server (Rust, 1.0.0, from the chromadb npm bindings), started once per test assembly by
/// <c>eng/chroma-server.sh run</c> in a temp data folder on a free loopback port. Starting it installs what it needs
/// (npm ci, Debian trixie's glibc in a private folder): CI runs these tests, so a server that cannot start fails them
/// loudly with its output, never skips them. Stopped with SIGINT then SIGKILL (it ignores SIGTERM), its folder deleted,
/// when the test process exits — and by a watchdog if the test process dies without exiting cleanly.
/// </summary>
public sealed class ChromaServer
{
    private static readonly Lazy<Task<ChromaServer>> SharedServer = new(() => StartAsync(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _folder;

    private ChromaServer(Process process, StringBuilder output, string folder, Uri address)
    {
        _process = process;
        _output = output;
        _folder = folder;
        Address = address;
    }

    /// <summary>The server's address, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The server every test of this assembly shares (started on first use).</summary>
    public static Task<ChromaServer> SharedAsync() => SharedServer.Value;

    /// <summary>What the server printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "eng", "chroma-server.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"eng/chroma-server.sh not found above {AppContext.BaseDirectory}.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<ChromaServer> StartAsync()
    {
        var root = RepositoryRoot();
        var script = Path.Combine(root, "eng", "chroma-server.sh");

        // Installing may download (npm ci, the private glibc): do it first, with its own generous deadline.
        var install = await RunAsync("bash", [script, "install"], TimeSpan.FromMinutes(10));
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"eng/chroma-server.sh install failed with exit code {install.ExitCode}:\n{install.Output}");
        }

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var folder = Path.Combine(Path.GetTempPath(), "ec-chroma-server-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var port = FreePort();
            var output = new StringBuilder();
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { script, "run", Path.Combine(folder, "data"), port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(a);
            }

            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(output, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Watchdog(process.Id, folder);
            var server = new ChromaServer(process, output, folder, new Uri($"http://127.0.0.1:{port}/"));
            try
            {
                await server.WaitUntilUpAsync(TimeSpan.FromSeconds(90));
                AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
                return server;
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
                server.Stop();
            }
        }

        throw new InvalidOperationException("Chroma's server could not be started for the remote contract tests (3 attempts).", last);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 200_000)
            {
                output.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilUpAsync(TimeSpan deadline)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Chroma's server exited with code {_process.ExitCode} before answering its heartbeat. Its output:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Address, "api/v2/heartbeat"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException($"Chroma's server did not answer /api/v2/heartbeat at {Address} within {deadline.TotalSeconds} s. Its output:\n{Output}");
    }

    /// <summary>SIGINT, then SIGKILL after 5 s; then the data folder is deleted.</summary>
    private void Stop()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, 2);
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Stops the server and deletes its folder if this test process dies without running its exit handlers.</summary>
    private static void Watchdog(int serverPid, string folder)
    {
        var me = Environment.ProcessId;
        var info = new ProcessStartInfo("sh") { UseShellExecute = false, RedirectStandardOutput = false, RedirectStandardError = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"while kill -0 {me} 2>/dev/null && kill -0 {serverPid} 2>/dev/null; do sleep 2; done; kill -INT {serverPid} 2>/dev/null; sleep 5; kill -KILL {serverPid} 2>/dev/null; rm -rf '{folder}'");
        using var _ = Process.Start(info);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
