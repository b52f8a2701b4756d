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
///  worker, caught up (holds collection read lock): RepairReachability, when enough links changed since the last one
///  worker, caught up (no collection lock): checkpoint = save the graph stamped with the last write it covers
///  query  (holds collection read lock): graph.Search(live ∧ allowed) ∪ ExactScan(pending ∩ live ∩ allowed)
/// </code>
/// Below <see cref="ChromaStoreOptions.HnswThreshold"/> live records there is no graph: exact scan is faster
/// and exact. The graph is saved on close stamped with the last sequence number it fully covers; reopening
/// loads it and replays only later writes (records with a newer sequence number, and deletions).
/// </summary>
/// <remarks>
/// Locks: the collection lock (read for worker and queries; upgradeable for a write batch's SQL, which the worker's
/// chunks overlap, then write for its commit and publish; write for <see cref="Dispose"/>/<see cref="Persist"/>),
/// then <c>_pendingLock</c> briefly. The worker never waits for the worker; <see cref="StopWorker"/> is called without
/// holding the collection lock (or with it held, by <see cref="Attach"/>: the worker then is either outside the lock or
/// polls for it and sees the stop). <c>_saveLock</c> serializes the two savers of the graph file: the worker's checkpoint,
/// which holds no collection lock, and <see cref="Persist"/>, under the write lock; neither takes another lock inside it.
/// </remarks>
internal sealed class VectorIndexer : IDisposable
{
    // Size: About 450 lines: the background HNSW maintainer (worker, pending set, replay after a load, checkpoints),
    // whose parts share one lock discipline with the collection's read lock; split, that protocol would be spread over
    // several types.

    // Small chunks: each is linked under the collection's read lock. A write batch runs its SQL beside a chunk (it holds
    // the lock upgradeable) and then waits for the lock exclusively only for its commit and publish; a chunk ends early,
    // after the links under way, when a writer waits so (CollectionState.WriterWaitingToPublish), and the worker asks for
    // the lock again only once the writer holds it (CollectionState.WaitWhileWriterWaits), so the writer waits for one
    // link, not a chunk, while linking still gets all the time the writers spend in SQLite.
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
    private CancellationTokenSource _stopSource = new();

    /// <summary>A worker runs or is about to (under <c>_pendingLock</c>); see <see cref="Work"/>.</summary>
    private bool _workerActive;

    /// <summary>
    /// Links changed (or a graph was loaded) since the last reachability repair (under <c>_pendingLock</c>): the worker runs
    /// <see cref="HnswIndex.RepairReachability"/> once caught up, when <see cref="RepairWanted"/>.
    /// </summary>
    private bool _reachDue;

    /// <summary>Links made since the last completed repair (under <c>_pendingLock</c>); see <see cref="RepairWanted"/>.</summary>
    private long _linksSinceRepair;

    /// <summary>A caller waits for the index (<see cref="WaitUntilIdle"/>): repair now, whatever the count (under <c>_pendingLock</c>).</summary>
    private bool _repairRequested;

    /// <summary>Fewest links between two repairs the worker starts on its own (see <see cref="RepairWanted"/>).</summary>
    internal const int RepairMinimumLinks = 1_024;

    private bool _disposed;

