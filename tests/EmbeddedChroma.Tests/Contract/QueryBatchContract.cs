namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// A query with several embeddings answers each exactly as a call with that embedding alone would, in the caller's
/// order, with and without filters. (How the embedded store runs such a batch in parallel, on each of its plans, and
/// that a batch sees one state while a writer runs, is in Api/QueryBatchTests.cs: it needs store options.)
/// </summary>
public abstract class QueryBatchContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private const int Dimension = 16;

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
    }

    [Theory]
    [MemberData(nameof(QueryBatchCases.Spaces), MemberType = typeof(QueryBatchCases))]
    public async Task Query_answers_each_embedding_of_a_batch_as_a_call_with_it_alone_in_order(DistanceSpace space)
    {
        const int count = 400;
        var c = await CreateCollectionAsync("batch", space);
        await c.AddAsync(
            Enumerable.Range(0, count).Select(i => "id" + i).ToArray(),
            Vectors(count, 1),
            Enumerable.Range(0, count).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)Meta(("bucket", i % 10))).ToArray(),
            Enumerable.Range(0, count).Select(i => (string?)("document " + i)).ToArray());
        var queries = Vectors(24, 2);

        foreach (var where in new Where?[] { null, Where.Eq("bucket", 3), Where.Lt("bucket", 6) })
        {
            var batch = await c.QueryAsync(queries, nResults: 7, where: where, include: Include.Distances | Include.Documents);

            batch.Ids.Should().HaveCount(queries.Length);
            for (var q = 0; q < queries.Length; q++)
            {
                var single = await c.QueryAsync([queries[q]], nResults: 7, where: where, include: Include.Distances | Include.Documents);
                batch.Ids[q].Should().HaveCount(7).And.Equal(single.Ids[0], $"query {q} with filter {where}");
                batch.Distances![q].Should().Equal(single.Distances![0]);
                batch.Documents![q].Should().Equal(single.Documents![0]);
            }
        }
    }
}

public sealed class QueryBatchContractEmbedded : QueryBatchContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="QueryBatchContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class QueryBatchCases
{
    public static TheoryData<DistanceSpace> Spaces => new(DistanceSpace.L2, DistanceSpace.Cosine, DistanceSpace.InnerProduct);
}
