using System.Globalization;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>
/// The write side of an open store: the store-wide write lock (<see cref="SqliteDb.WriteLock"/>), the closed and
/// read-only checks, the one write transaction at a time, the write sequence number and its chain
/// (<see cref="StoreIdentity"/>), the acknowledged-sequence file (<c>chroma.seq</c>) and the hooks a transaction runs
/// once it commits (in-memory changes) or fails (undo of in-memory reservations).
/// </summary>
/// <remarks>
/// Every write of the store goes through here, compaction included (<see cref="Begin"/> for a transaction that
/// commits later under another lock, <see cref="Run{T}"/> for the usual all-or-nothing batch). Lock order
/// everywhere: the store's write lock, then a collection's lock. Members marked "writer lock held" assume the
/// caller is inside <see cref="Run{T}"/> or holds <see cref="SqliteDb.WriteLock"/>.
/// </remarks>
internal sealed class WriteSession : IDisposable
{
    private readonly string _folder;
    private readonly bool _readOnly;
    private readonly Guid _storeId;
    private readonly AcknowledgedSeqFile? _acknowledged;
    private readonly List<Action> _onCommit = [];
    private readonly List<Action> _onRollback = [];
    private long _seq;
    private long _chain;
    private volatile bool _closed;

    private WriteSession(SqliteDb db, string folder, bool readOnly, long seq, long chain, Guid storeId, AcknowledgedSeqFile? acknowledged)
    {
        Db = db;
        _folder = folder;
        _readOnly = readOnly;
        _seq = seq;
        _chain = chain;
        _storeId = storeId;
        _acknowledged = acknowledged;
    }

    public SqliteDb Db { get; }

    public bool IsClosed => _closed;

    /// <summary>The last sequence number taken (committed, or taken by the transaction under way).</summary>
    public long Seq => _seq;

    /// <summary>The write chain value of the last <see cref="NextSeq"/> (see <see cref="StoreIdentity"/>).</summary>
    public long CurrentChain => _chain;

    /// <summary>Bytes of record data the current write transaction stores (a lower bound of what it needs on disk). Writer lock held.</summary>
    public long WriteBytes { get; set; }

    public SqliteTransaction? CurrentTransaction => Db.CurrentTransaction;

    /// <summary>Runs once, before this open's first write transaction begins (writer lock held); then cleared.</summary>
    public Action? BeforeFirstWrite { get; set; }

    /// <summary>
    /// Reads the sequence number, chain and store id of an open database and checks them against <c>chroma.seq</c>:
    /// a database that ends before the last acknowledged write lost acknowledged writes (a deleted -wal file, an older copy).
    /// </summary>
    public static WriteSession Open(SqliteDb db, string folder, bool readOnly)
    {
        var seq = long.Parse(StoreSchema.ReadMeta(db, "seq") ?? "0", CultureInfo.InvariantCulture);
        var storeId = Guid.Parse(StoreSchema.ReadMeta(db, "store_id") ?? throw db.Corrupt(new InvalidDataException("no store id"), "store_meta holds no store id"));
        long chain;
        lock (db.WriteLock)
        {
            chain = StoreIdentity.ChainAt(db.Writer, seq);
        }

        var acknowledged = AcknowledgedSeqFile.Open(folder, storeId, readOnly, out var recorded);
        if (recorded > seq)
        {
            acknowledged?.Dispose();
            // Written only after a commit was durable: the database lost acknowledged writes (or is an older copy).
            throw new ChromaCorruptStoreException(
                $"The store is corrupt: acknowledged writes up to sequence number {recorded} are missing from '{Echo.Path(db.Path)}', " +
                $"which ends at {seq}. Was its -wal file deleted, or an older chroma.sqlite3 put in its place? " +
                $"Restore the store folder from a backup. (If an older database was restored on purpose, delete '{AcknowledgedSeqFile.FileName}' to accept it.)");
        }

        return new WriteSession(db, folder, readOnly, seq, chain, storeId, acknowledged);
    }

