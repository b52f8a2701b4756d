using System.CommandLine;

namespace EmbeddedChroma.Cli;

/// <summary>The <c>embeddedchroma</c> tool.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Before anything is parsed: an argument holding a key is refused, and never repeated.
        if (KeySource.FindKeyArgument(args) is { } refusal)
        {
            return Cli.Fail(refusal, verbose: false);
        }

        var root = Cli.Build();
        // Ctrl+C/SIGTERM cancel the command's token; the command then finishes its current step (an import its batch, serve
        // its requests in flight, then the store is closed). System.CommandLine's default 2 s grace is too short for that.
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(60) };
        return await root.Parse(args).InvokeAsync(configuration).ConfigureAwait(false);
    }
}
