namespace EmbeddedChroma.Cli.Tests;

/// <summary><c>--help</c> documents commands and exit codes; usage errors exit 1.</summary>
public sealed class HelpTests
{
    [Fact]
    public void Help_lists_every_command_the_exit_codes_and_where_keys_come_from_when_run_with_help()
    {
        var result = CliRunner.Run(["--help"]);

        result.ExitCode.Should().Be(0);
        foreach (var command in new[] { "init", "keys", "tenants", "databases", "collections", "import", "export", "query", "stats", "verify", "compact", "backup", "serve" })
        {
            result.Stdout.Should().MatchRegex($"(?m)^  {command}\\b");
        }

        result.Stdout.Should().Contain("Exit codes:").And.Contain("3    auth").And.Contain("6    locked/busy").And.Contain("EMBEDDEDCHROMA_KEY");
        CliRunner.Run(["keys", "create", "--help"]).Stdout.Should().Contain("--actions").And.Contain("--max-uses");
    }

    [Fact]
    public void Unknown_commands_and_options_exit_1_when_given()
    {
        CliRunner.Run(["frobnicate"]).ExitCode.Should().Be(1);
        CliRunner.Run(["keys", "list", "--store", "x", "--bogus"]).ExitCode.Should().Be(1);
        CliRunner.Run(["keys", "list"]).ExitCode.Should().Be(1, "--store is required");
    }

    [Fact]
    public void Version_prints_the_tool_version_when_run_with_version()
    {
        var result = CliRunner.Run(["--version"]);
        result.ExitCode.Should().Be(0);
        result.Stdout.Should().MatchRegex(@"^\d+\.\d+\.\d+");
    }

    [Fact]
    public void Shell_completion_offers_the_action_names_when_completing_actions()
    {
        // What dotnet-suggest's shell scripts send: [suggest:CURSOR] "the command line typed so far".
        const string typed = "keys create --actions coll";
        var result = CliRunner.Run([$"[suggest:{typed.Length}]", typed]);
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("collection:query").And.Contain("collection:add").And.NotContain("keyring:create_key", "only what starts with the typed text");
    }
}
