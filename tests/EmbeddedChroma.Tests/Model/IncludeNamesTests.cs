namespace EmbeddedChroma.Tests.Model;

/// <summary><see cref="IncludeNames"/>: Chroma's include strings to flags and back (issue #14: the wire sends strings).</summary>
public sealed class IncludeNamesTests
{
    [Fact]
    public void Parse_maps_each_of_chromas_names_to_its_flag()
    {
        IncludeNames.Parse(["embeddings", "metadatas", "documents", "distances", "uris"])
            .Should().Be(Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances | Include.Uris);
        IncludeNames.Parse([]).Should().Be(Include.None);
        IncludeNames.Parse(["metadatas", "metadatas"]).Should().Be(Include.Metadatas);
    }

    [Theory]
    [InlineData("bogus", "*include[1]*'bogus'*expected one of*")]
    [InlineData("Metadatas", "*include[1]*'Metadatas'*")]
    [InlineData("data", "*include[1]*'data'*uris*")]
    [InlineData("", "*include[1]*''*")]
    public void Parse_throws_validation_naming_the_entry_when_a_name_is_unknown(string name, string message)
    {
        var act = () => IncludeNames.Parse(["documents", name]);

        act.Should().Throw<ChromaValidationException>().WithMessage(message);
    }

    [Fact]
    public void Parse_throws_validation_when_the_list_or_an_entry_is_null()
    {
        ((Action)(() => IncludeNames.Parse(null!))).Should().Throw<ChromaValidationException>().WithMessage("*null*");
        ((Action)(() => IncludeNames.Parse(["documents", null]))).Should().Throw<ChromaValidationException>().WithMessage("*include[1]*null*");
    }

    [Fact]
    public void ToNames_lists_the_flags_in_chromas_order_and_round_trips_through_parse()
    {
        IncludeNames.ToNames(ChromaDefaults.QueryInclude).Should().Equal("documents", "metadatas", "distances");
        IncludeNames.ToNames(ChromaDefaults.GetInclude).Should().Equal("documents", "metadatas");
        IncludeNames.ToNames(Include.None).Should().BeEmpty();
        for (var flags = 0; flags < 32; flags++)
        {
            IncludeNames.Parse(IncludeNames.ToNames((Include)flags)).Should().Be((Include)flags);
        }

        IncludeNames.Name(Include.Uris).Should().Be("uris");
    }

    [Fact]
    public void ToNames_throws_validation_when_flags_are_unknown()
    {
        ((Action)(() => IncludeNames.ToNames((Include)64))).Should().Throw<ChromaValidationException>();
        ((Action)(() => IncludeNames.Name(Include.Metadatas | Include.Documents))).Should().Throw<ChromaValidationException>();
    }
}
