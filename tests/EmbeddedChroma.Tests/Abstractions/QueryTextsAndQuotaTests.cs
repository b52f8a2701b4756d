using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// <see cref="QueryRequest.QueryTexts"/> (Chroma's <c>query_texts</c>, embedded by the handle's generator after the key
/// check), and the accounting of calls that embed: one call is one allowed call of its action in the key's usage, one
/// use of its quota and one token of its rate limit, however the implementation checks the key internally.
/// </summary>
public sealed class QueryTextsAndQuotaTests : IDisposable
{
    private const string Scope = "default_tenant/default_database/texts";
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    private async Task<IChromaCollection> TextsAsync(DeterministicEmbeddingGenerator? generator = null)
    {
        IChromaCollection c = await _h.CreateAsync("texts", generator ?? new DeterministicEmbeddingGenerator());
        await c.AddTextsAsync(["cats", "dogs"], ["cat cat", "dog dog"]);
        return c;
    }

    [Fact]
    public async Task QueryAsync_embeds_QueryTexts_with_the_handles_generator_when_no_embeddings_are_given()
    {
        var generator = new DeterministicEmbeddingGenerator();
        var c = await TextsAsync(generator);

        var result = await c.QueryAsync(new QueryRequest { QueryTexts = ["dog", "cat"], NResults = 1, Include = Include.Distances });

        result.Ids.Select(ids => ids.Single()).Should().Equal("dogs", "cats");
        generator.Calls.Last().Should().Equal("dog", "cat");
    }

    [Fact]
    public async Task QueryAsync_fails_with_ChromaValidationException_through_the_task_when_texts_and_embeddings_are_both_or_neither_given()
    {
        var generator = new DeterministicEmbeddingGenerator();
        var c = await TextsAsync(generator);
        var callsBefore = generator.Calls.Count;

        foreach (var (what, request) in new (string, QueryRequest)[]
        {
            ("both", new QueryRequest { QueryTexts = ["cat"], QueryEmbeddings = [DeterministicEmbeddingGenerator.Embed("cat")] }),
            ("neither", new QueryRequest()),
            ("empty texts", new QueryRequest { QueryTexts = [] }),
            ("a null text", new QueryRequest { QueryTexts = ["cat", null!] }),
        })
        {
            Task? task = null;
            Action call = () => task = c.QueryAsync(request);
            call.Should().NotThrow(what);
            await task!.Invoking(t => t).Should().ThrowAsync<ChromaValidationException>(what);
        }

        generator.Calls.Should().HaveCount(callsBefore, "an invalid request embeds nothing");
    }

    [Fact]
    public async Task QueryAsync_fails_with_ChromaValidationException_when_QueryTexts_are_given_to_a_handle_without_a_generator()
    {
        await TextsAsync();
        var plain = await _h.Client.GetCollectionAsync("texts", null);

        await plain.Invoking(c => c.QueryAsync(new QueryRequest { QueryTexts = ["cat"] })).Should().ThrowAsync<ChromaValidationException>();
    }

    [Fact]
    public async Task QueryAsync_with_QueryTexts_is_refused_before_the_generator_runs_when_the_key_may_not_query()
    {
        await TextsAsync();
        var client = _h.ClientFor(_h.Mint([ChromaActions.Add, ChromaActions.Get], [Scope]));
        var generator = new ScriptedGenerator();
        var c = await client.GetCollectionAsync("texts", generator);

        await c.Invoking(x => x.QueryAsync(new QueryRequest { QueryTexts = ["cat"] })).Should().ThrowAsync<ChromaAuthorizationException>();

        generator.Calls.Should().Be(0);
    }

