using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Filtering;

/// <summary>
/// Runs translated filters against a real SQLite database and checks which records they select. Expected sets are
/// written out by hand from the fixture below, so they document Chroma's semantics.
/// </summary>
public sealed class SqlFilterBuilderTests : IDisposable
{
    private static readonly string[] All = ["r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r10", "r11", "r12"];

    private readonly FilterTestDatabase _db = new();

    public SqlFilterBuilderTests()
    {
        _db.Add("r01", "The quick brown fox", ("genre", "fiction"), ("year", 2001), ("rating", 4.5), ("published", true), ("tags", new[] { "a", "b" }));
        _db.Add("r02", "a*b literal star", ("genre", "fiction"), ("year", 1999), ("rating", 3.0), ("published", false));
        _db.Add("r03", "[x] marks the spot", ("genre", "science"), ("year", 2010), ("rating", 5), ("tags", new[] { "b", "c" }));
        _db.Add("r04", "what? why?", ("genre", "history"), ("year", 2001.0));
        _db.Add("r05", null);
        _db.Add("r06", "ab", ("flag", 1), ("year", "2001"));
        _db.Add("r07", "Quick Brown Fox", ("flag", true), ("nums", new object[] { 1, 2, 3 }));
        _db.Add("r08", "ABC abc", ("genre", "Fiction"), ("rating", 4.5), ("nums", new object[] { 2.5 }));
        _db.Add("r09", "x", ("tags", new[] { "a" }), ("flag", false), ("published", true));
        _db.Add("r10", "prefix-quick", ("genre", "fiction"), ("count", 0));
        _db.Add("r11", "a?b", ("year", -5), ("rating", -1.5));
        _db.Add("r12", "aXb", ("genre", "poetry"), ("bools", new object[] { true, false }));

        // Same content in another collection: never selected when filtering collection 1.
        _db.AddTo(2, "other", "The quick brown fox", ("genre", "fiction"), ("year", 2001), ("tags", new[] { "a" }));
    }

    public void Dispose() => _db.Dispose();

    [Theory]
    [InlineData("""{"genre": "fiction"}""", "r01 r02 r10")]
    [InlineData("""{"genre": {"$eq": "fiction"}}""", "r01 r02 r10")]
    [InlineData("""{"genre": "Fiction"}""", "r08")]
    [InlineData("""{"year": 2001}""", "r01 r04")]
    [InlineData("""{"year": 2001.0}""", "r01 r04")]
    [InlineData("""{"year": "2001"}""", "r06")]
    [InlineData("""{"flag": true}""", "r07")]
    [InlineData("""{"flag": 1}""", "r06")]
    [InlineData("""{"flag": false}""", "r09")]
    [InlineData("""{"flag": 0}""", "")]
    [InlineData("""{"count": 0}""", "r10")]
    [InlineData("""{"tags": "a"}""", "")]
    [InlineData("""{"nowhere": "x"}""", "")]
    public void Select_matches_scalar_type_rules_when_eq(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Theory]
    [InlineData("""{"genre": {"$ne": "fiction"}}""", "r03 r04 r05 r06 r07 r08 r09 r11 r12")]
    [InlineData("""{"published": {"$ne": true}}""", "r02 r03 r04 r05 r06 r07 r08 r10 r11 r12")]
    [InlineData("""{"flag": {"$ne": 1}}""", "r01 r02 r03 r04 r05 r07 r08 r09 r10 r11 r12")]
    [InlineData("""{"genre": {"$nin": ["fiction", "science"]}}""", "r04 r05 r06 r07 r08 r09 r11 r12")]
    public void Select_includes_records_without_the_key_when_ne_or_nin(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Fact]
    public void Select_returns_every_record_when_ne_or_nin_on_a_missing_key()
    {
        _db.Select(Where.Ne("missing", "x")).Should().Equal(All);
        _db.Select(Where.NotIn("missing", 1, 2)).Should().Equal(All);
        _db.Select(Where.NotContains("missing", "a")).Should().Equal(All);
    }

