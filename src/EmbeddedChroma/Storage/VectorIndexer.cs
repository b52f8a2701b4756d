using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Keeps a collection's HNSW graph in step with its records, in the background, so that writes cost
/// SQLite and the arena only. Queries stay exact-correct while the graph lags: they search the graph and
/// scan the <i>pending</i> slots (written but not yet linked) exactly, and merge.
/// <code>
///  write (holds collection write lock) ──► OnWritten: pending += upserted, removed += deleted ──► start worker
///  worker (holds collection read lock, per chunk): MarkDeleted(removed) ; Insert/Update(pending) ; clear them
///  query  (holds collection read lock): graph.Search(live ∧ allowed) ∪ ExactScan(pending ∩ live ∩ allowed)
/// </code>
/// Below <see cref="ChromaStoreOptions.HnswThreshold"/> live records there is no graph: exact scan is faster
/// and exact. The graph is saved on close stamped with the last sequence number it fully covers; reopening
/// loads it and replays only later writes (records with a newer sequence number, and deletions).
/// </summary>
/// <remarks>
/// Locks: the collection lock (read for worker and queries, write for writers and <see cref="Dispose"/>/<see cref="Persist"/>),
/// then <c>_pendingLock</c> briefly. The worker never waits for the worker; <see cref="StopWorker"/> is called without
/// holding the collection lock.
/// </remarks>
internal sealed class VectorIndexer : IDisposable
{
    // Size: About 450 lines: the background HNSW maintainer (worker, pending set, replay after a load, checkpoints),
    // whose parts share one lock discipline with the collection's read lock; split, that protocol would be spread over
    // several types.

    // Small chunks: a writer waits for at most one chunk of links (tens of milliseconds at 384-d) before it runs.
    private const int ChunkSize = 64;

    private readonly CollectionState _state;
    private readonly string _path;
    private readonly int _threshold;
    private readonly Lock _pendingLock = new();
    private readonly HashSet<int> _pending = [];
    private readonly HashSet<int> _removed = [];
    private HnswIndex? _graph;
    private long _cleanSeq;
    private long _cleanChain;
    private readonly Func<long, byte[]> _owner;
    private Task? _worker;
    private volatile bool _stopping;

    private readonly Microsoft.Extensions.Logging.ILogger _logger;

    // owner: the owner stamp of this collection's graph covering the write with the given chain value (StoreIdentity).
    public VectorIndexer(CollectionState state, string path, int threshold, Func<long, byte[]> owner, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        _state = state;
        _owner = owner;
        _path = path;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        // Inner-product collections get a graph like the others: its links are chosen in a Möbius-transformed
        // space (HnswGraph remarks) and queries are ranked by Chroma's ip distance.
        _threshold = threshold;
    }

    /// <summary>The graph, when the collection has one (read under the collection lock).</summary>
    public HnswIndex? Graph => _graph;

    /// <summary>True when the graph was loaded from its file rather than built.</summary>
    public bool LoadedFromFile { get; private set; }

    /// <summary>The last error of the background worker; the graph is dropped then (queries fall back to exact scan).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Reads the saved graph file over <paramref name="arena"/> if its stamp fits the collection (see
    /// <see cref="Attach"/>), without binding to it: lets the load overlap the arena's checksum. Null when there is no
    /// usable file (then <see cref="Attach"/> says why). Caller holds lock(state), with the slots loaded.
    /// </summary>
    public (long Stamp, long Chain, HnswIndex Graph)? Preload(VectorArena arena, SqliteConnection connection)
    {
        var saved = File.Exists(_path) ? HnswIndex.ReadStamp(_path) : null;
        if (_threshold == int.MaxValue || saved is not { } stamp || stamp > _state.LastSeq || stamp < _state.CompactedSeq)
        {
            return null;
        }

        // The chain value of the graph's write, looked up in this database: a graph of another collection, or from a
        // copy of the store whose history diverged, carries another owner stamp and is not loaded.
        var chain = stamp == _state.LastSeq ? _state.LastChain : StoreIdentity.ChainAt(connection, stamp);
        return HnswIndex.TryLoad(_path, arena, _state.Configuration.Space, Parameters(), stamp, _owner(chain)) is { } graph
            ? (stamp, chain, graph)
            : null;
    }

