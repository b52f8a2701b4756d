using EmbeddedChroma.Tests.TestUtilities;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>The tests that count a thread's allocated bytes run alone, so no other test's telemetry listener adds to them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationTestGroup
{
    public const string Name = "Allocation counts (not parallel)";
}

/// <summary>
/// A k = 10 query allocates a small, bounded number of bytes: its 10 rows are read through a statement prepared once per
/// reader connection and stepped directly (no command, reader or parameter objects per query, no JSON of the slots), and
/// the result is built with plain loops. What is left is the result itself (ids, distances), one row object per hit and
/// a few small arrays.
/// </summary>
[Collection(AllocationTestGroup.Name)]
public sealed class QueryAllocationTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Before session 9 a k = 10 query allocated about 6.6 KB (BenchmarkDotNet, StoreQuerySmallBenchmarks.QueryDistances); now about 5 KB.</summary>
    private const int Budget = 6_000;

    private readonly StoreFixture _fx = new(new ChromaStoreOptions { HnswThreshold = int.MaxValue, AutoCompaction = false });

    public void Dispose() => _fx.Dispose();

    /// <summary>Bytes one k = 10 query (ids and distances) allocates on this thread, averaged over 400 after 200 warm-up queries.</summary>
    private long AllocatedPerQuery(string collectionName)
    {
        var collection = _fx.CreateCollection(collectionName);
        QueryRowReadTests.Fill(collection, 0, 2000);
        var queries = Enumerable.Range(0, 64).Select(q => new[] { QueryRowReadTests.Vector(30_000 + q) }).ToArray();
        for (var n = 0; n < 200; n++)
        {
            collection.Query(queries[n % 64], nResults: 10, include: Include.Distances);
        }

        const int Measured = 400;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var n = 0; n < Measured; n++)
        {
            collection.Query(queries[n % 64], nResults: 10, include: Include.Distances);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / Measured;
    }

    [Fact]
    public void Query_allocates_under_6000_bytes_when_k_is_10()
    {
        var perQuery = AllocatedPerQuery("alloc");
        output.WriteLine($"allocated per k = 10 query: {perQuery} bytes");
        perQuery.Should().BeLessThan(Budget, "a k = 10 query allocates no per-query ADO.NET objects");
    }

    /// <summary>
    /// An unfiltered query asking for ids and distances whose result ids a query read before takes them from memory
    /// (Storage.ResultIdCache): no row objects or id strings per hit. About 5 KB before, 1.9 KB after (Debug).
    /// </summary>
    [Fact]
    public void Query_allocates_under_2500_bytes_when_k_is_10_and_its_result_ids_were_read_before()
    {
        var perQuery = AllocatedPerQuery("alloc-ids");
        output.WriteLine($"allocated per k = 10 query, ids from memory: {perQuery} bytes");
        perQuery.Should().BeLessThan(2_500, "the result ids come from memory: the result arrays and one small dictionary are what is left");
    }
}
