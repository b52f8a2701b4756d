using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>Distance functions, score conversion, skip/threshold, embedding generation and hybrid search.</summary>
public sealed class SearchTests : IDisposable
{
    private static readonly float[] Query = [1f, 2f];

    private static readonly (string Key, float[] Vector)[] Points =
    [
        ("p1", [1f, 0f]),
        ("p2", [0f, 1f]),
        ("p3", [2f, 2f]),
        ("p4", [-1f, 0.5f]),
    ];

    private readonly VectorDataFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private async Task<ChromaVectorStoreDynamicCollection> PointsAsync(string distanceFunction)
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Key", typeof(string)),
                new VectorStoreVectorProperty("Vector", typeof(float[]), 2) { DistanceFunction = distanceFunction },
            ],
        };
        var collection = _fixture.VectorStore.GetDynamicCollection("d" + Guid.NewGuid().ToString("N")[..8], definition);
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync(Points.Select(p => new Dictionary<string, object?> { ["Key"] = p.Key, ["Vector"] = p.Vector }));
        return collection;
    }

    private static double Dot(float[] a, float[] b) => a.Zip(b, (x, y) => (double)x * y).Sum();

    private static double Norm(float[] a) => Math.Sqrt(Dot(a, a));

    private static double Expected(string distanceFunction, float[] v) => distanceFunction switch
    {
        DistanceFunction.CosineSimilarity => Dot(Query, v) / (Norm(Query) * Norm(v)),
        DistanceFunction.CosineDistance => 1 - (Dot(Query, v) / (Norm(Query) * Norm(v))),
        DistanceFunction.DotProductSimilarity => Dot(Query, v),
        DistanceFunction.NegativeDotProductSimilarity => -Dot(Query, v),
        DistanceFunction.EuclideanDistance => Math.Sqrt(Query.Zip(v, (x, y) => (double)(x - y) * (x - y)).Sum()),
        _ => Query.Zip(v, (x, y) => (double)(x - y) * (x - y)).Sum(),
    };

    private static bool HigherIsCloser(string f) => f is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

    [Theory]
    [InlineData(DistanceFunction.CosineSimilarity, DistanceSpace.Cosine)]
    [InlineData(DistanceFunction.CosineDistance, DistanceSpace.Cosine)]
    [InlineData(DistanceFunction.DotProductSimilarity, DistanceSpace.InnerProduct)]
    [InlineData(DistanceFunction.NegativeDotProductSimilarity, DistanceSpace.InnerProduct)]
    [InlineData(DistanceFunction.EuclideanDistance, DistanceSpace.L2)]
    [InlineData(DistanceFunction.EuclideanSquaredDistance, DistanceSpace.L2)]
    public async Task SearchAsync_scores_and_orders_as_MEVD_defines_when_the_distance_function_is(string distanceFunction, DistanceSpace space)
    {
        var collection = await PointsAsync(distanceFunction);

        var hits = new List<(string Key, double Score)>();
        await foreach (var hit in collection.SearchAsync(Query, 4))
        {
            hits.Add(((string)hit.Record["Key"]!, hit.Score!.Value));
        }

        (await _fixture.Client.GetCollectionAsync(collection.Name, null)).Configuration.Space.Should().Be(space);
        var expected = Points.Select(p => (p.Key, Score: Expected(distanceFunction, p.Vector)));
        expected = HigherIsCloser(distanceFunction) ? expected.OrderByDescending(e => e.Score) : expected.OrderBy(e => e.Score);
        hits.Select(h => h.Key).Should().Equal(expected.Select(e => e.Key));
        foreach (var (hit, want) in hits.Zip(expected))
        {
            hit.Score.Should().BeApproximately(want.Score, 1e-5, $"score of {hit.Key}");
        }
    }

    [Fact]
    public async Task SearchAsync_drops_results_below_the_threshold_when_scores_are_similarities()
    {
        var collection = await PointsAsync(DistanceFunction.CosineSimilarity);
        var keys = new List<string>();
        await foreach (var hit in collection.SearchAsync(Query, 4, new() { ScoreThreshold = 0.5 }))
        {
            keys.Add((string)hit.Record["Key"]!);
        }

        // cos: p3 0.949, p2 0.894, p1 0.447, p4 0.0
        keys.Should().Equal("p3", "p2");
    }

    [Fact]
    public async Task SearchAsync_drops_results_above_the_threshold_when_scores_are_distances()
    {
        var collection = await PointsAsync(DistanceFunction.EuclideanDistance);
        var keys = new List<string>();
        await foreach (var hit in collection.SearchAsync(Query, 4, new() { ScoreThreshold = 1.5 }))
        {
            keys.Add((string)hit.Record["Key"]!);
        }

        // euclidean: p2 1.0, p3 1.0, p1 2.0, p4 2.5
        keys.Should().BeEquivalentTo("p2", "p3");
    }

    [Fact]
    public async Task SearchAsync_skips_the_nearest_when_skip_is_given()
    {
        var collection = await PointsAsync(DistanceFunction.CosineSimilarity);
        var keys = new List<string>();
        await foreach (var hit in collection.SearchAsync(new ReadOnlyMemory<float>(Query), 2, new() { Skip = 1 }))
        {
            keys.Add((string)hit.Record["Key"]!);
        }

        keys.Should().Equal("p2", "p1");
    }

    [Fact]
    public async Task SearchAsync_accepts_an_Embedding_when_given_one_and_returns_vectors_when_asked()
    {
        var collection = await PointsAsync(DistanceFunction.CosineSimilarity);
        await foreach (var hit in collection.SearchAsync(new Embedding<float>(Query), 1, new() { IncludeVectors = true }))
        {
            hit.Record["Key"].Should().Be("p3");
            ((float[])hit.Record["Vector"]!).Should().Equal(2f, 2f);
        }
    }

    [Fact]
    public void GetDynamicCollection_throws_not_supported_when_the_distance_function_is_hamming()
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Key", typeof(string)), new VectorStoreVectorProperty("Vector", typeof(float[]), 2) { DistanceFunction = DistanceFunction.HammingDistance }],
        };

        var act = () => _fixture.VectorStore.GetDynamicCollection("hamming", definition);
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("HammingDistance");
    }

    [Fact]
    public async Task EnsureCollectionExistsAsync_throws_when_the_existing_collection_has_another_space()
    {
        await _fixture.Client.CreateCollectionAsync("spaced", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.L2 } });
        var collection = _fixture.VectorStore.GetCollection<string, AllTypes>("spaced"); // cosine

        var act = () => collection.EnsureCollectionExistsAsync();
        (await act.Should().ThrowAsync<VectorStoreException>()).Which.Message.Should().Contain("'l2'").And.Contain("'cosine'");
    }

    [Fact]
    public async Task UpsertAsync_and_SearchAsync_embed_text_when_the_vector_property_is_generated()
    {
        var generator = new WordCountGenerator();
        var collection = _fixture.VectorStore.GetCollection<int, GeneratedRecord>(
            "gen", new VectorStoreCollectionDefinition { EmbeddingGenerator = generator, Properties = DefinitionOf<GeneratedRecord>() });
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync([new GeneratedRecord { Key = 1, Text = "cat cat" }, new GeneratedRecord { Key = 2, Text = "car space" }]);

        var keys = new List<int>();
        await foreach (var hit in collection.SearchAsync("space car car", 2))
        {
            keys.Add(hit.Record.Key);
        }

        keys.Should().Equal(2, 1);
        generator.Calls.Should().Be(2, "one batch for the upsert, one for the query");
        var stored = await (await _fixture.Client.GetCollectionAsync("gen", null)).GetAsync(new GetRequest { Include = Include.Embeddings });
        stored.Embeddings![0].Should().Equal(WordCountGenerator.Embed("cat cat"));
    }

    [Fact]
    public async Task SearchAsync_embeds_with_the_store_generator_when_the_definition_has_none()
    {
        using var fixture = new VectorDataFixture(new WordCountGenerator());
        var collection = fixture.VectorStore.GetCollection<int, GeneratedRecord>("gen");
        await collection.EnsureCollectionExistsAsync();
        await collection.UpsertAsync([new GeneratedRecord { Key = 1, Text = "dog" }, new GeneratedRecord { Key = 2, Text = "cat" }]);

        await foreach (var hit in collection.SearchAsync("cat", 1))
        {
            hit.Record.Key.Should().Be(2);
            hit.Record.Text.Should().Be("cat");
        }
    }

    [Fact]
    public async Task GetAsync_throws_not_supported_when_IncludeVectors_is_asked_of_a_generated_vector()
    {
        using var fixture = new VectorDataFixture(new WordCountGenerator());
        var collection = fixture.VectorStore.GetCollection<int, GeneratedRecord>("gen");
        await collection.EnsureCollectionExistsAsync();

        var act = () => collection.GetAsync(1, new() { IncludeVectors = true });
        await act.Should().ThrowAsync<NotSupportedException>();
    }

    [Fact]
    public async Task SearchAsync_throws_not_supported_naming_the_input_when_there_is_no_generator()
    {
        var collection = await PointsAsync(DistanceFunction.CosineSimilarity);
        var act = async () =>
        {
            await foreach (var _ in collection.SearchAsync("text", 1))
            {
            }
        };

        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain("String");
    }

    private static List<VectorStoreProperty> DefinitionOf<T>() =>
    [
        new VectorStoreKeyProperty("Key", typeof(int)),
        new VectorStoreDataProperty("Text", typeof(string)) { IsFullTextIndexed = true },
        new VectorStoreVectorProperty("Embedding", typeof(string), WordCountGenerator.Dimension),
    ];

    // Hybrid search

    private async Task<ChromaVectorStoreCollection<string, AllTypes>> DocumentsAsync()
    {
        var collection = await _fixture.CreateCollectionAsync<string, AllTypes>();
        await collection.UpsertAsync(
        [
            new AllTypes { Key = "near-plain", Int = 1, Body = "nothing relevant here", Vector = new[] { 1f, 0f, 0f } },
            new AllTypes { Key = "mid-keyword", Int = 2, Body = "a story about hybrid search", Vector = new[] { 0.9f, 0.1f, 0f } },
            new AllTypes { Key = "far-both", Int = 3, Body = "hybrid search and keyword ranking", Vector = new[] { 0f, 0f, 1f } },
            new AllTypes { Key = "far-plain", Int = 4, Body = "unrelated", Vector = new[] { 0.1f, 1f, 0f } },
        ]);
        return collection;
    }

    private static async Task<List<(string Key, double Score)>> Hybrid(ChromaVectorStoreCollection<string, AllTypes> collection, string[] keywords, int top, HybridSearchOptions<AllTypes>? options = null)
    {
        var hits = new List<(string, double)>();
        await foreach (var hit in collection.HybridSearchAsync(new[] { 1f, 0f, 0f }, keywords, top, options))
        {
            hits.Add((hit.Record.Key, hit.Score!.Value));
        }

        return hits;
    }

    [Fact]
    public async Task HybridSearchAsync_ranks_keyword_matches_above_vector_only_matches_when_fused()
    {
        var collection = await DocumentsAsync();
        var hits = await Hybrid(collection, ["hybrid", "keyword"], 4);

        // Vector ranks: near-plain 1, mid-keyword 2, far-plain 3, far-both 4; keyword ranks: far-both 1 (both words), mid-keyword 2.
        hits.Select(h => h.Key).Should().Equal("mid-keyword", "far-both", "near-plain", "far-plain");
        hits.Select(h => h.Score).Should().Equal(
            [(1d / 62) + (1d / 62), (1d / 64) + (1d / 61), 1d / 61, 1d / 63],
            (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public async Task HybridSearchAsync_applies_filter_skip_and_threshold_when_given()
    {
        var collection = await DocumentsAsync();
        var hits = await Hybrid(collection, ["hybrid"], 2, new() { Filter = r => r.Int >= 2, Skip = 1, ScoreThreshold = 1d / 61 });
        hits.Select(h => h.Key).Should().Equal("far-both");
    }

    [Fact]
    public async Task HybridSearchAsync_throws_not_supported_when_the_additional_property_is_not_the_document()
    {
        var collection = await DocumentsAsync();
        var act = () => Hybrid(collection, ["x"], 1, new() { AdditionalProperty = r => r.Text });
        await act.Should().ThrowAsync<Exception>().Where(e => e is NotSupportedException || e is InvalidOperationException);
    }

    [Fact]
    public async Task ChromaVectorStoreCollection_is_keyword_hybrid_searchable_when_cast_through_the_abstraction()
    {
        var collection = await DocumentsAsync();
        var searchable = collection.GetService(typeof(IKeywordHybridSearchable<AllTypes>)) as IKeywordHybridSearchable<AllTypes>;
        searchable.Should().NotBeNull();
        var keys = new List<string>();
        await foreach (var hit in searchable!.HybridSearchAsync(new ReadOnlyMemory<float>([0f, 0f, 1f]), ["keyword"], 1))
        {
            keys.Add(hit.Record.Key);
        }

        keys.Should().Equal("far-both");
    }
}
