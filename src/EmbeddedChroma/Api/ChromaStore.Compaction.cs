using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma;

// Space reclamation: renumbering a collection's live records into a dense slot range, rewriting its arena,
// rebuilding its graph, and shrinking the SQLite file.
public sealed partial class ChromaStore
{
    private readonly Lock _maintenanceLock = new();
    private readonly HashSet<long> _compactionQueued = [];
    private Task _maintenance = Task.CompletedTask;

    /// <summary>The last failure of a background (automatic) compaction, for tests; the store stays usable.</summary>
    internal Exception? LastMaintenanceError { get; private set; }

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
    /// <item>SQLite gives freed pages back (<c>incremental_vacuum</c>; an explicit compaction of a store created without
    /// auto-vacuum runs <c>VACUUM</c> once, converting it) and the WAL is truncated.</item>
    /// </list>
    /// Crash safety: before the commit nothing visible changed (the temporary file is discarded on the next load);
    /// after it, the old arena's stamp no longer matches the collection's sequence number and a graph saved before
    /// the compaction point is refused, so both are rebuilt from SQLite.
    /// </summary>
    /// <returns>The result, or null for an automatic run that found nothing (left) to do.</returns>
    internal CompactionResult? Compact(CollectionState state, bool automatic)
    {
        lock (Db.WriteLock)
        {
            ThrowIfClosed();
            ThrowIfReadOnly();
            if (state.Deleted)
            {
                if (automatic)
                {
                    return null;
                }

                throw new ChromaNotFoundException($"Collection '{Internal.Echo.Text(state.Name)}' ({state.Uuid}) has been deleted.");
            }

            if (automatic && !NeedsCompaction(state))
            {
                return null;
            }

            var started = Stopwatch.GetTimestamp();
            var bytesBefore = _folder.Bytes();
            var (slotsBefore, moved) = Db.Guard(() => CompactSlots(state));
            Db.Guard(() =>
            {
                ShrinkDatabase(convert: !automatic);
                return 0;
            });
            return new CompactionResult(state.Count, slotsBefore, state.NextSlot, moved, bytesBefore, _folder.Bytes(), Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>True when the collection's freed slots pass the automatic-compaction thresholds.</summary>
    internal bool NeedsCompaction(CollectionState state)
    {
        var dead = state.NextSlot - state.Count;
        return Options.AutoCompaction && state.Loaded && dead >= Options.AutoCompactionMinDeadSlots
            && dead >= Options.AutoCompactionDeadFraction * state.NextSlot;
    }

    /// <summary>After a committed delete (store write lock held): queues an automatic compaction when the collection needs one.</summary>
    internal void MaybeScheduleCompaction(CollectionState state)
    {
        if (!NeedsCompaction(state))
        {
            return;
        }

        lock (_maintenanceLock)
        {
            if (_session.IsClosed || !_compactionQueued.Add(state.Id))
            {
                return;
            }

            _maintenance = _maintenance.ContinueWith(_ => RunAutomaticCompaction(state), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private void RunAutomaticCompaction(CollectionState state)
    {
        try
        {
            if (!_session.IsClosed)
            {
                Compact(state, automatic: true);
            }
        }
        catch (ChromaStoreClosedException)
        {
            // Closed meanwhile: the next open finds the same freed slots.
        }
        catch (Exception ex)
        {
            // Compaction changes no record: a failure leaves the store usable (derived files are rebuilt if needed).
            LastMaintenanceError = ex;
            Internal.StoreLog.BackgroundFailed(Options.Logger, ex, state.Name, "automatic compaction");
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
    internal void WaitForMaintenance()
    {
        Task task;
        lock (_maintenanceLock)
        {
            task = _maintenance;
        }

        task.Wait();
    }

    private (int SlotsBefore, int Moved) CompactSlots(CollectionState state)
    {
        var arenaPath = ArenaPath(state.Uuid);
        var tempPath = _folder.CompactionTempPath(state.Uuid);
        Engine.WriteSession.Transaction? tx = null;
        var haveArena = false;
        long seq;
        long chain;
        int count;
        int slotsBefore;
        int moved;
        state.Lock.EnterReadLock();
        try
        {
            EnsureLoaded(state);
            count = state.Count;
            slotsBefore = state.NextSlot;
            if (slotsBefore == count && (state.Arena is null || state.Arena.Capacity <= Math.Max(1024L, 2L * count)))
            {
                // Dense already: nothing to move, nothing to give back.
                return (slotsBefore, 0);
            }

            // Two pointers: the live slots at or above `count` fill the freed slots below it, lowest first.
            var holes = new List<int>();
            var movers = new List<int>();
            for (var slot = 0; slot < slotsBefore; slot++)
            {
                var live = IsLive(state, slot);
                if (slot < count && !live)
                {
                    holes.Add(slot);
                }
                else if (slot >= count && live)
                {
                    movers.Add(slot);
                }
            }

            Debug.Assert(holes.Count == movers.Count, "live slots above the count fill the holes below it exactly");
            moved = movers.Count;
            tx = _session.Begin();
            seq = NextSeq();
            chain = CurrentChain;
            var update = WriteCommand("UPDATE records SET slot = $to WHERE collection_id = $c AND slot = $from");
            var to = update.Parameters.Add("$to", SqliteType.Integer);
            var from = update.Parameters.Add("$from", SqliteType.Integer);
            update.Parameters.AddWithValue("$c", state.Id);
            for (var i = 0; i < movers.Count; i++)
            {
                to.Value = holes[i];
                from.Value = movers[i];
                if (update.ExecuteNonQuery() != 1)
                {
                    throw new InvalidOperationException($"Compaction of '{Internal.Echo.Text(state.Name)}': slot {movers[i]} holds no record in SQLite.");
                }
            }

            var stamp = WriteCommand("UPDATE collections SET last_seq = $s WHERE id = $c");
            stamp.Parameters.AddWithValue("$s", seq);
            stamp.Parameters.AddWithValue("$c", state.Id);
            stamp.ExecuteNonQuery();
            var point = WriteCommand("INSERT INTO store_meta(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
            point.Parameters.AddWithValue("$k", CompactedKey(state.Id));
            point.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
            point.ExecuteNonQuery();

            if (state.Arena is { } arena)
            {
                // Rows are copied as stored (already normalized for cosine).
                using var fresh = VectorArena.Create(tempPath, arena.Dimension, Math.Max(count, 1024));
                for (var slot = 0; slot < count; slot++)
                {
                    if (IsLive(state, slot))
                    {
                        fresh.Write(slot, arena.GetRow(slot));
                    }
                }

                for (var i = 0; i < movers.Count; i++)
                {
                    fresh.Write(holes[i], arena.GetRow(movers[i]));
                }

                fresh.Checkpoint(seq, Owner(state, chain));
                haveArena = true;
            }
        }
        catch
        {
            tx?.Dispose();
            TryDelete(tempPath);
            throw;
        }
        finally
        {
            state.Lock.ExitReadLock();
        }

        // The graph numbers nodes by slot: drop it before the slots change (queries scan exactly for a moment).
        state.Indexer?.Detach();
        state.Lock.EnterWriteLock();
        try
        {
            try
            {
                tx!.Commit();
            }
            catch
            {
                // Nothing changed; the detached graph is rebuilt on the next load.
                state.ArenaInvalid = true;
                TryDelete(tempPath);
                throw;
            }
            finally
            {
                tx!.Dispose();
            }

            state.LastSeq = seq;
            state.LastChain = chain;
            state.CompactedSeq = seq;
            var bits = new ulong[Math.Max(1, (count + 63) >> 6)];
            for (var slot = 0; slot < count; slot++)
            {
                bits[slot >> 6] |= 1UL << slot;
            }

            state.Live = bits;
            state.FreeSlots.Clear();
            state.NextSlot = count;

            // The in-memory filter index is keyed by slot: drop it, the next filtered query rebuilds it over the new slots.
            state.FilterIndex = null;
            state.Arena?.Dispose();
            state.Arena = null;
            try
            {
                TryDelete(GraphPath(state.Uuid));
                if (haveArena)
                {
                    File.Move(tempPath, arenaPath, overwrite: true);
                    state.Arena = VectorArena.TryOpen(arenaPath, state.Dimension!.Value, seq, Owner(state, chain));
                }
            }
            catch (IOException)
            {
                // SQLite is committed; the arena is derived and rebuilt from it below.
            }

            if (state.Dimension is not null && state.Arena is null)
            {
                state.ArenaInvalid = true;
                EnsureLoaded(state);
            }
            else if (state.Arena is not null)
            {
                var connection = Db.Rent();
                try
                {
                    state.Indexer?.Attach(state.Arena, connection);
                }
                finally
                {
                    Db.Return(connection);
                }
            }
        }
        finally
        {
            state.Lock.ExitWriteLock();
        }

        return (slotsBefore, moved);
    }

    /// <summary>Gives SQLite's free pages back to the file system and truncates the WAL. Store write lock held.</summary>
    private void ShrinkDatabase(bool convert)
    {
        using var command = Db.Writer.CreateCommand();
        command.CommandText = "PRAGMA auto_vacuum";
        var mode = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (mode == 2)
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

    internal static string CompactedKey(long collectionId) => "compacted:" + collectionId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The compaction point of a collection (0: never compacted).</summary>
    internal static long ReadCompactedSeq(SqliteConnection connection, long collectionId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM store_meta WHERE key = $k";
        command.Parameters.AddWithValue("$k", CompactedKey(collectionId));
        return command.ExecuteScalar() is string value ? long.Parse(value, CultureInfo.InvariantCulture) : 0;
    }

    private static bool IsLive(CollectionState state, int slot) => (slot >> 6) < state.Live.Length && (state.Live[slot >> 6] & (1UL << slot)) != 0;

    private static void TryDelete(string path) => Engine.StoreFolder.TryDelete(path);
}
