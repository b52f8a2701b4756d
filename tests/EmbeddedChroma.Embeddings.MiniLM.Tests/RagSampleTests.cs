using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace EmbeddedChroma.Embeddings.MiniLM.Tests;

/// <summary>
/// samples/Rag run as a process, as a user runs it, on a temporary folder of notes and a temporary store
/// (<c>EMBEDDEDCHROMA_RAG_STORE</c>): the first run indexes every chunk, a second run after an edit and a deletion
/// upserts only the changed chunk and deletes the chunks of the removed file, and a question is answered with
/// passages that cite their source file. The sample is built with this project (a build-only project reference).
/// </summary>
public sealed class RagSampleTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ec-rag-" + Guid.NewGuid().ToString("N"));

    public RagSampleTests() => Directory.CreateDirectory(Path.Combine(_root, "notes", "drinks"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Notes => Path.Combine(_root, "notes");

    private void Write(string relative, string text) => File.WriteAllText(Path.Combine(Notes, relative), text);

    [Fact]
    public void Rag_sample_indexes_a_folder_upserts_only_changes_deletes_what_is_gone_and_answers_with_sources_when_run_twice()
    {
        Write("cats.md", "# Cats\n\nCats sleep for most of the day and hunt at dusk.\n\nA cat purrs when it is content, and sometimes when it is hurt.");
        Write("rockets.txt", "A rocket engine burns propellant and throws the exhaust backwards, which pushes the rocket forwards.");
        Write(Path.Combine("drinks", "tea.md"), "Darjeeling tea grows on the slopes of the Himalayas in West Bengal.");
        Write("ignored.json", "{\"not\": \"indexed\"}");

        var first = Run("index", Notes);

        first.Should().Contain("3 chunks in 3 files: 3 new or changed, 0 gone, 0 unchanged.");
        first.Should().Contain("3/3", "the progress bar reaches the end");

        Write("rockets.txt", "A rocket engine burns fuel with an oxidizer; the hot exhaust leaves the nozzle and the rocket is pushed the other way.");
        File.Delete(Path.Combine(Notes, "drinks", "tea.md"));

        var second = Run("index", Notes);

        second.Should().Contain("2 chunks in 2 files: 1 new or changed, 1 gone, 1 unchanged.");

        var answer = Run("ask", "Why does a rocket move forward?", "2");

        var lines = answer.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines[0].Should().StartWith("[1] rockets.txt (distance", "the best passage cites its source file");
        answer.Should().Contain("oxidizer", "the passage is the edited text");
        answer.Should().NotContain("tea.md", "a deleted file's chunks are gone");
        answer.Should().Contain("[2] cats.md (distance");
    }

    /// <summary>Runs the sample with <paramref name="arguments"/>; its standard output, or a failed test with both streams.</summary>
    private string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(SampleAssembly());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["EMBEDDEDCHROMA_RAG_STORE"] = Path.Combine(_root, "store");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit(TimeSpan.FromMinutes(2)).Should().BeTrue("the sample finishes");
        process.ExitCode.Should().Be(0, $"the sample succeeds; stderr: {error.Result}; stdout: {output.Result}");
        return output.Result.Replace("\r", "\n", StringComparison.Ordinal);
    }

    /// <summary>samples/Rag's build output for this test assembly's configuration.</summary>
    private static string SampleAssembly()
    {
        var configuration = typeof(RagSampleTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "samples", "Rag", "bin", configuration, "net10.0", "Rag.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"samples/Rag is not built ({configuration}) above {AppContext.BaseDirectory}.");
    }
}
