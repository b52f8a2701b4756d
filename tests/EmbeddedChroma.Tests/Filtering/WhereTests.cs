namespace EmbeddedChroma.Tests.Filtering;

public sealed class WhereTests
{
    [Theory]
    [InlineData("""{"genre": {"$eq": "fiction"}}""")]
    [InlineData("""{"year": {"$gt": 2000}}""")]
    [InlineData("""{"rating": {"$lte": 4.5}}""")]
    [InlineData("""{"x": {"$eq": 5.0}}""")]
    [InlineData("""{"x": {"$eq": -0.0}}""")]
    [InlineData("""{"x": {"$eq": 1E+20}}""")]
    [InlineData("""{"x": {"$ne": true}}""")]
    [InlineData("""{"k": {"$in": ["a", "b"]}}""")]
    [InlineData("""{"k": {"$nin": [1, 2.5]}}""")]
    [InlineData("""{"tags": {"$contains": "a"}}""")]
    [InlineData("""{"tags": {"$not_contains": 3}}""")]
    [InlineData("""{"$and": [{"a": {"$eq": 1}}, {"$or": [{"b": {"$eq": "x"}}, {"c": {"$gte": -2}}]}]}""")]
    [InlineData("""{"ключ \"q\" <b>": {"$eq": "значение\n"}}""")]
    public void Parse_round_trips_through_ToJson_when_json_is_valid(string json)
    {
        Where parsed = Where.Parse(json);
        string written = parsed.ToJson();

        Where.Parse(written).Should().Be(parsed);
        Where.Parse(written).ToJson().Should().Be(written);
        parsed.ToString().Should().Be(written);
    }

    [Fact]
    public void ToJson_writes_canonical_chroma_json_when_built()
    {
        Where.Eq("genre", "fiction").ToJson().Should().Be("""{"genre":{"$eq":"fiction"}}""");
        Where.Eq("x", 5.0).ToJson().Should().Be("""{"x":{"$eq":5.0}}""");
        Where.Eq("x", 5).ToJson().Should().Be("""{"x":{"$eq":5}}""");
        Where.In("k", 1.5, 2).ToJson().Should().Be("""{"k":{"$in":[1.5,2]}}""");
        Where.Parse("""{"k": "a\u00e9<"}""").ToJson().Should().Be("""{"k":{"$eq":"aé<"}}""");
    }

    [Fact]
    public void Parse_reads_bare_values_as_eq_when_no_operator_object()
    {
        Where.Parse("""{"genre": "fiction"}""").Should().Be(Where.Eq("genre", "fiction"));
        Where.Parse("""{"n": 7}""").Should().Be(Where.Eq("n", 7));
        Where.Parse("""{"n": 7.0}""").Should().Be(Where.Eq("n", 7.0));
        Where.Parse("""{"n": 7e0}""").Should().Be(Where.Eq("n", 7.0));
        Where.Parse("""{"b": false}""").Should().Be(Where.Eq("b", false));
    }

    [Fact]
    public void Parse_distinguishes_integers_from_floats_when_reading_numbers()
    {
        Where.Parse("""{"n": 7}""").Should().NotBe(Where.Parse("""{"n": 7.0}"""));
        Where.Parse("""{"n": 9007199254740993}""").ToJson().Should().Be("""{"n":{"$eq":9007199254740993}}""");
    }

    [Fact]
    public void Builder_equals_parsed_json_when_same_filter()
    {
        (Where.Eq("year", 2001) & Where.Gt("rating", 4.5))
            .Should().Be(Where.Parse("""{"$and": [{"year": 2001}, {"rating": {"$gt": 4.5}}]}"""));
        (Where.Eq("a", 1) | Where.Eq("b", 2) | Where.Eq("c", 3))
            .Should().Be(Where.Parse("""{"$or": [{"a": 1}, {"b": 2}, {"c": 3}]}"""));
        Where.Or(Where.In("k", "a", "b"), Where.NotIn("k", 1, 2.5))
            .Should().Be(Where.Parse("""{"$or": [{"k": {"$in": ["a", "b"]}}, {"k": {"$nin": [1, 2.5]}}]}"""));
        Where.And(Where.Contains("tags", "a"), Where.NotContains("tags", true), Where.Ne("x", "y"), Where.Lt("n", -1), Where.Gte("n", -5), Where.Lte("n", 0.5))
            .Should().Be(Where.Parse("""
                {"$and": [{"tags": {"$contains": "a"}}, {"tags": {"$not_contains": true}}, {"x": {"$ne": "y"}},
                          {"n": {"$lt": -1}}, {"n": {"$gte": -5}}, {"n": {"$lte": 0.5}}]}
                """));
        Where.Eq("year", 2001).GetHashCode().Should().Be(Where.Parse("""{"year": 2001}""").GetHashCode());
    }

