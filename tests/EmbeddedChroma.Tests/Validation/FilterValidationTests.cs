namespace EmbeddedChroma.Tests.Validation;

/// <summary>Validation of where / where_document filters, through the parsers and the factories.</summary>
public sealed class FilterValidationTests : ValidationTestBase
{
    private static ChromaFilterException ParseRejects(string json, params string[] fragments)
    {
        var act = () => Where.Parse(json);
        var exception = act.Should().ThrowExactly<ChromaFilterException>().Which;
        exception.Should().BeAssignableTo<ChromaValidationException>();
        foreach (var fragment in fragments.Where(f => f.Length > 0))
        {
            exception.Message.Should().Contain(fragment);
        }

        return exception;
    }

    private static ChromaFilterException DocumentParseRejects(string json, params string[] fragments)
    {
        var act = () => WhereDocument.Parse(json);
        var exception = act.Should().ThrowExactly<ChromaFilterException>().Which;
        foreach (var fragment in fragments.Where(f => f.Length > 0))
        {
            exception.Message.Should().Contain(fragment);
        }

        return exception;
    }

    private static void FactoryRejects(Func<Where> factory, params string[] fragments)
    {
        var exception = factory.Should().ThrowExactly<ChromaFilterException>().Which;
        foreach (var fragment in fragments.Where(f => f.Length > 0))
        {
            exception.Message.Should().Contain(fragment);
        }
    }

