namespace EmbeddedChroma.Tests.Contract;

/// <summary>where / where_document semantics end to end through Get, Query and Delete.</summary>
public abstract class WhereFilterContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private IChromaCollection _c = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _c = await CreateCollectionAsync();
        await _c.AddAsync(
            ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
            [[1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f], [5f, 0f], [6f, 0f], [7f, 0f]],
            [
                Meta(("genre", "scifi"), ("year", 1965), ("rating", 4.5), ("tags", new[] { "classic", "desert" }), ("available", true), ("scores", new[] { 1, 2 })),
                Meta(("genre", "scifi"), ("year", 1951), ("rating", 4.2), ("tags", new[] { "classic", "empire" }), ("available", false)),
                Meta(("genre", "romance"), ("year", 1815), ("rating", 3.9), ("tags", new[] { "classic" }), ("available", true), ("scores", new[] { 3 })),
                Meta(("genre", "scifi"), ("year", 1984), ("rating", 5)),
                Meta(("year", 2020.0)),
                null,
                Meta(("genre", "Scifi"), ("flags", new[] { true })),
            ],
            [
                "Spice and sandworms on Arrakis.",
                "The fall of the Galactic Empire.",
                "A matchmaker meddles in love.",
                "A hacker in cyberspace.",
                null,
                "empire strikes back",
                "50% off_sale? [draft] *starred*",
            ]);
    }

    private async Task<IReadOnlyList<string>> Ids(Where where) => (await _c.GetAsync(where: where)).Ids;

    private async Task<IReadOnlyList<string>> Ids(WhereDocument whereDocument) => (await _c.GetAsync(whereDocument: whereDocument)).Ids;

    [Theory]
    [MemberData(nameof(WhereFilterCases.WhereCases), MemberType = typeof(WhereFilterCases))]
    public async Task Get_returns_records_matching_where_when_filter_is_json(string json, string[] expected)
    {
        (await Ids(Where.Parse(json))).Should().Equal(expected);
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.WhereCases), MemberType = typeof(WhereFilterCases))]
    public async Task Query_searches_records_matching_where_when_filter_is_json(string json, string[] expected)
    {
        var result = await _c.QueryAsync([[0f, 0f]], nResults: 7, where: Where.Parse(json));

        result.Ids[0].Should().Equal(expected);
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.WhereCases), MemberType = typeof(WhereFilterCases))]
    public async Task Delete_removes_records_matching_where_when_filter_is_json(string json, string[] expected)
    {
        (await DeletedBy(_c, x => x.DeleteAsync(where: Where.Parse(json)))).Should().Be(expected.Length);

        (await _c.GetAsync()).Ids.Should().NotIntersectWith(expected).And.HaveCount(7 - expected.Length);
    }

    [Fact]
    public async Task Where_compares_integer_values_with_a_fractional_bound_exactly()
    {
        // r1 has the integer year 1965; 1965.5 lies between it and the next integer.
        var gte = Where.Parse("""{"year": {"$gte": 1965.5}}""");
        var lt = Where.Parse("""{"year": {"$lt": 1965.5}}""");
        string[] expectedGte, expectedLt;
        if (Target.ComparesIntegersWithFractionalBoundsExactly)
        {
            (expectedGte, expectedLt) = (["r4", "r5"], ["r1", "r2", "r3"]);
        }
        else
        {
            // Chroma's server truncates the bound to 1965 against integer values (a server bug, named, not copied).
            (expectedGte, expectedLt) = (["r1", "r4", "r5"], ["r2", "r3"]);
        }

        (await Ids(gte)).Should().Equal(expectedGte);
        (await Ids(lt)).Should().Equal(expectedLt);
        (await _c.QueryAsync([[0f, 0f]], nResults: 7, where: gte)).Ids[0].Should().Equal(expectedGte);
        (await DeletedBy(_c, x => x.DeleteAsync(where: lt))).Should().Be(expectedLt.Length);
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.WhereDocumentCases), MemberType = typeof(WhereFilterCases))]
    public async Task Get_returns_records_matching_where_document_when_filter_is_json(string json, string[] expected)
    {
        (await Ids(WhereDocument.Parse(json))).Should().Equal(expected);
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.WhereDocumentCases), MemberType = typeof(WhereFilterCases))]
    public async Task Query_searches_records_matching_where_document_when_filter_is_json(string json, string[] expected)
    {
        (await _c.QueryAsync([[0f, 0f]], nResults: 7, whereDocument: WhereDocument.Parse(json))).Ids[0].Should().Equal(expected);
    }

    [Fact]
    public async Task Get_matches_where_document_contains_after_documents_change()
    {
        await _c.UpdateAsync(["r6"], documents: ["Empire returns"]);
        await _c.DeleteAsync(["r2"]);

        (await Ids(WhereDocument.Contains("Empire"))).Should().Equal("r6");
        (await Ids(WhereDocument.Contains("strikes"))).Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.BuilderNames), MemberType = typeof(WhereFilterCases))]
    public async Task Get_returns_same_records_when_where_is_json_or_built(string name)
    {
        var (json, built) = WhereFilterCases.BuilderCases[name];

        var fromJson = await Ids(Where.Parse(json));
        var fromBuilder = await Ids(built);

        fromBuilder.Should().Equal(fromJson);
        fromJson.Should().NotBeEmpty();
        Where.Parse(built.ToJson()).Should().Be(built);
    }

    [Theory]
    [MemberData(nameof(WhereFilterCases.DocumentBuilderNames), MemberType = typeof(WhereFilterCases))]
    public async Task Get_returns_same_records_when_where_document_is_json_or_built(string name)
    {
        var (json, built) = WhereFilterCases.DocumentBuilderCases[name];

        var fromJson = await Ids(WhereDocument.Parse(json));

        (await Ids(built)).Should().Equal(fromJson);
        fromJson.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Get_combines_where_and_where_document_when_both_are_given()
    {
        (await _c.GetAsync(where: Where.Eq("genre", "scifi"), whereDocument: WhereDocument.Regex("^A "))).Ids.Should().Equal("r4");
    }

    [Fact]
    public async Task Get_matches_updated_metadata_when_metadata_changes()
    {
        await _c.UpdateAsync(["r3"], metadatas: [Meta(("genre", "scifi"), ("tags", null))]);

        (await Ids(Where.Eq("genre", "scifi"))).Should().Equal("r1", "r2", "r3", "r4");
        (await Ids(Where.Contains("tags", "classic"))).Should().Equal("r1", "r2");
    }
}

