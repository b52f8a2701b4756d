namespace EmbeddedChroma;

/// <summary>What one <see cref="Collection.Compact()"/> did.</summary>
/// <param name="Records">Live records of the collection (unchanged by compaction).</param>
/// <param name="SlotsBefore">Vector slots the collection had allocated before (live and freed).</param>
/// <param name="SlotsAfter">Slots allocated after: equal to <paramref name="Records"/>, every slot live.</param>
/// <param name="RecordsMoved">Records that moved to a lower slot.</param>
/// <param name="BytesBefore">Total size of the store folder's files before, in bytes.</param>
/// <param name="BytesAfter">Total size after, in bytes. The collection's HNSW graph file is removed by compaction
/// and written again, smaller, when the store closes.</param>
/// <param name="Duration">Wall-clock time the compaction took.</param>
public sealed record CompactionResult(int Records, int SlotsBefore, int SlotsAfter, int RecordsMoved, long BytesBefore, long BytesAfter, TimeSpan Duration)
{
    /// <summary>Bytes handed back to the file system: <c>BytesBefore − BytesAfter</c>, or 0 when the store did not shrink.</summary>
    public long BytesReclaimed => Math.Max(0, BytesBefore - BytesAfter);
}
