using EmbeddedChroma;
using EmbeddedChroma.VectorData;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers the EmbeddedChroma vector store and collections the way the Microsoft.Extensions.VectorData connectors
/// do: the concrete type, <see cref="VectorStore"/> / <see cref="VectorStoreCollection{TKey, TRecord}"/>,
/// <see cref="IVectorSearchable{TRecord}"/> and <see cref="IKeywordHybridSearchable{TRecord}"/>, keyed or not.
/// </summary>
/// <remarks>
/// By default the <see cref="IChromaClient"/> comes from the container (registered under the same service key), so
/// the same registration serves the embedded store (<c>AddEmbeddedChroma</c>) and a remote Chroma client; the
/// default embedding generator is the container's <see cref="IEmbeddingGenerator"/>, if any.
/// </remarks>
public static class ChromaServiceCollectionExtensions
{
    /// <summary>Registers a <see cref="ChromaVectorStore"/> as <see cref="VectorStore"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="clientProvider">Gives the client; <see langword="null"/> resolves <see cref="IChromaClient"/>.</param>
    /// <param name="optionsProvider">Gives the options; <see langword="null"/> uses the container's embedding generator.</param>
    /// <param name="lifetime">The services' lifetime.</param>
    public static IServiceCollection AddChromaVectorStore(
        this IServiceCollection services,
        Func<IServiceProvider, IChromaClient>? clientProvider = null,
        Func<IServiceProvider, ChromaVectorStoreOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton) =>
        services.AddKeyedChromaVectorStore(null, clientProvider, optionsProvider, lifetime);

    /// <summary>Registers a keyed <see cref="ChromaVectorStore"/> as <see cref="VectorStore"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (also the key of the <see cref="IChromaClient"/> resolved by default).</param>
    /// <param name="clientProvider">Gives the client; <see langword="null"/> resolves the keyed <see cref="IChromaClient"/>.</param>
    /// <param name="optionsProvider">Gives the options; <see langword="null"/> uses the container's embedding generator.</param>
    /// <param name="lifetime">The services' lifetime.</param>
    public static IServiceCollection AddKeyedChromaVectorStore(
        this IServiceCollection services,
        object? serviceKey,
        Func<IServiceProvider, IChromaClient>? clientProvider = null,
        Func<IServiceProvider, ChromaVectorStoreOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.Add(new ServiceDescriptor(typeof(ChromaVectorStore), serviceKey, (sp, key) =>
            new ChromaVectorStore(Client(sp, key, clientProvider), optionsProvider?.Invoke(sp) ?? new ChromaVectorStoreOptions { EmbeddingGenerator = sp.GetService<IEmbeddingGenerator>() }), lifetime));
        services.Add(new ServiceDescriptor(typeof(VectorStore), serviceKey, static (sp, key) => sp.GetRequiredKeyedService<ChromaVectorStore>(key), lifetime));
        return services;
    }

    /// <summary>Registers a <see cref="ChromaVectorStoreCollection{TKey, TRecord}"/> for the collection <paramref name="name"/>.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The collection's name.</param>
    /// <param name="clientProvider">Gives the client; <see langword="null"/> resolves <see cref="IChromaClient"/>.</param>
    /// <param name="optionsProvider">Gives the options; <see langword="null"/> uses the container's embedding generator.</param>
    /// <param name="lifetime">The services' lifetime.</param>
    public static IServiceCollection AddChromaVectorStoreCollection<TKey, TRecord>(
        this IServiceCollection services,
        string name,
        Func<IServiceProvider, IChromaClient>? clientProvider = null,
        Func<IServiceProvider, ChromaCollectionOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        where TKey : notnull
        where TRecord : class =>
        services.AddKeyedChromaVectorStoreCollection<TKey, TRecord>(null, name, clientProvider, optionsProvider, lifetime);

    /// <summary>Registers a keyed <see cref="ChromaVectorStoreCollection{TKey, TRecord}"/> for the collection <paramref name="name"/>.</summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (also the key of the <see cref="IChromaClient"/> resolved by default).</param>
    /// <param name="name">The collection's name.</param>
    /// <param name="clientProvider">Gives the client; <see langword="null"/> resolves the keyed <see cref="IChromaClient"/>.</param>
    /// <param name="optionsProvider">Gives the options; <see langword="null"/> uses the container's embedding generator.</param>
    /// <param name="lifetime">The services' lifetime.</param>
    public static IServiceCollection AddKeyedChromaVectorStoreCollection<TKey, TRecord>(
        this IServiceCollection services,
        object? serviceKey,
        string name,
        Func<IServiceProvider, IChromaClient>? clientProvider = null,
        Func<IServiceProvider, ChromaCollectionOptions>? optionsProvider = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        where TKey : notnull
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        services.Add(new ServiceDescriptor(typeof(ChromaVectorStoreCollection<TKey, TRecord>), serviceKey, (sp, key) =>
            new ChromaVectorStoreCollection<TKey, TRecord>(
                Client(sp, key, clientProvider),
                name,
                optionsProvider?.Invoke(sp) ?? new ChromaCollectionOptions { EmbeddingGenerator = sp.GetService<IEmbeddingGenerator>() }), lifetime));
        services.Add(new ServiceDescriptor(typeof(VectorStoreCollection<TKey, TRecord>), serviceKey, static (sp, key) => sp.GetRequiredKeyedService<ChromaVectorStoreCollection<TKey, TRecord>>(key), lifetime));
        services.Add(new ServiceDescriptor(typeof(IVectorSearchable<TRecord>), serviceKey, static (sp, key) => sp.GetRequiredKeyedService<ChromaVectorStoreCollection<TKey, TRecord>>(key), lifetime));
        services.Add(new ServiceDescriptor(typeof(IKeywordHybridSearchable<TRecord>), serviceKey, static (sp, key) => sp.GetRequiredKeyedService<ChromaVectorStoreCollection<TKey, TRecord>>(key), lifetime));
        return services;
    }

    private static IChromaClient Client(IServiceProvider sp, object? key, Func<IServiceProvider, IChromaClient>? provider) =>
        provider is not null ? provider(sp)
        : key is null ? sp.GetRequiredService<IChromaClient>()
        : sp.GetRequiredKeyedService<IChromaClient>(key);
}