public sealed class WhereFilterContractEmbedded : WhereFilterContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="WhereFilterContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class WhereFilterCases
{
    internal static readonly Dictionary<string, (string Json, WhereDocument Built)> DocumentBuilderCases = new()
    {
        ["contains"] = ("""{"$contains": "Empire"}""", WhereDocument.Contains("Empire")),
        ["not_contains"] = ("""{"$not_contains": "Empire"}""", WhereDocument.NotContains("Empire")),
        ["regex"] = ("""{"$regex": "^A "}""", WhereDocument.Regex("^A ")),
        ["not_regex"] = ("""{"$not_regex": "^A "}""", WhereDocument.NotRegex("^A ")),
        ["and"] = ("""{"$and": [{"$contains": "a"}, {"$not_contains": "Empire"}]}""", WhereDocument.Contains("a") & WhereDocument.NotContains("Empire")),
        ["or"] = ("""{"$or": [{"$contains": "Arrakis"}, {"$regex": "^empire"}]}""", WhereDocument.Contains("Arrakis") | WhereDocument.Regex("^empire")),
    };

    public static TheoryData<string> DocumentBuilderNames => new(DocumentBuilderCases.Keys);

    internal static readonly Dictionary<string, (string Json, Where Built)> BuilderCases = new()
    {
        ["eq"] = ("""{"genre": "scifi"}""", Where.Eq("genre", "scifi")),
        ["ne"] = ("""{"genre": {"$ne": "scifi"}}""", Where.Ne("genre", "scifi")),
        ["gt int"] = ("""{"year": {"$gt": 1960}}""", Where.Gt("year", 1960)),
        ["gte float"] = ("""{"rating": {"$gte": 4.2}}""", Where.Gte("rating", 4.2)),
        ["lt"] = ("""{"year": {"$lt": 1900}}""", Where.Lt("year", 1900)),
        ["lte"] = ("""{"year": {"$lte": 1951}}""", Where.Lte("year", 1951)),
        ["in"] = ("""{"genre": {"$in": ["scifi", "romance"]}}""", Where.In("genre", "scifi", "romance")),
        ["nin"] = ("""{"genre": {"$nin": ["scifi"]}}""", Where.NotIn("genre", "scifi")),
        ["contains"] = ("""{"tags": {"$contains": "classic"}}""", Where.Contains("tags", "classic")),
        ["not_contains"] = ("""{"tags": {"$not_contains": "classic"}}""", Where.NotContains("tags", "classic")),
        ["bool"] = ("""{"available": true}""", Where.Eq("available", true)),
        ["and"] = ("""{"$and": [{"genre": "scifi"}, {"year": {"$gt": 1960}}]}""", Where.Eq("genre", "scifi") & Where.Gt("year", 1960)),
        ["or"] = ("""{"$or": [{"genre": "romance"}, {"year": {"$gte": 1984}}]}""", Where.Or(Where.Eq("genre", "romance"), Where.Gte("year", 1984))),
        ["nested"] = (
            """{"$and": [{"$or": [{"genre": "scifi"}, {"genre": "romance"}]}, {"tags": {"$contains": "classic"}}]}""",
            (Where.Eq("genre", "scifi") | Where.Eq("genre", "romance")) & Where.Contains("tags", "classic")),
    };

    public static TheoryData<string> BuilderNames => new(BuilderCases.Keys);

