namespace EmbeddedChroma;

/// <summary>
/// How far a collection's vector index has caught up with its writes (Chroma's <c>indexing_status</c>:
/// <c>num_indexed_ops</c>, <c>num_unindexed_ops</c>, <c>total_ops</c>, <c>op_indexing_progress</c>), counted in
/// live records rather than Chroma's log operations.
/// </summary>
/// <remarks>
/// Unindexed records are still found by every query (they are scanned exactly until the graph links them); the
/// status says how much of the collection is searched through the graph. A collection below the store's HNSW
/// threshold has no graph by design (an exact scan is faster there) and reports every record as indexed.
/// </remarks>
/// <param name="IndexedRecords">Live records the index covers.</param>
/// <param name="UnindexedRecords">Live records written but not yet linked into the graph.</param>
/// <param name="TotalRecords">Live records (the collection's count).</param>
public sealed record IndexingStatus(long IndexedRecords, long UnindexedRecords, long TotalRecords)
{
    /// <summary>
    /// Documents written but not yet in the full-text index that answers <c>where_document</c> (embedded store only; 0
    /// elsewhere). The store indexes documents in the background when writes pause, or at once when a
    /// <c>where_document</c> read asks; until then such a read scans them exactly, so results never miss them.
    /// </summary>
    public long UnindexedDocuments { get; init; }

    /// <summary>The indexed share, 0 to 1 (1 for an empty collection), Chroma's <c>op_indexing_progress</c>.</summary>
    public double Progress => TotalRecords == 0 ? 1.0 : (double)IndexedRecords / TotalRecords;
}
