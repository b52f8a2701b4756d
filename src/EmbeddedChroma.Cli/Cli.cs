using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using EmbeddedChroma.Cli.Commands;

namespace EmbeddedChroma.Cli;

/// <summary>The command tree, the options most commands share, and the one place errors become exit codes.</summary>
internal static class Cli
{
    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an error, print the exception with its stack trace.",
        Recursive = true,
    };

    public static readonly Option<string?> KeyFile = new("--key-file")
    {
        Description = "Read the API key from this file; it must be owner-only (mode 600). Default: EMBEDDEDCHROMA_KEY, else a hidden prompt.",
        HelpName = "PATH",
        Recursive = true,
    };

    public static readonly Option<string> Store = new("--store", "-s")
    {
        Description = "The store folder.",
        HelpName = "PATH",
        Required = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print JSON (for scripts) instead of a table.",
    };

    public static readonly Option<string> Tenant = new("--tenant")
    {
        Description = "The tenant.",
        DefaultValueFactory = _ => ChromaStore.DefaultTenant,
    };

    public static readonly Option<string> Database = new("--database")
    {
        Description = "The database.",
        DefaultValueFactory = _ => ChromaStore.DefaultDatabase,
    };

    public static readonly Option<string> Collection = new("--collection", "-c")
    {
        Description = "The collection.",
        HelpName = "NAME",
        Required = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand("embeddedchroma: create, inspect, import into, query, check and serve an EmbeddedChroma store.");
        root.Add(Verbose);
        root.Add(KeyFile);
        root.Add(InitCommand.Create());
        root.Add(KeysCommands.Create());
        foreach (var command in CatalogCommands.Create())
        {
            root.Add(command);
        }

        root.Add(ImportCommand.Create());
        root.Add(ExportCommand.Create());
        root.Add(QueryCommand.Create());
        foreach (var command in MaintenanceCommands.Create())
        {
            root.Add(command);
        }

        root.Add(ServeCommand.Create());

        // The exit codes and where keys come from, below the root's help.
        var help = root.Options.OfType<HelpOption>().Single();
        if (help.Action is HelpAction standard)
        {
            help.Action = new HelpWithExitCodes(standard);
        }

        return root;
    }

    /// <summary>Sets <paramref name="command"/>'s action: errors become one line plus a hint on standard error and their exit code.</summary>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            // System.CommandLine installs its Ctrl+C / SIGTERM handler only once the action has returned its task, so
            // work done before the action's first await ran with the default SIGINT disposition: Ctrl+C during an import's
            // first batch killed the process (exit 130, no message). Yielding first returns the task at once.
            await Task.Yield();
            try
            {
                return await action(parse, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The one place every error becomes an exit code and a message.
            catch (Exception error)
#pragma warning restore CA1031
            {
                return Fail(error, parse.GetValue(Verbose));
            }
        });

    /// <summary>Synchronous form of <see cref="SetAction(Command, Func{ParseResult, CancellationToken, Task{int}})"/>.</summary>
    public static void SetAction(Command command, Func<ParseResult, int> action) =>
        SetAction(command, (parse, _) => Task.FromResult(action(parse)));

    public static int Fail(Exception error, bool verbose)
    {
        var (code, hint) = ExitCodes.Of(error);
        var message = error is OperationCanceledException ? "interrupted." : error.Message;

        // Messages of the library never hold a secret; scrub anyway, a key must never reach a terminal or a log.
        Console.Error.WriteLine($"error: {ApiKeyScanner.Redact(OneLine(message))}");
        if (hint.Length > 0)
        {
            Console.Error.WriteLine($"hint: {hint}");
        }

        if (verbose)
        {
            Console.Error.WriteLine(ApiKeyScanner.Redact(error.ToString()));
        }

        return code;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    /// <summary>Values given as <c>a,b</c> and/or repeated options, split and trimmed.</summary>
    public static IReadOnlyList<string> List(IEnumerable<string>? values) =>
        values is null ? [] : values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();

    private sealed class HelpWithExitCodes(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var result = standard.Invoke(parseResult);
            if (parseResult.CommandResult.Command is RootCommand)
            {
                parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes.HelpText);
            }

            return result;
        }
    }
}
