using EmbeddedChroma;
using EmbeddedChroma.DependencyInjection;
using EmbeddedChroma.VectorData;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers an EmbeddedChroma store in a container: <see cref="ChromaStore"/> (opened once, when the host starts or
/// at first use, and closed when the container is disposed, i.e. at host shutdown) and the <see cref="IChromaClient"/>
/// of <see cref="EmbeddedChromaOptions.ApiKey"/> on its tenant/database; keyed for several stores.
/// </summary>
public static class EmbeddedChromaServiceCollectionExtensions
{
    /// <summary>Registers a store configured in code (the key from configuration: <c>o.ApiKey = config["EmbeddedChroma:ApiKey"]</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    public static IServiceCollection AddEmbeddedChroma(this IServiceCollection services, Action<EmbeddedChromaOptions> configure) =>
        services.AddKeyedEmbeddedChroma(null, configure);

    /// <summary>Registers a store bound from a configuration section (<c>Path</c>, <c>ApiKey</c>, <c>Tenant</c>, <c>Database</c>, <c>ReadOnly</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section.</param>
    public static IServiceCollection AddEmbeddedChroma(this IServiceCollection services, IConfiguration section) =>
        services.AddKeyedEmbeddedChroma(null, section);

    /// <summary>Registers a keyed store bound from a configuration section.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key of the <see cref="ChromaStore"/> and <see cref="IChromaClient"/> services (<see langword="null"/>: not keyed).</param>
    /// <param name="section">The configuration section.</param>
    public static IServiceCollection AddKeyedEmbeddedChroma(this IServiceCollection services, object? serviceKey, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return services.AddKeyedEmbeddedChroma(serviceKey, options => section.Bind(options));
    }

    /// <summary>Registers a keyed store configured in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key of the <see cref="ChromaStore"/> and <see cref="IChromaClient"/> services (<see langword="null"/>: not keyed).</param>
    /// <param name="configure">Sets the options.</param>
    public static IServiceCollection AddKeyedEmbeddedChroma(this IServiceCollection services, object? serviceKey, Action<EmbeddedChromaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var name = OptionsName(serviceKey);
        services.AddOptions<EmbeddedChromaOptions>(name).Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmbeddedChromaOptions>, EmbeddedChromaOptionsValidator>());

        // A singleton the container created is disposed with it: the store closes (graphs saved, lock released) at shutdown.
        services.Add(new ServiceDescriptor(typeof(ChromaStore), serviceKey, (sp, _) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<EmbeddedChromaOptions>>().Get(name);
            var logger = sp.GetService<ILoggerFactory>()?.CreateLogger("EmbeddedChroma");
            var storeOptions = new ChromaStoreOptions { ReadOnly = options.ReadOnly };
            if (logger is not null)
            {
                storeOptions = storeOptions with { Logger = logger };
            }

            storeOptions = options.ConfigureStore?.Invoke(storeOptions) ?? storeOptions;
            return ChromaStore.Open(options.Path, storeOptions);
        }, ServiceLifetime.Singleton));

        services.Add(new ServiceDescriptor(typeof(IChromaClient), serviceKey, (sp, key) =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<EmbeddedChromaOptions>>().Get(name);
            return sp.GetRequiredKeyedService<ChromaStore>(key).GetClient(ChromaCredential.FromKey(options.ApiKey), options.Tenant, options.Database);
        }, ServiceLifetime.Singleton));

        // Open at host start, so a locked or damaged store stops the start instead of failing the first request.
        services.AddSingleton<IHostedService>(sp => new EmbeddedChromaOpener(() => sp.GetRequiredKeyedService<IChromaClient>(serviceKey)));
        return services;
    }

    /// <summary>
    /// Registers a store (as <see cref="AddEmbeddedChroma(IServiceCollection, IConfiguration)"/>) and a
    /// <see cref="ChromaVectorStore"/> over its client, as <c>VectorStore</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section of the store.</param>
    /// <param name="serviceKey">The service key of everything registered (<see langword="null"/>: not keyed).</param>
    public static IServiceCollection AddEmbeddedChromaVectorStore(this IServiceCollection services, IConfiguration section, object? serviceKey = null) =>
        services.AddKeyedEmbeddedChroma(serviceKey, section).AddKeyedChromaVectorStore(serviceKey);

    /// <summary>Registers a store configured in code and a <see cref="ChromaVectorStore"/> over its client, as <c>VectorStore</c>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the store options.</param>
    /// <param name="serviceKey">The service key of everything registered (<see langword="null"/>: not keyed).</param>
    public static IServiceCollection AddEmbeddedChromaVectorStore(this IServiceCollection services, Action<EmbeddedChromaOptions> configure, object? serviceKey = null) =>
        services.AddKeyedEmbeddedChroma(serviceKey, configure).AddKeyedChromaVectorStore(serviceKey);

    /// <summary>Adds a health check of the (keyed) EmbeddedChroma store: open/closed, folder lock, background index build.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="serviceKey">The store's service key (<see langword="null"/>: not keyed).</param>
    /// <param name="failureStatus">The status reported when the store is closed or cannot be opened (default Unhealthy).</param>
    /// <param name="tags">Tags of the check.</param>
    public static IHealthChecksBuilder AddEmbeddedChroma(
        this IHealthChecksBuilder builder,
        string name = "embeddedchroma",
        object? serviceKey = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new EmbeddedChromaHealthCheck(() => sp.GetRequiredKeyedService<ChromaStore>(serviceKey)),
            failureStatus,
            tags));
    }

    private static string OptionsName(object? serviceKey) => serviceKey is null ? Options.Options.DefaultName : serviceKey.ToString() ?? Options.Options.DefaultName;

    /// <summary>Opens the store (and checks the key) when the host starts.</summary>
    private sealed class EmbeddedChromaOpener(Func<IChromaClient> client) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = client();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
