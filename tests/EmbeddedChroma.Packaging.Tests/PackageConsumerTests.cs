using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace EmbeddedChroma.Packaging.Tests;

/// <summary>
/// The design card's "referenced as a NuGet package", proven end to end: <c>dotnet pack</c> of the library projects into
/// a temporary folder (with a version no earlier run used, so no cached package can stand in for it), then a consumer
/// project written outside the solution (its own nuget.config: that folder + the registry; empty Directory.*.props so
/// nothing of the repository's build settings leaks in) that restores <c>EmbeddedChroma</c> by PackageReference only,
/// builds, and runs a short program against a fresh store.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "ec-pack-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _version = $"0.1.0-pack.{DateTime.UtcNow:yyyyMMddHHmmss}.{Guid.NewGuid().ToString("N")[..6]}";

    public PackageConsumerTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        // The packages of this run's version were extracted into the machine's global packages folder: remove them.
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "embeddedchroma", "embeddedchroma.abstractions" })
        {
            TryDelete(Path.Combine(globalPackages, id, _version));
        }

        TryDelete(_root);
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
            // A leftover temp folder is harmless; the assertion results matter.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public void Pack_produces_packages_that_a_consumer_outside_the_solution_restores_by_PackageReference_builds_and_runs()
    {
        var repository = RepositoryRoot();
        var feed = Path.Combine(_root, "feed");
        var artifacts = Path.Combine(_root, "artifacts");
        foreach (var project in new[] { "src/EmbeddedChroma.Abstractions/EmbeddedChroma.Abstractions.csproj", "src/EmbeddedChroma/EmbeddedChroma.csproj" })
        {
            // Own artifacts folder: the pack's Release build shares no bin/obj with the test run's build.
            Run(repository, "pack", Path.Combine(repository, project), "-c", "Release", "-o", feed, "--artifacts-path", artifacts, $"-p:Version={_version}", "-nologo");
        }

        var package = Path.Combine(feed, $"EmbeddedChroma.{_version}.nupkg");
        File.Exists(package).Should().BeTrue();
        File.Exists(Path.Combine(feed, $"EmbeddedChroma.{_version}.snupkg")).Should().BeTrue("symbols ship as a snupkg");
        File.Exists(Path.Combine(feed, $"EmbeddedChroma.Abstractions.{_version}.nupkg")).Should().BeTrue();
        CheckPackage(package, "EmbeddedChroma", dependsOn: "EmbeddedChroma.Abstractions");
        CheckPackage(Path.Combine(feed, $"EmbeddedChroma.Abstractions.{_version}.nupkg"), "EmbeddedChroma.Abstractions", dependsOn: null);

        var consumer = Path.Combine(_root, "consumer");
        Directory.CreateDirectory(consumer);
        // Stop MSBuild's upward search for Directory.Build.props/.targets and central package management at this folder.
        File.WriteAllText(Path.Combine(consumer, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(consumer, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(consumer, "Directory.Packages.props"), "<Project />");
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="EmbeddedChroma" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using EmbeddedChroma;

            var folder = args[0];
            using var store = ChromaStore.Create(folder, out var key);
            IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
            var books = await client.CreateCollectionAsync("books", null);
            await books.AddAsync(new RecordBatch
            {
                Ids = ["dune", "emma", "neuromancer"],
                Embeddings = [[0.9f, 0.1f, 0.0f], [0.1f, 0.9f, 0.3f], [0.7f, 0.0f, 0.6f]],
                Documents = ["desert planet", "matchmaking", "cyberspace"],
            });
            var result = await books.QueryAsync(new QueryRequest { QueryEmbeddings = [[0.85f, 0.15f, 0.05f]], NResults = 2 });
            Console.WriteLine($"count={await books.CountAsync()} nearest={result.Ids[0][0]} second={result.Ids[0][1]}");
            Console.WriteLine($"assembly={typeof(ChromaStore).Assembly.GetName().Name} from={Path.GetFileName(Path.GetDirectoryName(typeof(ChromaStore).Assembly.Location))}");
            """);

        Run(consumer, "build", "-c", "Release", "-nologo");
        var output = Run(consumer, "run", "-c", "Release", "--no-build", "--", Path.Combine(_root, "store"));

        output.Should().Contain("count=3 nearest=dune second=neuromancer");
        output.Should().Contain("assembly=EmbeddedChroma");
        var assets = File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json"));
        assets.Should().Contain($"\"EmbeddedChroma/{_version}\"").And.Contain("\"type\": \"package\"", "EmbeddedChroma came from the package, not a project");
        assets.Should().NotContain("\"type\": \"project\"");
    }

    /// <summary>The nupkg holds the assembly with its XML docs, the README, the licence expression and the LICENSE text, and declares its dependency.</summary>
    private void CheckPackage(string path, string id, string? dependsOn)
    {
        using var zip = ZipFile.OpenRead(path);
        var entries = zip.Entries.Select(e => e.FullName).ToList();
        entries.Should().Contain($"lib/net10.0/{id}.dll").And.Contain($"lib/net10.0/{id}.xml").And.Contain("README.md");
        // The licence text travels with the expression: the repository's LICENSE, the Apache License 2.0.
        entries.Should().Contain("LICENSE");
        using (var licence = new StreamReader(zip.GetEntry("LICENSE")!.Open()))
        {
            var text = licence.ReadToEnd();
            text.Should().Contain("Apache License").And.Contain("Version 2.0, January 2004").And.Contain("EmbeddedChroma contributors");
            text.Should().Be(File.ReadAllText(Path.Combine(RepositoryRoot(), "LICENSE")));
        }

        using var nuspecStream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var nuspec = XDocument.Load(nuspecStream);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        metadata.Element(ns + "id")!.Value.Should().Be(id);
        metadata.Element(ns + "version")!.Value.Should().Be(_version);
        metadata.Element(ns + "license")!.Value.Should().Be("Apache-2.0");
        metadata.Element(ns + "license")!.Attribute("type")!.Value.Should().Be("expression");
        metadata.Element(ns + "readme")!.Value.Should().Be("README.md");
        metadata.Element(ns + "authors")!.Value.Should().NotBeNullOrWhiteSpace();
        metadata.Element(ns + "description")!.Value.Should().NotBeNullOrWhiteSpace();
        metadata.Element(ns + "tags")!.Value.Should().Contain("vector-database");
        if (dependsOn is not null)
        {
            metadata.Descendants(ns + "dependency").Should().Contain(d => (string?)d.Attribute("id") == dependsOn && (string?)d.Attribute("version") == _version);
        }
    }

    /// <summary>The folder holding EmbeddedChroma.sln, above the test's output folder.</summary>
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

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/>; returns its output, or fails the test with it. NuGet's restore
    /// can fail without an error of its own ("RestoreTask returned false but did not log an error") while another restore
    /// of the same project runs — the solution's own build under <c>dotnet test</c> is still building when this test starts
    /// — so that one failure is retried (twice, after a pause); any other failure fails at once.
    /// </summary>
    private static string Run(string workingDirectory, params string[] arguments)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (exitCode, output) = RunOnce(workingDirectory, arguments);
            if (exitCode != 0 && attempt < 3 && output.Contains("\"RestoreTask\" task returned false but did not log an error", StringComparison.Ordinal))
            {
                Thread.Sleep(TimeSpan.FromSeconds(5 * attempt));
                continue;
            }

            exitCode.Should().Be(0, $"dotnet {string.Join(' ', arguments)} should succeed; its output:\n{output}");
            return output;
        }
    }

    private static (int ExitCode, string Output) RunOnce(string workingDirectory, string[] arguments)
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

        // The test host runs under `dotnet test`, whose MSBuild variables would point the child build at the outer one.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
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
            return (process.ExitCode, output.ToString());
        }
    }
}
