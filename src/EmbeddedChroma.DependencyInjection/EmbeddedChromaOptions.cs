using System.ComponentModel.DataAnnotations;

namespace EmbeddedChroma.DependencyInjection;

/// <summary>
/// How the container opens an EmbeddedChroma store and which client it hands out. Bind it from configuration
/// (<c>"EmbeddedChroma": { "Path": …, "Tenant": …, "Database": … }</c>) and take <see cref="ApiKey"/> from a secret
/// store (user secrets, environment, a vault provider), never from a literal in code or a committed file.
/// </summary>
/// <remarks>Validated when the host starts (<c>ValidateOnStart</c>): a missing path or key, or a folder without a store, stops the start with a message naming the option.</remarks>
public sealed class EmbeddedChromaOptions
{
    /// <summary>The store folder (made with <c>ChromaStore.Create</c>). Required.</summary>
    [Required]
    public string Path { get; set; } = "";

    /// <summary>The API key the registered <see cref="IChromaClient"/> uses. Required; never logged or shown by <see cref="ToString"/>.</summary>
    [Required]
    public string ApiKey { get; set; } = "";

    /// <summary>The client's tenant (default <c>default_tenant</c>).</summary>
    [Required]
    public string Tenant { get; set; } = ChromaStore.DefaultTenant;

    /// <summary>The client's database (default <c>default_database</c>).</summary>
    [Required]
    public string Database { get; set; } = ChromaStore.DefaultDatabase;

    /// <summary>Open the store read-only (several processes may then read it).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Changes the store options (limits, HNSW threshold, …) before it opens; the logger comes from the container's <c>ILoggerFactory</c> unless set here.</summary>
    public Func<ChromaStoreOptions, ChromaStoreOptions>? ConfigureStore { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"EmbeddedChromaOptions(Path={Path}, Tenant={Tenant}, Database={Database}, ReadOnly={ReadOnly}, ApiKey={(string.IsNullOrEmpty(ApiKey) ? "<missing>" : "<set>")})";
}
