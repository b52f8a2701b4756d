namespace EmbeddedChroma;

public sealed partial class ChromaStore
{
    /// <summary>
    /// A snapshot of the store's state for health checks and dashboards: open or closed, read-only, the folder lock,
    /// and how far the background HNSW indexers are behind. Needs no key and names no collection (counts only).
    /// </summary>
    /// <remarks>Never throws; cheap (no I/O). Safe to call from any thread, also after <see cref="Dispose"/>.</remarks>
    public ChromaStoreStatus GetStatus()
    {
        if (_session.IsClosed)
        {
            return new ChromaStoreStatus(IsOpen: false, IsReadOnly: Options.ReadOnly, HoldsFolderLock: false, LoadedCollections: 0, CollectionsIndexing: 0, PendingIndexRows: 0, IndexFailures: 0);
        }

        int loaded = 0, indexing = 0, failures = 0;
        long pending = 0;
        foreach (var collection in Catalog.All)
        {
            loaded++;
            if (collection.State.Indexer is { } indexer)
            {
                var waiting = indexer.PendingCount;
                pending += waiting;
                indexing += waiting > 0 ? 1 : 0;
                failures += indexer.LastError is null ? 0 : 1;
            }
        }

        // An open store holds its folder's lock file for its whole life (StoreFolder), read-only or not.
        return new ChromaStoreStatus(IsOpen: true, IsReadOnly: Options.ReadOnly, HoldsFolderLock: true, loaded, indexing, pending, failures);
    }
}

/// <summary>The state of a <see cref="ChromaStore"/> (see <see cref="ChromaStore.GetStatus"/>).</summary>
/// <param name="IsOpen">False once the store was disposed.</param>
/// <param name="IsReadOnly">Opened with <see cref="ChromaStoreOptions.ReadOnly"/>.</param>
/// <param name="HoldsFolderLock">This process holds the folder's lock (true while open).</param>
/// <param name="LoadedCollections">Collections of the store (all tenants and databases).</param>
/// <param name="CollectionsIndexing">Collections whose background indexer has rows not yet linked into the HNSW graph (queries scan those exactly meanwhile).</param>
/// <param name="PendingIndexRows">Rows waiting for the background indexers, over all collections.</param>
/// <param name="IndexFailures">Collections whose background indexer last failed (queries stay correct, by exact scan of the pending rows).</param>
public sealed record ChromaStoreStatus(
    bool IsOpen,
    bool IsReadOnly,
    bool HoldsFolderLock,
    int LoadedCollections,
    int CollectionsIndexing,
    long PendingIndexRows,
    int IndexFailures);
