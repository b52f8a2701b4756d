namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// <see cref="GetResult"/> and <see cref="QueryResult"/> have public constructors so any implementation (a remote
/// client) can build them; the constructors refuse parallel lists whose shape does not match the ids.
/// </summary>
public sealed class ResultConstructorTests
{
    private static readonly IReadOnlyDictionary<string, MetadataValue> M = new Dictionary<string, MetadataValue> { ["k"] = 1 };

    [Fact]
    public void GetResult_keeps_the_lists_when_every_list_has_one_entry_per_id()
    {
        var result = new GetResult(["a", "b"], [[1f], [2f]], [M, null], ["doc", null], Include.Embeddings | Include.Metadatas | Include.Documents);

        result.Count.Should().Be(2);
        result.Ids.Should().Equal("a", "b");
        result.Embeddings![1].Should().Equal(2f);
        result.Metadatas![0].Should().BeSameAs(M);
        result.Metadatas[1].Should().BeNull();
        result.Documents.Should().Equal("doc", null);
        result.Included.Should().Be(Include.Embeddings | Include.Metadatas | Include.Documents);
    }

    [Fact]
    public void GetResult_accepts_left_out_lists_and_no_records_when_built()
    {
        new GetResult(["a"], null, null, null, Include.None).Embeddings.Should().BeNull();
        new GetResult([], [], [], [], Include.Embeddings | Include.Metadatas | Include.Documents).Count.Should().Be(0);
        new GetResult([], null, null, null, Include.None).Count.Should().Be(0);
    }

