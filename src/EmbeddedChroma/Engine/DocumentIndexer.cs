using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Engine;

/// <summary>
/// Indexes the documents that write batches left pending (<see cref="PendingDocuments"/>) into the FTS5 document index, on a
/// background thread of the store, in write transactions of about <see cref="ChunkDocuments"/> documents. It runs when the
/// store's writes pause (no write call for <see cref="QuietPeriod"/>) and the HNSW indexes have linked what was written —
/// so a stream of batches, and the vector index behind it, is never slowed by it — or at
/// once when a <c>where_document</c> read of the collection asks for it (<see cref="Want"/>): a search of the documents
/// during an ingest brings the index up to date while the ingest goes on. Meanwhile reads stay exact: the pending records
/// are scanned. A failure (a full disk) leaves the documents pending, scanned, until the next write tries again.
/// </summary>
internal sealed class DocumentIndexer : IDisposable
{
    /// <summary>Documents per write transaction: about 80 ms of FTS5 work for 200-character documents, the longest a write call waits for it.</summary>
    public const int ChunkDocuments = 1_000;

    private readonly WriteSession _session;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private readonly HashSet<long> _pending = [];
    private readonly HashSet<long> _wanted = [];
    private readonly List<long> _opened;
    private bool _stopping;
    private bool _failed;

    private readonly bool _onRead;
    private readonly Func<bool> _vectorsPending;

    /// <param name="session">The store's write side.</param>
    /// <param name="logger">Where a failure to index is reported.</param>
    /// <param name="collections">The collections whose documents are indexed after the batch (checked for pending ones at start).</param>
    /// <param name="quietPeriod">How long writes must pause before indexing on its own (<see cref="Timeout.InfiniteTimeSpan"/>: never).</param>
    /// <param name="onRead">Whether a <c>where_document</c> read has the collection's pending documents indexed at once.</param>
    /// <param name="vectorsPending">
    /// True while a collection's HNSW index has records to link: indexing on its own waits for it (the vector index comes
    /// first on a machine with few cores; a <c>where_document</c> read does not wait).
    /// </param>
    public DocumentIndexer(WriteSession session, ILogger logger, IEnumerable<long> collections, TimeSpan quietPeriod, bool onRead = true, Func<bool>? vectorsPending = null)
    {
        _session = session;
        _onRead = onRead;
        _vectorsPending = vectorsPending ?? (() => false);
        _logger = logger;
        QuietPeriod = quietPeriod;
        _opened = [.. collections];
        _thread = new Thread(Loop) { IsBackground = true, Name = "EmbeddedChroma document indexer" };
        _thread.Start();
    }

    /// <summary>How long the store's writes must pause before the indexer takes the write lock on its own.</summary>
    public TimeSpan QuietPeriod { get; }

    /// <summary>A committed batch of the collection left documents pending.</summary>
    public void Written(long collectionId)
    {
        lock (_gate)
        {
            _failed = false;
            _pending.Add(collectionId);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>A <c>where_document</c> read of the collection: index its pending documents now, writes or not.</summary>
    public void Want(long collectionId)
    {
        lock (_gate)
        {
            if (_onRead && _pending.Contains(collectionId) && !_failed && _wanted.Add(collectionId))
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>
    /// Indexes every pending document of the collection in the caller's thread (a collection's BuildIndex), in
    /// chunks, so writes interleave. Throws what a write throws (store closed, disk full).
    /// </summary>
    public void CatchUp(long collectionId, CancellationToken cancellationToken)
    {
        var more = true;
        while (more)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IndexChunk(collectionId, out more);
        }

        lock (_gate)
        {
            _pending.Remove(collectionId);
            _wanted.Remove(collectionId);
        }
    }

    /// <summary>Stops the thread after the chunk under way (before the store takes its write lock to close).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void IndexChunk(long collectionId, out bool more)
    {
        var moreLeft = false;
        var indexed = _session.RunQuietly(() =>
            PendingDocuments.IndexChunk(_session.Db.Writer, _session.Db.CurrentTransaction!, collectionId, ChunkDocuments, out moreLeft));
        if (indexed > 0)
        {
            _session.Db.DocumentIndexMovedQuietly = true;
        }

        more = moreLeft;
    }

    private void Loop()
    {
        try
        {
            FindPendingAtOpen();
            while (Next() is { } collection)
            {
                bool more;
                try
                {
                    IndexChunk(collection, out more);
                }
                catch (ChromaStoreClosedException)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Left pending (scanned exactly); the next write tries again.
                    StoreLog.DocumentIndexingPaused(_logger, ex.GetType().Name, ex.Message);
                    lock (_gate)
                    {
                        _failed = true;
                    }

                    continue;
                }

                lock (_gate)
                {
                    if (!more)
                    {
                        _pending.Remove(collection);
                        _wanted.Remove(collection);
                    }
                }

                // Let a write call that waited for this chunk take the write lock before the next one.
                if (_session.Writing)
                {
                    Thread.Sleep(2);
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Never let the background thread take the process down: the documents stay pending and scanned.
            StoreLog.DocumentIndexingPaused(_logger, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>The collections opened with pending documents (a crash or close in the middle of an ingest).</summary>
    private void FindPendingAtOpen()
    {
        foreach (var collection in _opened)
        {
            bool pending;
            try
            {
                pending = _session.Read(() => PendingDocuments.Count(_session.Db.Writer, null, collection, limit: 1) > 0);
            }
            catch (ChromaException)
            {
                return;
            }

            if (pending)
            {
                Written(collection);
            }
        }
    }

    /// <summary>Waits for a collection to index (wanted now, or pending while writes pause); null once stopping.</summary>
    private long? Next()
    {
        lock (_gate)
        {
            while (true)
            {
                if (_stopping)
                {
                    return null;
                }

                if (!_failed && _wanted.Count > 0)
                {
                    return _wanted.First();
                }

                if (!_failed && _pending.Count > 0)
                {
                    if (QuietPeriod != Timeout.InfiniteTimeSpan && _session.WritesQuietFor(QuietPeriod) && !_vectorsPending())
                    {
                        return _pending.First();
                    }

                    Monitor.Wait(_gate, QuietPeriod);
                    continue;
                }

                Monitor.Wait(_gate);
            }
        }
    }
}
