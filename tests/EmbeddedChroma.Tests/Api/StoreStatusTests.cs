using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary><see cref="ChromaStore.GetStatus"/>, what the health check of the DI package reports: open/closed, read-only, lock, index backlog.</summary>
public sealed class StoreStatusTests
{
    [Fact]
    public void GetStatus_reports_open_lock_and_collections_when_the_store_is_open()
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("one");
        fx.CreateCollection("two");

        var status = fx.Store.GetStatus();

        status.Should().Be(new ChromaStoreStatus(IsOpen: true, IsReadOnly: false, HoldsFolderLock: true, LoadedCollections: 2, CollectionsIndexing: 0, PendingIndexRows: 0, IndexFailures: 0));
    }

    [Fact]
    public void GetStatus_reports_no_backlog_when_the_background_index_has_caught_up()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var collection = fx.CreateCollection("graph");
        var random = new Random(7);
        collection.Add(
            Enumerable.Range(0, 400).Select(i => "r" + i).ToArray(),
            Enumerable.Range(0, 400).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToArray());
        collection.WaitForIndex();

        var status = fx.Store.GetStatus();

        status.PendingIndexRows.Should().Be(0);
        status.CollectionsIndexing.Should().Be(0);
        status.IndexFailures.Should().Be(0);
        status.LoadedCollections.Should().Be(1);
    }

    [Fact]
    public void GetStatus_reports_closed_without_throwing_when_the_store_was_disposed()
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("closed");
        fx.Close();

        var status = fx.Store.GetStatus();

        status.IsOpen.Should().BeFalse();
        status.HoldsFolderLock.Should().BeFalse();
        status.LoadedCollections.Should().Be(0);
    }

    [Fact]
    public void GetStatus_reports_read_only_when_the_store_was_opened_read_only()
    {
        using var folder = new TempStoreFolder("ec-status");
        var path = Path.Combine(folder.Path, "store");
        ChromaStore.Create(path, out _).Dispose();
        using var store = ChromaStore.Open(path, new ChromaStoreOptions { ReadOnly = true });

        store.GetStatus().Should().Match<ChromaStoreStatus>(s => s.IsOpen && s.IsReadOnly && s.HoldsFolderLock);
    }
}