    /// <summary>
    /// Binds to a (new) arena: loads the saved graph (or takes <paramref name="preloaded"/>, read by <see cref="Preload"/>
    /// over this arena) and replays later writes, or builds when large enough. Caller holds lock(state).
    /// </summary>
    public void Attach(VectorArena arena, SqliteConnection connection, (long Stamp, long Chain, HnswIndex Graph)? preloaded = null)
    {
        StopWorker();
        _stopping = false;
        _graph = null;
        LoadedFromFile = false;
        _changesSinceSave = 0;
        lock (_pendingLock)
        {
            _pending.Clear();
            _removed.Clear();
        }

        // A graph saved before the last compaction numbers its nodes by the old slots: never load it (Preload checks).
        if ((preloaded ?? Preload(arena, connection)) is var (stamp, chain, graph))
        {
            _graph = graph;
            _cleanSeq = stamp;
            _cleanChain = chain;
            LoadedFromFile = true;
            Replay(connection, stamp);
        }
        else
        {
            var saved = File.Exists(_path) ? HnswIndex.ReadStamp(_path) : null;
            if (File.Exists(_path) && _threshold != int.MaxValue)
            {
                var reason = saved is not { } found ? "its header is damaged, the file is truncated or of an older format"
                    : found > _state.LastSeq ? $"it is newer than the database (stamped at write {found}, the collection's last write is {_state.LastSeq})"
                    : found < _state.CompactedSeq ? "it was saved before the collection's last compaction"
                    : "it is damaged, was built with other parameters, or belongs to another collection or another copy of the store";
                Internal.StoreLog.GraphRebuilt(_logger, _state.Name, _path, reason);
            }
            else if (_state.Count >= _threshold)
            {
                Internal.StoreLog.GraphMissing(_logger, _state.Name, _path);
            }

            if (_state.Count >= _threshold)
            {
                CreateGraph(arena);
            }
        }

        StartWorkerIfNeeded();
    }

    private HnswParameters Parameters() => new(
        M: _state.Configuration.MaxNeighbors,
        EfConstruction: _state.Configuration.EfConstruction,
        Ef: _state.Configuration.EfSearch,
        InitialCapacity: Math.Max(VectorArena.MinCapacity, _state.NextSlot));