    public static TheoryData<string, string[]> WhereDocumentCases => new()
    {
        { """{"$contains": "Empire"}""", ["r2"] },
        { """{"$contains": "empire"}""", ["r6"] },
        { """{"$contains": "A "}""", ["r3", "r4"] },
        { """{"$contains": "a"}""", ["r1", "r2", "r3", "r4", "r6", "r7"] },
        { """{"$contains": "%"}""", ["r7"] },
        { """{"$contains": "_"}""", ["r7"] },
        { """{"$contains": "?"}""", ["r7"] },
        { """{"$contains": "*"}""", ["r7"] },
        { """{"$contains": "[draft]"}""", ["r7"] },
        { """{"$contains": "0%"}""", ["r7"] },
        { """{"$contains": "zzz"}""", [] },
        { """{"$not_contains": "Empire"}""", ["r1", "r3", "r4", "r5", "r6", "r7"] },
        { """{"$not_contains": "a"}""", ["r5"] },
        { """{"$regex": "^A "}""", ["r3", "r4"] },
        { """{"$regex": "[Ee]mpire"}""", ["r2", "r6"] },
        { """{"$regex": "\\.$"}""", ["r1", "r2", "r3", "r4"] },
        { """{"$regex": "^[a-z]+ [a-z]+ [a-z]+$"}""", ["r6"] },
        { """{"$not_regex": "^A "}""", ["r1", "r2", "r5", "r6", "r7"] },
        { """{"$and": [{"$contains": "a"}, {"$not_contains": "Empire"}]}""", ["r1", "r3", "r4", "r6", "r7"] },
        { """{"$or": [{"$contains": "Arrakis"}, {"$regex": "^empire"}]}""", ["r1", "r6"] },
    };

    public static TheoryData<string, string[]> WhereCases => new()
    {
        // $eq: implicit and explicit; strings case-sensitive; numbers compare numerically; bools only with bools.
        { """{"genre": "scifi"}""", ["r1", "r2", "r4"] },
        { """{"genre": {"$eq": "scifi"}}""", ["r1", "r2", "r4"] },
        { """{"genre": {"$eq": "Scifi"}}""", ["r7"] },
        { """{"year": 1965}""", ["r1"] },
        { """{"year": 2020}""", ["r5"] },
        { """{"rating": 5.0}""", ["r4"] },
        { """{"rating": {"$eq": 5}}""", ["r4"] },
        { """{"available": true}""", ["r1", "r3"] },
        { """{"available": false}""", ["r2"] },
        { """{"available": 1}""", [] },
        { """{"year": "1965"}""", [] },

        // $ne: complement, so records without the key match.
        { """{"genre": {"$ne": "scifi"}}""", ["r3", "r5", "r6", "r7"] },
        { """{"available": {"$ne": true}}""", ["r2", "r4", "r5", "r6", "r7"] },
        { """{"rating": {"$ne": 5}}""", ["r1", "r2", "r3", "r5", "r6", "r7"] },

        // Numeric comparisons; records without the key or with a non-numeric value never match.
        { """{"year": {"$gt": 1960}}""", ["r1", "r4", "r5"] },
        { """{"year": {"$gte": 1965}}""", ["r1", "r4", "r5"] },
        { """{"year": {"$lt": 1900}}""", ["r3"] },
        { """{"year": {"$lte": 1951}}""", ["r2", "r3"] },
        { """{"rating": {"$gt": 4.4}}""", ["r1", "r4"] },
        { """{"rating": {"$lte": 4.2}}""", ["r2", "r3"] },
        { """{"genre": {"$gt": 0}}""", [] },

        // $in / $nin ($nin matches records without the key).
        { """{"genre": {"$in": ["scifi", "romance"]}}""", ["r1", "r2", "r3", "r4"] },
        { """{"year": {"$in": [1815, 2020, 1]}}""", ["r3", "r5"] },
        { """{"genre": {"$nin": ["scifi"]}}""", ["r3", "r5", "r6", "r7"] },
        { """{"year": {"$nin": [1965, 1951]}}""", ["r3", "r4", "r5", "r6", "r7"] },

        // $contains / $not_contains on array metadata.
        { """{"tags": {"$contains": "classic"}}""", ["r1", "r2", "r3"] },
        { """{"tags": {"$contains": "empire"}}""", ["r2"] },
        { """{"scores": {"$contains": 3}}""", ["r3"] },
        { """{"flags": {"$contains": true}}""", ["r7"] },
        { """{"tags": {"$not_contains": "classic"}}""", ["r4", "r5", "r6", "r7"] },
        { """{"tags": {"$not_contains": "desert"}}""", ["r2", "r3", "r4", "r5", "r6", "r7"] },

        // $and / $or, nested.
        { """{"$and": [{"genre": "scifi"}, {"year": {"$gt": 1960}}]}""", ["r1", "r4"] },
        { """{"$or": [{"genre": "romance"}, {"year": {"$gte": 1984}}]}""", ["r3", "r4", "r5"] },
        { """{"$and": [{"$or": [{"genre": "scifi"}, {"genre": "romance"}]}, {"tags": {"$contains": "classic"}}, {"available": true}]}""", ["r1", "r3"] },
        { """{"$or": [{"$and": [{"genre": "scifi"}, {"rating": {"$lt": 4.3}}]}, {"year": 2020}]}""", ["r2", "r5"] },
    };
}
