using System.Diagnostics;
using System.Text;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// The official <c>chromadb@3.5.0</c> JavaScript client, unmodified, drives the whole API against the host
/// (tests/js/chroma/host-e2e.mjs): every route, filters, include, errors and keys (no key → 401, narrow key → 403/404,
/// revoked key → 401 on its next request). Issue #14.
/// </summary>
public sealed class JsClientTests
{
    [Fact]
    public async Task The_official_js_client_runs_the_whole_api_against_the_host()
    {
        await Repo.InstallChromaJsAsync();
        await using var host = await HostFixture.StartAsync();
        var reader = host.IssueKey("reader", [ChromaActions.Get, ChromaActions.GetCollection, ChromaActions.Count], ["default_tenant/default_database/books"]);
        var revokable = host.IssueKey("revokable", [ChromaActions.AllData], ["*"]);

        var start = new ProcessStartInfo("node", ["host-e2e.mjs"])
        {
            WorkingDirectory = Repo.ChromaJs,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["HOST"] = host.BaseAddress.Host;
        start.Environment["PORT"] = host.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["ADMIN_KEY"] = host.AdminKey;
        start.Environment["READER_KEY"] = reader;
        start.Environment["REVOKE_KEY"] = revokable;
        using var node = Process.Start(start)!;
        var stderr = node.StandardError.ReadToEndAsync();
        var output = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            while (await node.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                if (line == "REVOKE-NOW")
                {
                    host.RevokeKey(revokable);
                    await node.StandardInput.WriteLineAsync("revoked");
                    await node.StandardInput.FlushAsync();
                }
            }

            await node.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
        }

        var report = output + await stderr;
        node.ExitCode.Should().Be(0, report);
        output.ToString().Should().Contain("DONE 10", report);
        report.Should().NotContain(host.AdminKey, "the client's errors never echo a key the host sent back");
    }
}