    [Fact]
    public void Operators_flatten_chains_when_same_operator_repeats()
    {
        Where a = Where.Eq("a", 1), b = Where.Eq("b", 2), c = Where.Eq("c", 3);

        (a & b & c).Should().Be(Where.And(a, b, c));
        (a & (b & c)).Should().Be(Where.And(a, b, c));
        ((a | b) & c).Should().Be(Where.And(Where.Or(a, b), c));
        Where.BitwiseAnd(a, b).Should().Be(a & b);
        Where.BitwiseOr(a, b).Should().Be(a | b);
    }

    [Fact]
    public void Equals_is_false_when_int_and_float_or_order_differ()
    {
        Where.Eq("x", 5).Should().NotBe(Where.Eq("x", 5.0));
        Where.Eq("x", 1).Should().NotBe(Where.Eq("x", true));
        (Where.Eq("a", 1) & Where.Eq("b", 2)).Should().NotBe(Where.Eq("b", 2) & Where.Eq("a", 1));
        Where.Eq("x", 5).Equals(null).Should().BeFalse();
    }

    // --- Validation: every error is a ChromaFilterException naming the operator and the key. ---

    [Theory]
    [InlineData("""{"genre": {"$like": "f%"}}""", "$like", "genre")]
    [InlineData("""{"doc": {"$regex": "a"}}""", "$regex", "doc")]
    [InlineData("""{"k": {"a": 1}}""", "\"a\"", "\"k\"")]
    [InlineData("""{"$foo": 1}""", "$foo")]
    [InlineData("""{"$contains": "x"}""", "$contains", "where_document")]
    [InlineData("""{"$not_contains": "x"}""", "$not_contains")]
    public void Parse_throws_when_operator_is_unknown(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("not json", "malformed JSON")]
    [InlineData("", "malformed JSON")]
    [InlineData("""{"a": 1,}""", "malformed JSON")]
    [InlineData("""{"a": 1} trailing""", "malformed JSON")]
    [InlineData("[]", "expected a JSON object", "array")]
    [InlineData("\"genre\"", "expected a JSON object", "string")]
    [InlineData("{}", "empty object")]
    [InlineData("""{"k": {}}""", "\"k\"", "empty operator object")]
    public void Parse_throws_when_json_is_malformed_or_empty(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"a": 1, "b": 2}""", "exactly one operator", "\"a\"", "\"b\"")]
    [InlineData("""{"a": 1, "a": 2}""", "exactly one operator", "\"a\"")]
    [InlineData("""{"year": {"$gt": 1, "$lt": 5}}""", "more than one operator", "$gt", "$lt", "\"year\"")]
    [InlineData("""{"$and": [{"a": 1}, {"b": 2}], "c": 3}""", "exactly one operator", "$and")]
    public void Parse_throws_when_an_object_has_several_operators(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"$and": [{"a": 1}]}""", "$and", "at least 2", "got 1")]
    [InlineData("""{"$or": []}""", "$or", "at least 2", "got 0")]
    [InlineData("""{"$or": {"a": 1}}""", "$or", "array", "got object")]
    [InlineData("""{"$and": "a"}""", "$and", "array", "got string")]
    [InlineData("""{"$and": [{"a": 1}, 5]}""", "expected a JSON object", "number")]
    public void Parse_throws_when_logical_operands_are_invalid(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"year": {"$gt": "2000"}}""", "$gt", "\"year\"", "number")]
    [InlineData("""{"year": {"$gte": true}}""", "$gte", "\"year\"", "number")]
    [InlineData("""{"year": {"$lt": [1]}}""", "$lt", "\"year\"", "number", "array")]
    [InlineData("""{"year": {"$lte": {"v": 1}}}""", "$lte", "\"year\"", "object")]
    [InlineData("""{"year": {"$gt": 1e999}}""", "$gt", "\"year\"", "finite")]
    [InlineData("""{"year": {"$eq": -1e999}}""", "$eq", "\"year\"", "finite")]
    [InlineData("""{"year": 99999999999999999999}""", "$eq", "\"year\"", "64-bit range")]
    public void Parse_throws_when_comparison_operand_is_not_a_finite_number(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"k": {"$in": []}}""", "$in", "\"k\"", "empty array")]
    [InlineData("""{"k": {"$in": "a"}}""", "$in", "\"k\"", "non-empty array", "got string")]
    [InlineData("""{"k": {"$nin": {"a": 1}}}""", "$nin", "\"k\"", "got object")]
    [InlineData("""{"k": {"$nin": ["a", 1]}}""", "$nin", "\"k\"", "one type", "string", "int")]
    [InlineData("""{"k": {"$in": [true, 1]}}""", "$in", "\"k\"", "one type", "bool")]
    [InlineData("""{"k": {"$in": [["a"]]}}""", "$in", "\"k\"", "array")]
    [InlineData("""{"k": {"$in": ["a", null]}}""", "$in", "\"k\"", "null")]
    public void Parse_throws_when_in_or_nin_operand_is_not_a_uniform_non_empty_array(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"k": {"$contains": ["a"]}}""", "$contains", "\"k\"", "array")]
    [InlineData("""{"k": {"$not_contains": {"a": 1}}}""", "$not_contains", "\"k\"", "object")]
    [InlineData("""{"k": {"$contains": null}}""", "$contains", "\"k\"", "null")]
    public void Parse_throws_when_contains_operand_is_not_a_scalar(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"k": null}""", "$eq", "\"k\"", "null")]
    [InlineData("""{"k": {"$ne": null}}""", "$ne", "\"k\"", "null")]
    [InlineData("""{"k": [1, 2]}""", "$eq", "\"k\"", "array")]
    [InlineData("""{"k": {"$eq": [1]}}""", "$eq", "\"k\"", "array")]
    [InlineData("""{"k": {"$eq": {"nested": 1}}}""", "$eq", "\"k\"", "object")]
    public void Parse_throws_when_eq_value_is_null_or_nested(string json, params string[] named) =>
        AssertRejected(json, named);

    [Theory]
    [InlineData("""{"": 1}""", "empty metadata key")]
    [InlineData("""{"": {"$gt": 1}}""", "empty metadata key")]
    public void Parse_throws_when_key_is_empty(string json, params string[] named) =>
        AssertRejected(json, named);

    [Fact]
    public void Factories_throw_the_same_errors_when_building_in_code()
    {
        AssertThrows(() => Where.Gt("x", double.NaN), "$gt", "\"x\"", "finite");
        AssertThrows(() => Where.Eq("x", double.PositiveInfinity), "$eq", "\"x\"", "finite");
        AssertThrows(() => Where.In("x", 1, float.NegativeInfinity), "$in", "\"x\"", "finite");
        AssertThrows(() => Where.Eq("", 1), "$eq", "empty metadata key");
        AssertThrows(() => Where.Ne("$and", 1), "$ne", "\"$and\"", "must not start with '$'");
        AssertThrows(() => Where.Contains("$x", 1), "$contains", "\"$x\"");
        AssertThrows(() => Where.In("k"), "$in", "\"k\"", "empty array");
        AssertThrows(() => Where.NotIn("k", "a", 1), "$nin", "\"k\"", "one type");
        AssertThrows(() => Where.Gt("k", "a"), "$gt", "\"k\"", "number");
        AssertThrows(() => Where.Lte("k", false), "$lte", "\"k\"", "number");
        AssertThrows(() => Where.Eq("k", (string?)null), "$eq", "\"k\"", "null");
        AssertThrows(() => Where.NotContains("k", default), "$not_contains", "\"k\"", "null");
        AssertThrows(() => Where.And(Where.Eq("a", 1)), "$and", "at least 2");
        AssertThrows(() => Where.Or(), "$or", "at least 2");
    }

    [Fact]
    public void Factories_throw_ArgumentNullException_when_references_are_null()
    {
        FluentActions.Invoking(() => Where.Eq(null!, 1)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Where.And(Where.Eq("a", 1), null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Where.Eq("a", 1) & null!).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => Where.Parse(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Parse_accepts_numbers_of_both_kinds_when_in_mixes_ints_and_floats() =>
        Where.Parse("""{"k": {"$in": [1, 2.5]}}""").Should().Be(Where.In("k", 1, 2.5));

    [Fact]
    public void Parse_rejects_deep_nesting_with_the_nesting_error_when_beyond_the_nesting_limit()
    {
        string json = string.Concat(Enumerable.Repeat("""{"$and": [{"a": 1}, """, 70)) + """{"a": 1}""" + string.Concat(Enumerable.Repeat("]}", 70));

        AssertRejected(json, "nest more than 64 levels");
    }

    private static void AssertRejected(string json, params string[] named) => AssertThrows(() => Where.Parse(json), named);

    internal static void AssertThrows(Func<object> act, params string[] named)
    {
        ChromaFilterException exception = FluentActions.Invoking(act).Should().ThrowExactly<ChromaFilterException>().Which;
        foreach (string fragment in named)
        {
            exception.Message.Should().Contain(fragment);
        }
    }
}
