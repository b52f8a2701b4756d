using System.Diagnostics;
using System.Text;

namespace EmbeddedChroma.Cli.Tests;

/// <summary>What one run of the tool gave back.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string All => Stdout + Stderr;

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs the built tool as a process (<c>dotnet EmbeddedChroma.Cli.dll …</c> from this test's output folder) with
/// redirected standard input, output and error, none of them a terminal, and without the caller's EMBEDDEDCHROMA_KEY.
/// Every run checks the promise that no output holds a key, unless the test says the command prints one.
/// </summary>
public static class CliRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string ToolPath { get; } = Path.Combine(AppContext.BaseDirectory, "EmbeddedChroma.Cli.dll");

    public static CliResult Run(IReadOnlyList<string> args, string? key = null, string? stdin = null, string? workingDirectory = null, bool printsKey = false)
    {
        var start = Start(args, key, workingDirectory);
        using var process = Process.Start(start)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"embeddedchroma {string.Join(' ', args)} did not finish in {Timeout}.");
        }

        process.WaitForExit();
        CliResult result;
        lock (stdout)
        {
            lock (stderr)
            {
                result = new CliResult(process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }

        if (!printsKey)
        {
            ApiKeyScanner.Find(result.All).Should().BeEmpty($"nothing but init, keys create and keys roll prints a key; embeddedchroma {string.Join(' ', args)} gave {result}");
        }

        return result;
    }

    /// <summary>The start info of a run: <c>dotnet EmbeddedChroma.Cli.dll ARGS</c>, all three streams redirected.</summary>
    public static ProcessStartInfo Start(IReadOnlyList<string> args, string? key, string? workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ToolPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("EMBEDDEDCHROMA_KEY");
        if (key is not null)
        {
            start.Environment["EMBEDDEDCHROMA_KEY"] = key;
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }
}

/// <summary>A temporary folder with a fresh store in it, created by <c>embeddedchroma init</c>; deleted afterwards.</summary>
public sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Root = Path.Combine(Path.GetTempPath(), "ec-cli-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Path_ = Path.Combine(Root, "store");
        KeyFile = Path.Combine(Root, "admin.key");
        var init = CliRunner.Run(["init", Path_, "--save-key", KeyFile], printsKey: true);
        init.ExitCode.Should().Be(0, init.ToString());
        AdminKey = init.Stdout.Trim();
    }

    public string Root { get; }

    /// <summary>The store folder (Path_ because Path is System.IO.Path).</summary>
    public string Path_ { get; }

    public string KeyFile { get; }

    public string AdminKey { get; }

    /// <summary>Runs the tool with the admin key in EMBEDDEDCHROMA_KEY and <c>--store</c> appended.</summary>
    public CliResult Run(params string[] args) => CliRunner.Run([.. args, "--store", Path_], key: AdminKey);

    /// <summary>Like <see cref="Run"/>, for a command that prints a new key (keys create, keys roll).</summary>
    public CliResult RunPrintingKey(params string[] args) => CliRunner.Run([.. args, "--store", Path_], key: AdminKey, printsKey: true);

    /// <summary>Runs with another key in EMBEDDEDCHROMA_KEY.</summary>
    public CliResult RunWith(string key, params string[] args) => CliRunner.Run([.. args, "--store", Path_], key: key);

    /// <summary>Creates a key with the admin key and returns its id and text.</summary>
    public (string Id, string Key) CreateKey(string name, string actions, string resources)
    {
        var created = RunPrintingKey("keys", "create", "--name", name, "--actions", actions, "--resources", resources, "--json");
        created.ExitCode.Should().Be(0, created.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(created.Stdout);
        return (json.RootElement.GetProperty("info").GetProperty("keyId").GetString()!, json.RootElement.GetProperty("key").GetString()!);
    }

    public string File(string name) => System.IO.Path.Combine(Root, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
