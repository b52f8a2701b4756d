using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>Definition-based dynamic collections of <c>Dictionary&lt;string, object?&gt;</c>.</summary>
public sealed class DynamicModelTests : IDisposable
{
    private readonly VectorDataFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static VectorStoreCollectionDefinition Definition(Type keyType) => new()
    {
        Properties =
        [
            new VectorStoreKeyProperty("Id", keyType),
            new VectorStoreDataProperty("Title", typeof(string)) { StorageName = "title" },
            new VectorStoreDataProperty("Year", typeof(int)) { IsIndexed = true },
            new VectorStoreDataProperty("Tags", typeof(string[])),
            new VectorStoreDataProperty("Summary", typeof(string)) { IsFullTextIndexed = true },
            new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 2) { DistanceFunction = DistanceFunction.EuclideanSquaredDistance },
        ],
    };

    private async Task<ChromaVectorStoreDynamicCollection> CreateAsync(Type keyType)
    {
        var collection = _fixture.VectorStore.GetDynamicCollection("dyn" + Guid.NewGuid().ToString("N")[..8], Definition(keyType));
        await collection.EnsureCollectionExistsAsync();
        return collection;
    }

    private static Dictionary<string, object?> Row(object id, string title, int year, string summary, float x, float y) => new()
    {
        ["Id"] = id,
        ["Title"] = title,
        ["Year"] = year,
        ["Tags"] = new[] { "t" + year },
        ["Summary"] = summary,
        ["Embedding"] = new ReadOnlyMemory<float>([x, y]),
    };

    [Fact]
    public async Task UpsertAsync_then_GetAsync_round_trips_every_entry_when_the_model_is_dynamic()
    {
        var collection = await CreateAsync(typeof(string));
        await collection.UpsertAsync(Row("m1", "Dune", 1965, "desert planet", 1, 0));

        var got = await collection.GetAsync("m1", new() { IncludeVectors = true });

        got!["Id"].Should().Be("m1");
        got["Title"].Should().Be("Dune");
        got["Year"].Should().Be(1965);
        ((string[])got["Tags"]!).Should().Equal("t1965");
        got["Summary"].Should().Be("desert planet");
        ((ReadOnlyMemory<float>)got["Embedding"]!).ToArray().Should().Equal(1f, 0f);
    }

    [Fact]
    public async Task Storage_names_are_the_metadata_keys_when_a_dynamic_property_has_one()
    {
        var collection = await CreateAsync(typeof(string));
        await collection.UpsertAsync(Row("m1", "Dune", 1965, "desert planet", 1, 0));

        var raw = await (await _fixture.Client.GetCollectionAsync(collection.Name, null)).GetAsync(new GetRequest { Include = Include.Metadatas | Include.Documents });
        raw.Metadatas![0]!.Keys.Should().BeEquivalentTo("title", "Year", "Tags");
        raw.Documents![0].Should().Be("desert planet");
    }

    [Fact]
    public async Task Filters_and_search_work_when_the_model_is_dynamic()
    {
        var collection = await CreateAsync(typeof(Guid));
        var ids = Enumerable.Range(1, 4).Select(i => new Guid(i, 0, 0, new byte[8])).ToArray();
        await collection.UpsertAsync(ids.Select((id, i) => Row(id, $"b{i}", 2000 + i, i % 2 == 0 ? "even row" : "odd row", i, 0)));

        var years = new List<object?>();
        await foreach (var r in collection.GetAsync(r => (int)r["Year"]! >= 2001 && (string)r["Title"]! != "b3", 10))
        {
            years.Add(r["Year"]);
        }

        years.Should().BeEquivalentTo(new object[] { 2001, 2002 });

        var hits = new List<(object? Id, double? Score)>();
        await foreach (var hit in collection.SearchAsync(new ReadOnlyMemory<float>([3f, 0f]), 2, new() { Filter = r => ((string)r["Summary"]!).Contains("even") }))
        {
            hits.Add((hit.Record["Id"], hit.Score));
        }

        hits.Should().Equal((ids[2], 1d), (ids[0], 9d));
    }

    [Fact]
    public void GetDynamicCollection_throws_when_a_dynamic_property_type_is_unsupported()
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties = [new VectorStoreKeyProperty("Id", typeof(string)), new VectorStoreDataProperty("When", typeof(TimeSpan)), new VectorStoreVectorProperty("V", typeof(float[]), 2)],
        };

        var act = () => _fixture.VectorStore.GetDynamicCollection("bad", definition);
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("TimeSpan");
    }
}
