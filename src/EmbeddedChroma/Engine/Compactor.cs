using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>What a compaction reclaimed (the public API turns it into its <c>CompactionResult</c>).</summary>
internal readonly record struct CompactionStats(int Records, int SlotsBefore, int SlotsAfter, int RecordsMoved, long BytesBefore, long BytesAfter, TimeSpan Duration);

/// <summary>
/// Space reclamation for a store: compacting one collection's slots (<see cref="CollectionEngine.CompactSlots"/>), then
/// shrinking the SQLite file; automatic runs queued after deletes past the thresholds; the compaction points.
/// </summary>
internal sealed class Compactor(StoreContext store)
{
    /// <summary><c>PRAGMA auto_vacuum</c>'s value for INCREMENTAL (0 none, 1 full, 2 incremental).</summary>
    private const int IncrementalAutoVacuum = 2;

    private readonly StoreContext _store = store;

    private SqliteDb Db => _store.Db;

    private readonly Lock _maintenanceLock = new();
    private readonly HashSet<long> _compactionQueued = [];
    private Task _maintenance = Task.CompletedTask;

    /// <summary>The last failure of a background (automatic) compaction, for tests; the store stays usable.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>
    /// Compacts one collection. Holds the store's write lock throughout (writes wait); queries keep running
    /// except for the short swap at the end (commit, new arena mapped, slot map replaced).
    /// <list type="number">
    /// <item>Under the collection's read lock: live slots at or above the live count move into the freed slots
    /// below it (lowest first), in one SQLite transaction that also takes a new sequence number for the
    /// collection and records it as the compaction point; a new arena is written to a temporary file and
    /// stamped with that sequence number.</item>
    /// <item>Under the write lock: commit, then the temporary arena replaces the old one (rename) and the graph
    /// file is deleted; the graph is rebuilt in the background (queries scan its pending tail exactly meanwhile).</item>
    /// <item>A collection that still keeps filter rows no read uses (its in-memory filter index answers <c>where</c>) stops
    /// keeping them (<see cref="CollectionEngine.StopKeepingUnreadFilterRows"/>, a transaction of its own).</item>
    /// <item>SQLite gives freed pages back (<c>incremental_vacuum</c>; an explicit compaction of a store created without
    /// auto-vacuum runs <c>VACUUM</c> once, converting it) and the WAL is truncated.</item>
    /// </list>
    /// Crash safety: before the commit nothing visible changed (the temporary file is discarded on the next load);
    /// after it, the old arena's stamp no longer matches the collection's sequence number and a graph saved before
    /// the compaction point is refused, so both are rebuilt from SQLite.
    /// </summary>
    /// <returns>The result, or null for an automatic run that found nothing (left) to do.</returns>
    /// <remarks><paramref name="progress"/>: see <see cref="CollectionEngine.CompactSlots"/> (reported total once everything is done).</remarks>
    public CompactionStats? Compact(CollectionEngine collection, bool automatic, ProgressReporter? progress = null)
    {
        var state = collection.State;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var stats = CompactCore(collection, automatic, progress);
            if (stats is { } done)
            {
                Telemetry.Compacted(done.Duration, state.Tenant, state.Database, state.Name, automatic, errorType: null);
                StoreLog.Compacted(_store.Limits.Logger, state.Name, automatic, done.SlotsBefore, done.SlotsAfter, done.BytesBefore, done.BytesAfter, done.Duration);
            }

            return stats;
        }
        catch (Exception ex) when (Telemetry.CompactionFailed(Stopwatch.GetElapsedTime(started), state.Tenant, state.Database, state.Name, automatic, ex))
        {
            throw;
        }
    }

    private CompactionStats? CompactCore(CollectionEngine collection, bool automatic, ProgressReporter? progress)
    {
        var state = collection.State;
        lock (Db.WriteLock)
        {
            _store.Session.ThrowIfClosed();
            _store.Session.ThrowIfReadOnly();
            if (state.Deleted)
            {
                if (automatic)
                {
                    return null;
                }

                throw new ChromaNotFoundException($"Collection '{Echo.Text(state.Name)}' ({state.Uuid}) has been deleted.");
            }

            if (automatic && !NeedsCompaction(state))
            {
                return null;
            }

            progress?.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var bytesBefore = _store.Folder.Bytes();
            var (slotsBefore, moved) = Db.Guard(() => collection.CompactSlots(progress));
            Db.Guard(collection.StopKeepingUnreadFilterRows);
            Db.Guard(() =>
            {
                ShrinkDatabase(convert: !automatic);
                return 0;
            });
            progress?.Finish();
            return new CompactionStats(state.Count, slotsBefore, state.NextSlot, moved, bytesBefore, _store.Folder.Bytes(), Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>True when the collection's freed slots pass the automatic-compaction thresholds.</summary>
    public bool NeedsCompaction(CollectionState state)
    {
        var dead = state.NextSlot - state.Count;
        return _store.Limits.AutoCompaction && state.Loaded && dead >= _store.Limits.AutoCompactionMinDeadSlots
            && dead >= _store.Limits.AutoCompactionDeadFraction * state.NextSlot;
    }

    /// <summary>After a committed delete (store write lock held): queues an automatic compaction when the collection needs one.</summary>
    public void MaybeSchedule(CollectionEngine collection)
    {
        var state = collection.State;
        if (!NeedsCompaction(state))
        {
            return;
        }

        lock (_maintenanceLock)
        {
            if (_store.Session.IsClosed || !_compactionQueued.Add(state.Id))
            {
                return;
            }

            _maintenance = _maintenance.ContinueWith(_ => RunAutomatic(collection), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private void RunAutomatic(CollectionEngine collection)
    {
        var state = collection.State;
        try
        {
            if (!_store.Session.IsClosed)
            {
                Compact(collection, automatic: true);
            }
        }
        catch (ChromaStoreClosedException)
        {
            // Closed meanwhile: the next open finds the same freed slots.
        }
        catch (Exception ex)
        {
            // Compaction changes no record: a failure leaves the store usable (derived files are rebuilt if needed).
            LastError = ex;
            StoreLog.BackgroundFailed(_store.Limits.Logger, ex, state.Name, "automatic compaction");
        }
        finally
        {
            lock (_maintenanceLock)
            {
                _compactionQueued.Remove(state.Id);
            }
        }
    }

    /// <summary>Waits for queued automatic compactions (tests).</summary>
    public void WaitForMaintenance()
    {
        Task task;
        lock (_maintenanceLock)
        {
            task = _maintenance;
        }

        task.Wait();
    }

    /// <summary>Gives SQLite's free pages back to the file system and truncates the WAL. Store write lock held.</summary>
    private void ShrinkDatabase(bool convert)
    {
        using var command = Db.Writer.CreateCommand();
        command.CommandText = "PRAGMA auto_vacuum";
        var mode = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (mode == IncrementalAutoVacuum)
        {
            command.CommandText = "PRAGMA incremental_vacuum";
            command.ExecuteNonQuery();
        }
        else if (convert)
        {
            // A store created before incremental auto-vacuum: one VACUUM rewrites the file compactly and switches it over.
            command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL";
            command.ExecuteNonQuery();
            command.CommandText = "VACUUM";
            command.ExecuteNonQuery();
        }

        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        command.ExecuteNonQuery();
    }

    public static string CompactedKey(long collectionId) => "compacted:" + collectionId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The compaction point of a collection (0: never compacted).</summary>
    public static long ReadCompactedSeq(SqliteConnection connection, long collectionId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM store_meta WHERE key = $k";
        command.Parameters.AddWithValue("$k", CompactedKey(collectionId));
        return command.ExecuteScalar() is string value ? long.Parse(value, CultureInfo.InvariantCulture) : 0;
    }
}