    public void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new ChromaStoreClosedException($"The store in '{Echo.Path(_folder)}' is closed.");
        }
    }

    /// <summary>Refuses a write on a store opened read-only (by option, or because its disk was full when it was opened).</summary>
    public void ThrowIfReadOnly()
    {
        if (Db.OpenedWhileFull is { } full)
        {
            throw new ChromaStorageFullException(
                $"The store in '{Echo.Path(_folder)}' was opened while its disk was full, for reads only. Free space on that disk, then close and reopen the store to write.",
                _folder, null, full);
        }

        if (_readOnly)
        {
            throw new ChromaReadOnlyException($"The store in '{Echo.Path(_folder)}' was opened read-only (ChromaStoreOptions.ReadOnly); writes are refused. Open it without ReadOnly to write.");
        }
    }

    /// <summary>Marks the store closed: every later call fails with <see cref="ChromaStoreClosedException"/>. Writer lock held.</summary>
    public void Close() => _closed = true;

    /// <summary>Runs a catalog read under the write lock (catalog reads use the writer connection).</summary>
    public T Read<T>(Func<T> read)
    {
        lock (Db.WriteLock)
        {
            ThrowIfClosed();
            return Db.Guard(read);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> inside one SQLite write transaction (all or nothing), under the store's write
    /// lock and, when given, the write side of <paramref name="exclusive"/> (a collection's lock, taken after it).
    /// <paramref name="afterCommit"/> runs under the same locks once the transaction is durable: in-memory changes go there.
    /// </summary>
    public T Run<T>(Func<T> action, Action<T>? afterCommit = null, ReaderWriterLockSlim? exclusive = null)
    {
        Interlocked.Increment(ref _writers);
        try
        {
            return RunQuietly(action, afterCommit, exclusive);
        }
        finally
        {
            EndOfWrite();
        }
    }

    /// <summary>
    /// <see cref="Run{T}"/> for the store's own background work (the document indexer): it does not count as a write
    /// call, so <see cref="WritesQuietFor"/> is not reset by it.
    /// </summary>
    public T RunQuietly<T>(Func<T> action, Action<T>? afterCommit = null, ReaderWriterLockSlim? exclusive = null)
    {
        lock (Db.WriteLock)
        {
            ThrowIfClosed();
            ThrowIfReadOnly();
            if (exclusive is null)
            {
                return Db.Guard(() => InTransaction(action, afterCommit));
            }

            var waiting = System.Diagnostics.Stopwatch.GetTimestamp();
            exclusive.EnterWriteLock();
            Telemetry.WriterWaited(System.Diagnostics.Stopwatch.GetElapsedTime(waiting));
            try
            {
                return Db.Guard(() => InTransaction(action, afterCommit));
            }
            finally
            {
                exclusive.ExitWriteLock();
            }
        }
    }

    /// <summary>
    /// Like <see cref="Run{T}"/> with a collection's lock, but <paramref name="action"/> (the batch's SQL) runs holding
    /// <paramref name="collectionLock"/> only in upgradeable read mode, so the collection's readers and its background
    /// indexer (which take it in read mode) go on meanwhile; the lock is then taken exclusively for
    /// <paramref name="beforeCommit"/>, the commit and <paramref name="afterCommit"/>, so readers see the batch appear at
    /// once and wholly, and never a committed row that memory does not know yet. <paramref name="action"/> must change no
    /// in-memory state that readers use: it goes in <paramref name="beforeCommit"/> or <paramref name="afterCommit"/>.
    /// <paramref name="waitingToPublish"/> is told true while the batch waits for the exclusive lock, false once it holds it.
    /// </summary>
    public T RunThenPublish<T>(Func<T> action, Action beforeCommit, Action<T> afterCommit, ReaderWriterLockSlim collectionLock, Action<bool>? waitingToPublish = null)
    {
        Interlocked.Increment(ref _writers);
        try
        {
            return RunThenPublishCore(action, beforeCommit, afterCommit, collectionLock, waitingToPublish);
        }
        finally
        {
            EndOfWrite();
        }
    }

    /// <summary>Write calls under way (waiting for the write lock or holding it), the background indexer's aside.</summary>
    private int _writers;

    /// <summary>When the last write call ended (a <see cref="System.Diagnostics.Stopwatch"/> timestamp).</summary>
    private long _lastWriteEnded = System.Diagnostics.Stopwatch.GetTimestamp();

    private void EndOfWrite()
    {
        Volatile.Write(ref _lastWriteEnded, System.Diagnostics.Stopwatch.GetTimestamp());
        Interlocked.Decrement(ref _writers);
    }

    /// <summary>True when no write call is under way and none ended within <paramref name="quiet"/>: the store is between bursts of writes.</summary>
    public bool WritesQuietFor(TimeSpan quiet) =>
        Volatile.Read(ref _writers) == 0 && System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastWriteEnded)) >= quiet;

    /// <summary>True while a write call waits for the write lock or holds it.</summary>
    public bool Writing => Volatile.Read(ref _writers) > 0;

    /// <summary>The store's background document indexer (null on a store that cannot write); told of batches that leave documents to index.</summary>
    public DocumentIndexer? Documents { get; set; }

    private T RunThenPublishCore<T>(Func<T> action, Action beforeCommit, Action<T> afterCommit, ReaderWriterLockSlim collectionLock, Action<bool>? waitingToPublish)
    {
        lock (Db.WriteLock)
        {
            ThrowIfClosed();
            ThrowIfReadOnly();
            var waiting = System.Diagnostics.Stopwatch.GetTimestamp();
            collectionLock.EnterUpgradeableReadLock();
            var waited = System.Diagnostics.Stopwatch.GetElapsedTime(waiting);
            try
            {
                return Db.Guard(() => InTransaction(action, afterCommit, () =>
                {
                    var upgrading = System.Diagnostics.Stopwatch.GetTimestamp();
                    waitingToPublish?.Invoke(true);
                    try
                    {
                        collectionLock.EnterWriteLock();
                    }
                    finally
                    {
                        waitingToPublish?.Invoke(false);
                    }

                    Telemetry.WriterWaited(waited + System.Diagnostics.Stopwatch.GetElapsedTime(upgrading));
                    beforeCommit();
                }));
            }
            finally
            {
                if (collectionLock.IsWriteLockHeld)
                {
                    collectionLock.ExitWriteLock();
                }

                collectionLock.ExitUpgradeableReadLock();
            }
        }
    }

    private T InTransaction<T>(Func<T> action, Action<T>? afterCommit, Action? beforeCommit = null)
    {
        T result;
        var tx = Begin();
        try
        {
            result = action();
            beforeCommit?.Invoke();
            tx.Commit();
        }
        catch (Exception ex)
        {
            tx.Dispose();
            if (ex is not ChromaException && StorageErrors.IsDiskFull(ex))
            {
                // SQLite could not write its log: the batch needed at least its own bytes.
                throw StorageErrors.StorageFull(_folder, WriteBytes > 0 ? WriteBytes : null, ex);
            }

            throw;
        }

        afterCommit?.Invoke(result);
        return result;
    }

    /// <summary>
    /// Begins the write transaction (writer lock held). <see cref="Transaction.Commit"/> makes it durable, records its
    /// sequence number in <c>chroma.seq</c> and runs the on-commit hooks; disposing it uncommitted rolls it back and
    /// runs the on-rollback hooks.
    /// </summary>
    public Transaction Begin()
    {
        if (BeforeFirstWrite is { } first)
        {
            BeforeFirstWrite = null;
            first();
        }

        _onCommit.Clear();
        _onRollback.Clear();
        WriteBytes = 0;
        var tx = Db.Writer.BeginTransaction();
        Db.CurrentTransaction = tx;
        return new Transaction(this, tx);
    }

    /// <summary>Runs <paramref name="step"/> after the current write transaction commits, and never if it rolls back.</summary>
    public void OnCommit(Action step)
    {
        _ = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        _onCommit.Add(step);
    }

    /// <summary>Runs <paramref name="step"/> if the current write transaction fails, its commit included; never after a commit.</summary>
    public void OnRollback(Action step)
    {
        _ = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        _onRollback.Add(step);
    }

    /// <summary>A prepared writer command bound to the current write transaction.</summary>
    public SqliteCommand WriteCommand(string sql)
    {
        var command = Db.WriterCommand(sql);
        command.Transaction = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        return command;
    }

    /// <summary>A read on the writer connection (catalog reads are small and rare); writer lock held, or single-threaded.</summary>
    public SqliteCommand ReadCommand(string sql) => Db.WriterCommand(sql);

    /// <summary>Takes the next write sequence number inside the current write transaction, and extends the write chain.</summary>
    public long NextSeq()
    {
        var seq = _seq + 1;
        var command = WriteCommand("UPDATE store_meta SET value = $v WHERE key = 'seq'");
        command.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
        var chain = StoreIdentity.NextChain(_chain, seq);
        if (RecordChecksum.Enabled)
        {
            var link = WriteCommand("INSERT INTO write_chain(seq, chain) VALUES ($s, $h)");
            link.Parameters.AddWithValue("$s", seq);
            link.Parameters.AddWithValue("$h", chain);
            link.ExecuteNonQuery();
        }

        _seq = seq;
        _chain = chain;
        return seq;
    }

    /// <summary>The owner stamp of a collection's derived files covering the write whose chain value is <paramref name="chain"/>.</summary>
    public byte[] Owner(Guid collection, long chain) => StoreIdentity.Owner(_storeId, collection, chain);

    /// <summary>Records <paramref name="seq"/> as acknowledged in <c>chroma.seq</c>; call only once its commit is durable.</summary>
    private void Acknowledge(long seq)
    {
        if (!RecordChecksum.Enabled)
        {
            return;
        }

        try
        {
            _acknowledged?.Write(seq);
        }
        catch (IOException)
        {
            // The write is durable in SQLite; the side file only weakens the lost-WAL check when it lags.
        }
    }

    /// <summary>Closes <c>chroma.seq</c>.</summary>
    public void Dispose() => _acknowledged?.Dispose();

    /// <summary>The one write transaction under way (see <see cref="Begin"/>).</summary>
    public sealed class Transaction : IDisposable
    {
        private readonly WriteSession _session;
        private readonly SqliteTransaction _tx;
        private bool _done;

        internal Transaction(WriteSession session, SqliteTransaction tx)
        {
            _session = session;
            _tx = tx;
        }

        /// <summary>
        /// Commits; then records the sequence number as acknowledged and runs the on-commit hooks. A commit that throws
        /// changed nothing: dispose the transaction to roll back and run the on-rollback hooks.
        /// </summary>
        public void Commit()
        {
            _tx.Commit();
            _done = true;
            _session.Db.CurrentTransaction = null;
            _tx.Dispose();
            _session.Db.Committed();
            _session._onRollback.Clear();
            _session.Acknowledge(_session._seq);
            foreach (var step in _session._onCommit)
            {
                step();
            }

            _session._onCommit.Clear();
        }

        /// <summary>Rolls back unless committed, running the on-rollback hooks. Idempotent.</summary>
        public void Dispose()
        {
            if (_done)
            {
                return;
            }

            _done = true;
            _session._onCommit.Clear();
            try
            {
                foreach (var step in _session._onRollback)
                {
                    step();
                }
            }
            finally
            {
                _session._onRollback.Clear();
                _session.Db.CurrentTransaction = null;
                _tx.Dispose();
            }
        }
    }
}
