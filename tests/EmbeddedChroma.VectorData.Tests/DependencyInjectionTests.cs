using EmbeddedChroma.DependencyInjection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>AddEmbeddedChroma, the vector store registrations and the health check, in a real host.</summary>
public sealed class DependencyInjectionTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.DI.Tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Makes a store folder and returns its path and admin key (as a deployment would, once).</summary>
    private (string Path, string Key) NewStore(string name = "store")
    {
        var path = Path.Combine(_root, name);
        using var store = ChromaStore.Create(path, out var key);
        return (path, key);
    }

    private static IHost Host(Action<IServiceCollection> register)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        register(builder.Services);
        return builder.Build();
    }

    private static Dictionary<string, string?> Config((string Path, string Key) store, string prefix = "EmbeddedChroma") => new()
    {
        [$"{prefix}:Path"] = store.Path,
        [$"{prefix}:ApiKey"] = store.Key, // in an application: user secrets or an environment variable
    };

    [Fact]
    public async Task AddEmbeddedChroma_opens_the_store_once_at_start_and_closes_it_at_shutdown()
    {
        var store = NewStore();
        using var host = Host(s => s.AddEmbeddedChroma(new ConfigurationBuilder().AddInMemoryCollection(Config(store)).Build().GetSection("EmbeddedChroma")));

        await host.StartAsync();
        var opened = host.Services.GetRequiredService<ChromaStore>();
        host.Services.GetRequiredService<ChromaStore>().Should().BeSameAs(opened);
        var client = host.Services.GetRequiredService<IChromaClient>();
        host.Services.GetRequiredService<IChromaClient>().Should().BeSameAs(client);
        (await client.HeartbeatAsync()).Should().BePositive();
        client.Database.Should().Be("default_database");

        await host.StopAsync();
        host.Dispose();

        opened.GetStatus().IsOpen.Should().BeFalse();
        using var again = ChromaStore.Open(store.Path); // the folder lock was released
    }

    [Fact]
    public async Task StartAsync_fails_naming_the_option_when_the_api_key_is_missing()
    {
        var store = NewStore();
        using var host = Host(s => s.AddEmbeddedChroma(o => o.Path = store.Path));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("ApiKey");
    }

    [Fact]
    public async Task StartAsync_fails_naming_the_folder_when_it_holds_no_store()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        using var host = Host(s => s.AddEmbeddedChroma(o => { o.Path = empty; o.ApiKey = "ec_not_a_real_key"; }));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("holds no store");
    }

    [Fact]
    public async Task StartAsync_fails_without_echoing_the_key_when_the_key_is_wrong()
    {
        var store = NewStore();
        const string wrong = "ec_wrong_key_0123456789abcdef0123456789abcdef";
        using var host = Host(s => s.AddEmbeddedChroma(o => { o.Path = store.Path; o.ApiKey = wrong; }));

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<ChromaAuthenticationException>()).Which.Message.Should().NotContain(wrong);
    }

    [Fact]
    public async Task Keyed_registrations_give_each_key_its_own_store_client_and_vector_store()
    {
        var a = NewStore("a");
        var b = NewStore("b");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Config(a, "Stores:A").Concat(Config(b, "Stores:B"))).Build();
        using var host = Host(s =>
        {
            s.AddEmbeddedChromaVectorStore(configuration.GetSection("Stores:A"), serviceKey: "a");
            s.AddEmbeddedChromaVectorStore(configuration.GetSection("Stores:B"), serviceKey: "b");
            s.AddKeyedChromaVectorStoreCollection<string, Hotel<string>>("a", "hotels");
        });
        await host.StartAsync();

        var storeA = host.Services.GetRequiredKeyedService<VectorStore>("a");
        var storeB = host.Services.GetRequiredKeyedService<VectorStore>("b");
        storeA.Should().NotBeSameAs(storeB);
        var hotels = host.Services.GetRequiredKeyedService<VectorStoreCollection<string, Hotel<string>>>("a");
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(new Hotel<string> { Key = "h", Name = "A's", Vector = [1, 0] });

        (await storeA.CollectionExistsAsync("hotels")).Should().BeTrue();
        (await storeB.CollectionExistsAsync("hotels")).Should().BeFalse();
        host.Services.GetRequiredKeyedService<ChromaStore>("a").Path.Should().Be(Path.GetFullPath(a.Path));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddChromaVectorStoreCollection_registers_one_instance_under_every_abstraction()
    {
        var store = NewStore();
        using var host = Host(s =>
        {
            s.AddEmbeddedChromaVectorStore(o => { o.Path = store.Path; o.ApiKey = store.Key; });
            s.AddChromaVectorStoreCollection<string, AllTypes>("docs");
        });
        await host.StartAsync();

        var collection = host.Services.GetRequiredService<ChromaVectorStoreCollection<string, AllTypes>>();
        host.Services.GetRequiredService<VectorStoreCollection<string, AllTypes>>().Should().BeSameAs(collection);
        host.Services.GetRequiredService<IVectorSearchable<AllTypes>>().Should().BeSameAs(collection);
        host.Services.GetRequiredService<IKeywordHybridSearchable<AllTypes>>().Should().BeSameAs(collection);
        host.Services.GetRequiredService<VectorStore>().Should().BeOfType<ChromaVectorStore>();

        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(new AllTypes { Key = "k", Body = "text", Vector = new[] { 1f, 0f, 0f } });
        var searchable = host.Services.GetRequiredService<IVectorSearchable<AllTypes>>();
        await foreach (var hit in searchable.SearchAsync(new[] { 1f, 0f, 0f }, 1))
        {
            hit.Record.Key.Should().Be("k");
            hit.Score.Should().BeApproximately(1, 1e-6);
        }

        await host.StopAsync();
    }

    [Fact]
    public async Task HealthCheck_reports_healthy_with_index_state_when_the_store_is_open()
    {
        var store = NewStore();
        using var host = Host(s =>
        {
            s.AddEmbeddedChroma(o => { o.Path = store.Path; o.ApiKey = store.Key; });
            s.AddHealthChecks().AddEmbeddedChroma();
        });
        await host.StartAsync();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        report.Status.Should().Be(HealthStatus.Healthy);
        var entry = report.Entries["embeddedchroma"];
        entry.Description.Should().Contain("folder lock held").And.Contain("indexes up to date");
        entry.Data["open"].Should().Be(true);
        entry.Data["pendingIndexRows"].Should().Be(0L);
        await host.StopAsync();
    }

    [Fact]
    public async Task HealthCheck_reports_unhealthy_when_another_process_holds_the_store()
    {
        var store = NewStore();
        using var holder = ChromaStore.Open(store.Path);
        using var host = Host(s =>
        {
            s.AddEmbeddedChroma(o => { o.Path = store.Path; o.ApiKey = store.Key; });
            s.AddHealthChecks().AddEmbeddedChroma();
        });

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        report.Status.Should().Be(HealthStatus.Unhealthy);
        report.Entries["embeddedchroma"].Description.Should().Contain("locked");
    }

    [Fact]
    public async Task HealthCheck_reports_unhealthy_when_the_store_was_closed()
    {
        var store = NewStore();
        using var host = Host(s =>
        {
            s.AddEmbeddedChroma(o => { o.Path = store.Path; o.ApiKey = store.Key; });
            s.AddHealthChecks().AddEmbeddedChroma(failureStatus: HealthStatus.Degraded);
        });
        await host.StartAsync();
        host.Services.GetRequiredService<ChromaStore>().Dispose();

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        report.Status.Should().Be(HealthStatus.Degraded);
        report.Entries["embeddedchroma"].Description.Should().Contain("closed");
    }

    [Fact]
    public void Options_ToString_never_shows_the_key()
    {
        var options = new EmbeddedChromaOptions { Path = "/data", ApiKey = "ec_secret_value" };
        options.ToString().Should().NotContain("ec_secret_value").And.Contain("<set>");
    }
}
