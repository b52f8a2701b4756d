using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Filtering;

/// <summary>
/// One nesting limit for both ways of writing a filter: <c>$and</c>/<c>$or</c> may nest 64 levels (README, Limits),
/// whether built with the typed builder or parsed from JSON. One level more is refused with the nesting error, never
/// with a JSON "max depth" error, and JSON far deeper still gets the nesting error.
/// </summary>
public sealed class FilterDepthTests : IDisposable
{
    private const int Limit = 64;

    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    /// <summary>Alternating <c>$and</c>/<c>$or</c>, <paramref name="levels"/> deep, with a leaf of JSON depth 3 (<c>$in</c>) at the bottom.</summary>
    private static string WhereJson(int levels)
    {
        var json = """{"k": {"$in": [1, 2]}}""";
        for (var i = 0; i < levels; i++)
        {
            json = $"{{\"{(i % 2 == 0 ? "$and" : "$or")}\": [{json}, {{\"k\": {{\"$ne\": {i}}}}}]}}";
        }

        return json;
    }

    private static string WhereDocumentJson(int levels)
    {
        var json = """{"$contains": "a"}""";
        for (var i = 0; i < levels; i++)
        {
            json = $"{{\"{(i % 2 == 0 ? "$and" : "$or")}\": [{json}, {{\"$not_contains\": \"z{i}\"}}]}}";
        }

        return json;
    }

    private static Where TypedWhere(int levels)
    {
        var where = Where.In("k", 1L, 2L);
        for (var i = 0; i < levels; i++)
        {
            where = i % 2 == 0 ? Where.And(where, Where.Ne("k", i)) : Where.Or(where, Where.Ne("k", i));
        }

        return where;
    }

    private static WhereDocument TypedWhereDocument(int levels)
    {
        var where = WhereDocument.Contains("a");
        for (var i = 0; i < levels; i++)
        {
            where = i % 2 == 0 ? WhereDocument.And(where, WhereDocument.NotContains($"z{i}")) : WhereDocument.Or(where, WhereDocument.NotContains($"z{i}"));
        }

        return where;
    }

    private static void ShouldBeNestingError(Func<object> act)
    {
        var message = act.Should().ThrowExactly<ChromaFilterException>().Which.Message;
        message.Should().Contain($"nest more than {Limit} levels").And.NotContain("malformed JSON").And.NotContain("depth of");
    }

    [Fact]
    public void Parse_accepts_a_where_when_nested_exactly_at_the_limit_and_matches_the_typed_builder()
    {
        var parsed = Where.Parse(WhereJson(Limit));

        parsed.Should().Be(TypedWhere(Limit));
        var collection = _fx.CreateCollection("deep");
        collection.Add(["a", "b"], [[1f, 0f], [0f, 1f]], metadatas: [StoreFixture.Meta(("k", 1L)), StoreFixture.Meta(("k", 7L))]);
        collection.Get(where: parsed).Ids.Should().BeEquivalentTo(["a", "b"], "the outermost $or holds k != 63, true for both, and SQLite runs the 64-deep filter");
    }

    [Fact]
    public void Parse_accepts_a_where_document_when_nested_exactly_at_the_limit()
    {
        WhereDocument.Parse(WhereDocumentJson(Limit)).Should().Be(TypedWhereDocument(Limit));
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(Limit + 5)]
    [InlineData(200)]
    [InlineData(5_000)]
    public void Parse_throws_the_nesting_error_when_a_where_is_nested_past_the_limit(int levels) =>
        ShouldBeNestingError(() => Where.Parse(WhereJson(levels)));

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(300)]
    public void Parse_throws_the_nesting_error_when_a_where_document_is_nested_past_the_limit(int levels) =>
        ShouldBeNestingError(() => WhereDocument.Parse(WhereDocumentJson(levels)));

    [Fact]
    public void Typed_builder_accepts_the_limit_and_throws_the_nesting_error_one_level_past_it()
    {
        TypedWhere(Limit).Should().NotBeNull();
        TypedWhereDocument(Limit).Should().NotBeNull();

        ShouldBeNestingError(() => TypedWhere(Limit + 1));
        ShouldBeNestingError(() => TypedWhereDocument(Limit + 1));
    }
}
