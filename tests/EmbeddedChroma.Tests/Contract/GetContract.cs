namespace EmbeddedChroma.Tests.Contract;

/// <summary>Get: selection by ids and filters, insertion order, include, limit/offset and typed metadata values.</summary>
public abstract class GetContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    /// <summary>Five records added in an order that is neither alphabetical nor numeric.</summary>
    private async Task<IChromaCollection> Seeded(DistanceSpace space = DistanceSpace.L2)
    {
        var c = await CreateCollectionAsync(space: space);
        await c.AddAsync(
            ["zulu", "alpha", "mike"],
            [[3f, 4f], [1f, 0f], [0f, 2f]],
            [Meta(("color", "red"), ("n", 1)), Meta(("color", "blue"), ("n", 2)), null],
            ["The red fox", "A blue whale", null]);
        await c.AddAsync(
            ["bravo", "echo"],
            [[5f, 5f], [6f, 6f]],
            [Meta(("color", "red"), ("n", 3)), Meta(("color", "green"), ("n", 4))],
            ["Red sky", "green grass"]);
        return c;
    }

    [Fact]
    public async Task Get_returns_all_records_in_insertion_order_when_no_selector_is_given()
    {
        var c = await Seeded();

        var all = await c.GetAsync();

        all.Ids.Should().Equal("zulu", "alpha", "mike", "bravo", "echo");
        all.Count.Should().Be(5);
        all.Documents.Should().Equal("The red fox", "A blue whale", null, "Red sky", "green grass");
    }

    [Fact]
    public async Task Get_includes_metadatas_and_documents_but_not_embeddings_by_default()
    {
        var c = await Seeded();

        var all = await c.GetAsync();

        all.Included.Should().Be(Include.Metadatas | Include.Documents);
        all.Metadatas.Should().NotBeNull().And.HaveCount(5);
        all.Documents.Should().NotBeNull().And.HaveCount(5);
        all.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task Get_returns_embeddings_as_given_when_requested_even_for_cosine()
    {
        var c = await Seeded(DistanceSpace.Cosine);

        var all = await c.GetAsync(include: Include.Embeddings);

        ShouldBeCosineEmbeddings(all.Embeddings, [[3f, 4f], [1f, 0f], [0f, 2f], [5f, 5f], [6f, 6f]]);
        all.Metadatas.Should().BeNull();
        all.Documents.Should().BeNull();
    }

    [Fact]
    public async Task Get_returns_only_ids_when_include_is_none()
    {
        var c = await Seeded();

        var all = await c.GetAsync(include: Include.None);

        all.Ids.Should().HaveCount(5);
        all.Embeddings.Should().BeNull();
        all.Metadatas.Should().BeNull();
        all.Documents.Should().BeNull();
    }

    [Fact]
    public async Task Get_throws_validation_when_include_asks_for_distances()
    {
        var c = await Seeded();

        var act = () => c.GetAsync(include: Include.Metadatas | Include.Distances);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*distances*");
    }

    [Fact]
    public async Task Get_returns_requested_ids_in_insertion_order_and_skips_missing_ones()
    {
        var c = await Seeded();

        var some = await c.GetAsync(["echo", "ghost", "zulu", "mike"]);

        some.Ids.Should().Equal("zulu", "mike", "echo");
        some.Documents.Should().Equal("The red fox", null, "green grass");
        ShouldHaveMetadata(some.Metadatas![0], ("color", "red"), ("n", 1L));
        some.Metadatas[1].Should().BeNull();
    }

    [Fact]
    public async Task Get_returns_empty_lists_when_no_id_exists()
    {
        var c = await Seeded();

        var none = await c.GetAsync(["ghost1", "ghost2"], include: Include.Embeddings | Include.Metadatas | Include.Documents);

        none.Ids.Should().BeEmpty();
        none.Embeddings.Should().BeEmpty();
        none.Metadatas.Should().BeEmpty();
        none.Documents.Should().BeEmpty();
    }

    [Fact]
    public async Task Get_filters_by_where_when_given()
    {
        var c = await Seeded();

        (await c.GetAsync(where: Where.Parse("""{"color": "red"}"""))).Ids.Should().Equal("zulu", "bravo");
    }

    [Fact]
    public async Task Get_filters_by_where_document_when_given()
    {
        var c = await Seeded();

        (await c.GetAsync(whereDocument: WhereDocument.Parse("""{"$contains": "red"}"""))).Ids.Should().Equal("zulu");
    }

    [Fact]
    public async Task Get_intersects_selectors_when_several_are_given()
    {
        var c = await Seeded();

        (await c.GetAsync(["zulu", "alpha", "bravo"], Where.Eq("color", "red"))).Ids.Should().Equal("zulu", "bravo");
        (await c.GetAsync(["zulu", "alpha", "bravo"], Where.Eq("color", "red"), WhereDocument.Contains("sky"))).Ids.Should().Equal("bravo");
        (await c.GetAsync(where: Where.Gte("n", 2), whereDocument: WhereDocument.Regex("^[A-Z]"))).Ids.Should().Equal("alpha", "bravo");
    }

    [Fact]
    public async Task Get_returns_empty_lists_when_filter_matches_nothing()
    {
        var c = await Seeded();

        var none = await c.GetAsync(where: Where.Eq("color", "purple"));

        none.Ids.Should().BeEmpty();
        none.Metadatas.Should().BeEmpty();
        none.Documents.Should().BeEmpty();
    }

    [Fact]
    public async Task Get_applies_limit_and_offset_in_insertion_order()
    {
        var c = await Seeded();

        (await c.GetAsync(limit: 2)).Ids.Should().Equal("zulu", "alpha");
        (await c.GetAsync(limit: 2, offset: 2)).Ids.Should().Equal("mike", "bravo");
        (await c.GetAsync(offset: 3)).Ids.Should().Equal("bravo", "echo");
        (await c.GetAsync(offset: 5)).Ids.Should().BeEmpty();
        (await c.GetAsync(limit: 100)).Ids.Should().HaveCount(5);
    }

    [Fact]
    public async Task Get_applies_limit_and_offset_after_filtering()
    {
        var c = await Seeded();

        (await c.GetAsync(where: Where.Gte("n", 2), limit: 1, offset: 1)).Ids.Should().Equal("bravo");
    }

    [Theory]
    [InlineData(-1, 0, "limit")]
    [InlineData(1, -1, "offset")]
    public async Task Get_throws_validation_when_limit_or_offset_is_negative(int limit, int offset, string field)
    {
        var c = await Seeded();

        var act = () => c.GetAsync(limit: limit, offset: offset);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*{field}*");
    }

    [Fact]
    public async Task Get_returns_empty_lists_when_collection_is_empty()
    {
        var c = await CreateCollectionAsync();

        (await c.GetAsync()).Ids.Should().BeEmpty();
    }

    [Fact]
    public async Task Get_returns_metadata_values_as_string_long_double_bool_and_typed_arrays()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["r"], [[1f]], [Meta(
            ("s", "text"),
            ("i", 5),
            ("f", 5.0),
            ("l", 9_007_199_254_740_993L),
            ("neg", -3),
            ("b", true),
            ("fl", 0.5f),
            ("ss", new[] { "x", "y" }),
            ("ii", new[] { 1, 2, 3 }),
            ("ll", new List<long> { 4L, 5L }),
            ("dd", new[] { 1.5, 2.0 }),
            ("bb", new[] { true, false }))]);

        ShouldHaveMetadata(
            (await c.GetAsync()).Metadatas![0],
            ("s", "text"),
            ("i", 5L),
            ("f", 5.0),
            ("l", 9_007_199_254_740_993L),
            ("neg", -3L),
            ("b", true),
            ("fl", 0.5),
            ("ss", new[] { "x", "y" }),
            ("ii", new[] { 1L, 2L, 3L }),
            ("ll", new[] { 4L, 5L }),
            ("dd", new[] { 1.5, 2.0 }),
            ("bb", new[] { true, false }));
    }

    [Fact]
    public async Task Get_keeps_int_and_float_apart_when_values_are_equal()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["int", "float"], [[1f], [2f]], [Meta(("v", 5)), Meta(("v", 5.0))]);

        var all = await c.GetAsync();

        all.Metadatas![0]!["v"].Kind.Should().Be(MetadataValueKind.Int);
        all.Metadatas[0]!["v"].AsInt64().Should().Be(5L);
        all.Metadatas[1]!["v"].Kind.Should().Be(MetadataValueKind.Float);
        all.Metadatas[1]!["v"].AsDouble().Should().Be(5.0);
        all.Metadatas[0]!["v"].Should().NotBe(all.Metadatas[1]!["v"], "an int and a float are different values");
    }

    [Fact]
    public async Task Get_accepts_json_element_metadata_values_and_keeps_int_and_float_apart()
    {
        var c = await CreateCollectionAsync();
        using var json = System.Text.Json.JsonDocument.Parse("""{"i": 7, "f": 7.0, "e": 1e2, "s": "x", "b": false, "a": [1, 2], "fa": [1.5]}""");
        var metadata = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (MetadataValue?)MetadataValue.FromObject(p.Value.Clone()));

        await c.AddAsync(["j"], [[1f]], [metadata]);

        ShouldHaveMetadata((await c.GetAsync()).Metadatas![0], ("i", 7L), ("f", 7.0), ("e", 100.0), ("s", "x"), ("b", false), ("a", new[] { 1L, 2L }), ("fa", new[] { 1.5 }));
    }

    [Fact]
    public async Task Get_keeps_insertion_order_when_deleted_slots_are_reused()
    {
        var c = await Seeded();
        await c.DeleteAsync(["alpha", "mike"]);

        await c.AddAsync(["new1", "new2"], [[7f, 7f], [8f, 8f]]);

        (await c.GetAsync()).Ids.Should().Equal("zulu", "bravo", "echo", "new1", "new2");
    }
}

public sealed class GetContractEmbedded : GetContract<EmbeddedTarget>;
