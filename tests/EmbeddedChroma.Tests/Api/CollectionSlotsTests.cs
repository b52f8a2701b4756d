using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// <see cref="Collection.GetSlots"/>: live records against the vector slots allocated, so a tool (the command line's
/// <c>stats</c>) can show the dead slots deleted records left and what a compaction would remove.
/// </summary>
public sealed class CollectionSlotsTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private static float[][] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 4).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    [Fact]
    public void GetSlots_counts_the_slots_deleted_records_left_until_a_compaction_removes_them_and_after_a_reopen()
    {
        var c = _fx.Client.CreateCollection("slots");
        c.GetSlots().Should().Be(new CollectionSlots(0, 0));

        c.Add(Enumerable.Range(0, 10).Select(i => "r" + i).ToArray(), Vectors(10, 1));
        c.GetSlots().Should().Be(new CollectionSlots(10, 10));

        c.Delete(ids: ["r1", "r4", "r7"]);
        var afterDelete = c.GetSlots();
        afterDelete.Should().Be(new CollectionSlots(7, 10));
        afterDelete.Dead.Should().Be(3);

        _fx.Reopen();
        c = _fx.Client.GetCollection("slots");
        c.GetSlots().Should().Be(new CollectionSlots(7, 10), "the dead slots are still in the vector file after a reopen");

        var compacted = c.Compact();
        compacted.SlotsBefore.Should().Be(10);
        c.GetSlots().Should().Be(new CollectionSlots(7, 7));
        c.GetSlots().Dead.Should().Be(0);
    }

    [Fact]
    public void GetSlots_throws_not_found_when_the_collection_was_deleted()
    {
        var c = _fx.Client.CreateCollection("gone");
        _fx.Client.DeleteCollection("gone");

        var act = () => c.GetSlots();

        act.Should().Throw<ChromaNotFoundException>();
    }
}
