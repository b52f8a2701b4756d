using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

// Bringing a collection's derived state (liveness, free slots, vector arena, graph) into memory on first use.
internal sealed partial class CollectionEngine
{
    /// <summary>
    /// Loads the collection's slot map from SQLite and maps its arena; the arena is rebuilt from SQLite's
    /// embeddings only when it is missing, unclean, stamped for another sequence number, or fails its checksum.
    /// Caller holds the collection lock (read or write); loading itself is serialized on the State.
    /// </summary>
    public void EnsureLoaded()
    {
        if (State.Loaded && !State.ArenaInvalid)
        {
            return;
        }

        lock (State)
        {
            if (State.Loaded && !State.ArenaInvalid)
            {
                return;
            }

            var step = System.Diagnostics.Stopwatch.GetTimestamp();
            _store.Folder.EnsureDerivedPaths(State.Uuid, _store.Limits.TimeProvider, _store.Limits.Logger);
            var connection = Db.Rent();
            try
            {
                // The arena's header is checked now and its rows' checksum (a read of every row) on another core while
                // the slots and the saved graph load: the three are independent, and nothing uses a row before the
                // checksum has passed (the graph is bound, and its worker started, only after).
                VectorArena? arena = null;
                string? problem = "was left invalid by a failed write";
                Task<string?>? verification = null;
                try
                {
                    if (State.Dimension is { } dimension && !State.ArenaInvalid)
                    {
                        State.Arena?.Dispose();
                        State.Arena = null;
                        arena = VectorArena.TryOpen(_store.Folder.ArenaPath(State.Uuid), dimension, State.LastSeq, Owner(State.LastChain), verifyRows: false, out problem);
                        if (arena is not null)
                        {
                            // A quantized collection reads its float32 rows with positional I/O (see VectorArena.Cold).
                            arena.Cold = State.Configuration.VectorStorage != VectorStorage.Float32;
                        }

                        verification = arena is null ? null : Task.Run(arena.VerifyRows);
                    }

                    step = OpenTrace.Step("load.arena_open", step);

                    if (!State.Loaded)
                    {
                        LoadSlots(connection);
                        State.CompactedSeq = Compactor.ReadCompactedSeq(connection, State.Id);

                        // A compaction killed before its commit leaves its unfinished arena behind: discard it.
                        StoreFolder.TryDelete(_store.Folder.CompactionTempPath(State.Uuid));
                        step = OpenTrace.Step("load.slots", step);
                    }

                    State.Indexer ??= new VectorIndexer(State, _store.Folder.GraphPath(State.Uuid), _store.Limits.HnswThreshold, Owner, _store.Limits.Logger);
                    if (State.Dimension is { } dim)
                    {
                        var path = _store.Folder.ArenaPath(State.Uuid);
                        if (arena is not null && arena.SlotCount < State.NextSlot)
                        {
                            problem = "holds fewer rows than the database";
                            verification!.Wait();
                            arena.Dispose();
                            arena = null;
                        }

                        if (arena is not null && State.Configuration.VectorStorage != VectorStorage.Float32)
                        {
                            LoadCompactRows(arena);
                            step = OpenTrace.Step("load.compact_rows", step);
                        }

                        var preloaded = arena is null ? null : State.Indexer.Preload(arena, connection);
                        step = OpenTrace.Step("load.graph", step);
                        if (verification is not null && arena is not null && verification.GetAwaiter().GetResult() is { } damage)
                        {
                            problem = damage;
                            preloaded?.Graph.Dispose();
                            preloaded = null;
                            arena.Dispose();
                            arena = null;
                        }

                        if (arena is null)
                        {
                            State.Arena?.Dispose();
                            State.Arena = null;
                            StoreLog.ArenaRebuilt(_store.Limits.Logger, State.Name, path, problem ?? "could not be used");
                        }

                        step = OpenTrace.Step("load.arena_checksum_wait", step);
                        State.Arena = arena ?? RebuildArena(connection, path, dim, Owner(State.LastChain));
                        State.ArenaInvalid = false;
                        step = OpenTrace.Step("load.arena_rebuild", step);
                        State.Indexer.Attach(State.Arena, connection, preloaded);
                        OpenTrace.Step("load.attach_replay", step);
                    }
                }
                catch when (arena is not null && !ReferenceEquals(arena, State.Arena))
                {
                    // Failed before the arena was handed over: let the checksum finish reading it, then unmap it.
                    ((IAsyncResult?)verification)?.AsyncWaitHandle.WaitOne();
                    arena.Dispose();
                    throw;
                }

                State.Loaded = true;
            }
            finally
            {
                Db.Return(connection);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per open, over every record
    private void LoadSlots(SqliteConnection connection)
    {
        // Most collections are dense (no slot freed since the last compaction, or every freed slot reused): SQLite then
        // counts the slots and finds the highest one over its (collection, slot) index without a row reaching .NET, and
        // the bitmap is filled whole. Otherwise every slot is read.
        using (var dense = connection.CreateCommand())
        {
            dense.CommandText = "SELECT count(*), min(slot), max(slot) FROM records WHERE collection_id = $c";
            dense.Parameters.AddWithValue("$c", State.Id);
            using var counts = dense.ExecuteReader();
            counts.Read();
            var records = counts.GetInt32(0);
            var lowest = counts.IsDBNull(1) ? 0 : counts.GetInt64(1);
            var highest = counts.IsDBNull(2) ? -1 : counts.GetInt64(2);
            if (lowest == 0 && highest + 1 == records)
            {
                var bits = new ulong[(records + 63) / 64];
                Array.Fill(bits, ulong.MaxValue);
                if (records % 64 != 0)
                {
                    bits[^1] = (1UL << (records % 64)) - 1;
                }

                State.Live = bits;
                State.Count = records;
                State.NextSlot = records;
                State.FreeSlots.Clear();
                return;
            }
        }

        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot FROM records WHERE collection_id = $c";
        command.Parameters.AddWithValue("$c", State.Id);
        using var reader = command.ExecuteReader();
        var max = -1;
        var count = 0;
        while (reader.Read())
        {
            var slot = reader.GetInt32(0);
            State.SetLive(slot, true);
            max = Math.Max(max, slot);
            count++;
        }

        State.Count = count;
        State.NextSlot = max + 1;
        State.FreeSlots.Clear();
        for (var slot = State.NextSlot - 1; slot >= 0; slot--)
        {
            if (!State.IsLive(slot))
            {
                State.FreeSlots.Push(slot);
            }
        }
    }

    /// <summary>
    /// Installs the saved compact rows of a quantized collection in <paramref name="arena"/> (opened clean at the
    /// collection's last write) when its file (<see cref="CompactRowsFile"/>) is current: no encoding pass over the arena,
    /// and int8 keeps its trained ranges. Otherwise (logged when the file exists) they are derived from the arena on first use.
    /// </summary>
    private void LoadCompactRows(VectorArena arena)
    {
        var path = _store.Folder.CompactRowsPath(State.Uuid);
        CompactRowsFile.Delete(path + ".tmp"); // A save killed before its rename.
        var rows = CompactRowsFile.TryLoad(path, State.Configuration.VectorStorage, arena.Dimension, arena.SlotCount, arena.CompactCapacity, State.LastSeq, Owner(State.LastChain), out var problem);
        if (problem is not null)
        {
            StoreLog.CompactRowsRebuilt(_store.Limits.Logger, State.Name, path, problem);
        }

        if (rows is not null)
        {
            arena.UseStorage(State.Configuration.VectorStorage, rows);
        }
    }

    /// <summary>
    /// Saves the compact rows of a quantized collection beside its arena (best effort, after the arena's checkpoint), unless
    /// the file already holds them at the last write. Caller holds the collection's write lock.
    /// </summary>
    private void SaveCompactRows(VectorArena arena)
    {
        var path = _store.Folder.CompactRowsPath(State.Uuid);
        object? rows = (object?)arena.Compact ?? arena.Codes;
        var saved = arena.Compact?.SavedStamp ?? arena.Codes?.SavedStamp;
        if (rows is null || arena.IsScratch || (saved == State.LastSeq && File.Exists(path)))
        {
            return;
        }

        SaveDerived(path, () =>
        {
            CompactRowsFile.Save(rows, path, State.LastSeq, Owner(State.LastChain));
            if (arena.Compact is { } half)
            {
                half.SavedStamp = State.LastSeq;
            }
            else if (arena.Codes is { } codes)
            {
                codes.SavedStamp = State.LastSeq;
            }
        });
    }

    private VectorArena RebuildArena(SqliteConnection connection, string path, int dimension, byte[] owner)
    {
        OwnerOnly.CreateFolder(System.IO.Path.GetDirectoryName(path)!);
        var capacity = Math.Max(State.NextSlot, VectorArena.MinCapacity);
        VectorArena arena;
        try
        {
            arena = VectorArena.Create(path, dimension, capacity);
        }
        catch (IOException ex) when (StorageErrors.IsOutOfSpace(ex, System.IO.Path.GetDirectoryName(path)!))
        {
            // The store's disk is full: reads must not need space. The arena is derived, so it is built outside the store
            // folder (memory-backed where the system has it), used until close, then deleted; a later open with space
            // rebuilds the store's own file. Writes meanwhile fail on the full disk as any write would.
            var scratch = ScratchFolder();
            arena = VectorArena.CreateScratch(scratch, State.Uuid, dimension, capacity);
            StoreLog.ArenaOutsideStore(_store.Limits.Logger, State.Name, path, scratch, StorageErrors.Map(ex, path).Message);
        }

        // A quantized collection reads and writes its float32 rows with positional I/O (see VectorArena.Cold).
        arena.Cold = State.Configuration.VectorStorage != VectorStorage.Float32;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot, embedding, id, vsum FROM records WHERE collection_id = $c";
        command.Parameters.AddWithValue("$c", State.Id);
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var slot = reader.GetInt32(0);
                if (slot < 0 || slot >= State.NextSlot || !State.IsLive(slot))
                {
                    throw RecordChecksum.Mismatch(State.Name, reader.GetString(2), $"slot number ({slot})");
                }

                var blob = (byte[])reader.GetValue(1);
                RecordChecksum.VerifyVector(State, reader.GetString(2), blob, reader.GetInt64(3));
                arena.WriteVector(slot, MemoryMarshal.Cast<byte, float>(blob), State.Configuration.Space);
            }
        }
        catch
        {
            arena.Dispose();
            throw;
        }

        arena.Checkpoint(State.LastSeq, owner);
        return arena;
    }

    /// <summary>Where a stand-in arena goes when the store's disk is full: <c>/dev/shm</c> (memory) on Linux, else the temp folder.</summary>
    private static string ScratchFolder() =>
        OperatingSystem.IsLinux() && Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
}