    [Theory]
    [InlineData("""{"year": {"$gt": 2000}}""", "r01 r03 r04")]
    [InlineData("""{"year": {"$gte": 2001}}""", "r01 r03 r04")]
    [InlineData("""{"year": {"$gt": 2001}}""", "r03")]
    [InlineData("""{"year": {"$lt": 2001}}""", "r02 r11")]
    [InlineData("""{"year": {"$lte": 2001.5}}""", "r01 r02 r04 r11")]
    [InlineData("""{"rating": {"$gte": 4.5}}""", "r01 r03 r08")]
    [InlineData("""{"rating": {"$lt": 0}}""", "r11")]
    [InlineData("""{"genre": {"$gt": 0}}""", "")]
    [InlineData("""{"flag": {"$gte": 0}}""", "r06")]
    public void Select_compares_numbers_only_when_range_operator(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Theory]
    [InlineData("""{"genre": {"$in": ["fiction", "science"]}}""", "r01 r02 r03 r10")]
    [InlineData("""{"year": {"$in": [1999, 2010.0]}}""", "r02 r03")]
    [InlineData("""{"flag": {"$in": [true]}}""", "r07")]
    [InlineData("""{"flag": {"$in": [1, 2]}}""", "r06")]
    [InlineData("""{"tags": {"$in": ["a"]}}""", "")]
    public void Select_matches_any_value_when_in(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Theory]
    [InlineData("""{"tags": {"$contains": "a"}}""", "r01 r09")]
    [InlineData("""{"tags": {"$contains": "c"}}""", "r03")]
    [InlineData("""{"nums": {"$contains": 2}}""", "r07")]
    [InlineData("""{"nums": {"$contains": 2.5}}""", "r08")]
    [InlineData("""{"nums": {"$contains": 2.0}}""", "r07")]
    [InlineData("""{"bools": {"$contains": false}}""", "r12")]
    [InlineData("""{"bools": {"$contains": 0}}""", "")]
    [InlineData("""{"genre": {"$contains": "fiction"}}""", "")]
    [InlineData("""{"tags": {"$not_contains": "a"}}""", "r02 r03 r04 r05 r06 r07 r08 r10 r11 r12")]
    public void Select_tests_array_elements_when_metadata_contains(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Theory]
    [InlineData("""{"$and": [{"genre": "fiction"}, {"year": {"$gt": 2000}}]}""", "r01")]
    [InlineData("""{"$or": [{"genre": "science"}, {"flag": true}]}""", "r03 r07")]
    [InlineData(
        """{"$or": [{"$and": [{"genre": "fiction"}, {"published": false}]}, {"$and": [{"rating": {"$gt": 4}}, {"tags": {"$contains": "c"}}]}]}""",
        "r02 r03")]
    [InlineData("""{"$and": [{"genre": {"$ne": "fiction"}}, {"$or": [{"year": {"$lt": 2000}}, {"nums": {"$contains": 1}}]}]}""", "r07 r11")]
    public void Select_combines_children_when_and_or(string where, string expected) =>
        _db.Select(Where.Parse(where)).Should().Equal(Ids(expected));

    [Fact]
    public void Select_restricts_to_the_bound_collection_when_other_collections_match()
    {
        _db.Select(Where.Eq("genre", "fiction"), collectionId: 2).Should().Equal("other");
        _db.Select(null, WhereDocument.Contains("quick"), collectionId: 2).Should().Equal("other");
        _db.Select(Where.Eq("year", 2001) & Where.Contains("tags", "a")).Should().Equal("r01");
    }

    [Theory]
    [InlineData("""{"$contains": "quick"}""", "r01 r10")]
    [InlineData("""{"$contains": "Quick"}""", "r07")]
    [InlineData("""{"$contains": "a*b"}""", "r02")]
    [InlineData("""{"$contains": "a?b"}""", "r11")]
    [InlineData("""{"$contains": "[x]"}""", "r03")]
    [InlineData("""{"$contains": "?"}""", "r04 r11")]
    [InlineData("""{"$contains": "*"}""", "r02")]
    [InlineData("""{"$contains": "["}""", "r03")]
    [InlineData("""{"$contains": "x] "}""", "r03")]
    [InlineData("""{"$contains": "ab"}""", "r06 r08")]
    [InlineData("""{"$contains": "x"}""", "r01 r03 r07 r09 r10")]
    [InlineData("""{"$contains": "quick brown fox and more"}""", "")]
    public void Select_matches_literal_case_sensitive_substrings_when_document_contains(string whereDocument, string expected) =>
        _db.Select(null, WhereDocument.Parse(whereDocument)).Should().Equal(Ids(expected));

    [Fact]
    public void Select_includes_records_without_document_when_not_contains() =>
        _db.Select(null, WhereDocument.NotContains("quick"))
            .Should().Equal("r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r11", "r12");

    [Theory]
    [InlineData("""{"$regex": "^[A-Z]"}""", "r01 r07 r08")]
    [InlineData("""{"$regex": "b$"}""", "r06 r11 r12")]
    [InlineData("""{"$regex": "(?i)^quick"}""", "r07")]
    [InlineData("""{"$regex": "a.b"}""", "r02 r11 r12")]
    [InlineData("""{"$not_regex": "^[A-Z]"}""", "r02 r03 r04 r05 r06 r09 r10 r11 r12")]
    [InlineData("""{"$and": [{"$contains": "a"}, {"$not_contains": "b"}]}""", "r03 r04")]
    [InlineData("""{"$or": [{"$contains": "fox"}, {"$regex": "^x$"}]}""", "r01 r09")]
    public void Select_matches_regex_and_complements_when_document_regex(string whereDocument, string expected) =>
        _db.Select(null, WhereDocument.Parse(whereDocument)).Should().Equal(Ids(expected));

