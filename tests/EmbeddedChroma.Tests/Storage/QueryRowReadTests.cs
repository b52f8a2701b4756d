using EmbeddedChroma.Tests.TestUtilities;
using FluentAssertions;
using Xunit;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// A query's rows are read by slot through a statement each reader connection prepares once (16 slots bound per
/// execution, a JSON array beyond 64): every result row is the stored record of its id, whatever the number of slots
/// (0, 1, 16, 17, 64, 65, 1,000; duplicates across query embeddings), after a collection is deleted and recreated under
/// the same name, after compaction renumbers the slots, and with several readers at once.
/// </summary>
public sealed class QueryRowReadTests : IDisposable
{
    private const int Dimension = 8;

    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = int.MaxValue, AutoCompaction = false });

    public void Dispose() => _fx.Dispose();

    internal static float[] Vector(int i, int salt = 0)
    {
        var random = new Random((i * 7919) + salt);
        return Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
    }

    internal static void Fill(Collection collection, int from, int count, int salt = 0)
    {
        var ids = Enumerable.Range(from, count).Select(i => "r" + i).ToArray();
        collection.Add(
            ids,
            Enumerable.Range(from, count).Select(i => Vector(i, salt)).ToArray(),
            Enumerable.Range(from, count).Select(i => StoreFixture.Meta(("i", (long)i), ("salt", (long)salt))).ToArray(),
            Enumerable.Range(from, count).Select(i => $"doc {i} salt {salt}").ToArray());
    }

    /// <summary>Every hit is the stored record of its id (document, metadata, embedding) at the distance its embedding gives.</summary>
    private static void ShouldBeStoredRows(QueryResult result, float[][] queries, int salt)
    {
        for (var q = 0; q < queries.Length; q++)
        {
            for (var h = 0; h < result.Ids[q].Count; h++)
            {
                var i = int.Parse(result.Ids[q][h].AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                result.Documents![q][h].Should().Be($"doc {i} salt {salt}");
                result.Metadatas![q][h]!["i"].AsInt64().Should().Be(i);
                result.Metadatas[q][h]!["salt"].AsInt64().Should().Be(salt);
                result.Embeddings![q][h].Should().Equal(Vector(i, salt));
                var expected = System.Numerics.Tensors.TensorPrimitives.Distance(queries[q], Vector(i, salt));
                result.Distances![q][h].Should().BeApproximately(expected * expected, 1e-4f);
            }
        }
    }

    private const Include All = Include.Documents | Include.Metadatas | Include.Embeddings | Include.Distances;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(16, 1)]
    [InlineData(17, 1)]
    [InlineData(64, 1)]
    [InlineData(65, 1)]
    [InlineData(1000, 1)]
    [InlineData(17, 3)]
    [InlineData(400, 3)]
    public void Query_returns_each_hit_as_stored_when_the_result_spans_that_many_slots(int k, int queries)
    {
        var collection = _fx.CreateCollection("rows");
        Fill(collection, 0, 1000);
        var embeddings = Enumerable.Range(0, queries).Select(q => Vector(10_000 + q)).ToArray();

        var result = collection.Query(embeddings, nResults: k, include: All);

        result.Ids.Should().HaveCount(queries);
        result.Ids.Should().AllSatisfy(ids => ids.Should().HaveCount(k).And.OnlyHaveUniqueItems());
        ShouldBeStoredRows(result, embeddings, salt: 0);
    }

    [Fact]
    public void Query_returns_the_same_rows_for_every_query_embedding_when_they_are_equal()
    {
        var collection = _fx.CreateCollection("dup");
        Fill(collection, 0, 200);
        var query = Vector(5_000);

        var result = collection.Query([query, query, query], nResults: 30, include: All);

        result.Ids[1].Should().Equal(result.Ids[0]);
        result.Ids[2].Should().Equal(result.Ids[0]);
        result.Documents![2].Should().Equal(result.Documents[0]);
        ShouldBeStoredRows(result, [query, query, query], salt: 0);
    }

    [Fact]
    public void Query_returns_no_rows_when_the_collection_is_empty()
    {
        var collection = _fx.CreateCollection("empty");
        collection.Add(["x"], [Vector(1)]);
        collection.Delete(["x"]);

        var result = collection.Query([Vector(2)], nResults: 5, include: All);

        result.Ids.Should().ContainSingle().Which.Should().BeEmpty();
    }

    [Fact]
    public void Query_returns_the_new_collections_rows_when_a_collection_was_deleted_and_recreated_under_its_name()
    {
        var first = _fx.CreateCollection("again");
        Fill(first, 0, 300, salt: 1);
        var query = Vector(7_777);
        ShouldBeStoredRows(first.Query([query], nResults: 10, include: All), [query], salt: 1);

        _fx.Client.DeleteCollection("again");
        var second = _fx.CreateCollection("again");
        Fill(second, 0, 300, salt: 2);

        var result = second.Query([query], nResults: 10, include: All);

        result.Ids[0].Should().HaveCount(10);
        ShouldBeStoredRows(result, [query], salt: 2);
    }

    [Fact]
    public void Query_returns_each_hit_as_stored_when_compaction_renumbered_the_slots()
    {
        var collection = _fx.CreateCollection("compacted");
        Fill(collection, 0, 500);
        var query = Vector(9_999);
        collection.Query([query], nResults: 10, include: All);
        collection.Delete(Enumerable.Range(0, 500).Where(i => i % 3 != 0).Select(i => "r" + i).ToArray());

        var compaction = collection.Compact();
        var result = collection.Query([query], nResults: 20, include: All);

        compaction.RecordsMoved.Should().BePositive("the test needs slots renumbered");
        result.Ids[0].Should().HaveCount(20);
        result.Ids[0].Select(id => int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture) % 3).Should().AllBeEquivalentTo(0);
        ShouldBeStoredRows(result, [query], salt: 0);
    }

    [Fact]
    public void Query_returns_each_hit_as_stored_when_several_threads_query_at_once()
    {
        var collection = _fx.CreateCollection("parallel");
        Fill(collection, 0, 500);

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            for (var n = 0; n < 40; n++)
            {
                var query = Vector(20_000 + (t * 100) + n);
                var k = 1 + ((t * 40) + n) % 70;
                var result = collection.Query([query], nResults: k, include: All);
                result.Ids[0].Should().HaveCount(k);
                ShouldBeStoredRows(result, [query], salt: 0);
            }
        });
    }
}
