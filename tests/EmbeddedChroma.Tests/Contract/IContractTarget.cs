namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// What the contract suite needs from an implementation of <see cref="IChromaClient"/>: a fresh, empty store reached
/// through an admin-keyed client on <c>default_tenant</c>/<c>default_database</c>, and the few behaviours outside
/// Chroma's API that an implementation may or may not have. Deliberately free of embedded types, so a remote target
/// can implement it with only an <see cref="IChromaClient"/> (for a Chroma server: reset the server in
/// <see cref="InitializeAsync"/>, e.g. one started with <c>ALLOW_RESET</c>).
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

    /// <summary>Makes the fresh, empty store and its client.</summary>
    Task InitializeAsync();
}
