namespace EmbeddedChroma.Tests.Validation;

/// <summary>
/// Regression tests for bugs the property-based bad-input tests found: unpaired surrogates were silently replaced by
/// U+FFFD on the way to SQLite (so "a\ud800" and "a\udbff" were the same id), JSON escapes of unpaired surrogates
/// made the filter parsers throw InvalidOperationException, and very large or deeply nested filters surfaced
/// SqliteException ("too many SQL variables", "Expression tree is too large").
/// </summary>
public sealed class TextAndFilterSizeTests : ValidationTestBase
{
    [Theory]
    [InlineData("a", 0xD800, "")]
    [InlineData("", 0xDC00, "b")]
    [InlineData("ab", 0xD83D, "")]
    [InlineData("x", 0xDE00, "y")]
    public void Add_rejects_an_id_with_an_unpaired_surrogate_naming_its_position(string prefix, int surrogate, string suffix)
    {
        // Built here: xunit's attribute data would already have replaced a lone surrogate with U+FFFD.
        var id = prefix + (char)surrogate + suffix;
        var position = prefix.Length;
        RejectsValidation(() => Collection.Add([id], [Vec()]), "ids[0]", "UTF-16", $"position {position}");
    }

    [Fact]
    public void Writes_reject_unpaired_surrogates_in_documents_metadata_keys_and_values()
    {
        RejectsValidation(() => Collection.Upsert(["r9"], [Vec()], documents: ["ok \ud800"]), "documents[0]", "UTF-16");
        RejectsValidation(() => Collection.Add(["r9"], [Vec()], [Meta(("k\udfff", 1))]), "metadata key", "UTF-16");
        RejectsValidation(() => Collection.Update(["r0"], metadatas: [Meta(("s", "x\ud800y"))]), "'s'", "UTF-16");
        RejectsValidation(() => Collection.Add(["r9"], [Vec()], [Meta(("tags", new[] { "fine", "\udc01" }))]), "'tags'", "UTF-16");
        var json = System.Text.Json.JsonDocument.Parse("\"\\ud800\"").RootElement;
        RejectsValidation(() => Collection.Add(["r9"], [Vec()], [Meta(("j", json))]), "'j'", "UTF-16");
    }

    [Fact]
    public void Valid_surrogate_pairs_round_trip_in_ids_documents_and_metadata()
    {
        Collection.Add(["emoji😀"], [Vec()], [Meta(("k😀", "v😀"))], ["doc 😀"]);
        var got = Collection.Get(ids: ["emoji😀"]);
        got.Ids.Should().Equal("emoji😀");
        got.Documents![0].Should().Be("doc 😀");
        got.Metadatas![0]!["k😀"].AsString().Should().Be("v😀");
        Collection.Get(where: Where.Eq("k😀", "v😀"), whereDocument: WhereDocument.Contains("😀")).Ids.Should().Equal("emoji😀");
    }

    [Fact]
    public void Reads_reject_unpaired_surrogates_in_ids_and_filters()
    {
        RejectsValidation(() => Collection.Get(ids: ["r0", "\ud800"]), "ids[1]", "UTF-16");
        Rejects<ChromaFilterException>(() => Where.Eq("k", "\ud800"), "UTF-16");
        Rejects<ChromaFilterException>(() => Where.In("\udc00", 1, 2), "UTF-16");
        Rejects<ChromaFilterException>(() => WhereDocument.Contains("a\ud800"), "UTF-16");
        Rejects<ChromaFilterException>(() => WhereDocument.Regex("\ud800"), "UTF-16");
    }

    [Theory]
    [InlineData("{\"k\": \"\\ud800\"}")]
    [InlineData("{\"\\udc00\": 1}")]
    [InlineData("{\"k\": {\"$in\": [\"a\", \"\\ud800\"]}}")]
    [InlineData("{\"k\": {\"\\ud800\": 1}}")]
    public void Where_parse_throws_filter_exception_for_escaped_unpaired_surrogates(string json)
    {
        var act = () => Where.Parse(json);
        act.Should().ThrowExactly<ChromaFilterException>().WithMessage("Invalid where: *UTF-16*");
    }

    [Theory]
    [InlineData("{\"$contains\": \"a\\ud800\"}")]
    [InlineData("{\"\\ud800\": \"a\"}")]
    public void WhereDocument_parse_throws_filter_exception_for_escaped_unpaired_surrogates(string json)
    {
        var act = () => WhereDocument.Parse(json);
        act.Should().ThrowExactly<ChromaFilterException>().WithMessage("Invalid where_document: *UTF-16*");
    }

