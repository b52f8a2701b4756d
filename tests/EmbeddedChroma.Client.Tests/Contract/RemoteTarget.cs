using EmbeddedChroma.Tests.Contract;

namespace EmbeddedChroma.Client.Tests.Contract;

/// <summary>
/// The remote client on a server shared by every test of the assembly, as a contract target. Each test gets a fresh
/// tenant (standing in for <c>default_tenant</c>) holding <c>default_database</c>, and tenants of its own for the names
/// it uses (<see cref="TenantName"/>): Chroma's API cannot delete a tenant, so tests never share one.
/// </summary>
public abstract class RemoteTarget : IContractTarget
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];
    private ChromaRemoteClient? _root;
    private IChromaClient? _client;

    public abstract string Name { get; }

    public IChromaClient Client => _client ?? throw new InvalidOperationException("The target is not initialized.");

    /// <summary>ef_search per query is not part of Chroma's API: the remote client refuses it rather than ignore it.</summary>
    public bool SupportsEfSearch => false;

    /// <summary>Whether the server lists collections and databases oldest first (Chroma's server: its own stable order).</summary>
    public abstract bool ListsInCreationOrder { get; }

    /// <summary>Whether a cosine collection returns embeddings bit for bit (Chroma's server: within float rounding).</summary>
    public abstract bool ReturnsCosineEmbeddingsExactly { get; }

    /// <summary>Whether integer values are compared exactly with fractional bounds (Chroma's server: the bound is truncated).</summary>
    public abstract bool ComparesIntegersWithFractionalBoundsExactly { get; }

    /// <summary>Where the server is and the key it wants (started on first use).</summary>
    protected abstract Task<(Uri Address, ChromaCredential? Credential)> ServerAsync();

    public string TenantName(string name) => $"{name}-{_suffix}";

    public async Task InitializeAsync()
    {
        var (address, credential) = await ServerAsync();
        _root = new ChromaRemoteClient(new ChromaRemoteClientOptions { BaseAddress = address, Credential = credential });
        var tenant = TenantName(ChromaDefaults.Tenant);
        await _root.CreateTenantAsync(tenant);
        _client = _root.WithDatabase(ChromaDefaults.Database, tenant);
        await _client.CreateDatabaseAsync(ChromaDefaults.Database);
    }

    public ValueTask DisposeAsync()
    {
        // Nothing is deleted: Chroma's server keeps a deleted collection's list-valued metadata and hands it to later
        // records that reuse its row ids (a server bug), so deleting here would leak into other tests.
        _root?.Dispose();
        _root = null;
        _client = null;
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    public override string ToString() => Name;
}

/// <summary>The remote client against Chroma's own server (Rust, 1.0.0), one per test assembly.</summary>
public sealed class ChromaServerTarget : RemoteTarget
{
    public override string Name => "chroma-server";

    public override bool ListsInCreationOrder => false;

    public override bool ReturnsCosineEmbeddingsExactly => false;

    public override bool ComparesIntegersWithFractionalBoundsExactly => false;

    protected override async Task<(Uri Address, ChromaCredential? Credential)> ServerAsync() =>
        ((await Server.ChromaServer.SharedAsync()).Address, null);
}

/// <summary>The remote client against this project's host (<c>MapChroma</c>) in this process, over loopback, with the store's admin key.</summary>
public sealed class HostTarget : RemoteTarget
{
    public override string Name => "host";

    public override bool ListsInCreationOrder => true;

    public override bool ReturnsCosineEmbeddingsExactly => true;

    public override bool ComparesIntegersWithFractionalBoundsExactly => true;

    protected override async Task<(Uri Address, ChromaCredential? Credential)> ServerAsync()
    {
        var host = await Server.InProcessHost.SharedAsync();
        return (host.Address, ChromaCredential.FromKey(host.AdminKey));
    }
}
