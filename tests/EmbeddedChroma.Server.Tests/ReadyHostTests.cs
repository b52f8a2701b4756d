using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// The ready host (<c>dotnet run --project src/EmbeddedChroma.Server -- --path DIR --port PORT</c>) as a child process:
/// it creates the store when DIR holds none and prints its admin key once, binds 127.0.0.1, serves the OpenAPI
/// document behind the key, logs without keys, and stops gracefully on SIGTERM, closing the store (issue #14).
/// </summary>
public sealed class ReadyHostTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ec-ready-" + Guid.NewGuid().ToString("N"));

    /// <summary>Every host this test started: killed on dispose if still running (a failed test, a start that never got ready, a stop that timed out).</summary>
    private readonly ChildProcesses _hosts = new();

    public void Dispose()
    {
        _hosts.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class HostProcess(Process process, int port, StringBuilder stdout, StringBuilder stderr)
    {
        public Process Process { get; } = process;

        public int Port { get; } = port;

        public string Stdout
        {
            get
            {
                lock (stdout)
                {
                    return stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (stderr)
                {
                    return stderr.ToString();
                }
            }
        }
    }

    private async Task<HostProcess> StartAsync(params string[] extra)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "EmbeddedChroma.Server.dll"), "--path", _folder, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. extra])
        {
            start.ArgumentList.Add(arg);
        }

        var process = _hosts.Start(start);
        StringBuilder stdout = new(), stderr = new();
        process.OutputDataReceived += (_, e) => { lock (stdout) { stdout.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var host = new HostProcess(process, port, stdout, stderr);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{port}/api/v2/heartbeat");
                response.StatusCode.Should().Be(HttpStatusCode.Unauthorized, "the ready host gates heartbeat too");
                return host;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<int> StopAsync(HostProcess host)
    {
        // SIGTERM: the host finishes requests in flight, stops Kestrel and closes the store.
        using var kill = Process.Start("kill", ["-TERM", host.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.Process.WaitForExitAsync(cts.Token);
        host.Process.WaitForExit();
        return host.Process.ExitCode;
    }

    [Fact]
    public async Task ReadyHost_prints_the_admin_key_once_and_serves_it_across_restarts()
    {
        var first = await StartAsync();
        string key;
        try
        {
            var line = first.Stdout.Split('\n').Single(l => l.StartsWith("admin key: ", StringComparison.Ordinal));
            key = line["admin key: ".Length..].Trim();
            key.Should().StartWith("eck_");
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{first.Port}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            (await http.PostAsync("/api/v2/tenants/default_tenant/databases/default_database/collections", Wire.Json("""{"name":"kept"}"""))).StatusCode.Should().Be(HttpStatusCode.OK);

            (await http.GetAsync("/openapi/v1.json")).StatusCode.Should().Be(HttpStatusCode.OK);
            (await http.GetStringAsync("/openapi/v1.json")).Should().Contain("/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}/query");
            using var anonymous = new HttpClient();
            (await anonymous.GetAsync($"http://127.0.0.1:{first.Port}/openapi/v1.json")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        }
        finally
        {
            (await StopAsync(first)).Should().Be(0, "SIGTERM is a graceful stop");
        }

        first.Stderr.Should().Contain($"http://127.0.0.1:{first.Port}", "the host binds the loopback address by default");
        first.Stderr.Should().Contain("/collections").And.NotContain(key, "request logs carry the key id, never the key");

        var second = await StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{second.Port}") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            (await http.GetStringAsync("/api/v2/tenants/default_tenant/databases/default_database/collections_count")).Should().Be("1");
        }
        finally
        {
            (await StopAsync(second)).Should().Be(0);
        }

        second.Stdout.Should().NotContain("admin key", "the key is printed only when the store is created");
    }

    [Fact]
    public async Task ReadyHost_serves_the_keys_dashboard_only_when_started_with_dashboard()
    {
        var plain = await StartAsync();
        try
        {
            using var http = new HttpClient();
            (await http.GetAsync($"http://127.0.0.1:{plain.Port}/dashboard/")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        }
        finally
        {
            (await StopAsync(plain)).Should().Be(0);
        }

        var host = await StartAsync("--dashboard");
        try
        {
            using var http = new HttpClient();
            using var page = await http.GetAsync($"http://127.0.0.1:{host.Port}/dashboard/");
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            (await page.Content.ReadAsStringAsync()).Should().Contain("/dashboard/app.js");
            host.Stdout.Should().Contain($"keys dashboard: http://127.0.0.1:{host.Port}/dashboard/");
        }
        finally
        {
            (await StopAsync(host)).Should().Be(0);
        }
    }

    [Fact]
    public async Task ReadyHost_exits_with_usage_when_path_is_missing()
    {
        var (code, output) = await Repo.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "EmbeddedChroma.Server.dll"), "--port", "1"], AppContext.BaseDirectory, TimeSpan.FromSeconds(60));

        code.Should().Be(2);
        output.Should().Contain("--path DIR is required").And.Contain("usage:");
    }

    [Fact]
    public void ReadyHost_compiles_each_method_optimized_at_its_first_call_when_started_from_its_runtime_configuration()
    {
        // What `dotnet EmbeddedChroma.Server.dll` (and `dotnet run --project src/EmbeddedChroma.Server`) starts with: tiered
        // compilation off, so a fresh host's first requests run optimized code and no background re-JIT takes a core from
        // them (README: Serving and scaling out → Load on loopback).
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "EmbeddedChroma.Server.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        properties.TryGetProperty("System.Runtime.TieredCompilation", out var tiered).Should().BeTrue("the ready host's runtime configuration sets tiered compilation");
        tiered.ValueKind.Should().Be(System.Text.Json.JsonValueKind.False);
    }
}
