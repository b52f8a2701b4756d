using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The background indexer leaves the collection lock to a write batch waiting to publish: it does not ask for the read
/// lock again until the batch holds the lock (the lock grants readers while a writer still spins for it, and a worker
/// re-taking it chunk after empty chunk kept batches waiting ~25 ms at the p99 of a 300k ingest).
/// </summary>
public sealed class IndexerYieldsToWritersTests
{
    private const int Dimension = 8;

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    [Fact]
    public void Indexer_with_records_to_link_does_not_ask_for_the_read_lock_while_a_write_batch_waits_to_publish()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var collection = fx.CreateCollection("yield");
        var first = Vectors(200, 1);
        collection.Add(Enumerable.Range(0, first.Length).Select(i => "a" + i).ToArray(), first);
        collection.WaitForIndex();

        // Records to link, the worker held before its first chunk until a batch waits to publish.
        var state = collection.Engine.State;
        using var gate = new ManualResetEventSlim();
        collection.Indexer!.ChunkStarting = token => WaitHandle.WaitAny([gate.WaitHandle, token.WaitHandle]);
        var pending = Vectors(5_000, 2);
        collection.Add(Enumerable.Range(0, pending.Length).Select(i => "b" + i).ToArray(), pending);

        // A reader (as a long query would) holds the lock, so the next batch waits to publish for as long as this test likes.
        state.Lock.EnterReadLock();
        Task writing;
        var samples = 0;
        var asked = 0;
        try
        {
            writing = Task.Run(() => collection.Add(["c0"], [Vectors(1, 3)[0]]));
            SpinWait.SpinUntil(() => state.WriterWaitingToPublish, TimeSpan.FromSeconds(30)).Should().BeTrue("the batch reaches its publish");
            gate.Set();
            var until = DateTime.UtcNow.AddMilliseconds(300);
            while (DateTime.UtcNow < until)
            {
                samples++;
                asked += state.Lock.WaitingReadCount;
                Thread.Yield();
            }

            collection.Indexer.PendingCount.Should().Be(pending.Length, "the worker had records to link all along, and linked none while the batch waited");
        }
        finally
        {
            state.Lock.ExitReadLock();
        }

        asked.Should().Be(0, $"no thread asked for the read lock in {samples} looks while the batch waited (the worker waits for the batch instead)");
        SpinWait.SpinUntil(() => writing.IsCompleted, TimeSpan.FromSeconds(30)).Should().BeTrue("the batch publishes once the reader leaves");
        writing.IsCompletedSuccessfully.Should().BeTrue();
        collection.WaitForIndex();
        collection.Query([pending[4_321]], nResults: 1).Ids[0].Should().Equal(["b4321"]);
        collection.Count().Should().Be(first.Length + pending.Length + 1);
    }
}