    [Theory]
    [InlineData("""{"title": {"$like": "abc%"}}""")]
    [InlineData("""{"n": {"$between": [1, 2]}}""")]
    [InlineData("""{"n": {"$EQ": 1}}""")]
    public void Parse_rejects_where_when_operator_is_unknown(string json)
    {
        var op = json[(json.IndexOf('$', StringComparison.Ordinal))..].Split('"')[0];
        ParseRejects(json, op);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"n": }""")]
    [InlineData("""{"n": 1,}""")]
    [InlineData("""{'n': 1}""")]
    public void Parse_rejects_where_when_json_is_malformed(string json)
    {
        ParseRejects(json);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("42")]
    [InlineData("\"n\"")]
    [InlineData("null")]
    public void Parse_rejects_where_when_json_is_not_an_object(string json)
    {
        ParseRejects(json);
    }

    [Theory]
    [InlineData("""{"$and": [{"n": 1}]}""", "$and")]
    [InlineData("""{"$or": [{"n": 1}]}""", "$or")]
    [InlineData("""{"$and": []}""", "$and")]
    [InlineData("""{"$and": {"n": 1}}""", "$and")]
    [InlineData("""{"$or": "n"}""", "$or")]
    public void Parse_rejects_logical_operator_when_it_has_fewer_than_two_clauses_or_no_array(string json, string op)
    {
        ParseRejects(json, op);
    }

    [Fact]
    public void And_rejects_clauses_when_only_one_is_given()
    {
        FactoryRejects(() => Where.And(Where.Eq("n", 1)), "$and");
        FactoryRejects(() => Where.Or(Where.Eq("n", 1)), "$or");
    }

    [Theory]
    [InlineData("""{"n": {"$gt": "abc"}}""", "$gt")]
    [InlineData("""{"n": {"$gte": "1"}}""", "$gte")]
    [InlineData("""{"n": {"$lt": true}}""", "$lt")]
    [InlineData("""{"n": {"$lte": [1]}}""", "$lte")]
    public void Parse_rejects_range_operator_when_operand_is_not_a_number(string json, string op)
    {
        ParseRejects(json, op, "'n'".Replace('\'', '"'));
    }

    [Fact]
    public void Gt_rejects_operand_when_it_is_a_string_or_bool()
    {
        FactoryRejects(() => Where.Gt("n", "abc"), "$gt", "number");
        FactoryRejects(() => Where.Lte("n", true), "$lte", "number");
    }

    [Theory]
    [InlineData("""{"n": {"$in": []}}""", "$in", "empty")]
    [InlineData("""{"n": {"$nin": []}}""", "$nin", "empty")]
    [InlineData("""{"n": {"$in": [1, "a"]}}""", "$in", "one type")]
    [InlineData("""{"n": {"$nin": [true, 1]}}""", "$nin", "one type")]
    [InlineData("""{"n": {"$in": ["a", false]}}""", "$in", "one type")]
    [InlineData("""{"n": {"$in": [1, null]}}""", "$in", "")]
    [InlineData("""{"n": {"$in": 1}}""", "$in", "")]
    [InlineData("""{"n": {"$in": [[1]]}}""", "$in", "")]
    public void Parse_rejects_set_operator_when_list_is_empty_mixed_or_not_a_list(string json, string op, string fragment)
    {
        ParseRejects(json, op, fragment);
    }

    [Fact]
    public void In_rejects_values_when_empty_or_of_mixed_types()
    {
        FactoryRejects(() => Where.In("n"), "$in", "empty");
        FactoryRejects(() => Where.NotIn("n"), "$nin", "empty");
        FactoryRejects(() => Where.In("n", 1, "a"), "$in", "one type");
        FactoryRejects(() => Where.In("n", true, 1), "$in", "one type");
    }

    [Fact]
    public void In_accepts_values_when_ints_and_floats_mix()
    {
        Where.In("n", 1, 2.5).Should().NotBeNull();
        Collection.Get(where: Where.In("n", 1, 2.5)).Ids.Should().Equal("r0", "r1");
    }

    [Theory]
    [InlineData("""{"n": null}""")]
    [InlineData("""{"n": {"$eq": null}}""")]
    [InlineData("""{"n": {"$ne": [1, 2]}}""")]
    [InlineData("""{"n": {"$eq": {"a": 1}}}""")]
    [InlineData("""{"n": [1, 2]}""")]
    public void Parse_rejects_comparison_when_operand_is_not_a_scalar(string json)
    {
        ParseRejects(json, "\"n\"");
    }

    [Theory]
    [InlineData("""{"n": {"$eq": 1, "$ne": 2}}""")]
    [InlineData("""{"n": 1, "s": "a"}""")]
    [InlineData("""{"n": {}}""")]
    public void Parse_rejects_where_when_an_object_has_zero_or_several_operators(string json)
    {
        ParseRejects(json);
    }

    [Theory]
    [InlineData("""{"$foo": 1}""", "$foo")]
    [InlineData("""{"": 1}""", "empty")]
    public void Parse_rejects_where_when_key_is_empty_or_starts_with_dollar(string json, string fragment)
    {
        ParseRejects(json, fragment);
    }

    [Fact]
    public void Eq_rejects_key_or_value_when_invalid()
    {
        FactoryRejects(() => Where.Eq("", 1), "empty");
        FactoryRejects(() => Where.Eq("$n", 1), "$n");
        FactoryRejects(() => Where.Eq("n", double.NaN), "finite");
        FactoryRejects(() => Where.Ne("n", double.PositiveInfinity), "finite");
        FactoryRejects(() => Where.Eq("n", (string?)null), "null");
    }

    [Theory]
    [InlineData("""{"$like": "abc"}""", "$like")]
    [InlineData("""{"$contains": ""}""", "$contains")]
    [InlineData("""{"$contains": 5}""", "$contains")]
    [InlineData("""{"$contains": null}""", "$contains")]
    [InlineData("""{"$not_contains": ["a"]}""", "$not_contains")]
    [InlineData("""{"$regex": "("}""", "$regex")]
    [InlineData("""{"$and": [{"$contains": "a"}]}""", "$and")]
    [InlineData("""{"$or": []}""", "$or")]
    [InlineData("""{"$contains": "a", "$not_contains": "b"}""", "")]
    [InlineData("{}", "")]
    [InlineData("{", "")]
    [InlineData("""["$contains", "a"]""", "")]
    public void Parse_rejects_where_document_when_malformed(string json, string fragment)
    {
        DocumentParseRejects(json, fragment);
    }

    [Fact]
    public void WhereDocument_factories_reject_operands_when_empty_or_invalid()
    {
        ((Func<WhereDocument>)(() => WhereDocument.Contains(""))).Should().ThrowExactly<ChromaFilterException>();
        ((Func<WhereDocument>)(() => WhereDocument.NotContains(null!))).Should().ThrowExactly<ChromaFilterException>();
        ((Func<WhereDocument>)(() => WhereDocument.Regex("[unclosed"))).Should().ThrowExactly<ChromaFilterException>();
        ((Func<WhereDocument>)(() => WhereDocument.And(WhereDocument.Contains("a")))).Should().ThrowExactly<ChromaFilterException>();
    }

    [Fact]
    public void Filters_leave_the_store_unchanged_when_a_filtered_delete_matches_nothing()
    {
        var before = Snapshot();
        Collection.Delete(where: Where.Eq("n", "no such value")).Should().Be(0);
        Collection.Delete(whereDocument: WhereDocument.Contains("no such text")).Should().Be(0);
        Snapshot().Should().Be(before);
    }
}
