using System.Diagnostics;

namespace EmbeddedChroma.Server.Tests;

/// <summary>The repository checkout the tests run from, and its scripts.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EmbeddedChroma.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("EmbeddedChroma.sln not found above " + AppContext.BaseDirectory);
    }

    public static string ChromaJs => Path.Combine(Root, "tests", "js", "chroma");

    private static readonly SemaphoreSlim InstallOnce = new(1, 1);
    private static bool _installed;

    /// <summary>Installs the pinned chromadb packages (eng/chroma-server.sh install: npm ci from the lockfile; idempotent).</summary>
    public static async Task InstallChromaJsAsync()
    {
        await InstallOnce.WaitAsync();
        try
        {
            if (_installed)
            {
                return;
            }

            var (code, output) = await RunAsync("bash", [Path.Combine(Root, "eng", "chroma-server.sh"), "install"], Root, TimeSpan.FromMinutes(10));
            code.Should().Be(0, "eng/chroma-server.sh install must succeed:\n" + output);
            _installed = true;
        }
        finally
        {
            InstallOnce.Release();
        }
    }

    public static async Task<(int Code, string Output)> RunAsync(string file, IReadOnlyList<string> args, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
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
            throw new TimeoutException($"{file} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
