using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Embeddings.MiniLM.Tests;

/// <summary>
/// The store with the model package present: a collection created without a generator remembers Chroma's default
/// embedding function and wires it again when reopened; a generator passed explicitly always wins.
/// </summary>
[Collection("model")]
public sealed class DefaultEmbeddingFunctionStoreTests : IDisposable
{
    private static readonly string[] Ids = ["cat", "car", "soup"];
    private static readonly string[] Documents = ["A small cat sleeps on the sofa.", "The red sports car drives fast.", "Hot tomato soup for dinner."];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.MiniLM.Tests", Guid.NewGuid().ToString("N"));
    private readonly ModelFixture _model;

    public DefaultEmbeddingFunctionStoreTests(ModelFixture model) => _model = model;

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task QueryTextsAsync_uses_the_remembered_default_model_when_the_collection_is_reopened_without_a_generator()
    {
        string key;
        using (var store = ChromaStore.Create(_folder, out key))
        {
            IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
            IChromaCollection created = await client.CreateCollectionAsync("docs", new CollectionOptions());
            created.EmbeddingGenerator.Should().NotBeNull();
            await created.AddTextsAsync(Ids, Documents);
        }

        using (var store = ChromaStore.Open(_folder))
        {
            IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
            (await client.ListCollectionsAsync()).Single().Configuration.EmbeddingFunction.Should().Be(EmbeddingFunctionConfiguration.Default);
            IChromaCollection reopened = await client.GetCollectionAsync("docs");

            QueryResult result = await reopened.QueryTextsAsync(["a kitten napping", "automobile"], nResults: 1);

            result.Ids[0].Should().Equal("cat");
            result.Ids[1].Should().Equal("car");
            GetResult stored = await reopened.GetAsync(ids: ["soup"], include: Include.Embeddings);
            float[] expected = (await _model.Generator.GenerateAsync([Documents[2]]))[0].Vector.ToArray();
            TensorPrimitives.CosineSimilarity(stored.Embeddings![0], expected).Should().BeGreaterThan(0.99999f);
        }
    }

    [Fact]
    public void Synchronous_Add_with_documents_and_Query_by_texts_use_the_remembered_default_model_after_reopen()
    {
        string key;
        using (var store = ChromaStore.Create(_folder, out key))
        {
            var created = store.GetClient(key).CreateCollection("docs");
            created.Add(Ids, documents: Documents);
        }

        using (var store = ChromaStore.Open(_folder))
        {
            var reopened = store.GetClient(key).GetCollection("docs");

            var result = reopened.Query(queryTexts: ["a kitten napping", "automobile"], nResults: 1);

            result.Ids[0].Should().Equal("cat");
            result.Ids[1].Should().Equal("car");
        }
    }

    [Fact]
    public async Task GetCollectionAsync_prefers_an_explicit_generator_when_the_collection_remembers_the_default()
    {
        using var store = ChromaStore.Create(_folder, out string key);
        IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
        await client.CreateCollectionAsync("docs", new CollectionOptions());
        using var constant = new ConstantGenerator(384);

        IChromaCollection reopened = await client.GetCollectionAsync("docs", constant);
        await reopened.AddTextsAsync(["x"], ["anything"]);

        reopened.EmbeddingGenerator.Should().BeSameAs(constant);
        GetResult stored = await reopened.GetAsync(include: Include.Embeddings);
        stored.Embeddings![0].Should().OnlyContain(v => v == 1f);
        constant.Calls.Should().Be(1);
    }

    [Fact]
    public async Task CreateCollectionAsync_remembers_legacy_and_reopens_without_a_generator_when_created_with_a_custom_one()
    {
        using var store = ChromaStore.Create(_folder, out string key);
        IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
        using var constant = new ConstantGenerator(3);
        await client.CreateCollectionAsync("custom", new CollectionOptions { EmbeddingGenerator = constant });
        await client.CreateCollectionAsync("minilm", new CollectionOptions { EmbeddingGenerator = _model.Generator });

        IChromaCollection custom = await client.GetCollectionAsync("custom");
        IChromaCollection minilm = await client.GetCollectionAsync("minilm");

        custom.Configuration.EmbeddingFunction.Should().Be(EmbeddingFunctionConfiguration.Legacy);
        custom.EmbeddingGenerator.Should().BeNull();
        await custom.Invoking(c => c.AddTextsAsync(["a"], ["text"])).Should().ThrowAsync<ChromaValidationException>().WithMessage("*'custom'*no embedding generator*");
        minilm.Configuration.EmbeddingFunction.Should().Be(EmbeddingFunctionConfiguration.Default);
        minilm.EmbeddingGenerator.Should().NotBeNull();
    }

    [Fact]
    public async Task AddAsync_stores_the_given_embeddings_and_does_not_embed_when_given_documents_and_embeddings()
    {
        // Chroma's clients embed documents only when no embeddings are given; both together store both as given.
        using var store = ChromaStore.Create(_folder, out string key);
        IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
        using var constant = new ConstantGenerator(384);
        IChromaCollection c = await client.CreateCollectionAsync("docs", new CollectionOptions { EmbeddingGenerator = constant });
        float[] given = Enumerable.Range(0, 384).Select(i => i / 384f).ToArray();

        await c.AddAsync(["a"], [given], documents: ["a document"]);

        constant.Calls.Should().Be(0);
        GetResult stored = await c.GetAsync(include: Include.Embeddings | Include.Documents);
        stored.Embeddings![0].Should().Equal(given);
        stored.Documents![0].Should().Be("a document");
        await c.Invoking(x => x.QueryAsync(new QueryRequest { QueryEmbeddings = [given], QueryTexts = ["a"] }))
            .Should().ThrowAsync<ChromaValidationException>().WithMessage("*not both*");
    }

    [Fact]
    public async Task Text_calls_name_the_function_when_the_remembered_one_is_not_registered()
    {
        using var store = ChromaStore.Create(_folder, out string key);
        IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
        IChromaCollection c = await client.CreateCollectionAsync("docs", new CollectionOptions
        {
            Configuration = new CollectionConfiguration { EmbeddingFunction = new EmbeddingFunctionConfiguration("known", "no-such-function") },
        });
        await c.AddAsync(["raw"], [new float[] { 1, 2, 3 }]);

        await c.Invoking(x => x.AddTextsAsync(["a"], ["text"])).Should().ThrowAsync<ChromaEmbeddingException>().WithMessage("*'no-such-function'*not registered*");
        (await c.CountAsync()).Should().Be(1);
    }

    private sealed class ConstantGenerator(int dimensions) : IEmbeddingGenerator<string, Embedding<float>>
    {
        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>(Enumerable.Repeat(1f, dimensions).ToArray()))));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
