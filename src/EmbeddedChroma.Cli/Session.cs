using System.CommandLine;

namespace EmbeddedChroma.Cli;

/// <summary>An open store and the caller's authenticated key, for one command.</summary>
internal sealed class Session : IDisposable
{
    private Session(ChromaStore store, ApiKeyContext key, ParseResult parse)
    {
        Store = store;
        Key = key;
        Parse = parse;
    }

    public ChromaStore Store { get; }

    public ApiKeyContext Key { get; }

    public ParseResult Parse { get; }

    /// <summary>Gets the key first (a prompt must not hold the store's lock), then opens the store and authenticates.</summary>
    public static Session Open(ParseResult parse)
    {
        var path = RequireStore(parse.GetRequiredValue(Cli.Store));
        var key = KeySource.Get(parse.GetValue(Cli.KeyFile));
        var store = ChromaStore.Open(path);
        try
        {
            return new Session(store, store.Authenticate(key), parse);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The full path of an existing store, or a not-found error that says how to create one.</summary>
    public static string RequireStore(string path)
    {
        var full = Path.GetFullPath(path);
        if (!ChromaStore.Exists(full))
        {
            throw new CliException(ExitCodes.NotFound, $"no store in '{full}'.", $"create one with `embeddedchroma init {path}`.");
        }

        return full;
    }

    /// <summary>A client on the command's <c>--tenant</c>/<c>--database</c> (defaults when the command has none).</summary>
    public ChromaClient Client()
    {
        var tenant = Parse.GetResult(Cli.Tenant) is null ? ChromaStore.DefaultTenant : Parse.GetValue(Cli.Tenant)!;
        var database = Parse.GetResult(Cli.Database) is null ? ChromaStore.DefaultDatabase : Parse.GetValue(Cli.Database)!;
        return Store.GetClient(Key, tenant, database);
    }

    public KeyRingClient Ring() => Store.GetKeyRing(Key);

    public void Dispose() => Store.Dispose();
}