    [Fact]
    public async Task Calls_that_embed_count_one_allowed_call_of_their_action_in_the_keys_usage()
    {
        await TextsAsync();
        var key = _h.Mint([ChromaActions.AllData], [Scope], out var keyId);
        var c = await _h.ClientFor(key).GetCollectionAsync("texts", new DeterministicEmbeddingGenerator());

        await c.AddTextsAsync(["a"], ["cat"]);
        await c.AddAsync(new RecordBatch { Ids = ["b"], Documents = ["dog"] });
        await c.UpsertTextsAsync(["c"], ["car"]);
        await c.UpdateTextsAsync(["c"], ["space"]);
        await c.QueryTextsAsync(["cat"]);
        await c.QueryAsync(new QueryRequest { QueryTexts = ["dog"] });

        _h.Calls(keyId, ChromaActions.Add).Should().Be(2, "two add calls were made");
        _h.Calls(keyId, ChromaActions.Upsert).Should().Be(1);
        _h.Calls(keyId, ChromaActions.Update).Should().Be(1);
        _h.Calls(keyId, ChromaActions.Query).Should().Be(2, "two query calls were made");
    }

    [Fact]
    public async Task Calls_that_embed_spend_one_use_of_the_keys_quota()
    {
        await TextsAsync();
        var key = _h.Mint(new ApiKeySpec { Name = "metered", Actions = [ChromaActions.AllData], Resources = [Scope], MaxUses = 4 }, out _);
        var c = await _h.ClientFor(key).GetCollectionAsync("texts", new DeterministicEmbeddingGenerator()); // use 1

        await c.AddTextsAsync(["a"], ["cat"]); // use 2
        await c.QueryTextsAsync(["cat"]); // use 3
        (await c.CountAsync()).Should().Be(3); // use 4

        await c.Invoking(x => x.CountAsync()).Should().ThrowAsync<ChromaAuthenticationException>("the quota of 4 calls is spent");
    }

    [Fact]
    public async Task Calls_that_embed_take_one_token_of_the_keys_rate_limit()
    {
        await TextsAsync();
        var key = _h.Mint(
            new ApiKeySpec { Name = "limited", Actions = [ChromaActions.AllData], Resources = [Scope], RateLimit = new ApiKeyRateLimit(0.001, 3) },
            out _);
        var c = await _h.ClientFor(key).GetCollectionAsync("texts", new DeterministicEmbeddingGenerator()); // token 1

        await c.AddAsync(new RecordBatch { Ids = ["a"], Documents = ["cat"] }); // token 2
        await c.QueryAsync(new QueryRequest { QueryTexts = ["cat"] }); // token 3

        await c.Invoking(x => x.CountAsync()).Should().ThrowAsync<ChromaRateLimitedException>("the burst of 3 is spent");
    }

    [Theory]
    [InlineData("add texts")]
    [InlineData("add batch")]
    [InlineData("query texts")]
    public async Task Calls_that_embed_are_refused_when_the_key_is_revoked_while_the_generator_embeds(string operation)
    {
        // The key is checked before the texts go out; a slow model gives time to revoke it. The call must not then
        // write with, or return records to, a key that is no longer valid (a non-counting re-check after embedding
        // keeps "one call counts once").
        await TextsAsync();
        var key = _h.Mint([ChromaActions.AllData], [Scope], out var keyId);
        var generator = new CallbackGenerator(() => _h.Revoke(keyId));
        var c = await _h.ClientFor(key).GetCollectionAsync("texts", generator);

        Func<Task> call = operation switch
        {
            "add texts" => () => c.AddTextsAsync(["late"], ["cat"]),
            "add batch" => () => c.AddAsync(new RecordBatch { Ids = ["late"], Documents = ["cat"] }),
            _ => () => c.QueryAsync(new QueryRequest { QueryTexts = ["cat"] }),
        };

        await call.Should().ThrowAsync<ChromaAuthenticationException>();
        generator.Calls.Should().Be(1);
        (await (await _h.Client.GetCollectionAsync("texts", null)).CountAsync()).Should().Be(2, "nothing was written");
    }

    /// <summary>Runs a callback while it embeds (as if the call took long), then answers like the deterministic generator.</summary>
    private sealed class CallbackGenerator(Action during) : Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, Microsoft.Extensions.AI.EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            during();
            return Task.FromResult(new Microsoft.Extensions.AI.GeneratedEmbeddings<Microsoft.Extensions.AI.Embedding<float>>(
                values.Select(v => new Microsoft.Extensions.AI.Embedding<float>(DeterministicEmbeddingGenerator.Embed(v)))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
