namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// What the contract suite needs from an implementation of <see cref="IChromaClient"/>: a fresh, empty store reached
/// through an admin-keyed client on <c>default_tenant</c>/<c>default_database</c> (or, on a shared server, a fresh
/// tenant standing in for <c>default_tenant</c>: see <see cref="TenantName"/>), and the few behaviours outside
/// Chroma's API that an implementation may or may not have. Deliberately free of embedded types, so a remote target
/// can implement it with only an <see cref="IChromaClient"/> (the remote targets in tests/EmbeddedChroma.Client.Tests share
/// one server per test assembly and give each test fresh tenants: Chroma's server cannot be reset without
/// <c>allow_reset</c>, and its API cannot delete a tenant).
/// </summary>
/// <remarks>
/// xunit creates one target per test (<c>new()</c>), calls <see cref="InitializeAsync"/> before the test and
/// <see cref="IAsyncDisposable.DisposeAsync"/> after it.
/// </remarks>
public interface IContractTarget : IAsyncDisposable
{
    /// <summary>A short name for messages ("embedded", "remote").</summary>
    string Name { get; }

    /// <summary>An admin client on <see cref="ChromaDefaults.Tenant"/>/<see cref="ChromaDefaults.Database"/> of a store holding only those two; valid after <see cref="InitializeAsync"/>.</summary>
    IChromaClient Client { get; }

    /// <summary>
    /// Whether <see cref="QueryRequest.EfSearch"/> (not part of Chroma's API) is honoured. When it is not, the
    /// implementation must refuse a request that sets it with a <see cref="ChromaValidationException"/> naming
    /// <c>ef_search</c>, never ignore it.
    /// </summary>
    bool SupportsEfSearch { get; }

    /// <summary>
    /// Whether collections and databases are listed oldest first. Chroma's server lists them in an order of its own
    /// (stable, so limit and offset still page through one order, but not creation order); the embedded store promises
    /// creation order.
    /// </summary>
    bool ListsInCreationOrder => true;

    /// <summary>
    /// Whether a cosine collection returns its embeddings bit for bit as given. Chroma's server normalizes them and
    /// hands back the normalized vector scaled by the norm, within float rounding (5 comes back as 5.0000005); the
    /// embedded store keeps what was given.
    /// </summary>
    bool ReturnsCosineEmbeddingsExactly => true;

    /// <summary>
    /// Whether an integer metadata value is compared exactly with a fractional bound (1965 &lt; 1965.5). Chroma's server
    /// truncates the bound to an integer first (so 1965 ≥ 1965.5 holds there), a server bug the contract names rather
    /// than copies.
    /// </summary>
    bool ComparesIntegersWithFractionalBoundsExactly => true;

    /// <summary>Makes the fresh, empty store and its client.</summary>
    Task InitializeAsync();

    /// <summary>
    /// The name a test's tenant called <paramref name="name"/> really has: the name itself for a target with a store of
    /// its own; made unique per test by a target whose tests share one server (Chroma's API cannot delete a tenant, so
    /// each test gets tenants of its own). <c>TenantName(ChromaDefaults.Tenant)</c> is <see cref="Client"/>'s tenant.
    /// </summary>
    string TenantName(string name) => name;
}
