using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

// Slot compaction: renumbering the live records into a dense slot range and rewriting the arena (see Compactor for the
// store-level steps and the crash-safety argument).
internal sealed partial class CollectionEngine
{
    /// <summary>
    /// Moves the live slots at or above the live count into the freed slots below it, in one write transaction that also
    /// takes a new sequence number for the collection and records it as the compaction point, and writes the new arena to a
    /// temporary file; then, under the write lock, commits, swaps the arena in and re-attaches the graph (rebuilt in the
    /// background). Caller holds the store's write lock.
    /// </summary>
    /// <returns>The slot count before, and how many records moved.</returns>
    /// <remarks>
    /// <paramref name="progress"/> counts the records moved in SQLite, then the rows copied into the new arena; its token
    /// is checked between them and once more before the commit: a cancelled compaction rolls back and deletes its
    /// temporary arena, so nothing changed. After the commit it runs to its end.
    /// </remarks>
    public (int SlotsBefore, int Moved) CompactSlots(ProgressReporter? progress = null)
    {
        var session = _store.Session;
        var arenaPath = _store.Folder.ArenaPath(State.Uuid);
        var tempPath = _store.Folder.CompactionTempPath(State.Uuid);
        WriteSession.Transaction? tx = null;
        var haveArena = false;
        long seq;
        long chain;
        int count;
        int slotsBefore;
        int moved;
        State.Lock.EnterReadLock();
        try
        {
            EnsureLoaded();
            count = State.Count;
            slotsBefore = State.NextSlot;
            if (slotsBefore == count && (State.Arena is null || State.Arena.Capacity <= Math.Max((long)VectorArena.MinCapacity, 2L * count)))
            {
                // Dense already: nothing to move, nothing to give back.
                return (slotsBefore, 0);
            }

            // Two pointers: the live slots at or above `count` fill the freed slots below it, lowest first.
            var holes = new List<int>();
            var movers = new List<int>();
            for (var slot = 0; slot < slotsBefore; slot++)
            {
                var live = IsLive(slot);
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
            progress?.Start(movers.Count + (State.Arena is null ? 0 : count));
            tx = session.Begin();
            seq = session.NextSeq();
            chain = session.CurrentChain;
            var update = session.WriteCommand("UPDATE records SET slot = $to WHERE collection_id = $c AND slot = $from");
            var to = update.Parameters.Add("$to", SqliteType.Integer);
            var from = update.Parameters.Add("$from", SqliteType.Integer);
            update.Parameters.AddWithValue("$c", State.Id);
            for (var i = 0; i < movers.Count; i++)
            {
                to.Value = holes[i];
                from.Value = movers[i];
                if (update.ExecuteNonQuery() != 1)
                {
                    throw new InvalidOperationException($"Compaction of '{Echo.Text(State.Name)}': slot {movers[i]} holds no record in SQLite.");
                }

                progress?.Advance(i + 1);
            }

            var stamp = session.WriteCommand("UPDATE collections SET last_seq = $s WHERE id = $c");
            stamp.Parameters.AddWithValue("$s", seq);
            stamp.Parameters.AddWithValue("$c", State.Id);
            stamp.ExecuteNonQuery();
            var point = session.WriteCommand("INSERT INTO store_meta(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
            point.Parameters.AddWithValue("$k", Compactor.CompactedKey(State.Id));
            point.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
            point.ExecuteNonQuery();

            if (State.Arena is { } arena)
            {
                // Rows are copied as stored (already normalized for cosine).
                long copied = moved;
                using var fresh = VectorArena.Create(tempPath, arena.Dimension, Math.Max(count, VectorArena.MinCapacity));
                fresh.Cold = arena.Cold;
                for (var slot = 0; slot < count; slot++)
                {
                    if (IsLive(slot))
                    {
                        fresh.Write(slot, arena.GetRow(slot));
                        progress?.Advance(++copied);
                    }
                }

                for (var i = 0; i < movers.Count; i++)
                {
                    fresh.Write(holes[i], arena.GetRow(movers[i]));
                    progress?.Advance(++copied);
                }

                fresh.Checkpoint(seq, Owner(chain));
                haveArena = true;
            }

            // The last point where a cancellation rolls the compaction back; past it the commit runs to its end.
            progress?.ThrowIfCancellationRequested();
        }
        catch
        {
            tx?.Dispose();
            StoreFolder.TryDelete(tempPath);
            throw;
        }
        finally
        {
            State.Lock.ExitReadLock();
        }

        // The graph numbers nodes by slot: drop it before the slots change (queries scan exactly for a moment).
        State.Indexer?.Detach();
        State.Lock.EnterWriteLock();
        try
        {
            try
            {
                tx!.Commit();
            }
            catch
            {
                // Nothing changed; the detached graph is rebuilt on the next load.
                State.ArenaInvalid = true;
                StoreFolder.TryDelete(tempPath);
                throw;
            }
            finally
            {
                tx!.Dispose();
            }

            State.LastSeq = seq;
            State.LastChain = chain;
            State.CompactedSeq = seq;
            State.Live = SlotBitmap.Dense(count);
            State.FreeSlots.Clear();
            State.NextSlot = count;

            // The in-memory filter index is keyed by slot: drop it, the next filtered read rebuilds it over the new slots
            // (the saved file describes the old slots: not worth reading).
            State.FilterIndex = null;
            State.FilterIndexFileTried = true;
            State.Arena?.Dispose();
            State.Arena = null;
            try
            {
                StoreFolder.TryDelete(_store.Folder.GraphPath(State.Uuid));
                StoreFolder.TryDelete(_store.Folder.CompactRowsPath(State.Uuid));
                if (haveArena)
                {
                    File.Move(tempPath, arenaPath, overwrite: true);
                    State.Arena = VectorArena.TryOpen(arenaPath, State.Dimension!.Value, seq, Owner(chain));
                    if (State.Arena is not null)
                    {
                        State.Arena.Cold = State.Configuration.VectorStorage != VectorStorage.Float32;
                    }
                }
            }
            catch (IOException)
            {
                // SQLite is committed; the arena is derived and rebuilt from it below.
            }

            if (State.Dimension is not null && State.Arena is null)
            {
                State.ArenaInvalid = true;
                EnsureLoaded();
            }
            else if (State.Arena is not null)
            {
                var connection = Db.Rent();
                try
                {
                    State.Indexer?.Attach(State.Arena, connection);
                }
                finally
                {
                    Db.Return(connection);
                }
            }
        }
        finally
        {
            State.Lock.ExitWriteLock();
        }

        return (slotsBefore, moved);
    }

    /// <summary>
    /// The last step of a compaction: a collection that keeps filter rows (<see cref="CollectionState.FilterRowsKept"/>: one
    /// written before collections stopped keeping them, or while the in-memory filter index was disabled) stops keeping
    /// them when that index answers its <c>where</c> now — enabled, and within its budget once loaded or built over the
    /// compacted slots. The rows are deleted and the mark set in one write transaction; the flag flips after the commit,
    /// so the next batches skip the rows. A read that must later filter in SQL (index disabled or over budget) derives
    /// them again from the records (<see cref="DeriveFilterRows"/>). A damaged record leaves the rows as they are (a
    /// filtered read reports it). Caller holds the store's write lock.
    /// </summary>
    /// <returns>True when the rows were dropped.</returns>
    public bool StopKeepingUnreadFilterRows()
    {
        State.Lock.EnterReadLock();
        try
        {
            if (State.Deleted || !State.FilterRowsKept || !FilterIndexUsable || Db.ReadOnly)
            {
                return false;
            }

            EnsureLoaded();
            try
            {
                if (FilterIndex(Db.Writer, null) is null)
                {
                    return false; // Over budget: the rows answer `where`.
                }
            }
            catch (ChromaCorruptStoreException)
            {
                return false;
            }
        }
        finally
        {
            State.Lock.ExitReadLock();
        }

        try
        {
            _store.Session.Run(
                () =>
                {
                    FilterRows.StopKeeping(Db.Writer, Db.CurrentTransaction!, State.Id);
                    return 0;
                },
                // Under the collection's write lock: no reader is between a check of the flag and its statement.
                _ =>
                {
                    State.FilterRowsKept = false;
                    State.FilterRowsVerified = false;
                },
                State.Lock);
            return true;
        }
        catch (Exception ex) when (ex is ChromaStorageFullException or ChromaReadOnlyException)
        {
            // Rolled back: the rows are kept as before; the next compaction tries again.
            return false;
        }
    }

    private bool IsLive(int slot) => State.IsLive(slot);
}
