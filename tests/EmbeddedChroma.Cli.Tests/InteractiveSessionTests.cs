using System.Diagnostics;

namespace EmbeddedChroma.Cli.Tests;

/// <summary>
/// The tool in a real pseudo-terminal (tmux): the hidden key prompt (the typed key is not echoed, nor printed later) and
/// the import's progress bar, as a person sees them.
/// </summary>
public sealed class InteractiveSessionTests : IDisposable
{
    private readonly TempStore _store = new();
    private readonly string _socket = "ec-cli-" + Guid.NewGuid().ToString("N")[..10];

    public void Dispose()
    {
        Tmux("kill-server");
        _store.Dispose();
    }

    [Fact]
    public void Import_in_a_terminal_prompts_for_the_key_without_echo_and_shows_a_progress_bar()
    {
        EnsureTmux();
        File.WriteAllLines(_store.File("r.jsonl"), Enumerable.Range(0, 2000).Select(i => $"{{\"id\": \"r{i}\", \"embedding\": [{i % 7}, 1, {i % 3}]}}"));
        var script = _store.File("session.sh");
        File.WriteAllText(script, $"""
            unset EMBEDDEDCHROMA_KEY
            dotnet '{CliRunner.ToolPath}' import '{_store.File("r.jsonl")}' --store '{_store.Path_}' --collection books --create --batch-size 100
            echo "EXIT=$?"
            sleep 600
            """);

        Tmux("-u", "new-session", "-d", "-x", "120", "-y", "40", "-s", "cli", "sh " + script).Should().Be(0);
        WaitFor("API key").Should().Contain("API key (input hidden):");

        Tmux("send-keys", "-t", "cli", "-l", _store.AdminKey);
        Thread.Sleep(300);
        var typed = Capture();
        typed.Should().NotContain(_store.AdminKey[4..20], "the prompt does not echo the key");
        typed.Should().NotContain("*****", "nor a mask that shows its length");
        Tmux("send-keys", "-t", "cli", "Enter");

        var screen = WaitFor("EXIT=");
        screen.Should().Contain("EXIT=0", screen);
        screen.Should().Contain("Importing into books").And.Contain("100%");
        screen.Should().MatchRegex("[━─█=-]{10,}", "the progress bar is drawn");
        screen.Should().Contain("Imported 2000 records into 'books'");
        screen.Should().NotContain(_store.AdminKey[4..20], "the key is never shown");
        ApiKeyScanner.Find(screen).Should().BeEmpty();
    }

    /// <summary>tmux is Debian's package; a fresh CI machine (root, with access to Debian's mirrors) installs it here.</summary>
    private static void EnsureTmux()
    {
        if (!File.Exists("/usr/bin/tmux") && Environment.UserName == "root")
        {
            using var install = Process.Start("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux"]);
            install.WaitForExit();
        }

        File.Exists("/usr/bin/tmux").Should().BeTrue("tmux (Debian's package) drives the pseudo-terminal: apt-get install tmux");
    }

    private string WaitFor(string text)
    {
        var clock = Stopwatch.StartNew();
        var screen = string.Empty;
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            screen = Capture();
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return screen;
            }

            Thread.Sleep(200);
        }

        throw new TimeoutException($"'{text}' did not appear in the terminal; it shows:\n{screen}");
    }

    private string Capture()
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-L", _socket, "capture-pane", "-p", "-t", "cli" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    private int Tmux(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["LANG"] = "C.UTF-8";
        start.Environment.Remove("EMBEDDEDCHROMA_KEY");
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }
}