    [Fact]
    public void Get_delete_and_query_reject_a_filter_over_the_parameter_limit_and_change_nothing()
    {
        var manyKeys = Where.Or(Enumerable.Range(0, 4_100).Select(i => Where.Eq("k" + i, 1L)).ToArray());
        Rejects<ChromaFilterException>(() => Collection.Get(where: manyKeys), "4101", "limit is 4096");
        Rejects<ChromaFilterException>(() => Collection.Delete(where: manyKeys), "limit is 4096");
        Rejects<ChromaFilterException>(() => Collection.Query([Vec()], 2, where: manyKeys), "limit is 4096");
    }

    [Fact]
    public void Long_in_and_nin_lists_bind_as_one_parameter_and_match_like_short_ones()
    {
        // r0: n=1 (int), s="a"; r1: n=2.5 (float); r2: no metadata.
        var numbers = Enumerable.Range(-29_999, 30_001).Select(i => (FilterValue)(long)i).ToArray();
        Collection.Get(where: Where.In("n", numbers)).Ids.Should().Equal("r0");
        Collection.Get(where: Where.NotIn("n", numbers)).Ids.Should().Equal("r1", "r2");
        var floats = Enumerable.Range(0, 1_000).Select(i => (FilterValue)(i + 0.5)).ToArray();
        Collection.Get(where: Where.In("n", floats)).Ids.Should().Equal("r1");
        Collection.Get(where: Where.In("n", [.. floats, 1.0])).Ids.Should().Equal(["r0", "r1"], "an int matches an equal float in a long list too");
        var strings = Enumerable.Range(0, 500).Select(i => (FilterValue)("s" + i)).Append("a").ToArray();
        Collection.Get(where: Where.In("s", strings)).Ids.Should().Equal("r0");
        Collection.Get(where: Where.NotIn("s", strings)).Ids.Should().Equal("r1", "r2");
        Collection.Add(["b1"], [Vec()], [Meta(("flag", true), ("tags", new[] { "t7" }))]);
        var bools = Enumerable.Repeat((FilterValue)true, 40).ToArray();
        Collection.Get(where: Where.In("flag", bools)).Ids.Should().Equal("b1");
        Rejects<ChromaFilterException>(() => Where.In("n", Enumerable.Repeat((FilterValue)1L, 40).Append(true).ToArray()), "one type");
    }

    [Fact]
    public void Large_filters_within_the_limit_run_and_agree_with_small_ones()
    {
        var manyClauses = Where.And(Enumerable.Range(100, 2_000).Select(i => Where.Ne("n", (long)i)).ToArray());
        Collection.Get(where: manyClauses).Ids.Should().Equal(["r0", "r1", "r2"], "2,000 clauses in one $and exceed SQLite's expression depth unless grouped");
        var manyKeys = Where.Or([.. Enumerable.Range(0, 1_500).Select(i => Where.Eq("k" + i, 1L)), Where.Eq("s", "a")]);
        Collection.Get(where: manyKeys).Ids.Should().Equal("r0");
        var manyDocs = WhereDocument.Or([.. Enumerable.Range(0, 1_500).Select(i => WhereDocument.Contains("zz" + i)), WhereDocument.Contains("third")]);
        Collection.Query([Vec()], 3, whereDocument: manyDocs).Ids[0].Should().Equal("r2");
    }

    [Fact]
    public void Filters_nested_up_to_64_levels_run_and_deeper_ones_are_rejected_when_built()
    {
        static Where Nest(int levels)
        {
            var where = Where.Eq("n", 1L);
            for (var i = 0; i < levels; i++)
            {
                where = i % 2 == 0 ? Where.And(where, Where.Ne("x" + i, 1L)) : Where.Or(where, Where.Eq("x" + i, 1L));
            }

            return where;
        }

        Collection.Get(where: Nest(64)).Ids.Should().Equal("r0");
        Rejects<ChromaFilterException>(() => Nest(65), "64 levels");
        Rejects<ChromaFilterException>(() => Nest(5_000), "64 levels");

        WhereDocument document = WhereDocument.Contains("first");
        for (var i = 0; i < 64; i++)
        {
            document = i % 2 == 0 ? WhereDocument.And(document, WhereDocument.NotContains("q" + i)) : WhereDocument.Or(document, WhereDocument.Contains("q" + i));
        }

        Collection.Get(whereDocument: document).Ids.Should().Equal("r0");
        var deeper = document;
        Rejects<ChromaFilterException>(() => WhereDocument.And(deeper, WhereDocument.Contains("z")), "64 levels");
    }
}
