namespace EmbeddedChroma.Tests.Filtering;

public sealed class WhereDocumentTests
{
    [Theory]
    [InlineData("""{"$contains": "foo"}""")]
    [InlineData("""{"$not_contains": "a*b [x] ?"}""")]
    [InlineData("""{"$regex": "^\\d+(?:\\.\\d+)?$"}""")]
    [InlineData("""{"$not_regex": "draft"}""")]
    [InlineData("""{"$and": [{"$contains": "a"}, {"$not_contains": "b"}]}""")]
    [InlineData("""{"$or": [{"$contains": "a"}, {"$and": [{"$regex": "x"}, {"$not_regex": "y"}]}]}""")]
    public void Parse_round_trips_through_ToJson_when_json_is_valid(string json)
    {
        WhereDocument parsed = WhereDocument.Parse(json);
        string written = parsed.ToJson();

        WhereDocument.Parse(written).Should().Be(parsed);
        WhereDocument.Parse(written).ToJson().Should().Be(written);
        parsed.ToString().Should().Be(written);
    }

    [Fact]
    public void Builder_equals_parsed_json_when_same_filter()
    {
        WhereDocument.Contains("foo").Should().Be(WhereDocument.Parse("""{"$contains": "foo"}"""));
        (WhereDocument.Contains("a") & WhereDocument.NotContains("b"))
            .Should().Be(WhereDocument.Parse("""{"$and": [{"$contains": "a"}, {"$not_contains": "b"}]}"""));
        (WhereDocument.Regex("x") | WhereDocument.NotRegex("y") | WhereDocument.Contains("z"))
            .Should().Be(WhereDocument.Parse("""{"$or": [{"$regex": "x"}, {"$not_regex": "y"}, {"$contains": "z"}]}"""));
        WhereDocument.And(WhereDocument.Contains("a"), WhereDocument.Contains("b"))
            .Should().Be(WhereDocument.BitwiseAnd(WhereDocument.Contains("a"), WhereDocument.Contains("b")));
        WhereDocument.Or(WhereDocument.Contains("a"), WhereDocument.Contains("b"))
            .Should().Be(WhereDocument.BitwiseOr(WhereDocument.Contains("a"), WhereDocument.Contains("b")));
        WhereDocument.Contains("foo").GetHashCode().Should().Be(WhereDocument.Parse("""{"$contains": "foo"}""").GetHashCode());
        WhereDocument.Contains("foo").Should().NotBe(WhereDocument.Contains("Foo"));
        WhereDocument.Contains("foo").Should().NotBe(WhereDocument.Regex("foo"));
    }

    [Fact]
    public void ToJson_writes_canonical_chroma_json_when_built() =>
        (WhereDocument.Contains("a\"b") & WhereDocument.Regex("^x"))
            .ToJson().Should().Be("""{"$and":[{"$contains":"a\"b"},{"$regex":"^x"}]}""");

    [Theory]
    [InlineData("""{"$like": "foo"}""", "$like")]
    [InlineData("""{"$eq": "foo"}""", "$eq")]
    [InlineData("""{"text": "foo"}""", "\"text\"")]
    [InlineData("""{"$contains": "a", "$regex": "b"}""", "exactly one operator", "$contains", "$regex")]
    [InlineData("{}", "empty object")]
    [InlineData("not json", "malformed JSON")]
    [InlineData("\"foo\"", "expected a JSON object")]
    [InlineData("""{"$contains": ""}""", "$contains", "non-empty")]
    [InlineData("""{"$not_contains": ""}""", "$not_contains", "non-empty")]
    [InlineData("""{"$contains": 5}""", "$contains", "string", "number")]
    [InlineData("""{"$not_contains": null}""", "$not_contains", "null")]
    [InlineData("""{"$regex": ["a"]}""", "$regex", "array")]
    [InlineData("""{"$regex": "(unclosed"}""", "$regex", "(unclosed", "invalid regular expression")]
    [InlineData("""{"$not_regex": "[z-a]"}""", "$not_regex", "[z-a]")]
    [InlineData("""{"$and": [{"$contains": "a"}]}""", "$and", "at least 2")]
    [InlineData("""{"$or": {"$contains": "a"}}""", "$or", "array")]
    [InlineData("""{"$and": [{"$contains": "a"}, {"$nope": "b"}]}""", "$nope")]
    public void Parse_throws_when_where_document_is_invalid(string json, params string[] named) =>
        WhereTests.AssertThrows(() => WhereDocument.Parse(json), named);

    [Fact]
    public void Factories_throw_the_same_errors_when_building_in_code()
    {
        WhereTests.AssertThrows(() => WhereDocument.Contains(string.Empty), "$contains", "non-empty");
        WhereTests.AssertThrows(() => WhereDocument.NotContains(null!), "$not_contains", "null");
        WhereTests.AssertThrows(() => WhereDocument.Regex("a{2,1}"), "$regex", "a{2,1}");
        WhereTests.AssertThrows(() => WhereDocument.NotRegex("(?<"), "$not_regex");
        WhereTests.AssertThrows(() => WhereDocument.And(WhereDocument.Contains("a")), "$and", "at least 2");
        WhereTests.AssertThrows(() => WhereDocument.Or(), "$or", "at least 2");
        FluentActions.Invoking(() => WhereDocument.Contains("a") | null!).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => WhereDocument.Parse(null!)).Should().Throw<ArgumentNullException>();
    }
}
