using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Contract;

/// <summary>The embedded store as a contract target: a new store in a temp folder, deleted on dispose.</summary>
public sealed class EmbeddedTarget : IContractTarget
{
    private TempStoreFolder? _folder;
    private ChromaStore? _store;
    private IChromaClient? _client;

    public string Name => "embedded";

    public IChromaClient Client => _client ?? throw new InvalidOperationException("The target is not initialized.");

    public bool SupportsEfSearch => true;

    public Task InitializeAsync()
    {
        _folder = new TempStoreFolder("ec-contract");
        _store = ChromaStore.Create(Path.Combine(_folder.Path, "store"), out var adminKey);
        _client = _store.GetClient(ChromaCredential.FromKey(adminKey));
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _store?.Dispose();
        SqliteConnection.ClearAllPools();
        _folder?.Dispose();
        _store = null;
        _client = null;
        _folder = null;
        return ValueTask.CompletedTask;
    }

    public override string ToString() => Name;
}
