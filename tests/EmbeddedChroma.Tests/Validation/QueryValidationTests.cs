namespace EmbeddedChroma.Tests.Validation;

/// <summary>Validation of query: query embeddings, n_results, ids, include.</summary>
public sealed class QueryValidationTests : ValidationTestBase
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(8)]
    [InlineData(int.MaxValue)]
    public void Query_rejects_n_results_when_outside_one_to_max_results(int nResults)
    {
        RejectsValidation(() => Collection.Query([Vec()], nResults), $"n_results must be between 1 and 7, got {nResults}");
    }

    [Fact]
    public void Query_accepts_n_results_when_exactly_max_results()
    {
        Collection.Query([Vec()], SmallLimits.MaxResults).Ids[0].Should().HaveCount(3);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Query_rejects_query_embedding_when_a_component_is_not_finite(float bad)
    {
        var query = Vec();
        query[3] = bad;
        RejectsValidation(() => Collection.Query([Vec(), query], 3), "query_embeddings[1]", "position 3", "NaN or infinite");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_one_has_wrong_dimension()
    {
        RejectsValidation(() => Collection.Query([Vec(), Vec(), Vec(dim: 3)], 3), "expected dimension 4, got 3 at index 2");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_all_have_wrong_dimension()
    {
        RejectsValidation(() => Collection.Query([Vec(dim: 5)], 3), "expected dimension 4, got 5 at index 0");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_list_is_empty()
    {
        RejectsValidation(() => Collection.Query(Array.Empty<float[]>(), 3), "query_embeddings must be a non-empty list");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_list_is_null()
    {
        RejectsValidation(() => Collection.Query((IReadOnlyList<float[]>)null!, 3), "query_embeddings must be a non-empty list");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_one_is_null()
    {
        RejectsValidation(() => Collection.Query([Vec(), null!], 3), "query_embeddings[1] is null");
    }

    [Fact]
    public void Query_rejects_query_embeddings_when_more_than_the_limit()
    {
        RejectsValidation(() => Collection.Query([Vec(), Vec(), Vec(), Vec()], 3), "4 query embeddings", "limit of 3");
    }

    [Fact]
    public void Query_rejects_ids_when_list_is_empty()
    {
        RejectsValidation(() => Collection.Query([Vec()], 3, ids: []), "ids must be a non-empty list");
    }

    [Fact]
    public void Query_rejects_ids_when_they_repeat()
    {
        Rejects<ChromaDuplicateIdException>(() => Collection.Query([Vec()], 3, ids: ["r1", "r1"]), "duplicates", "'r1'");
    }

    [Fact]
    public void Query_rejects_ids_when_more_than_the_max_batch_size()
    {
        RejectsValidation(() => Collection.Query([Vec()], 3, ids: ["a", "b", "c", "d", "e", "f"]), "ids has 6 entries");
    }

    [Fact]
    public void Query_rejects_include_when_value_is_undefined()
    {
        RejectsValidation(() => Collection.Query([Vec()], 3, include: (Include)32), "include", "unknown value 32");
    }

    [Fact]
    public void Query_rejects_n_results_before_it_looks_at_an_empty_collection()
    {
        var fresh = Client.CreateCollection("fresh");
        var act = () => fresh.Query([Vec()], 0);
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*n_results*got 0*");
    }
}
