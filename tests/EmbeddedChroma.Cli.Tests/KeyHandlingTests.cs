using System.Text.Json;

namespace EmbeddedChroma.Cli.Tests;

/// <summary>Where keys come from, and the refusals: a key in an argument, a --key option, a key file others may read, no key.</summary>
public sealed class KeyHandlingTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Init_prints_the_admin_key_once_on_stdout_with_a_warning_on_stderr_when_creating_a_store()
    {
        var folder = _store.File("second");
        var result = CliRunner.Run(["init", folder], printsKey: true);

        result.ExitCode.Should().Be(0, result.ToString());
        var keys = ApiKeyScanner.Find(result.All);
        keys.Should().ContainSingle("the admin key is printed exactly once");
        result.Stdout.Trim().Should().HaveLength(keys[0].Length, "standard output is the key alone, for KEY=$(embeddedchroma init …)");
        result.Stderr.Should().Contain("shown only this once").And.Contain("never in").And.Contain("EMBEDDEDCHROMA_KEY");

        var again = CliRunner.Run(["init", folder]);
        again.ExitCode.Should().Be(4, "the folder holds a store already: " + again);
        again.Stderr.Should().StartWith("error: ").And.Contain("hint: ");
    }

    [Fact]
    public void Init_writes_an_owner_only_key_file_and_json_when_asked()
    {
        var folder = _store.File("third");
        var keyFile = _store.File("third.key");
        var result = CliRunner.Run(["init", folder, "--save-key", keyFile, "--json"], printsKey: true);

        result.ExitCode.Should().Be(0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var key = json.RootElement.GetProperty("adminKey").GetString()!;
        json.RootElement.GetProperty("path").GetString().Should().Be(folder);
        File.ReadAllText(keyFile).Trim().Should().Be(key);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(keyFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        CliRunner.Run(["keys", "list", "--store", folder, "--key-file", keyFile]).ExitCode.Should().Be(0);
    }

    [Theory]
    [InlineData("whole")]
    [InlineData("upper")]
    [InlineData("truncated")]
    [InlineData("glued")]
    public void Every_command_refuses_an_argument_holding_a_key_without_echoing_it_when_a_key_is_passed_as_a_value(string shape)
    {
        var key = _store.AdminKey;
        var argument = shape switch
        {
            "whole" => key,
            "upper" => key.ToUpperInvariant(),
            "truncated" => key[..30],
            _ => "name=" + key,
        };

        var result = CliRunner.Run(["keys", "create", "--store", _store.Path_, "--name", argument, "--actions", "*", "--resources", "*"], key: key);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("looks like an API key").And.Contain("never taken from the command line");
        result.All.Should().NotContain(key[4..20], "the refused argument is not repeated");
        result.All.Should().NotContain(argument);
        var list = _store.Run("keys", "list", "--json");
        JsonDocument.Parse(list.Stdout).RootElement.GetArrayLength().Should().Be(1, "nothing was created");
    }

    [Fact]
    public void Commands_accept_names_that_merely_contain_eck_when_they_are_not_shaped_like_a_key()
    {
        var result = _store.Run("collections", "create", "check_list");
        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Theory]
    [InlineData("--key")]
    [InlineData("--api-key")]
    [InlineData("--token")]
    public void A_key_option_does_not_exist_and_the_error_says_why_when_one_is_tried(string option)
    {
        var result = CliRunner.Run(["keys", "list", "--store", _store.Path_, option, "secret"]);

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain($"there is no {option} option").And.Contain("shell history");
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite)]
    public void KeyFile_is_refused_with_the_reason_when_group_or_others_may_read_or_write_it(UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var file = _store.File("shared.key");
        File.WriteAllText(file, _store.AdminKey + "\n");
        File.SetUnixFileMode(file, mode);

        var result = CliRunner.Run(["keys", "list", "--store", _store.Path_, "--key-file", file]);

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stderr.Should().Contain("was refused").And.Contain("group or others").And.Contain("chmod 600");
    }

    [Fact]
    public void KeyFile_is_used_when_it_is_owner_only()
    {
        var result = CliRunner.Run(["keys", "list", "--store", _store.Path_, "--key-file", _store.KeyFile]);
        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Fact]
    public void Commands_exit_3_and_say_where_keys_come_from_when_no_key_is_given_and_stdin_is_not_a_terminal()
    {
        var result = CliRunner.Run(["keys", "list", "--store", _store.Path_]);

        result.ExitCode.Should().Be(3, result.ToString());
        result.Stderr.Should().Contain("no key").And.Contain("EMBEDDEDCHROMA_KEY").And.Contain("--key-file");
    }

    [Fact]
    public void Commands_exit_3_without_repeating_the_key_when_the_key_is_wrong()
    {
        var wrong = _store.AdminKey[..^8] + "AAAAAAAA";
        var result = CliRunner.Run(["keys", "list", "--store", _store.Path_], key: wrong);

        result.ExitCode.Should().Be(3, result.ToString());
        result.All.Should().NotContain(wrong[16..]);
    }

    [Fact]
    public void Commands_exit_3_when_the_key_lacks_the_action()
    {
        var (_, reader) = _store.CreateKey("reader", "collection:query", "*");

        var list = _store.RunWith(reader, "keys", "list");
        list.ExitCode.Should().Be(3, list.ToString());
        list.Stderr.Should().Contain("hint: ");
        _store.RunWith(reader, "collections", "create", "books").ExitCode.Should().Be(3);
        _store.Run("collections", "list", "--json").Stdout.Should().NotContain("books", "the refused call created nothing");
    }
}
