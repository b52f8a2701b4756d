using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>Basic (attribute-mapped) model: upsert, get, delete, vectors, data types and keys round-tripping through the real store.</summary>
public sealed class RecordTests : IDisposable
{
    private readonly VectorDataFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task UpsertAsync_then_GetAsync_returns_the_record_when_upserting_one()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(new Hotel<string> { Key = "h1", Name = "Grand", Vector = [0.5f, 0.25f] });

        var got = await collection.GetAsync("h1", new() { IncludeVectors = true });

        got.Should().NotBeNull();
        got!.Name.Should().Be("Grand");
        got.Vector.Should().Equal(0.5f, 0.25f);
    }

    [Fact]
    public async Task GetAsync_leaves_the_vector_out_when_IncludeVectors_is_false()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(new Hotel<string> { Key = "h1", Name = "Grand", Vector = [0.5f, 0.25f] });

        (await collection.GetAsync("h1"))!.Vector.Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_returns_null_when_the_key_is_missing()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        (await collection.GetAsync("nope")).Should().BeNull();
    }

    [Fact]
    public async Task UpsertAsync_writes_every_record_when_given_a_batch_and_GetAsync_reads_them_by_keys()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(Enumerable.Range(0, 5).Select(i => new Hotel<string> { Key = $"k{i}", Name = $"n{i}", Vector = [i, 1] }));

        var got = new List<Hotel<string>>();
        await foreach (var h in collection.GetAsync(["k1", "k3", "missing"]))
        {
            got.Add(h);
        }

        got.Select(h => h.Name).Should().BeEquivalentTo("n1", "n3");
    }

    [Fact]
    public async Task UpsertAsync_replaces_the_record_and_removes_nulled_values_when_the_key_exists()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(new Hotel<string> { Key = "h1", Name = "Old", Vector = [1, 0] });
        await collection.UpsertAsync(new Hotel<string> { Key = "h1", Name = null, Vector = [0, 1] });

        var got = await collection.GetAsync("h1", new() { IncludeVectors = true });
        got!.Name.Should().BeNull();
        got.Vector.Should().Equal(0f, 1f);
    }

    [Fact]
    public async Task UpsertAsync_changes_nothing_when_one_record_of_the_batch_is_invalid()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        var act = () => collection.UpsertAsync([
            new Hotel<string> { Key = "ok", Name = "fine", Vector = [1, 0] },
            new Hotel<string> { Key = "bad", Name = "nan", Vector = [float.NaN, 0] },
        ]);

        (await act.Should().ThrowAsync<VectorStoreException>()).Which.OperationName.Should().Be("Upsert");
        (await collection.GetAsync("ok")).Should().BeNull();
    }

    [Fact]
    public async Task UpsertAsync_throws_argument_exception_naming_dimensions_when_the_vector_has_the_wrong_length()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        var act = () => collection.UpsertAsync(new Hotel<string> { Key = "h", Vector = [1, 2, 3] });
        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("3 dimensions").And.Contain("2");
    }

    [Fact]
    public async Task DeleteAsync_removes_the_records_when_given_one_key_or_several()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(Enumerable.Range(0, 4).Select(i => new Hotel<string> { Key = $"k{i}", Vector = [i, 1] }));

        await collection.DeleteAsync("k0");
        await collection.DeleteAsync(["k1", "k2", "absent"]);

        (await collection.GetAsync("k0")).Should().BeNull();
        (await collection.GetAsync("k1")).Should().BeNull();
        (await collection.GetAsync("k3")).Should().NotBeNull();
    }

    [Fact]
    public async Task Data_types_round_trip_exactly_when_every_supported_type_is_stored()
    {
        var collection = await _fixture.CreateCollectionAsync<string, AllTypes>();
        var local = new DateTime(2024, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        var record = new AllTypes
        {
            Key = "all",
            Text = "ünïcode ✓",
            Int = int.MinValue,
            Long = long.MaxValue,
            Float = 3.1415927f,
            Double = 1e-300,
            Bool = true,
            DateTime = local,
            DateTimeOffset = new DateTimeOffset(2024, 3, 4, 5, 6, 7, TimeSpan.FromHours(-5)).AddTicks(7),
            NullableInt = null,
            Tags = ["a", "b", ""],
            TagList = ["x"],
            Body = "a document",
            Vector = new[] { 0.1f, 0.2f, 0.3f },
        };
        await collection.UpsertAsync(record);

        var got = (await collection.GetAsync("all", new() { IncludeVectors = true }))!;

        got.Text.Should().Be(record.Text);
        got.Int.Should().Be(int.MinValue);
        got.Long.Should().Be(long.MaxValue);
        got.Float.Should().Be(3.1415927f);
        got.Double.Should().Be(1e-300);
        got.Bool.Should().BeTrue();
        got.DateTime.Should().Be(local);
        got.DateTime.Kind.Should().Be(DateTimeKind.Utc);
        got.DateTimeOffset.Should().Be(record.DateTimeOffset);
        got.DateTimeOffset.UtcTicks.Should().Be(record.DateTimeOffset.UtcTicks);
        got.NullableInt.Should().BeNull();
        got.Tags.Should().Equal("a", "b", "");
        got.TagList.Should().Equal("x");
        got.Body.Should().Be("a document");
        got.Vector.ToArray().Should().Equal(0.1f, 0.2f, 0.3f);
    }

    [Fact]
    public async Task Empty_string_array_reads_back_as_null_when_stored()
    {
        var collection = await _fixture.CreateCollectionAsync<string, AllTypes>();
        await collection.UpsertAsync(new AllTypes { Key = "e", Tags = [], Vector = new[] { 1f, 0, 0 } });
        (await collection.GetAsync("e"))!.Tags.Should().BeNull();
    }

    [Fact]
    public async Task Local_DateTime_is_stored_as_its_UTC_instant_when_upserted()
    {
        var collection = await _fixture.CreateCollectionAsync<string, AllTypes>();
        var local = new DateTime(2024, 7, 1, 10, 0, 0, DateTimeKind.Local);
        await collection.UpsertAsync(new AllTypes { Key = "l", DateTime = local, Vector = new[] { 1f, 0, 0 } });
        (await collection.GetAsync("l"))!.DateTime.Should().Be(local.ToUniversalTime());
    }

    [Fact]
    public async Task Embedding_vector_property_round_trips_when_IncludeVectors_is_set()
    {
        var collection = await _fixture.CreateCollectionAsync<long, EmbeddingRecord>();
        await collection.UpsertAsync(new EmbeddingRecord { Key = long.MinValue, Vector = new Embedding<float>(new[] { 3f, 4f }) });

        var got = await collection.GetAsync(long.MinValue, new() { IncludeVectors = true });
        got!.Vector!.Vector.ToArray().Should().Equal(3f, 4f);
    }

    [Fact]
    public async Task String_keys_round_trip_when_used_as_chroma_ids()
    {
        var collection = await _fixture.CreateCollectionAsync<string, Hotel<string>>();
        await collection.UpsertAsync(new Hotel<string> { Key = "ключ/ 1", Vector = [1, 0] });
        (await collection.GetAsync("ключ/ 1"))!.Key.Should().Be("ключ/ 1");
        (await (await _fixture.Client.GetCollectionAsync(collection.Name, null)).GetAsync(new GetRequest())).Ids.Should().Equal("ключ/ 1");
    }

    [Fact]
    public async Task Guid_keys_round_trip_and_are_stored_in_D_form()
    {
        var collection = await _fixture.CreateCollectionAsync<Guid, Hotel<Guid>>();
        var key = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        await collection.UpsertAsync(new Hotel<Guid> { Key = key, Vector = [1, 0] });

        (await collection.GetAsync(key))!.Key.Should().Be(key);
        var ids = (await (await _fixture.Client.GetCollectionAsync(collection.Name, null)).GetAsync(new GetRequest())).Ids;
        ids.Should().Equal("0f8fad5b-d9cb-469f-a165-70867728950e");
    }

    [Fact]
    public async Task Int_keys_round_trip_and_are_stored_in_invariant_decimal()
    {
        var collection = await _fixture.CreateCollectionAsync<int, Hotel<int>>();
        await collection.UpsertAsync([new Hotel<int> { Key = -42, Vector = [1, 0] }, new Hotel<int> { Key = int.MaxValue, Vector = [0, 1] }]);

        (await collection.GetAsync(-42))!.Key.Should().Be(-42);
        (await collection.GetAsync(int.MaxValue))!.Key.Should().Be(int.MaxValue);
        var ids = (await (await _fixture.Client.GetCollectionAsync(collection.Name, null)).GetAsync(new GetRequest())).Ids;
        ids.Should().Equal("-42", "2147483647");
    }

    [Fact]
    public async Task Long_keys_round_trip_when_at_the_extremes()
    {
        var collection = await _fixture.CreateCollectionAsync<long, Hotel<long>>();
        await collection.UpsertAsync([new Hotel<long> { Key = long.MinValue, Vector = [1, 0] }, new Hotel<long> { Key = long.MaxValue, Vector = [0, 1] }]);

        (await collection.GetAsync(long.MinValue))!.Key.Should().Be(long.MinValue);
        (await collection.GetAsync(long.MaxValue))!.Key.Should().Be(long.MaxValue);
    }

    [Fact]
    public async Task GetAsync_throws_vector_store_exception_when_a_stored_id_does_not_parse_as_the_key_type()
    {
        var collection = await _fixture.CreateCollectionAsync<int, Hotel<int>>();
        var raw = await _fixture.Client.GetCollectionAsync(collection.Name, null);
        await raw.UpsertAsync(new RecordBatch { Ids = ["not-a-number"], Embeddings = [[1f, 0f]] });

        var act = async () =>
        {
            await foreach (var _ in collection.GetAsync(r => true, 10))
            {
            }
        };

        (await act.Should().ThrowAsync<VectorStoreException>()).Which.Message.Should().Contain("not-a-number").And.Contain("Int32");
    }

    [Fact]
    public async Task UpsertAsync_generates_a_guid_when_the_auto_generated_key_is_empty()
    {
        var collection = await _fixture.CreateCollectionAsync<Guid, AutoKeyRecord>();
        var record = new AutoKeyRecord { Name = "auto", Vector = new[] { 1f, 0f } };

        await collection.UpsertAsync(record);

        record.Key.Should().NotBe(Guid.Empty);
        (await collection.GetAsync(record.Key))!.Name.Should().Be("auto");
    }

    [Fact]
    public void GetCollection_throws_not_supported_naming_the_type_when_a_data_property_is_a_decimal()
    {
        var act = () => _fixture.VectorStore.GetCollection<string, DecimalRecord>("decimals");
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("Decimal");
    }

    [Fact]
    public void GetCollection_throws_not_supported_when_the_key_is_a_decimal()
    {
        var act = () => _fixture.VectorStore.GetCollection<decimal, DecimalKeyRecord>("decimalkeys");
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("string, Guid, int, long");
    }

    [Fact]
    public void GetCollection_throws_not_supported_when_two_properties_are_full_text_indexed()
    {
        var act = () => _fixture.VectorStore.GetCollection<string, TwoDocuments>("twodocs");
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("one document");
    }

    [Fact]
    public void GetCollection_throws_when_the_record_has_two_vectors()
    {
        var act = () => _fixture.VectorStore.GetCollection<string, TwoVectors>("twovectors");
        act.Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void GetCollection_throws_when_the_record_is_a_dictionary()
    {
        var act = () => _fixture.VectorStore.GetCollection<object, Dictionary<string, object?>>("dict");
        act.Should().Throw<NotSupportedException>().Which.Message.Should().Contain("GetDynamicCollection");
    }

    public sealed class DecimalRecord
    {
        [VectorStoreKey] public string Key { get; set; } = "";
        [VectorStoreData] public decimal Price { get; set; }
        [VectorStoreVector(2)] public float[]? Vector { get; set; }
    }

    public sealed class DecimalKeyRecord
    {
        [VectorStoreKey] public decimal Key { get; set; }
        [VectorStoreVector(2)] public float[]? Vector { get; set; }
    }

    public sealed class TwoDocuments
    {
        [VectorStoreKey] public string Key { get; set; } = "";
        [VectorStoreData(IsFullTextIndexed = true)] public string? A { get; set; }
        [VectorStoreData(IsFullTextIndexed = true)] public string? B { get; set; }
        [VectorStoreVector(2)] public float[]? Vector { get; set; }
    }

    public sealed class TwoVectors
    {
        [VectorStoreKey] public string Key { get; set; } = "";
        [VectorStoreVector(2)] public float[]? V1 { get; set; }
        [VectorStoreVector(2)] public float[]? V2 { get; set; }
    }
}
