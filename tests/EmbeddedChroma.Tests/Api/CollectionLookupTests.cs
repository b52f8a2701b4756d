using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Looking a collection up (by id: every record call over the wire does it; by name) comes from the in-memory catalog,
/// so it never waits for another write's transaction and commit (which hold the store's write lock): a query on one
/// collection is not held up by a write in progress (issue #14, the load on loopback).
/// </summary>
public sealed class CollectionLookupTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    /// <summary>Runs <paramref name="call"/> on another thread while this one holds the store's write lock, as a write transaction does.</summary>
    private T WhileAWriteIsUnderWay<T>(Func<T> call)
    {
        Task<T> task;
        lock (_fx.Store.Db.WriteLock)
        {
            task = Task.Run(call);
            task.Wait(Patience).Should().BeTrue("the lookup must not wait for the write under way (it holds the store's write lock)");
        }

        return task.Result;
    }

    [Fact]
    public void GetCollection_returns_without_waiting_when_another_write_holds_the_store_write_lock()
    {
        var created = _fx.Client.CreateCollection("books");

        WhileAWriteIsUnderWay(() => _fx.Client.GetCollection(created.Id)).Id.Should().Be(created.Id);
        WhileAWriteIsUnderWay(() => _fx.Client.GetCollection("books")).Id.Should().Be(created.Id);
    }

    [Fact]
    public void Query_by_collection_id_completes_when_another_write_holds_the_store_write_lock()
    {
        var created = _fx.Client.CreateCollection("books");
        created.Add(["a", "b", "c"], [[1f, 0f], [0f, 1f], [1f, 1f]]);

        var result = WhileAWriteIsUnderWay(() => _fx.Client.GetCollection(created.Id).Query([[1f, 0f]], nResults: 2));

        result.Ids[0].Should().Equal("a", "c");
    }

    [Fact]
    public void GetCollection_throws_not_found_for_a_deleted_collection_or_one_of_another_database()
    {
        var created = _fx.Client.CreateCollection("books");
        _fx.Client.CreateDatabase("other");
        var other = _fx.Store.GetClient(_fx.AdminKey, ChromaDefaults.Tenant, "other");

        var fromOther = () => other.GetCollection(created.Id);
        fromOther.Should().Throw<ChromaNotFoundException>();
        var byNameFromOther = () => other.GetCollection("books");
        byNameFromOther.Should().Throw<ChromaNotFoundException>();

        _fx.Client.DeleteCollection("books");
        var deleted = () => _fx.Client.GetCollection(created.Id);
        deleted.Should().Throw<ChromaNotFoundException>();
        var deletedByName = () => _fx.Client.GetCollection("books");
        deletedByName.Should().Throw<ChromaNotFoundException>();
    }
}
