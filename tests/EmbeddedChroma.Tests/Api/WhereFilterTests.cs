namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Filter parsing failures (no store involved). where / where_document semantics end to end through Get, Query and
/// Delete are in the contract suite (Contract/WhereFilterContract.cs), run against every implementation.
/// </summary>
public sealed class WhereFilterTests
{
    [Fact]
    public void Parse_throws_filter_exception_when_operator_is_unknown()
    {
        var act = () => Where.Parse("""{"year": {"$between": [1, 2]}}""");

        act.Should().Throw<ChromaFilterException>().WithMessage("*$between*");
    }

    [Fact]
    public void Parse_throws_filter_exception_when_regex_is_invalid()
    {
        var act = () => WhereDocument.Parse("""{"$regex": "(unclosed"}""");

        act.Should().Throw<ChromaFilterException>();
    }
}
