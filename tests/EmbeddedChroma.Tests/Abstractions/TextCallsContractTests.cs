using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// The text calls (<c>AddTextsAsync</c>, <c>UpsertTextsAsync</c>, <c>UpdateTextsAsync</c>, <c>QueryTextsAsync</c>) and
/// Chroma's rule that a batch of documents without embeddings is embedded by the handle's generator: the generator's
/// embeddings are stored, a generator failure is a <see cref="ChromaEmbeddingException"/> that writes nothing, and a
/// key that may not do the call is refused before any text reaches the generator.
/// </summary>
public sealed class TextCallsContractTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static float[] E(string text) => DeterministicEmbeddingGenerator.Embed(text);

    private static async Task<GetResult> AllAsync(IChromaCollection c) =>
        await c.GetAsync(new GetRequest { Include = Include.Embeddings | Include.Documents | Include.Metadatas });

    [Fact]
    public async Task AddTextsAsync_stores_the_generators_embeddings_and_the_documents_when_the_handle_has_a_generator()
    {
        var generator = new DeterministicEmbeddingGenerator();
        IChromaCollection c = await _h.CreateAsync("texts", generator);

        await c.AddTextsAsync(["a", "b"], ["cat cat", "dog car"], [ContractHarness.Meta(("n", 1)), null]);

        generator.Calls.Should().ContainSingle().Which.Should().Equal("cat cat", "dog car");
        var all = await AllAsync(c);
        all.Ids.Should().Equal("a", "b");
        all.Documents.Should().Equal("cat cat", "dog car");
        all.Embeddings![0].Should().Equal(E("cat cat"));
        all.Embeddings[1].Should().Equal(E("dog car"));
        all.Metadatas![0]!["n"].Should().Be(MetadataValue.FromInt64(1));
        all.Metadatas[1].Should().BeNull();
        c.Dimension.Should().Be(DeterministicEmbeddingGenerator.Dimension);
    }

    [Fact]
    public async Task UpsertTextsAsync_replaces_existing_and_adds_new_records_when_the_handle_has_a_generator()
    {
        IChromaCollection c = await _h.CreateAsync("texts", new DeterministicEmbeddingGenerator());
        await c.AddTextsAsync(["a"], ["cat"]);

        await c.UpsertTextsAsync(["a", "b"], ["space space", "dog"]);

        var all = await AllAsync(c);
        all.Ids.Should().Equal("a", "b");
        all.Documents.Should().Equal("space space", "dog");
        all.Embeddings![0].Should().Equal(E("space space"));
        all.Embeddings[1].Should().Equal(E("dog"));
    }

    [Fact]
    public async Task UpdateTextsAsync_replaces_documents_and_embeddings_of_existing_records_only_when_the_handle_has_a_generator()
    {
        IChromaCollection c = await _h.CreateAsync("texts", new DeterministicEmbeddingGenerator());
        await c.AddTextsAsync(["a", "b"], ["cat", "dog"]);

        await c.UpdateTextsAsync(["b", "ghost"], ["car car car", "space"]);

        var all = await AllAsync(c);
        all.Ids.Should().Equal("a", "b");
        all.Documents.Should().Equal("cat", "car car car");
        all.Embeddings![1].Should().Equal(E("car car car"));
        all.Embeddings[0].Should().Equal(E("cat"));
    }

    [Fact]
    public async Task QueryTextsAsync_finds_the_nearest_documents_when_the_handle_has_a_generator()
    {
        var generator = new DeterministicEmbeddingGenerator();
        IChromaCollection c = await _h.CreateAsync("texts", generator);
        await c.AddTextsAsync(["cats", "dogs", "cars"], ["cat cat cat", "dog dog dog", "car car car"]);

        var result = await c.QueryTextsAsync(["a dog and a dog", "my cat"], nResults: 1);

        result.Ids.Select(ids => ids.Single()).Should().Equal("dogs", "cats");
        result.Documents![0].Should().Equal("dog dog dog");
        generator.Calls.Last().Should().Equal("a dog and a dog", "my cat");
    }

    [Fact]
    public async Task AddAsync_embeds_the_documents_with_the_handles_generator_when_the_batch_has_no_embeddings()
    {
        var generator = new DeterministicEmbeddingGenerator();
        await _h.CreateAsync("texts");
        IChromaCollection c = await _h.Client.GetCollectionAsync("texts", generator);

        await c.AddAsync(new RecordBatch { Ids = ["a", "b"], Documents = ["space cat", "dog"] });
        await c.UpdateAsync(new RecordBatch { Ids = ["b"], Documents = ["car"] });
        await c.UpsertAsync(new RecordBatch { Ids = ["c"], Documents = ["cat"] });

        var all = await AllAsync(c);
        all.Embeddings![0].Should().Equal(E("space cat"));
        all.Embeddings[1].Should().Equal(E("car"), "an update of documents re-embeds them with the handle's generator");
        all.Embeddings[2].Should().Equal(E("cat"));
        generator.Calls.Should().HaveCount(3);
    }

    [Fact]
    public async Task AddAsync_uses_the_given_embeddings_and_not_the_generator_when_the_batch_has_both()
    {
        var generator = new DeterministicEmbeddingGenerator();
        IChromaCollection c = await _h.CreateAsync("texts", generator);

        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[9, 9, 9, 9, 9]], Documents = ["cat"] });

        generator.Calls.Should().BeEmpty();
        (await AllAsync(c)).Embeddings![0].Should().Equal(9f, 9f, 9f, 9f, 9f);
    }

    [Fact]
    public async Task Text_calls_fail_with_ChromaValidationException_through_the_task_when_the_handle_has_no_generator()
    {
        IChromaCollection c = await _h.CreateAsync("plain");
        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 2, 3, 4, 5]], Documents = ["cat"] });

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("add texts", () => c.AddTextsAsync(["b"], ["dog"])),
            ("upsert texts", () => c.UpsertTextsAsync(["a"], ["dog"])),
            ("update texts", () => c.UpdateTextsAsync(["a"], ["dog"])),
            ("query texts", () => c.QueryTextsAsync(["dog"])),
            ("add documents only", () => c.AddAsync(new RecordBatch { Ids = ["b"], Documents = ["dog"] })),
            ("upsert documents only", () => c.UpsertAsync(new RecordBatch { Ids = ["b"], Documents = ["dog"] })),
        })
        {
            Task? task = null;
            Action invoke = () => task = call();
            invoke.Should().NotThrow(what);
            await task!.Invoking(t => t).Should().ThrowAsync<ChromaValidationException>(what);
        }

        var all = await AllAsync(c);
        all.Ids.Should().Equal("a");
        all.Documents.Should().Equal("cat");
    }

    [Fact]
    public async Task Text_calls_fail_with_ChromaValidationException_without_calling_the_generator_when_the_texts_are_invalid()
    {
        var generator = new ScriptedGenerator();
        IChromaCollection c = await _h.CreateAsync("texts", generator);

        foreach (var (what, call) in new (string, Func<Task>)[]
        {
            ("add texts null documents", () => c.AddTextsAsync(["a"], null!)),
            ("add texts null ids", () => c.AddTextsAsync(null!, ["cat"])),
            ("add texts fewer documents", () => c.AddTextsAsync(["a", "b"], ["cat"])),
            ("add texts null document", () => c.AddTextsAsync(["a", "b"], ["cat", null!])),
            ("add batch null document", () => c.AddAsync(new RecordBatch { Ids = ["a", "b"], Documents = ["cat", null] })),
            ("query texts empty", () => c.QueryTextsAsync([])),
            ("query texts null", () => c.QueryTextsAsync(null!)),
            ("query texts null element", () => c.QueryTextsAsync(["cat", null!])),
        })
        {
            await call.Invoking(f => f()).Should().ThrowAsync<ChromaValidationException>(what);
        }

        generator.Calls.Should().Be(0);
        (await c.CountAsync()).Should().Be(0);
    }

    public static TheoryData<string> Operations() => ["add", "upsert", "update", "add batch", "query"];

    private static Task Call(IChromaCollection c, string operation) => operation switch
    {
        "add" => c.AddTextsAsync(["new"], ["cat"]),
        "upsert" => c.UpsertTextsAsync(["seed", "new"], ["cat", "dog"]),
        "update" => c.UpdateTextsAsync(["seed"], ["car"]),
        "add batch" => c.AddAsync(new RecordBatch { Ids = ["new"], Documents = ["cat"] }),
        _ => c.QueryTextsAsync(["cat"]),
    };

    private async Task<IChromaCollection> SeededWith(IEmbeddingGenerator<string, Embedding<float>> generator)
    {
        var c = await _h.CreateAsync("texts");
        await c.AddAsync(new RecordBatch { Ids = ["seed"], Embeddings = [E("space")], Documents = ["space"] });
        return await _h.Client.GetCollectionAsync("texts", generator);
    }

    private static async Task ShouldBeUnchanged(IChromaCollection c)
    {
        var all = await AllAsync(c);
        all.Ids.Should().Equal("seed");
        all.Documents.Should().Equal("space");
        all.Embeddings![0].Should().Equal(E("space"));
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Text_calls_throw_ChromaEmbeddingException_with_the_original_inside_and_write_nothing_when_the_generator_throws(string operation)
    {
        var failure = new InvalidOperationException("model unavailable");
        var generator = new ScriptedGenerator { Failure = failure };
        var c = await SeededWith(generator);

        var thrown = await c.Invoking(x => Call(x, operation)).Should().ThrowAsync<ChromaEmbeddingException>();

        thrown.Which.InnerException.Should().BeSameAs(failure);
        generator.Calls.Should().Be(1);
        await ShouldBeUnchanged(c);
    }

    [Theory]
    [InlineData("add", -1)]
    [InlineData("add", 1)]
    [InlineData("upsert", -1)]
    [InlineData("update", 2)]
    [InlineData("add batch", -1)]
    [InlineData("query", 1)]
    public async Task Text_calls_throw_ChromaEmbeddingException_and_write_nothing_when_the_generator_returns_another_count(string operation, int skew)
    {
        var c = await SeededWith(new ScriptedGenerator { CountSkew = skew });

        await c.Invoking(x => Call(x, operation)).Should().ThrowAsync<ChromaEmbeddingException>();

        await ShouldBeUnchanged(c);
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Text_calls_throw_ChromaAuthorizationException_before_calling_the_generator_when_the_key_may_not_do_the_call(string operation)
    {
        // A key that may read but not write (or, for query, write but not query) must not get texts embedded: the
        // generator may be a paid or rate-limited model, and the texts would leave the process for nothing.
        await SeededWith(new DeterministicEmbeddingGenerator());
        var actions = operation == "query"
            ? new[] { ChromaActions.Add, ChromaActions.Upsert, ChromaActions.Update, ChromaActions.Get, ChromaActions.Count }
            : new[] { ChromaActions.Get, ChromaActions.Query, ChromaActions.Count };
        var client = _h.ClientFor(_h.Mint(actions, ["default_tenant/default_database/texts"]));
        var generator = new ScriptedGenerator();
        IChromaCollection c = await client.GetCollectionAsync("texts", generator);

        await c.Invoking(x => Call(x, operation)).Should().ThrowAsync<ChromaAuthorizationException>();

        generator.Calls.Should().Be(0, "the key is checked before the generator runs");
        await ShouldBeUnchanged(await _h.Client.GetCollectionAsync("texts", null));
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Text_calls_throw_ChromaAuthenticationException_before_calling_the_generator_when_the_key_is_revoked(string operation)
    {
        await SeededWith(new DeterministicEmbeddingGenerator());
        var key = _h.Mint([ChromaActions.AllData], ["*"], out var keyId);
        var generator = new ScriptedGenerator();
        IChromaCollection c = await _h.ClientFor(key).GetCollectionAsync("texts", generator);
        _h.Revoke(keyId);

        await c.Invoking(x => Call(x, operation)).Should().ThrowAsync<ChromaAuthenticationException>();

        generator.Calls.Should().Be(0, "a revoked key gets nothing embedded");
    }

    public static TheoryData<string> InvalidBeyondTheTexts() =>
    [
        "add duplicate ids",
        "add empty id",
        "add reserved metadata key",
        "add fewer metadatas",
        "upsert duplicate ids",
        "add fewer uris",
        "upsert uri with a lone surrogate",
        "query n_results 0",
        "query ef_search 0",
        "query unknown include",
    ];

    [Theory]
    [MemberData(nameof(InvalidBeyondTheTexts))]
    public async Task Calls_that_embed_fail_with_ChromaValidationException_without_calling_the_generator_when_another_argument_is_invalid(string what)
    {
        // The cheap checks come first: a request that will be refused anyway must not send its texts to the model.
        var generator = new ScriptedGenerator();
        IChromaCollection c = await _h.CreateAsync("texts", generator);
        Func<Task> call = what switch
        {
            "add duplicate ids" => () => c.AddAsync(new RecordBatch { Ids = ["a", "a"], Documents = ["cat", "dog"] }),
            "add empty id" => () => c.AddAsync(new RecordBatch { Ids = [""], Documents = ["cat"] }),
            "add reserved metadata key" => () => c.AddAsync(new RecordBatch { Ids = ["a"], Documents = ["cat"], Metadatas = [ContractHarness.Meta(("$bad", 1))] }),
            "add fewer metadatas" => () => c.AddAsync(new RecordBatch { Ids = ["a", "b"], Documents = ["cat", "dog"], Metadatas = [null] }),
            "upsert duplicate ids" => () => c.UpsertTextsAsync(["a", "a"], ["cat", "dog"]),
            "add fewer uris" => () => c.AddAsync(new RecordBatch { Ids = ["a", "b"], Documents = ["cat", "dog"], Uris = ["file:///a"] }),
            "upsert uri with a lone surrogate" => () => c.UpsertAsync(new RecordBatch { Ids = ["a"], Documents = ["cat"], Uris = ["file:///\ud800"] }),
            "query n_results 0" => () => c.QueryAsync(new QueryRequest { QueryTexts = ["cat"], NResults = 0 }),
            "query ef_search 0" => () => c.QueryAsync(new QueryRequest { QueryTexts = ["cat"], EfSearch = 0 }),
            _ => () => c.QueryAsync(new QueryRequest { QueryTexts = ["cat"], Include = (Include)64 }),
        };

        await call.Should().ThrowAsync<ChromaValidationException>();

        generator.Calls.Should().Be(0, "the request was invalid before any text needed embedding");
    }
}
