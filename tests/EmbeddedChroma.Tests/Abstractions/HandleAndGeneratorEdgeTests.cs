using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// Edges of <see cref="IChromaCollection"/>: its properties are a snapshot that never calls the store, is refreshed by
/// the handle's own allowed calls and by nothing else; the handle's generator is the one given when it was obtained;
/// and a generator that misbehaves (a timeout of its own, bad vectors) leaves the collection unchanged.
/// </summary>
public sealed class HandleAndGeneratorEdgeTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Handle_properties_do_not_throw_when_the_store_is_closed()
    {
        IChromaCollection c = await _h.Client.CreateCollectionAsync("kept", new CollectionOptions { Metadata = ContractHarness.Meta(("v", 1)) });
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2]] });
        _h.Store.Dispose();

        c.Name.Should().Be("kept");
        c.Metadata!["v"].Should().Be(MetadataValue.FromInt64(1));
        c.Dimension.Should().Be(2);
        c.Configuration.Should().NotBeNull();
        c.Id.Should().NotBeEmpty();
        c.Tenant.Should().Be(ChromaDefaults.Tenant);
        _h.Client.Database.Should().Be(ChromaDefaults.Database);
    }

    [Fact]
    public async Task Handle_properties_refresh_on_the_handles_next_call_when_another_handle_changed_the_collection()
    {
        IChromaCollection first = await _h.CreateAsync("shared");
        IChromaCollection second = await _h.Client.GetCollectionAsync("shared", null);

        await first.ModifyAsync(new CollectionModification { Metadata = ContractHarness.Meta(("v", 2)), Configuration = new CollectionConfigurationUpdate { EfSearch = 42 } });
        await first.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2, 3]] });

        second.Metadata.Should().BeNull("a snapshot does not change by itself");
        second.Dimension.Should().BeNull();
        (await second.CountAsync()).Should().Be(1);
        second.Metadata!["v"].Should().Be(MetadataValue.FromInt64(2));
        second.Configuration.EfSearch.Should().Be(42);
        second.Dimension.Should().Be(3);
    }

    [Fact]
    public async Task Handle_properties_keep_the_old_snapshot_when_the_key_was_revoked_before_the_call()
    {
        await _h.Client.CreateCollectionAsync("watched", new CollectionOptions { Metadata = ContractHarness.Meta(("plan", "v1")) });
        var key = _h.Mint([ChromaActions.AllData], ["default_tenant/default_database/watched"], out var keyId);
        IChromaCollection spy = await _h.ClientFor(key).GetCollectionAsync("watched", null);
        IChromaCollection admin = await _h.Client.GetCollectionAsync("watched", null);
        await admin.ModifyAsync(new CollectionModification { Metadata = ContractHarness.Meta(("plan", "v2-confidential")) });
        _h.Revoke(keyId);

        await spy.Invoking(s => s.CountAsync()).Should().ThrowAsync<ChromaAuthenticationException>();

        spy.Metadata!["plan"].Should().Be(MetadataValue.FromString("v1"), "a refused call refreshes nothing, so a revoked key learns nothing new");
    }

    [Fact]
    public async Task GetOrCreateCollectionAsync_returns_a_handle_with_the_given_generator_and_ignores_other_options_when_the_collection_exists()
    {
        await _h.Client.CreateCollectionAsync("existing", new CollectionOptions { Metadata = ContractHarness.Meta(("origin", "first")) });
        var generator = new DeterministicEmbeddingGenerator();

        var handle = await _h.Client.GetOrCreateCollectionAsync("existing", new CollectionOptions
        {
            Metadata = ContractHarness.Meta(("origin", "second")),
            Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
            EmbeddingGenerator = generator,
        });
        await handle.AddTextsAsync(["a"], ["cat"]);

        handle.EmbeddingGenerator.Should().BeSameAs(generator);
        handle.Metadata!["origin"].Should().Be(MetadataValue.FromString("first"));
        handle.Configuration.Space.Should().Be(DistanceSpace.L2);
        generator.Calls.Should().ContainSingle();
        (await _h.Client.GetCollectionAsync("existing", null)).EmbeddingGenerator.Should().BeNull("a generator belongs to a handle and is not persisted");
    }

    [Fact]
    public async Task Text_calls_throw_ChromaEmbeddingException_not_a_cancellation_when_the_generator_times_out_on_its_own()
    {
        var timeout = new TaskCanceledException("the model's HTTP call timed out");
        IChromaCollection c = await _h.CreateAsync("texts", new ScriptedGenerator { Failure = timeout });

        var thrown = await c.Invoking(x => x.AddTextsAsync(["a"], ["cat"])).Should().ThrowAsync<ChromaEmbeddingException>();

        thrown.Which.InnerException.Should().BeSameAs(timeout);
        await c.Invoking(x => x.QueryTextsAsync(["cat"])).Should().ThrowAsync<ChromaEmbeddingException>();
        (await c.CountAsync()).Should().Be(0);
    }

    public static TheoryData<string, float[][]> BadVectors() => new()
    {
        { "NaN", [[float.NaN, 0, 0, 0, 1], [0, 0, 0, 0, 1]] },
        { "infinity", [[1, 0, 0, 0, 1], [float.PositiveInfinity, 0, 0, 0, 1]] },
        { "ragged", [[1, 0, 0, 0, 1], [1, 0, 0, 1]] },
        { "wrong dimension", [[1, 0, 0], [1, 0, 0]] },
        { "empty", [[], []] },
    };

    [Theory]
    [MemberData(nameof(BadVectors))]
    public async Task Text_calls_throw_a_ChromaException_and_write_nothing_when_the_generator_returns_bad_vectors(string what, float[][] vectors)
    {
        IChromaCollection c = await _h.CreateAsync("texts");
        await c.AddAsync(new RecordBatch { Ids = ["seed"], Embeddings = [[0, 0, 0, 0, 1]] });
        IChromaCollection withBad = await _h.Client.GetCollectionAsync("texts", new FixedGenerator(vectors));

        await withBad.Invoking(x => x.AddTextsAsync(["a", "b"], ["cat", "dog"])).Should().ThrowAsync<ChromaException>(what);
        await withBad.Invoking(x => x.UpsertTextsAsync(["seed", "b"], ["cat", "dog"])).Should().ThrowAsync<ChromaException>(what);
        await withBad.Invoking(x => x.QueryTextsAsync(["cat", "dog"])).Should().ThrowAsync<ChromaException>(what);

        var all = await c.GetAsync(new GetRequest { Include = Include.Embeddings });
        all.Ids.Should().Equal("seed");
        all.Embeddings![0].Should().Equal(0f, 0f, 0f, 0f, 1f);
    }

    [Fact]
    public async Task AddAsync_keeps_every_record_when_called_concurrently_through_the_contract()
    {
        IChromaCollection c = await _h.CreateAsync("busy");
        const int writers = 8;
        const int each = 40;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < each; i += 10)
            {
                var ids = Enumerable.Range(i, 10).Select(j => $"w{w}-{j}").ToArray();
                await c.AddAsync(new RecordBatch { Ids = ids, Embeddings = ids.Select((_, j) => new[] { w, (float)(i + j) }).ToArray() });
            }
        })));

        (await c.CountAsync()).Should().Be(writers * each);
        (await c.GetAsync(new GetRequest { Include = Include.None })).Ids.Should().OnlyHaveUniqueItems().And.HaveCount(writers * each);
    }

    /// <summary>Returns the same fixed vectors whatever it is asked.</summary>
    private sealed class FixedGenerator(float[][] vectors) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v))));

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
