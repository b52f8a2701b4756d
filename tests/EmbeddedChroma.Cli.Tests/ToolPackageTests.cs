using System.Diagnostics;
using System.Text;

namespace EmbeddedChroma.Cli.Tests;

/// <summary>
/// The tool installs from a packed folder: <c>dotnet pack</c> of EmbeddedChroma.Cli (from the build this test run made,
/// with a version no earlier run used) into a temporary feed, <c>dotnet tool install --tool-path</c> from it, and the
/// installed <c>embeddedchroma</c> runs.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(4);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "ec-tool-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _version = $"0.1.0-tool.{DateTime.UtcNow:yyyyMMddHHmmss}.{Guid.NewGuid().ToString("N")[..6]}";

    public ToolPackageTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        TryDelete(Path.Combine(globalPackages, "embeddedchroma.cli", _version));
        TryDelete(_root);
    }

    [Fact]
    public void Tool_installs_from_the_packed_folder_and_runs_when_installed_with_dotnet_tool_install()
    {
        var repository = RepositoryRoot();
        var feed = Path.Combine(_root, "feed");
        var tools = Path.Combine(_root, "tools");

        // The test's own build of the tool (same configuration) is packed as it is: no second build of the solution.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        Run(repository, "pack", Path.Combine(repository, "src/EmbeddedChroma.Cli/EmbeddedChroma.Cli.csproj"), "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={_version}", "-nologo");
        File.Exists(Path.Combine(feed, $"EmbeddedChroma.Cli.{_version}.nupkg")).Should().BeTrue();

        Run(_root, "tool", "install", "--tool-path", tools, "--add-source", feed, "EmbeddedChroma.Cli", "--version", _version);
        var installed = Path.Combine(tools, OperatingSystem.IsWindows() ? "embeddedchroma.exe" : "embeddedchroma");
        File.Exists(installed).Should().BeTrue("the tool's command is embeddedchroma");

        var version = RunTool(installed, "--version");
        version.Should().MatchRegex(@"^\d+\.\d+\.\d+");
        RunTool(installed, "--help").Should().Contain("Exit codes:");
    }

    private static string RunTool(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, error);
        return output;
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "EmbeddedChroma.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No EmbeddedChroma.sln above {AppContext.BaseDirectory}.");
    }

    private static void Run(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(StepTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish in {StepTimeout}:\n{output}");
        }

        process.WaitForExit();
        lock (output)
        {
            process.ExitCode.Should().Be(0, $"dotnet {string.Join(' ', arguments)} should succeed; its output:\n{output}");
        }
    }
}
