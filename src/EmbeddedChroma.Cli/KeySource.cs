using Spectre.Console;

namespace EmbeddedChroma.Cli;

/// <summary>
/// Where a command's key comes from: <c>--key-file PATH</c> (owner-only), else <c>EMBEDDEDCHROMA_KEY</c>, else a hidden
/// prompt when standard input is a terminal. Never from an argument: <see cref="FindKeyArgument"/> refuses any argument
/// shaped like a key before anything is parsed. No message here repeats a key or a key file's content.
/// </summary>
internal static class KeySource
{
    public const string EnvironmentVariable = "EMBEDDEDCHROMA_KEY";

    /// <summary>Options people try for a key; none exists, and the error says why.</summary>
    private static readonly string[] KeyOptionNames = ["--key", "--api-key", "--apikey", "--token", "--admin-key", "-k"];

    private const string Hint = $"use {EnvironmentVariable}, --key-file PATH (owner-only) or the prompt.";

    /// <summary>
    /// The first argument that holds a key or anything shaped like one (the <c>eck_</c> prefix in any case, a key id,
    /// <c>_</c> and secret characters: what <see cref="ApiKeyScanner.Redact"/> masks), or that names a key option.
    /// </summary>
    public static CliException? FindKeyArgument(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var argument = args[i];
            if (ApiKeyScanner.Find(argument).Count > 0 || !string.Equals(ApiKeyScanner.Redact(argument), argument, StringComparison.Ordinal))
            {
                return new CliException(
                    ExitCodes.Usage,
                    $"argument {i + 1} looks like an API key (it holds the key prefix '{"eck_"}'), so it was refused and not used: keys are never taken from the command line, where shell history and process lists keep them.",
                    Hint);
            }

            var name = argument.Split('=', 2)[0];
            if (KeyOptionNames.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return new CliException(
                    ExitCodes.Usage,
                    $"there is no {name} option: keys are never taken from the command line, where shell history and process lists keep them.",
                    Hint);
            }
        }

        return null;
    }

    /// <summary>The key for a command (see the class remarks).</summary>
    public static string Get(string? keyFile)
    {
        if (keyFile is not null)
        {
            return FromFile(keyFile);
        }

        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment.Trim();
        }

        if (Terminal.InIsTerminal && Terminal.ErrIsTerminal)
        {
            var typed = Terminal.Err.Prompt(new TextPrompt<string>("API key (input hidden):").Secret(null));
            return typed.Trim();
        }

        throw new CliException(ExitCodes.Auth, "no key: this command needs an API key and none was given.", $"set {EnvironmentVariable}, pass --key-file PATH (a file only its owner may read), or run in a terminal to be prompted.");
    }

    private static string FromFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new CliException(ExitCodes.NotFound, $"the key file '{full}' does not exist.", "write the key into a file with mode 600 (e.g. `install -m 600 /dev/null FILE`, then edit it).");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(full);
            const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((mode & groupOrOthers) != 0)
            {
                throw new CliException(
                    ExitCodes.Auth,
                    $"the key file '{full}' was refused: its mode {Convert.ToString((int)mode, 8).PadLeft(3, '0')} lets group or others read or write it, so the key in it cannot be trusted to be secret.",
                    $"make it owner-only: chmod 600 '{full}' (and rotate the key if others may have read it).");
            }
        }

        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Auth, $"the key file '{full}' cannot be read ({e.GetType().Name}).", "check that this user owns and may read it.");
        }

        var key = text.Trim();
        if (key.Length == 0)
        {
            throw new CliException(ExitCodes.Auth, $"the key file '{full}' is empty.", "write the key (one line) into it.");
        }

        return key;
    }
}