    [Fact]
    public void Select_intersects_when_where_and_where_document_are_both_given() =>
        _db.Select(Where.Eq("genre", "fiction"), WhereDocument.Contains("quick")).Should().Equal("r01", "r10");

    [Fact]
    public void Select_returns_everything_when_no_filter()
    {
        SqlFilterBuilder.Build(null, null).Should().BeSameAs(SqlFilter.MatchAll);
        _db.Select(null).Should().Equal(All);
    }

    [Fact]
    public void Select_treats_quotes_and_sql_as_data_when_values_are_hostile()
    {
        const string Hostile = "x'); DROP TABLE records; --";
        _db.Select(Where.Eq("a'b", Hostile) | Where.Eq("genre", Hostile), WhereDocument.Contains(Hostile)).Should().BeEmpty();
        _db.Select(null).Should().HaveCount(12);
    }

    [Fact]
    public void Build_binds_every_literal_as_a_parameter_when_translating()
    {
        SqlFilter filter = SqlFilterBuilder.Build(
            Where.Eq("genre", "fiction") & Where.Gt("year", 2000) & Where.Eq("published", true),
            WhereDocument.Contains("a*b") & WhereDocument.Regex("^x"));

        filter.Sql.Should().NotContain("fiction").And.NotContain("2000").And.NotContain("a*b").And.NotContain("'");
        filter.Sql.Should().Contain(SqlFilterBuilder.CollectionParameter).And.Contain("regexp(");
        filter.UsesRegex.Should().BeTrue();
        filter.Parameters.Select(p => p.Value).Should().Equal("genre", "fiction", "year", 2000.0, "published", 1L, "*a[*]b*", SqlFilterBuilder.DocumentsIndexedKeyPrefix, "a*b", "^x");
    }

    [Fact]
    public void Build_reuses_a_parameter_when_a_literal_repeats()
    {
        SqlFilter filter = SqlFilterBuilder.Build(Where.Eq("k", "v") | Where.Ne("k", "v"), null);

        filter.Parameters.Should().HaveCount(2);
        filter.UsesRegex.Should().BeFalse();
    }

    [Fact]
    public void Build_uses_the_given_prefix_when_parameter_prefix_is_set()
    {
        SqlFilter filter = SqlFilterBuilder.Build(Where.Eq("k", 1), null, "@w");

        filter.Parameters.Select(p => p.Key).Should().Equal("@w0", "@w1");
    }

    [Theory]
    [InlineData("abc", "*abc*")]
    [InlineData("a*b", "*a[*]b*")]
    [InlineData("?", "*[?]*")]
    [InlineData("[x]", "*[[]x]*")]
    public void GlobContainsPattern_brackets_metacharacters_when_text_has_them(string text, string expected) =>
        SqlFilterBuilder.GlobContainsPattern(text).Should().Be(expected);

    [Fact]
    public void ApplyTo_throws_when_command_is_null() =>
        FluentActions.Invoking(() => SqlFilter.MatchAll.ApplyTo(null!)).Should().Throw<ArgumentNullException>();

    [Fact]
    public void Select_fails_with_sqlite_error_when_regexp_is_not_registered()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT regexp('a', 'a')";

        FluentActions.Invoking(() => command.ExecuteScalar()).Should().Throw<SqliteException>().WithMessage("*regexp*");
    }

    [Fact]
    public void Build_lets_sqlite_use_the_indexes_when_filtering()
    {
        SqlFilter filter = SqlFilterBuilder.Build(Where.Eq("genre", "fiction"), WhereDocument.Contains("quick"));
        using SqliteCommand command = _db.Connection.CreateCommand();
        command.CommandText =
            $"EXPLAIN QUERY PLAN SELECT r.id FROM records r WHERE r.collection_id = $collection AND ({filter.Sql})";
        command.Parameters.AddWithValue(SqlFilterBuilder.CollectionParameter, 1);
        filter.ApplyTo(command);
        var plan = new List<string>();
        using (SqliteDataReader reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }

        plan.Should().Contain(line => line.Contains("record_meta_s", StringComparison.Ordinal));
        // FTS5 encodes the constraints it consumed in idxStr; 'G' is a GLOB on a column (e.g. "INDEX 0:G0"),
        // so the trigram index answers the substring test instead of a scan of every document.
        plan.Should().Contain(line => line.Contains("VIRTUAL TABLE INDEX", StringComparison.Ordinal) && line.Contains(":G", StringComparison.Ordinal));
    }

    private static string[] Ids(string expected) => expected.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
