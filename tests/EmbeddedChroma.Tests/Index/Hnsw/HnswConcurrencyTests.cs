using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

public class HnswConcurrencyTests
{
    [Fact]
    public void Insert_from_two_threads_with_concurrent_queries_keeps_recall()
    {
        const int Rows = 3000;
        var rows = ClusteredRows.Create(seed: 51, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 16, EfConstruction: 100, InitialCapacity: 64));
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] queries = rows.Queries(52, 100, DistanceSpace.L2);
        using var writersDone = new CancellationTokenSource();
        int queriesRun = 0;

        // Interleaved slots so both writers touch the same regions; the tiny initial capacity forces growth
        // while queries are walking.
        int writersLeft = 2;
        Action Writer(int first) => () =>
        {
            try
            {
                for (int slot = first; slot < Rows; slot += 2)
                {
                    index.Insert(slot);
                }
            }
            finally
            {
                // Also on failure, or the reader would spin forever.
                if (Interlocked.Decrement(ref writersLeft) == 0)
                {
                    writersDone.Cancel();
                }
            }
        };

        RunThreads(Writer(0), Writer(1), () => queriesRun = QueryUntil(index, queries, all, writersDone.Token));

        index.Count.Should().Be(Rows);
        queriesRun.Should().BeGreaterThan(0);
        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, 64, all).Should().BeGreaterThanOrEqualTo(0.95);
        AssertLinksAreWellFormed(index, Rows);
    }

    [Fact]
    public void Reserve_while_an_insert_thread_and_queries_run_keeps_every_link_and_recall()
    {
        const int Rows = 3000;
        var rows = ClusteredRows.Create(seed: 57, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 16, EfConstruction: 100, InitialCapacity: 16));
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] queries = rows.Queries(58, 100, DistanceSpace.L2);
        using var insertsDone = new CancellationTokenSource();
        int queriesRun = 0;
        int inserted = 0;
        long memoryBefore = index.MemoryBytes;

        // The inserter never grows the graph itself once the reserving thread has run ahead of it: the growth copies
        // while links are being written next door and queries walk.
        RunThreads(
            () =>
            {
                try
                {
                    for (int slot = 0; slot < Rows; slot++)
                    {
                        index.Insert(slot);
                        Volatile.Write(ref inserted, slot + 1);
                    }
                }
                finally
                {
                    insertsDone.Cancel();
                }
            },
            () =>
            {
                while (!insertsDone.IsCancellationRequested)
                {
                    index.Reserve(Math.Min(Rows, Volatile.Read(ref inserted) + 40));
                }
            },
            () => queriesRun = QueryUntil(index, queries, all, insertsDone.Token));

        index.Count.Should().Be(Rows);
        index.MemoryBytes.Should().BeGreaterThan(memoryBefore);
        queriesRun.Should().BeGreaterThan(0);
        index.Reserve(10);
        index.Reserve(Rows);
        HnswTestHelpers.Recall(index, rows, DistanceSpace.L2, queries, 10, 64, all).Should().BeGreaterThanOrEqualTo(0.95);
        index.VerifyStructure().Should().BeNull();
        AssertLinksAreWellFormed(index, Rows);
    }

    [Fact]
    public void Reserve_keeps_a_change_made_after_it_copied_the_arrays_ahead_of_its_lock()
    {
        // With no change under way, a growth copies the arrays before its lock (searches go on meanwhile) and only swaps
        // them under it; a change that begins after that copy must not be lost with the old arrays.
        const int Rows = 600;
        var rows = ClusteredRows.Create(seed: 61, 32, Rows, DistanceSpace.L2);
        using HnswIndex index = HnswIndex.Create(rows, DistanceSpace.L2, new HnswParameters(M: 16, EfConstruction: 100, InitialCapacity: 1024));
        for (int slot = 0; slot < Rows - 2; slot++)
        {
            index.Insert(slot);
        }

        int copies = 0;
        index.CopiedAhead = () =>
        {
            if (Interlocked.Increment(ref copies) == 1)
            {
                index.Insert(Rows - 2); // links written into the old arrays, after the copy
                index.MarkDeleted(3);
            }
        };
        index.Reserve(index.Capacity + 1);
        index.CopiedAhead = null;
        index.Insert(Rows - 1);

        copies.Should().Be(1, "the arrays were copied ahead once, with nothing under way");
        index.Count.Should().Be(Rows, "the insert made after the copy and the one after the growth are both there");
        index.Contains(Rows - 2).Should().BeTrue();
        index.IsDeleted(3).Should().BeTrue("the deletion made after the copy holds");
        ulong[] allowed = HnswTestHelpers.AllSlots(Rows);
        var found = new Neighbor[1];
        foreach (int slot in new[] { Rows - 2, Rows - 1, 0, 17 })
        {
            index.Search(rows.GetRow(slot), 1, 64, SlotFilter.FromBitmap(allowed), found).Should().Be(1);
            found[0].Slot.Should().Be(slot, $"slot {slot} is found by its own vector after the growth");
        }

        index.VerifyStructure().Should().BeNull();
        AssertLinksAreWellFormed(index, Rows);
    }

    [Fact]
    public void Delete_and_reuse_from_two_threads_with_concurrent_queries_never_return_deleted_slots()
    {
        const int Rows = 2000;
        var rows = ClusteredRows.Create(seed: 53, 32, Rows, DistanceSpace.Cosine);
        using HnswIndex index = HnswTestHelpers.Build(rows, DistanceSpace.Cosine, m: 8);
        ulong[] all = HnswTestHelpers.AllSlots(Rows);
        float[][] queries = rows.Queries(54, 50, DistanceSpace.Cosine);

        // Thread 0 deletes slots ≡ 1 (mod 4) for good; thread 1 deletes and reuses slots ≡ 3 (mod 4) with new vectors.
        float[][] replacements = rows.Queries(55, Rows / 4, DistanceSpace.Cosine);
        RunThreads(
            () =>
        {
            for (int slot = 1; slot < Rows; slot += 4)
            {
                index.MarkDeleted(slot);
            }
        },
            () =>
        {
            for (int slot = 3; slot < Rows; slot += 4)
            {
                index.MarkDeleted(slot);
                rows.SetRow(slot, replacements[slot / 4]);
                index.Insert(slot);
            }
        });

        var destination = new Neighbor[10];
        foreach (float[] query in queries)
        {
            int n = index.Search(query, 10, 64, SlotFilter.FromBitmap(all), destination);
            destination[..n].Should().OnlyContain(x => x.Slot % 4 != 1);
        }

        index.DeletedCount.Should().Be(Rows / 4);
        ulong[] live = HnswTestHelpers.Bitmap(Rows, Enumerable.Range(0, Rows).Where(s => s % 4 != 1));
        HnswTestHelpers.Recall(index, rows, DistanceSpace.Cosine, queries, 10, 64, live).Should().BeGreaterThanOrEqualTo(0.95);
        AssertLinksAreWellFormed(index, Rows);
    }

    /// <summary>Runs each action on its own thread, waits for all, and rethrows the first failure.</summary>
    /// <summary>Runs the queries round-robin (k = 10, ef 32) until <paramref name="done"/>, each answer free of duplicates; returns how many ran.</summary>
    private static int QueryUntil(HnswIndex index, float[][] queries, ulong[] all, CancellationToken done)
    {
        var destination = new Neighbor[10];
        int run = 0;
        while (!done.IsCancellationRequested)
        {
            int n = index.Search(queries[run % queries.Length], 10, 32, SlotFilter.FromBitmap(all), destination);
            destination[..n].Select(x => x.Slot).Should().OnlyHaveUniqueItems();
            run++;
        }

        return run;
    }

    private static void RunThreads(params Action[] actions)
    {
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = actions.Select(action => new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures.Enqueue(e);
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        failures.Should().BeEmpty();
    }

    private static void AssertLinksAreWellFormed(HnswIndex index, int rows)
    {
        var links = new int[2 * index.Parameters.M];
        for (int slot = 0; slot < rows; slot++)
        {
            int n = index.GetLinks(slot, 0, links);
            n.Should().BeLessThanOrEqualTo(index.Parameters.MaxM0);
            links[..n].Should().OnlyHaveUniqueItems().And.NotContain(slot).And.OnlyContain(l => l >= 0 && l < rows && index.Contains(l));
        }
    }
}
