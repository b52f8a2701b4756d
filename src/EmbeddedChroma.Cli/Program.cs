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
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        return await root.Parse(args).InvokeAsync(configuration).ConfigureAwait(false);
    }
}
