namespace EmbeddedChroma.Tests.Contract;

/// <summary>Query: Chroma's distances per space, nearest first, n_results, selectors, include and validation.</summary>
public abstract class QueryContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private const float Tolerance = 1e-5f;

    /// <summary>Chroma's distance definitions, computed in double: l2 squared, cosine 1 − cos, ip 1 − dot.</summary>
    private static double ChromaDistance(DistanceSpace space, float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0, l2 = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
            l2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        }

        return space switch
        {
            DistanceSpace.L2 => l2,
            DistanceSpace.Cosine => 1 - (dot / (Math.Sqrt(na) * Math.Sqrt(nb))),
            _ => 1 - dot,
        };
    }

    private static float[][] RandomVectors(Random random, int count, int dimension) =>
        Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();

    [Theory]
    [MemberData(nameof(QueryCases.Spaces), MemberType = typeof(QueryCases))]
    public async Task Query_returns_nearest_records_with_chroma_distances_in_ascending_order(DistanceSpace space)
    {
        var random = new Random(20240601 + (int)space);
        var c = await CreateCollectionAsync(space: space);
        var vectors = RandomVectors(random, 60, 9);
        var ids = vectors.Select((_, i) => $"r{i}").ToArray();
        await c.AddAsync(ids, vectors);
        var queries = RandomVectors(random, 4, 9);

        var result = await c.QueryAsync(queries, nResults: 7);

        result.Ids.Should().HaveCount(4);
        for (var q = 0; q < queries.Length; q++)
        {
            var expected = vectors
                .Select((v, i) => (Id: ids[i], Distance: ChromaDistance(space, queries[q], v)))
                .OrderBy(x => x.Distance)
                .Take(7)
                .ToList();
            result.Ids[q].Should().Equal(expected.Select(e => e.Id), $"query {q} in {space}");
            for (var k = 0; k < 7; k++)
            {
                result.Distances![q][k].Should().BeApproximately((float)expected[k].Distance, Tolerance, $"query {q} rank {k} in {space}");
            }

            result.Distances![q].Should().BeInAscendingOrder();
        }
    }

    [Fact]
    public async Task Query_returns_squared_l2_distance_when_space_is_l2()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.L2);
        await c.AddAsync(["x", "far"], [[0f, 1f, 0f], [3f, 4f, 0f]]);

        var result = await c.QueryAsync([[1f, 0f, 0f]], nResults: 2);

        result.Ids[0].Should().Equal("x", "far");
        result.Distances![0][0].Should().BeApproximately(2f, Tolerance);
        result.Distances[0][1].Should().BeApproximately(20f, Tolerance);
    }

    [Fact]
    public async Task Query_returns_one_minus_cosine_when_space_is_cosine()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.Cosine);
        await c.AddAsync(["same", "orthogonal", "opposite", "diagonal"], [[10f, 0f], [0f, 3f], [-2f, 0f], [1f, 1f]]);

        var result = await c.QueryAsync([[1f, 0f]], nResults: 4);

        result.Ids[0].Should().Equal("same", "diagonal", "orthogonal", "opposite");
        result.Distances![0][0].Should().BeApproximately(0f, Tolerance);
        result.Distances[0][1].Should().BeApproximately((float)(1 - (1 / Math.Sqrt(2))), Tolerance);
        result.Distances[0][2].Should().BeApproximately(1f, Tolerance);
        result.Distances[0][3].Should().BeApproximately(2f, Tolerance);
    }

    [Fact]
    public async Task Query_returns_one_minus_dot_product_when_space_is_ip()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.InnerProduct);
        await c.AddAsync(["big", "small", "negative"], [[3f, 4f], [0.1f, 0.1f], [-1f, -1f]]);

        var result = await c.QueryAsync([[1f, 2f]], nResults: 3);

        result.Ids[0].Should().Equal("big", "small", "negative");
        result.Distances![0][0].Should().BeApproximately(1f - 11f, Tolerance);
        result.Distances[0][1].Should().BeApproximately(1f - 0.3f, Tolerance);
        result.Distances[0][2].Should().BeApproximately(1f + 3f, Tolerance);
    }

    [Fact]
    public async Task Query_returns_ten_results_when_n_results_is_not_given()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(Enumerable.Range(0, 15).Select(i => $"r{i:D2}").ToArray(), Enumerable.Range(0, 15).Select(i => new[] { (float)i }).ToArray());

        var result = await c.QueryAsync([[0f]]);

        result.Ids[0].Should().Equal(Enumerable.Range(0, 10).Select(i => $"r{i:D2}"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public async Task Query_throws_validation_when_n_results_is_not_positive(int nResults)
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a"], [[1f]]);

        var act = () => c.QueryAsync([[1f]], nResults);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage($"*n_results*{nResults}*");
    }

    [Fact]
    public async Task Query_returns_all_records_when_collection_has_fewer_than_n_results()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a", "b", "c"], [[1f], [5f], [2f]]);

        var result = await c.QueryAsync([[0f]], nResults: 10);

        result.Ids[0].Should().Equal("a", "c", "b");
        result.Distances![0].Should().HaveCount(3);
    }

    [Fact]
    public async Task Query_returns_empty_lists_when_collection_is_empty()
    {
        var c = await CreateCollectionAsync();

        var result = await c.QueryAsync([[1f, 2f], [3f, 4f]], nResults: 5);

        result.Ids.Should().HaveCount(2);
        result.Ids.Should().OnlyContain(l => l.Count == 0);
        result.Distances.Should().OnlyContain(l => l.Count == 0);
        result.Metadatas.Should().OnlyContain(l => l.Count == 0);
        result.Documents.Should().OnlyContain(l => l.Count == 0);
    }

    [Fact]
    public async Task Query_returns_empty_lists_when_all_records_were_deleted()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a", "b"], [[1f], [2f]]);
        await c.DeleteAsync(["a", "b"]);

        (await c.QueryAsync([[1f]])).Ids.Should().ContainSingle().Which.Should().BeEmpty();
    }

    [Fact]
    public async Task Query_returns_empty_lists_when_filter_matches_nothing()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a", "b"], [[1f], [2f]], [Meta(("k", 1)), Meta(("k", 2))], ["x", "y"]);

        var result = await c.QueryAsync([[1f], [2f]], where: Where.Eq("k", 3));

        result.Ids.Should().HaveCount(2).And.OnlyContain(l => l.Count == 0);
        result.Distances.Should().HaveCount(2).And.OnlyContain(l => l.Count == 0);
        result.Metadatas.Should().HaveCount(2).And.OnlyContain(l => l.Count == 0);
        result.Documents.Should().HaveCount(2).And.OnlyContain(l => l.Count == 0);
        (await c.QueryAsync([[1f]], whereDocument: WhereDocument.Contains("zzz"))).Ids[0].Should().BeEmpty();
        (await c.QueryAsync([[1f]], ids: ["ghost"])).Ids[0].Should().BeEmpty();
    }

    private async Task<IChromaCollection> Line()
    {
        // Ten records on a line at x = 0..9, alternating parity metadata and documents.
        var c = await CreateCollectionAsync();
        var ids = Enumerable.Range(0, 10).Select(i => $"p{i}").ToArray();
        await c.AddAsync(
            ids,
            Enumerable.Range(0, 10).Select(i => new[] { (float)i, 0f }).ToArray(),
            Enumerable.Range(0, 10).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)Meta(("parity", i % 2 == 0 ? "even" : "odd"), ("i", i))).ToArray(),
            Enumerable.Range(0, 10).Select(i => (string?)(i < 5 ? $"low {i}" : $"high {i}")).ToArray());
        return c;
    }

    [Fact]
    public async Task Query_searches_only_matching_records_when_where_is_given()
    {
        var c = await Line();

        var result = await c.QueryAsync([[4.2f, 0f]], nResults: 3, where: Where.Eq("parity", "odd"));

        result.Ids[0].Should().Equal("p5", "p3", "p7");
        result.Distances![0][0].Should().BeApproximately(0.8f * 0.8f, Tolerance);
        result.Metadatas![0].Should().OnlyContain(m => (string)m!["parity"] == "odd");
    }

    [Fact]
    public async Task Query_searches_only_matching_records_when_where_document_is_given()
    {
        var c = await Line();

        var result = await c.QueryAsync([[4.2f, 0f]], nResults: 3, whereDocument: WhereDocument.Contains("high"));

        result.Ids[0].Should().Equal("p5", "p6", "p7");
        result.Documents![0].Should().Equal("high 5", "high 6", "high 7");
    }

    [Fact]
    public async Task Query_searches_only_given_ids_when_ids_are_given()
    {
        var c = await Line();

        var result = await c.QueryAsync([[0f, 0f]], nResults: 2, ids: ["p9", "p2", "p7", "ghost"]);

        result.Ids[0].Should().Equal("p2", "p7");
    }

    [Fact]
    public async Task Query_intersects_selectors_when_several_are_given()
    {
        var c = await Line();

        var result = await c.QueryAsync([[0f, 0f]], nResults: 10, where: Where.Eq("parity", "even"), whereDocument: WhereDocument.Contains("high"), ids: ["p4", "p6", "p7", "p8"]);

        result.Ids[0].Should().Equal("p6", "p8");
    }

    [Fact]
    public async Task Query_returns_one_list_per_query_embedding()
    {
        var c = await Line();

        var result = await c.QueryAsync([[0f, 0f], [9f, 0f], [4.9f, 0f]], nResults: 2);

        result.Ids.Should().HaveCount(3);
        result.Ids[0].Should().Equal("p0", "p1");
        result.Ids[1].Should().Equal("p9", "p8");
        result.Ids[2].Should().Equal("p5", "p4");
        result.Distances![2][0].Should().BeApproximately(0.01f, Tolerance);
        result.Distances[2][1].Should().BeApproximately(0.81f, Tolerance);
        result.Documents![1].Should().Equal("high 9", "high 8");
    }

    [Fact]
    public async Task Query_includes_metadatas_documents_and_distances_but_not_embeddings_by_default()
    {
        var c = await Line();

        var result = await c.QueryAsync([[0f, 0f]], nResults: 2);

        result.Included.Should().Be(Include.Metadatas | Include.Documents | Include.Distances);
        result.Embeddings.Should().BeNull();
        ShouldHaveMetadata(result.Metadatas![0][0], ("parity", "even"), ("i", 0L));
        result.Documents![0].Should().Equal("low 0", "low 1");
        result.Distances![0].Should().HaveCount(2);
    }

    [Fact]
    public async Task Query_returns_original_embeddings_when_requested_for_cosine()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.Cosine);
        await c.AddAsync(["a", "b"], [[3f, 4f], [0f, 7f]]);

        var result = await c.QueryAsync([[3f, 4f]], nResults: 2, include: Include.Embeddings);

        result.Embeddings![0].Should().BeEquivalentTo(new[] { new[] { 3f, 4f }, new[] { 0f, 7f } }, o => o.WithStrictOrdering());
        result.Distances.Should().BeNull();
        result.Metadatas.Should().BeNull();
        result.Documents.Should().BeNull();
    }

    [Fact]
    public async Task Query_returns_only_ids_when_include_is_none()
    {
        var c = await Line();

        var result = await c.QueryAsync([[0f, 0f]], nResults: 1, include: Include.None);

        result.Ids[0].Should().Equal("p0");
        result.Distances.Should().BeNull();
        result.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task Query_throws_validation_naming_index_when_query_dimension_differs()
    {
        var c = await Line();

        var act = () => c.QueryAsync([[1f, 2f], [1f, 2f, 3f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*expected dimension 2, got 3 at index 1*");
    }

    [Fact]
    public async Task Query_throws_validation_when_query_embedding_has_NaN()
    {
        var c = await Line();

        var act = () => c.QueryAsync([[1f, float.NaN]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*query_embeddings[0]*NaN*");
    }

    [Fact]
    public async Task Query_throws_validation_when_no_query_embedding_is_given()
    {
        var c = await Line();

        var act = () => c.QueryAsync([]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*query_embeddings*");
    }

    [Fact]
    public async Task Query_orders_ties_deterministically_when_distances_are_equal()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["left", "right", "up", "down"], [[-1f, 0f], [1f, 0f], [0f, 1f], [0f, -1f]]);

        var first = await c.QueryAsync([[0f, 0f]], nResults: 4);
        var second = await c.QueryAsync([[0f, 0f]], nResults: 4);

        first.Ids[0].Should().BeEquivalentTo("left", "right", "up", "down");
        first.Ids[0].Should().Equal(second.Ids[0]);
        first.Distances![0].Should().OnlyContain(d => Math.Abs(d - 1f) < Tolerance);
    }

    [Fact]
    public async Task Query_honours_or_refuses_ef_search_but_never_ignores_it()
    {
        var c = await Line();

        var act = () => c.QueryAsync([[0f, 0f]], nResults: 2, efSearch: 50);

        if (Target.SupportsEfSearch)
        {
            (await act()).Ids[0].Should().Equal("p0", "p1");
        }
        else
        {
            await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ef_search*");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100_001)]
    public async Task Query_throws_validation_naming_ef_search_when_it_is_out_of_range(int efSearch)
    {
        var c = await Line();

        var act = () => c.QueryAsync([[0f, 0f]], nResults: 2, efSearch: efSearch);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ef_search*");
    }
}

public sealed class QueryContractEmbedded : QueryContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="QueryContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class QueryCases
{
    public static TheoryData<DistanceSpace> Spaces => new(DistanceSpace.L2, DistanceSpace.Cosine, DistanceSpace.InnerProduct);
}