    [Fact]
    public void GetResult_throws_ArgumentException_naming_the_list_when_a_list_has_another_length_than_the_ids()
    {
        var cases = new (string List, Func<GetResult> Build)[]
        {
            ("embeddings", () => new GetResult(["a", "b"], [[1f]], null, null, Include.Embeddings)),
            ("embeddings", () => new GetResult([], [[1f]], null, null, Include.Embeddings)),
            ("metadatas", () => new GetResult(["a"], null, [M, M], null, Include.Metadatas)),
            ("metadatas", () => new GetResult(["a"], null, [], null, Include.Metadatas)),
            ("documents", () => new GetResult(["a", "b", "c"], null, null, ["x", "y"], Include.Documents)),
        };

        foreach (var (list, build) in cases)
        {
            build.Should().Throw<ArgumentException>().Which.ParamName.Should().Be(list);
        }

        FluentActions.Invoking(() => new GetResult(null!, null, null, null, Include.None)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void QueryResult_keeps_the_lists_when_each_query_has_one_entry_per_id()
    {
        var result = new QueryResult(
            [["a", "b"], ["c"], []],
            [[[1f], [2f]], [[3f]], []],
            [[M, null], [null], []],
            [["x", null], ["z"], []],
            [[0.1f, 0.2f], [0.3f], []],
            Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances);

        result.Ids.Should().HaveCount(3);
        result.Distances![0].Should().Equal(0.1f, 0.2f);
        result.Embeddings![1][0].Should().Equal(3f);
        result.Documents![0].Should().Equal("x", null);
        result.Metadatas![2].Should().BeEmpty();
    }

    [Fact]
    public void QueryResult_accepts_left_out_lists_when_built()
    {
        var result = new QueryResult([["a"]], null, null, null, null, Include.None);

        result.Distances.Should().BeNull();
        result.Embeddings.Should().BeNull();
        new QueryResult([], null, null, null, null, Include.None).Ids.Should().BeEmpty();
    }

    [Fact]
    public void QueryResult_throws_ArgumentException_when_a_list_has_another_shape_than_the_ids()
    {
        IReadOnlyList<IReadOnlyList<string>> ids = [["a", "b"], ["c"]];
        var cases = new (string What, Func<QueryResult> Build)[]
        {
            ("distances for one query of two", () => new QueryResult(ids, null, null, null, [[1f, 2f]], Include.Distances)),
            ("distances for three queries of two", () => new QueryResult(ids, null, null, null, [[1f, 2f], [3f], [4f]], Include.Distances)),
            ("distances of the second query too long", () => new QueryResult(ids, null, null, null, [[1f, 2f], [3f, 4f]], Include.Distances)),
            ("distances of the first query too short", () => new QueryResult(ids, null, null, null, [[1f], [3f]], Include.Distances)),
            ("a null distance list", () => new QueryResult(ids, null, null, null, [[1f, 2f], null!], Include.Distances)),
            ("embeddings of the first query too short", () => new QueryResult(ids, [[[1f]], [[2f]]], null, null, null, Include.Embeddings)),
            ("metadatas for one query of two", () => new QueryResult(ids, null, [[M, M]], null, null, Include.Metadatas)),
            ("documents of the second query too long", () => new QueryResult(ids, null, null, [["x", "y"], ["z", "w"]], null, Include.Documents)),
            ("a null id list", () => new QueryResult([["a"], null!], null, null, null, null, Include.None)),
        };

        foreach (var (what, build) in cases)
        {
            build.Should().Throw<ArgumentException>(what);
        }

        FluentActions.Invoking(() => new QueryResult(null!, null, null, null, null, Include.None)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void QueryResult_throws_ArgumentException_when_there_are_no_queries_but_a_list_has_entries()
    {
        // Zero queries: every list given must be empty too. (The per-query checks alone never run for zero queries.)
        var cases = new (string What, Func<QueryResult> Build)[]
        {
            ("distances", () => new QueryResult([], null, null, null, [[0.5f]], Include.Distances)),
            ("embeddings", () => new QueryResult([], [[[1f]]], null, null, null, Include.Embeddings)),
            ("metadatas", () => new QueryResult([], null, [[M]], null, null, Include.Metadatas)),
            ("documents", () => new QueryResult([], null, null, [["x"]], null, Include.Documents)),
        };

        foreach (var (what, build) in cases)
        {
            build.Should().Throw<ArgumentException>(what);
        }
    }

    [Fact]
    public void GetResult_keeps_uris_and_throws_ArgumentException_naming_uris_when_they_have_another_length_than_the_ids()
    {
        var result = new GetResult(["a", "b"], null, null, null, Include.Uris, uris: ["file:///a", null]);

        result.Uris.Should().Equal("file:///a", null);
        new GetResult(["a"], null, null, null, Include.None).Uris.Should().BeNull("uris are a trailing optional parameter");
        FluentActions.Invoking(() => new GetResult(["a", "b"], null, null, null, Include.Uris, ["file:///a"]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("uris");
        FluentActions.Invoking(() => new GetResult([], null, null, null, Include.Uris, [null]))
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("uris");
    }

    [Fact]
    public void QueryResult_keeps_uris_and_throws_ArgumentException_when_uris_have_another_shape_than_the_ids()
    {
        IReadOnlyList<IReadOnlyList<string>> ids = [["a", "b"], ["c"]];

        new QueryResult(ids, null, null, null, null, Include.Uris, [["u", null], ["w"]]).Uris![0].Should().Equal("u", null);
        new QueryResult(ids, null, null, null, null, Include.None).Uris.Should().BeNull();
        var cases = new (string What, Func<QueryResult> Build)[]
        {
            ("uris for one query of two", () => new QueryResult(ids, null, null, null, null, Include.Uris, [["u", "v"]])),
            ("uris of the second query too long", () => new QueryResult(ids, null, null, null, null, Include.Uris, [["u", "v"], ["w", "x"]])),
            ("a null uri list", () => new QueryResult(ids, null, null, null, null, Include.Uris, [["u", "v"], null!])),
            ("uris for zero queries", () => new QueryResult([], null, null, null, null, Include.Uris, [["u"]])),
        };

        foreach (var (what, build) in cases)
        {
            build.Should().Throw<ArgumentException>(what).Which.ParamName.Should().StartWith("uris", what);
        }
    }
}