    /// <summary>Serializes graph saves (a background checkpoint runs outside the collection lock, <see cref="Persist"/> under it).</summary>
    private readonly Lock _saveLock = new();

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
        return TryLoad(arena, stamp, chain) is { } graph
            ? (stamp, chain, graph)
            : null;
    }

    /// <summary>
    /// The saved graph over the rows of the collection's <c>vector_storage</c> (the file records the element type it was
    /// built over, so a graph of another storage is never loaded), or null.
    /// </summary>
    private HnswIndex? TryLoad(VectorArena arena, long stamp, long chain) => _state.Configuration.VectorStorage switch
    {
        VectorStorage.Float16 => HnswIndex.TryLoad(_path, arena.EnsureCompact(), _state.Configuration.Space, Parameters(), stamp, _owner(chain)),
        VectorStorage.Int8 => HnswIndex.TryLoad(_path, arena.EnsureCodes(), _state.Configuration.Space, Parameters(), stamp, _owner(chain)),
        _ => HnswIndex.TryLoad(_path, arena, _state.Configuration.Space, Parameters(), stamp, _owner(chain)),
    };

    /// <summary>
    /// First step of a <c>vector_storage</c> change, before its catalog change commits: stops the worker and deletes the
    /// saved graph file, so no graph of the old storage is on disk once the new one is recorded (a crash in between
    /// reopens with the old storage and rebuilds). Queries go on with the current graph meanwhile; writes wait in the
    /// pending set. Call without holding the collection lock; <see cref="Rebuild"/> follows, whether the change committed
    /// or not.
    /// </summary>
    public void ForgetSavedGraph()
    {
        StopWorker();
        lock (_saveLock)
        {
            File.Delete(_path);
            _savedSeq = -1;
        }
    }

    /// <summary>
    /// Drops the graph and builds a new one over <paramref name="arena"/> for the collection's (new) configuration: every
    /// live record becomes pending, so queries scan exactly what is not linked yet, and the worker links them in the
    /// background (<see cref="PendingCount"/> reports them). Caller holds the collection write lock (no query walks the old
    /// graph), after <see cref="ForgetSavedGraph"/>.
    /// </summary>
    public void Rebuild(VectorArena arena, SqliteConnection connection)
    {
        StopWorker();
        var old = _graph;
        _graph = null;
        old?.Dispose();
        Attach(arena, connection);
    }

    /// <summary>
    /// Binds to a (new) arena: loads the saved graph (or takes <paramref name="preloaded"/>, read by <see cref="Preload"/>
    /// over this arena) and replays later writes, or builds when large enough. Caller holds lock(state).
    /// </summary>
    public void Attach(VectorArena arena, SqliteConnection connection, (long Stamp, long Chain, HnswIndex Graph)? preloaded = null)
    {
        StopWorker();
        _stopping = false;
        if (_stopSource.IsCancellationRequested)
        {
            _stopSource.Dispose();
            _stopSource = new CancellationTokenSource();
        }

        _graph = null;
        LoadedFromFile = false;
        _rowsSeen = arena.SlotCount;
        _changesSinceSave = 0;
        _savedSeq = -1;
        lock (_pendingLock)
        {
            _pending.Clear();
            _removed.Clear();
            _reachDue = false;
            _linksSinceRepair = 0;
            _repairRequested = false;
        }

        // A graph saved before the last compaction numbers its nodes by the old slots: never load it (Preload checks).
        if ((preloaded ?? Preload(arena, connection)) is var (stamp, chain, graph))
        {
            _graph = graph;
            _cleanSeq = stamp;
            _cleanChain = chain;

            // A file of an earlier format version is rewritten in the current one at the next checkpoint or close.
            _savedSeq = graph.LoadedFromOlderFormat ? -1 : stamp;
            LoadedFromFile = true;
            lock (_pendingLock)
            {
                // A file written before the repair existed, or closed before the worker caught up, may hold unreached nodes.
                _reachDue = true;
                _linksSinceRepair = long.MaxValue / 2;
            }

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

            _graph!.CollectVanished(_state.Live, _state.Arena!.SlotCount, _removed);

            if (_pending.Count > 0 || _removed.Count > 0)
            {
                Internal.StoreLog.GraphReplayed(_logger, _state.Name, _path, stamp, _pending.Count, _removed.Count);
            }
        }
    }

    private void CreateGraph(VectorArena arena)
    {
        // A quantized collection's graph walks the arena's compact copy; queries re-rank its candidates with float32 rows.
        _graph = _state.Configuration.VectorStorage switch
        {
            VectorStorage.Float16 => HnswIndex.Create(arena.EnsureCompact(), _state.Configuration.Space, Parameters()),
            VectorStorage.Int8 => HnswIndex.Create(arena.EnsureCodes(), _state.Configuration.Space, Parameters()),
            _ => HnswIndex.Create(arena, _state.Configuration.Space, Parameters()),
        };
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

    /// <summary>How many written slots wait to be linked into the graph (0 while there is no graph); any thread, takes the pending lock briefly.</summary>
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

    /// <summary>Slots whose deletion waits to be marked in the graph. Caller holds the collection lock.</summary>
    public int[] RemovedSnapshot()
    {
        lock (_pendingLock)
        {
            return _removed.Count == 0 ? [] : [.. _removed];
        }
    }

    /// <summary>
    /// Why the saved graph file cannot be loaded over <paramref name="arena"/> as an open would (null when it loads, is
    /// missing, or is older than the last compaction, which an open ignores). Loads it whole; <c>ChromaClient.VerifyIntegrity</c>
    /// only, caller holds the collection's write lock.
    /// </summary>
    public string? SavedFileProblem(VectorArena arena, SqliteConnection connection)
    {
        // A background checkpoint (outside the collection lock) may be replacing the file: wait for it.
        lock (_saveLock)
        {
            return SavedFileProblemCore(arena, connection);
        }
    }

    private string? SavedFileProblemCore(VectorArena arena, SqliteConnection connection)
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        if (HnswIndex.ReadStamp(_path) is not { } stamp)
        {
            return "its header is damaged, the file is truncated or of an older format";
        }

        if (stamp > _state.LastSeq)
        {
            return $"it is newer than the database (stamped at write {stamp}, the collection's last write is {_state.LastSeq})";
        }

        if (stamp < _state.CompactedSeq)
        {
            return null;
        }

        var chain = stamp == _state.LastSeq ? _state.LastChain : StoreIdentity.ChainAt(connection, stamp);
        using var graph = TryLoad(arena, stamp, chain);
        return graph is null ? "it is damaged (checksum or structure), was built with other parameters, or belongs to another collection or another copy of the store" : null;
    }

    private void StartWorkerIfNeeded()
    {
        lock (_pendingLock)
        {
            if (_graph is not { } graph || _stopping || (_pending.Count == 0 && _removed.Count == 0 && !RepairWanted(graph)) || _workerActive)
            {
                return;
            }

            _workerActive = true;
            _worker = Task.Run(Work);
        }
    }

    private void Work()
    {
        // Cleared under _pendingLock in the same hold that finds nothing pending, so a write committed after that
        // starts a new worker (the task object may not have completed yet); on any other exit, by the finally.
        var released = false;
        var checkpointFailed = false;
        try
        {
            released = WorkUntilCaughtUp(ref checkpointFailed);
        }
        finally
        {
            if (!released)
            {
                lock (_pendingLock)
                {
                    _workerActive = false;
                }
            }
        }
    }

    /// <summary>The worker's loop; true when it ended caught up, having cleared <c>_workerActive</c> itself.</summary>
    private bool WorkUntilCaughtUp(ref bool checkpointFailed)
    {
        while (!_stopping)
        {
            ChunkStarting?.Invoke(_stopSource.Token);
            if (_stopping)
            {
                break;
            }

            ReserveAhead();

            // A batch waiting to publish goes first (see CollectionState.WaitWhileWriterWaits). Never block on the lock: a
            // stop request must get through even while a writer waits.
            while (_state.WriterWaitingToPublish && !_stopping)
            {
                _state.WaitWhileWriterWaits(50);
            }

            if (!_state.Lock.TryEnterReadLock(50))
            {
                continue;
            }

            HnswIndex? checkpoint = null;
            long checkpointSeq = 0;
            long checkpointChain = 0;
            try
            {
                var graph = _graph;
                if (graph is null || _state.Deleted)
                {
                    return false;
                }

                int[] removed = [];
                int[] pending = [];
                var repair = false;
                lock (_pendingLock)
                {
                    if (_pending.Count == 0 && _removed.Count == 0)
                    {
                        _cleanSeq = _state.LastSeq;
                        _cleanChain = _state.LastChain;
                        if (RepairWanted(graph))
                        {
                            repair = true;
                        }
                        else if (!checkpointFailed && CheckpointDue(graph))
                        {
                            (checkpoint, checkpointSeq, checkpointChain) = (graph, _cleanSeq, _cleanChain);
                        }
                        else
                        {
                            _workerActive = false;
                            return true;
                        }
                    }
                    else
                    {
                        removed = _removed.Take(ChunkSize).ToArray();
                        pending = _pending.Take(ChunkSize).ToArray();
                    }
                }

                if (repair)
                {
                    RepairReachability(graph);
                }
                else if (checkpoint is null)
                {
                    LinkChunk(graph, removed, pending);
                }
            }
            catch (Exception ex)
            {
                // Whatever failed, the graph is derived data: drop it and answer exactly from now on (recorded in
                // LastError, never silent for tests); the next open rebuilds it from the source of truth.
                // Not disposed: queries holding the read lock may still be walking it.
                LastError = ex;
                _graph = null;
                Internal.StoreLog.BackgroundFailed(_logger, ex, _state.Name, "HNSW graph maintenance");
                return false;
            }
            finally
            {
                _state.Lock.ExitReadLock();
            }

            if (checkpoint is not null)
            {
                // Outside the collection lock: writers commit meanwhile (their slots wait in the pending set, which
                // queries scan exactly), while the graph stays exactly as it was at checkpointSeq, since only this
                // worker changes it and it is busy saving. Then it goes on linking what they wrote meanwhile.
                checkpointFailed = !Checkpoint(checkpoint, checkpointSeq, checkpointChain);
            }
        }

        return false;
    }

    /// <summary>Rows the arena held when the graph was attached or at the last <see cref="ReserveAhead"/> that found more (worker only after attach).</summary>
    private int _rowsSeen;

    /// <summary>
    /// Makes the graph's room for the slots written so far and a quarter more before a chunk takes the collection lock.
    /// Grown inside a link instead, the allocation held the chunk, and so a writer waiting to publish its batch, for its
    /// whole length: the longest write-lock waits of a 1M × 384 ingest (up to 388 and 579 ms in two runs, no GC pause
    /// inside any) were single links growing the graph to 640,000 and 1,280,000 slots. Grown here, outside the collection
    /// lock, the longest wait of the same ingest was 29 ms. A failure here is left to the insert that needs the room (it
    /// grows, or fails and is handled, as before).
    /// </summary>
    private void ReserveAhead()
    {
        if (_graph is not { } graph || _state.Arena is not { } arena)
        {
            return;
        }

        // Only once rows are appended: a graph loaded at open holds exactly its rows, and growing it (doubling) for writes
        // that only replace or delete records would double its memory for nothing (at 1M, 146 → 286 MB after one update in
        // a reopened store).
        var rows = arena.SlotCount;
        if (rows <= _rowsSeen)
        {
            return;
        }

        _rowsSeen = rows;

        try
        {
            // A quarter ahead of the rows written: the worker links the newest rows within moments of their write, so room
            // made only for the rows already written came one link too late.
            graph.Reserve((int)Math.Min(int.MaxValue, rows + (rows / 4L) + 1));
        }
        catch (Exception ex) when (ex is OutOfMemoryException or InvalidOperationException)
        {
            // The insert that needs the room grows the graph itself, or fails in the chunk and is handled there.
        }
    }

    /// <summary>
    /// Threads that link: every core, or one less while the collection is under ingest (<see cref="CollectionState.Ingesting"/>:
    /// a write batch runs its SQL beside the worker, or the last one ended moments ago and the next is on its way), so the
    /// writer keeps a core of its own instead of being slowed to the indexer's pace (on 2 cores, with every core linking, a
    /// 1-connection ingest over HTTP ran at the indexer's pace, about a third of its own).
    /// </summary>
    internal static int LinkingThreads(bool ingesting) =>
        ingesting ? Math.Max(1, Environment.ProcessorCount - 1) : Environment.ProcessorCount;

    /// <summary>
    /// Marks <paramref name="removed"/> deleted and links <paramref name="pending"/>, on all cores (one less while the
    /// collection is under ingest, checked before every link, so a batch that arrives mid-chunk gets its core at once).
    /// Caller holds the collection read lock, so writers are held off and nothing is re-dirtied meanwhile; the slots leave
    /// the pending set only once linked, so a concurrent query always finds them one way or the other.
    /// </summary>
    private void LinkChunk(HnswIndex graph, int[] removed, int[] pending)
    {
        foreach (var slot in removed)
        {
            graph.MarkDeleted(slot);
        }

        // Linkers take the next slot until none is left. Before every link each checks that it may go on: a writer waiting
        // to publish its batch (it needs the lock exclusively for its commit) ends the chunk after the links under way, so
        // it waits for one link, not a chunk; and under ingest only LinkingThreads(true) linkers go on. What is not linked
        // stays pending for the next chunk.
        var linked = new bool[pending.Length];
        var next = -1;
        var linkers = LinkingThreads(ingesting: false);
        Parallel.For(0, linkers, new ParallelOptions { MaxDegreeOfParallelism = linkers }, linker =>
        {
            while (!_state.WriterWaitingToPublish && linker < LinkingThreads(_state.Ingesting))
            {
                var i = Interlocked.Increment(ref next);
                if (i >= pending.Length)
                {
                    return;
                }

                var slot = pending[i];
                if (IsLive(slot))
                {
                    if (graph.Contains(slot) && !graph.IsDeleted(slot))
                    {
                        graph.Update(slot);
                    }
                    else
                    {
                        graph.Insert(slot);
                    }
                }

                linked[i] = true;
            }
        });

        var done = 0;
        lock (_pendingLock)
        {
            _removed.ExceptWith(removed);
            for (var i = 0; i < pending.Length; i++)
            {
                if (linked[i])
                {
                    _pending.Remove(pending[i]);
                    done++;
                }
            }

            _reachDue |= done > 0;
            _linksSinceRepair += done;
        }

        _changesSinceSave += removed.Length + done;
    }

    /// <summary>
    /// Gives every live record a path from the graph's entry point (<see cref="HnswIndex.RepairReachability"/>), so a query
    /// by a record's own vector can find it: pruning may have dropped the last link into it. Caller is the worker, caught
    /// up and holding the collection read lock (queries run beside it; writers are held off). A writer waiting to publish
    /// or a stop request cuts it short: it runs again once the worker is caught up anew.
    /// </summary>
    private void RepairReachability(HnswIndex graph)
    {
        var result = graph.RepairReachability(_repairShouldStop ??= () => _stopping || _state.WriterWaitingToPublish);
        if (!result.Completed)
        {
            return;
        }

        lock (_pendingLock)
        {
            // Links changed meanwhile would have come from this worker alone, which was busy here.
            _reachDue = false;
            _linksSinceRepair = 0;
            _repairRequested = false;
            RepairsCompleted++;
        }

        _changesSinceSave += result.LinksAdded;
        if (result.Unreached > 0)
        {
            Internal.StoreLog.GraphReachRepaired(_logger, _state.Name, result.Unreached, result.LinksAdded, result.Remaining);
        }
    }

    private Func<bool>? _repairShouldStop;

    /// <summary>Reachability repairs run to completion since the graph was attached (tests; read under <c>_pendingLock</c> or after the worker stopped).</summary>
    internal int RepairsCompleted { get; private set; }

    /// <summary>
    /// Whether the worker, caught up, repairs reachability now (caller holds <c>_pendingLock</c>): links changed since the
    /// last repair and either a caller waits for the index, a checkpoint is due (the saved file is then repaired), a graph
    /// was just loaded, or at least max(<see cref="RepairMinimumLinks"/>, a 32nd of the graph) links were made. The check
    /// floods the whole bottom level (≈ 10 ms at 100,000 nodes), so a stream of small writes must not pay it per write.
    /// </summary>
    private bool RepairWanted(HnswIndex graph) =>
        _reachDue && (_repairRequested || _linksSinceRepair >= Math.Max(RepairMinimumLinks, graph.Count / 32) || CheckpointDue(graph));

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
                if ((worker is null || worker.IsCompleted) && (_graph is null || _stopping || (_pending.Count == 0 && _removed.Count == 0 && !_reachDue)))
                {
                    return;
                }

                _repairRequested = _reachDue;
            }

            worker?.Wait();
            StartWorkerIfNeeded();
        }
    }

    /// <summary>Stops the worker. Call without holding the collection lock (the worker needs its read side).</summary>
    public void StopWorker()
    {
        _stopping = true;
        if (!_disposed)
        {
            _stopSource.Cancel();
        }

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

    /// <summary>
    /// True once enough has changed since the last save: at least <see cref="CheckpointMinimum"/> links and a quarter of
    /// the graph. A process killed later then replays at most that much on the next open instead of rebuilding the whole
    /// graph; the amortized cost stays a small constant per link.
    /// </summary>
    private bool CheckpointDue(HnswIndex graph) => _changesSinceSave >= Math.Max(CheckpointMinimum, graph.Count / 4);

    /// <summary>
    /// Saves the graph, caught up at <paramref name="seq"/>, from the worker and without the collection lock (see
    /// <see cref="Work"/>): writers never wait for it. Serialized with <see cref="Persist"/> by <c>_saveLock</c>. A failed
    /// save is logged and left to the next checkpoint or close; a stop request cuts it short (the close saves anyway).
    /// </summary>
    private bool Checkpoint(HnswIndex graph, long seq, long chain)
    {
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            lock (_saveLock)
            {
                CheckpointWriting?.Invoke(_stopSource.Token);
                graph.Save(_path, seq, _owner(chain), _stopSource.Token);
                _savedSeq = seq;
            }

            _changesSinceSave = 0;
            Checkpoints++;
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            Internal.Telemetry.Checkpointed(elapsed, _state.Name);
            Internal.StoreLog.GraphCheckpointed(_logger, _state.Name, graph.Count, seq, elapsed);
            return true;
        }
        catch (OperationCanceledException)
        {
            // Stopped: the previous graph file is left as it was.
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Internal.StoreLog.BackgroundFailed(_logger, ex, _state.Name, "HNSW graph checkpoint");
            return false;
        }
    }

    /// <summary>Fewest graph changes (links and deletions) between two background saves of the graph.</summary>
    internal const int CheckpointMinimum = 5_000;

    /// <summary>Background saves of the graph since this indexer was created (tests).</summary>
    internal int Checkpoints { get; private set; }

    /// <summary>
    /// Runs on the worker as a background save begins writing, outside the collection lock, with the token a stop
    /// request cancels (tests: holds a save open).
    /// </summary>
    internal Action<CancellationToken>? CheckpointWriting { get; set; }

    /// <summary>
    /// Runs on the worker before each chunk, outside the collection lock, with the token a stop request cancels (tests:
    /// holds a rebuild half-done; the hook returns when the token is cancelled).
    /// </summary>
    internal Action<CancellationToken>? ChunkStarting { get; set; }

    private int _changesSinceSave;

    /// <summary>The stamp of the graph file this indexer last wrote or loaded with nothing changed since (−1: none).</summary>
    private long _savedSeq = -1;

    /// <summary>
    /// Saves the graph stamped with the last sequence number it fully covers, unless the file already holds exactly that
    /// graph (a background save after the last change). Caller holds the collection write lock, worker stopped.
    /// </summary>
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

        var seq = caughtUp ? _state.LastSeq : _cleanSeq;
        lock (_saveLock)
        {
            if (_changesSinceSave == 0 && _savedSeq == seq && File.Exists(_path))
            {
                return;
            }

            _graph.Save(_path, seq, caughtUp ? _owner(_state.LastChain) : _owner(_cleanChain));
            _savedSeq = seq;
        }

        _changesSinceSave = 0;
    }

    public void Dispose()
    {
        StopWorker();
        _graph?.Dispose();
        _graph = null;
        _disposed = true;
        _stopSource.Dispose();
    }
}