    /// <summary>Writes after the graph's stamp: newer records are re-linked, vanished slots marked deleted.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // once per open, over every slot
    private void Replay(SqliteConnection connection, long stamp)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot FROM records WHERE collection_id = $c AND seq > $s";
        command.Parameters.AddWithValue("$c", _state.Id);
        command.Parameters.AddWithValue("$s", stamp);
        using var reader = command.ExecuteReader();
        lock (_pendingLock)
        {
            while (reader.Read())
            {
                _pending.Add(reader.GetInt32(0));
            }

            for (var slot = 0; slot < _state.Arena!.SlotCount; slot++)
            {
                if (_graph!.Contains(slot) && !_graph.IsDeleted(slot) && !IsLive(slot))
                {
                    _removed.Add(slot);
                }
            }

            if (_pending.Count > 0 || _removed.Count > 0)
            {
                Internal.StoreLog.GraphReplayed(_logger, _state.Name, _path, stamp, _pending.Count, _removed.Count);
            }
        }
    }

    private void CreateGraph(VectorArena arena)
    {
        _graph = HnswIndex.Create(arena, _state.Configuration.Space, Parameters());
        _cleanSeq = 0;
        _cleanChain = 0;
        lock (_pendingLock)
        {
            for (var slot = 0; slot < _state.NextSlot; slot++)
            {
                if (IsLive(slot))
                {
                    _pending.Add(slot);
                }
            }
        }
    }

    private bool IsLive(int slot) => _state.IsLive(slot);

    /// <summary>After a committed write. Caller holds the collection write lock.</summary>
    public void OnWritten(IReadOnlyList<int> upserted, IReadOnlyList<int> removed)
    {
        if (_graph is null)
        {
            if (_state.Count < _threshold || _state.Arena is null)
            {
                return;
            }

            CreateGraph(_state.Arena);
        }
        else
        {
            lock (_pendingLock)
            {
                foreach (var slot in removed)
                {
                    _pending.Remove(slot);
                    _removed.Add(slot);
                }

                foreach (var slot in upserted)
                {
                    _removed.Remove(slot);
                    _pending.Add(slot);
                }
            }
        }

        StartWorkerIfNeeded();
    }

    /// <summary>How many slots are written but not yet linked (0 while there is no graph). Caller holds the collection read lock.</summary>
    public int PendingCount
    {
        get
        {
            lock (_pendingLock)
            {
                return _graph is null ? 0 : _pending.Count;
            }
        }
    }

    /// <summary>Pending slots (written, not yet linked), for the exact part of a query. Caller holds the collection read lock.</summary>
    public int[] PendingSnapshot()
    {
        lock (_pendingLock)
        {
            return _pending.Count == 0 ? [] : [.. _pending];
        }
    }

    private void StartWorkerIfNeeded()
    {
        lock (_pendingLock)
        {
            if (_graph is null || _stopping || (_pending.Count == 0 && _removed.Count == 0) || _worker is { IsCompleted: false })
            {
                return;
            }

            _worker = Task.Run(Work);
        }
    }

    private void Work()
    {
        while (!_stopping)
        {
            // Never block on the lock: a stop request must get through even while a writer waits.
            if (!_state.Lock.TryEnterReadLock(50))
            {
                continue;
            }

            try
            {
                var graph = _graph;
                if (graph is null || _state.Deleted)
                {
                    return;
                }

                int[] removed = [];
                int[] pending = [];
                var caughtUp = false;
                lock (_pendingLock)
                {
                    if (_pending.Count == 0 && _removed.Count == 0)
                    {
                        _cleanSeq = _state.LastSeq;
                        _cleanChain = _state.LastChain;
                        caughtUp = true;
                    }
                    else
                    {
                        removed = _removed.Take(ChunkSize).ToArray();
                        pending = _pending.Take(ChunkSize).ToArray();
                    }
                }

                if (caughtUp)
                {
                    Checkpoint(graph);
                    return;
                }

                foreach (var slot in removed)
                {
                    graph.MarkDeleted(slot);
                }

                // Writers are held off by our read lock, so nothing is re-dirtied while we link; the slots
                // leave the pending set only once linked, so a concurrent query always finds them one way or the other.
                Parallel.ForEach(pending, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, slot =>
                {
                    if (!IsLive(slot))
                    {
                        return;
                    }

                    if (graph.Contains(slot) && !graph.IsDeleted(slot))
                    {
                        graph.Update(slot);
                    }
                    else
                    {
                        graph.Insert(slot);
                    }
                });

                lock (_pendingLock)
                {
                    _removed.ExceptWith(removed);
                    _pending.ExceptWith(pending);
                }

                _changesSinceSave += removed.Length + pending.Length;
            }
            catch (Exception ex)
            {
                // Whatever failed, the graph is derived data: drop it and answer exactly from now on (recorded in
                // LastError, never silent for tests); the next open rebuilds it from the source of truth.
                // Not disposed: queries holding the read lock may still be walking it.
                LastError = ex;
                _graph = null;
                Internal.StoreLog.BackgroundFailed(_logger, ex, _state.Name, "HNSW graph maintenance");
                return;
            }
            finally
            {
                _state.Lock.ExitReadLock();
            }
        }
    }

    /// <summary>
    /// Drops the graph (queries scan exactly until the next <see cref="Attach"/>): its slots are about to be renumbered
    /// or its arena is gone. Call without holding the collection lock (stops the worker first).
    /// </summary>
    public void Detach()
    {
        StopWorker();
        lock (_pendingLock)
        {
            _pending.Clear();
            _removed.Clear();
        }

        // Not disposed: a query holding the read lock may still be walking it.
        _graph = null;
        LoadedFromFile = false;
    }

    /// <summary>Waits until every pending write is linked (tests and benchmarks).</summary>
    public void WaitUntilIdle()
    {
        while (true)
        {
            Task? worker;
            lock (_pendingLock)
            {
                worker = _worker;
                if ((worker is null || worker.IsCompleted) && (_graph is null || _stopping || (_pending.Count == 0 && _removed.Count == 0)))
                {
                    return;
                }
            }

            worker?.Wait();
            StartWorkerIfNeeded();
        }
    }

    /// <summary>Stops the worker. Call without holding the collection lock (the worker needs its read side).</summary>
    public void StopWorker()
    {
        _stopping = true;
        Task? worker;
        lock (_pendingLock)
        {
            worker = _worker;
        }

        try
        {
            worker?.Wait();
        }
        catch (AggregateException)
        {
            // Recorded in LastError by the worker itself.
        }
    }

    /// <summary>Saves the graph stamped with the last sequence number it fully covers. Caller holds the collection write lock, worker stopped.</summary>
    /// <summary>
    /// Saves the graph while the worker is caught up (writers held off by its read lock, so the file covers exactly
    /// <see cref="CollectionState.LastSeq"/>) once enough has changed since the last save: at least
    /// <see cref="CheckpointMinimum"/> links and a quarter of the graph. A process killed later then replays at most
    /// that much on the next open instead of rebuilding the whole graph; the amortized cost stays a small constant per
    /// link. A failed save is logged and left to the next checkpoint or close.
    /// </summary>
    private void Checkpoint(HnswIndex graph)
    {
        if (_changesSinceSave < Math.Max(CheckpointMinimum, graph.Count / 4))
        {
            return;
        }

        try
        {
            graph.Save(_path, _cleanSeq, _owner(_cleanChain));
            _changesSinceSave = 0;
            Checkpoints++;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Internal.StoreLog.BackgroundFailed(_logger, ex, _state.Name, "HNSW graph checkpoint");
        }
    }

    /// <summary>Fewest graph changes (links and deletions) between two background saves of the graph.</summary>
    internal const int CheckpointMinimum = 5_000;

    /// <summary>Background saves of the graph since this indexer was created (tests).</summary>
    internal int Checkpoints { get; private set; }

    private int _changesSinceSave;

    public void Persist()
    {
        if (_graph is null)
        {
            return;
        }

        bool caughtUp;
        lock (_pendingLock)
        {
            caughtUp = _pending.Count == 0 && _removed.Count == 0;
        }

        _graph.Save(_path, caughtUp ? _state.LastSeq : _cleanSeq, caughtUp ? _owner(_state.LastChain) : _owner(_cleanChain));
        _changesSinceSave = 0;
    }

    public void Dispose()
    {
        StopWorker();
        _graph?.Dispose();
        _graph = null;
    }
}
