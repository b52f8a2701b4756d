using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Filtering;

public sealed class SqliteRegexTests : IDisposable
{
    private readonly SqliteConnection _connection;

    public SqliteRegexTests()
    {
        _connection = new SqliteConnection("Data Source=:memory:");
        _connection.Open();
        SqliteRegex.Register(_connection);
    }

    public void Dispose() => _connection.Dispose();

    [Theory]
    [InlineData("'^a'", "'abc'", 1L)]
    [InlineData("'^b'", "'abc'", 0L)]
    [InlineData("'B'", "'abc'", 0L)]
    [InlineData("'(?i)B'", "'abc'", 1L)]
    [InlineData("NULL", "'abc'", 0L)]
    [InlineData("'a'", "NULL", 0L)]
    public void Regexp_returns_whether_text_matches_when_called_from_sql(string pattern, string text, long expected) =>
        Scalar($"SELECT regexp({pattern}, {text})").Should().Be(expected);

    [Fact]
    public void Regexp_backs_the_sqlite_regexp_operator_when_registered() =>
        Scalar("SELECT 'hello world' REGEXP 'o w'").Should().Be(1L);

    [Fact]
    public void Regexp_reuses_compiled_patterns_when_many_distinct_patterns_exceed_the_cache()
    {
        for (int i = 0; i < SqliteRegex.CacheCapacity * 3; i++)
        {
            Scalar($"SELECT regexp('^x{i}$', 'x{i}')").Should().Be(1L);
        }

        Scalar("SELECT regexp('^x1$', 'x1')").Should().Be(1L);
    }

    [Fact]
    public void Regexp_fails_with_a_translatable_error_when_the_pattern_is_invalid()
    {
        SqliteException exception = FluentActions.Invoking(() => Scalar("SELECT regexp('(', 'a')"))
            .Should().Throw<SqliteException>().Which;

        SqliteRegex.TryTranslate(exception, out ChromaFilterException? filterException).Should().BeTrue();
        filterException!.Message.Should().StartWith("Invalid where_document").And.Contain("$regex").And.Contain("\"(\"").And.NotEndWith("'.");
        filterException.InnerException.Should().BeSameAs(exception);
    }

    [Fact]
    public void Regexp_fails_with_a_filter_error_naming_the_pattern_when_matching_times_out()
    {
        // Nested quantifiers over a string that almost matches backtrack exponentially.
        const string Pattern = "^(\\w+\\s?)*$";
        string text = new string('a', 40) + "!";
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT regexp($p, $t)";
        command.Parameters.AddWithValue("$p", Pattern);
        command.Parameters.AddWithValue("$t", text);

        SqliteException exception = FluentActions.Invoking(() => command.ExecuteScalar()).Should().Throw<SqliteException>().Which;

        SqliteRegex.TryTranslate(exception, out ChromaFilterException? filterException).Should().BeTrue();
        filterException!.Message.Should().Contain("timed out").And.Contain("$regex").And.Contain(Pattern.Replace("\\", "\\\\", StringComparison.Ordinal));
    }

    [Fact]
    public void TryTranslate_returns_false_when_the_error_is_not_from_regexp()
    {
        SqliteException exception = FluentActions.Invoking(() => Scalar("SELECT * FROM missing_table"))
            .Should().Throw<SqliteException>().Which;

        SqliteRegex.TryTranslate(exception, out ChromaFilterException? filterException).Should().BeFalse();
        filterException.Should().BeNull();
    }

    private object? Scalar(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
