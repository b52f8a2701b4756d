namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// Typed metadata through the embedded store via the contract: every kind written comes back from
/// <see cref="IChromaCollection.GetAsync"/> and <see cref="IChromaCollection.QueryAsync"/> with the same
/// <see cref="MetadataValueKind"/> and value (ints stay ints, 5.0 stays a float, arrays keep their order), also after
/// the store is closed and opened again.
/// </summary>
public sealed class MetadataRoundTripTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>One value of every kind, with the edge cases a codec tends to get wrong.</summary>
    private static Dictionary<string, MetadataValue?> EveryKind() => new(StringComparer.Ordinal)
    {
        ["string"] = "sci-fi",
        ["empty string"] = string.Empty,
        ["unicode"] = "naïve — 東京 🚀 \"quoted\" \\ back",
        ["numeric string"] = "5",
        ["int"] = 5,
        ["int zero"] = 0,
        ["int negative"] = -42,
        ["int max"] = long.MaxValue,
        ["int min"] = long.MinValue,
        ["int 2^53+1"] = 9_007_199_254_740_993L,
        ["float integral"] = 5.0,
        ["float zero"] = 0.0,
        ["float tenth"] = 0.1,
        ["float huge"] = 1e300,
        ["float tiny"] = 5e-324,
        ["float negative"] = -2.5,
        ["float from single"] = 0.1f,
        ["true"] = true,
        ["false"] = false,
        ["strings"] = new[] { "b", "a", "c", "a" },
        ["ints"] = new long[] { 3, 1, 2, long.MaxValue },
        ["floats integral"] = new[] { 1.0, 2.0, 3.0 },
        ["floats"] = new[] { 2.5, -0.125, 0.1 },
        ["bools"] = new[] { true, false, true },
        ["single string"] = new[] { "only" },
        ["single int"] = new long[] { 7 },
        ["single float"] = new[] { 7.0 },
    };

    private static void ShouldMatch(IReadOnlyDictionary<string, MetadataValue>? actual, IReadOnlyDictionary<string, MetadataValue?> expected, string where)
    {
        actual.Should().NotBeNull(where);
        actual!.Keys.Should().BeEquivalentTo(expected.Keys, where);
        foreach (var (key, value) in expected)
        {
            var got = actual[key];
            got.Kind.Should().Be(value!.Kind, $"{where}: '{key}' keeps its kind");
            got.Should().Be(value, $"{where}: '{key}' keeps its value");
            if (value.Kind == MetadataValueKind.Float)
            {
                BitConverter.DoubleToInt64Bits(got.AsDouble()).Should().Be(BitConverter.DoubleToInt64Bits(value.AsDouble()), $"{where}: '{key}' exactly");
            }
        }
    }

    private async Task<IChromaCollection> WrittenAsync()
    {
        IChromaCollection c = await _h.CreateAsync("typed");
        await c.AddAsync(new RecordBatch
        {
            Ids = ["all", "none", "other"],
            Embeddings = [[1, 0], [0, 1], [5, 5]],
            Metadatas = [EveryKind(), null, ContractHarness.Meta(("int", 6))],
        });
        return c;
    }

    [Fact]
    public async Task GetAsync_returns_every_kind_with_its_kind_and_value_when_written_with_AddAsync()
    {
        var c = await WrittenAsync();

        var got = await c.GetAsync(new GetRequest { Ids = ["all", "none"] });

        ShouldMatch(got.Metadatas![0], EveryKind(), "get");
        got.Metadatas[1].Should().BeNull();
    }

    [Fact]
    public async Task QueryAsync_returns_every_kind_with_its_kind_and_value_when_written_with_AddAsync()
    {
        var c = await WrittenAsync();

        var result = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 0]], NResults = 1 });

        result.Ids[0].Should().Equal("all");
        ShouldMatch(result.Metadatas![0][0], EveryKind(), "query");
    }

    [Fact]
    public async Task GetAsync_returns_every_kind_with_its_kind_and_value_when_the_store_was_reopened()
    {
        await WrittenAsync();

        _h.Reopen();
        var c = await _h.Client.GetCollectionAsync("typed", null);
        var got = await c.GetAsync(new GetRequest { Ids = ["all"] });
        var queried = await c.QueryAsync(new QueryRequest { QueryEmbeddings = [[1, 0]], NResults = 1 });

        ShouldMatch(got.Metadatas![0], EveryKind(), "get after reopen");
        ShouldMatch(queried.Metadatas![0][0], EveryKind(), "query after reopen");
    }

    [Fact]
    public async Task UpsertAsync_and_UpdateAsync_keep_kinds_and_remove_keys_given_as_null_when_merging()
    {
        var c = await WrittenAsync();

        await c.UpdateAsync(new RecordBatch { Ids = ["all"], Metadatas = [ContractHarness.Meta(("int", 6.0), ("string", null), ("ints", new long[] { 9, 8 }))] });
        await c.UpsertAsync(new RecordBatch { Ids = ["other"], Embeddings = [[5, 5]], Metadatas = [ContractHarness.Meta(("int", null), ("float integral", 1.0))] });

        var got = await c.GetAsync(new GetRequest { Ids = ["all", "other"] });
        var expected = EveryKind();
        expected["int"] = 6.0;
        expected.Remove("string");
        expected["ints"] = new long[] { 9, 8 };
        ShouldMatch(got.Metadatas![0], expected, "after update");
        ShouldMatch(got.Metadatas[1], ContractHarness.Meta(("float integral", 1.0)), "after upsert");
    }

    [Fact]
    public async Task AddAsync_skips_keys_given_as_null_when_adding()
    {
        IChromaCollection c = await _h.CreateAsync("typed");

        await c.AddAsync(new RecordBatch { Ids = ["a"], Embeddings = [[1, 0]], Metadatas = [ContractHarness.Meta(("kept", 1), ("skipped", null))] });

        var got = await c.GetAsync(new GetRequest());
        got.Metadatas![0]!.Keys.Should().Equal("kept");
    }

    [Fact]
    public async Task Collection_metadata_keeps_scalar_kinds_when_read_back_through_every_path()
    {
        var metadata = ContractHarness.Meta(("int", 5), ("float", 5.0), ("bool", false), ("string", "x"), ("big", 9_007_199_254_740_993L));
        var created = await _h.Client.CreateCollectionAsync("meta", new CollectionOptions { Metadata = metadata });

        var fetched = await _h.Client.GetCollectionAsync("meta", null);
        var byId = await _h.Client.GetCollectionAsync(created.Id, null);
        var listed = (await _h.Client.ListCollectionsAsync(null, 0)).Single();

        ShouldMatch(created.Metadata, metadata, "created handle");
        ShouldMatch(fetched.Metadata, metadata, "by name");
        ShouldMatch(byId.Metadata, metadata, "by id");
        ShouldMatch(listed.Metadata, metadata, "listed");
        _h.Reopen();
        ShouldMatch((await _h.Client.GetCollectionAsync("meta", null)).Metadata, metadata, "after reopen");
    }

    [Fact]
    public async Task Where_filters_match_stored_ints_and_bools_when_values_round_trip()
    {
        var c = await WrittenAsync();

        var ints = await c.GetAsync(new GetRequest { Where = Where.Eq("int", 5), Include = Include.None });
        var big = await c.GetAsync(new GetRequest { Where = Where.Eq("int 2^53+1", 9_007_199_254_740_993L), Include = Include.None });
        var flag = await c.GetAsync(new GetRequest { Where = Where.Eq("false", false), Include = Include.None });

        ints.Ids.Should().Equal("all");
        big.Ids.Should().Equal("all");
        flag.Ids.Should().Equal("all");
    }

    [Fact]
    public async Task Where_compares_integers_exactly_within_2_pow_53_and_as_64_bit_floats_beyond_as_the_README_documents()
    {
        // README "Limits": integers are stored and returned exactly, but filter comparisons beyond ±2^53 are made as
        // 64-bit floats (Chroma compares them exactly). This pins both sides of that promise: when the gap is closed,
        // the second half fails and the README line goes.
        IChromaCollection c = await _h.CreateAsync("ints");
        await c.AddAsync(new RecordBatch
        {
            Ids = ["below", "above"],
            Embeddings = [[1, 0], [0, 1]],
            Metadatas = [ContractHarness.Meta(("n", 9_007_199_254_740_991L)), ContractHarness.Meta(("n", 9_007_199_254_740_993L))],
        });

        async Task<IReadOnlyList<string>> Ids(Where where) => (await c.GetAsync(new GetRequest { Where = where, Include = Include.None })).Ids;

        (await Ids(Where.Eq("n", 9_007_199_254_740_991L))).Should().Equal("below");
        (await Ids(Where.Eq("n", 9_007_199_254_740_990L))).Should().BeEmpty("within ±2^53 integers compare exactly");
        (await Ids(Where.Gt("n", 9_007_199_254_740_990L))).Should().Equal("below", "above");
        (await Ids(Where.Eq("n", 9_007_199_254_740_992L))).Should().Equal(new[] { "above" }, "beyond 2^53, 2^53 and 2^53 + 1 are one 64-bit float (the documented gap)");
        (await c.GetAsync(new GetRequest { Ids = ["above"] })).Metadatas![0]!["n"].AsInt64().Should().Be(9_007_199_254_740_993L, "the stored value itself stays exact");
    }
}
