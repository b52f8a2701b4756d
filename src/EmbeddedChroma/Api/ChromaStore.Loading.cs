using System.Runtime.InteropServices;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma;

// Bringing a collection's derived state (liveness, free slots, vector arena) into memory on first use.
public sealed partial class ChromaStore
{
    /// <summary>
    /// Loads the collection's slot map from SQLite and maps its arena; the arena is rebuilt from SQLite's
    /// embeddings only when it is missing, unclean, stamped for another sequence number, or fails its checksum.
    /// Caller holds the collection lock (read or write); loading itself is serialized on the state.
    /// </summary>
    internal void EnsureLoaded(CollectionState state)
    {
        if (state.Loaded && !state.ArenaInvalid)
        {
            return;
        }

        lock (state)
        {
            if (state.Loaded && !state.ArenaInvalid)
            {
                return;
            }

            _folder.EnsureDerivedPaths(state.Uuid, Options.TimeProvider, Options.Logger);
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
                    if (state.Dimension is { } dimension && !state.ArenaInvalid)
                    {
                        state.Arena?.Dispose();
                        state.Arena = null;
                        arena = VectorArena.TryOpen(ArenaPath(state.Uuid), dimension, state.LastSeq, Owner(state, state.LastChain), verifyRows: false, out problem);
                        verification = arena is null ? null : Task.Run(arena.VerifyRows);
                    }

                    if (!state.Loaded)
                    {
                        LoadSlots(state, connection);
                        state.CompactedSeq = ReadCompactedSeq(connection, state.Id);

                        // A compaction killed before its commit leaves its unfinished arena behind: discard it.
                        Engine.StoreFolder.TryDelete(_folder.CompactionTempPath(state.Uuid));
                    }

                    state.Indexer ??= new VectorIndexer(state, GraphPath(state.Uuid), Options.HnswThreshold, chain => Owner(state, chain), Options.Logger);
                    if (state.Dimension is { } dim)
                    {
                        var path = ArenaPath(state.Uuid);
                        if (arena is not null && arena.SlotCount < state.NextSlot)
                        {
                            problem = "holds fewer rows than the database";
                            verification!.Wait();
                            arena.Dispose();
                            arena = null;
                        }

                        var preloaded = arena is null ? null : state.Indexer.Preload(arena, connection);
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
                            state.Arena?.Dispose();
                            state.Arena = null;
                            Internal.StoreLog.ArenaRebuilt(Options.Logger, state.Name, path, problem ?? "could not be used");
                        }

                        state.Arena = arena ?? RebuildArena(state, connection, path, dim, Owner(state, state.LastChain));
                        state.ArenaInvalid = false;
                        state.Indexer.Attach(state.Arena, connection, preloaded);
                    }
                }
                catch when (arena is not null && !ReferenceEquals(arena, state.Arena))
                {
                    // Failed before the arena was handed over: let the checksum finish reading it, then unmap it.
                    ((IAsyncResult?)verification)?.AsyncWaitHandle.WaitOne();
                    arena.Dispose();
                    throw;
                }

                state.Loaded = true;
            }
            finally
            {
                Db.Return(connection);
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // once per open, over every record
    private static void LoadSlots(CollectionState state, Microsoft.Data.Sqlite.SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot FROM records WHERE collection_id = $c";
        command.Parameters.AddWithValue("$c", state.Id);
        using var reader = command.ExecuteReader();
        var max = -1;
        var count = 0;
        while (reader.Read())
        {
            var slot = reader.GetInt32(0);
            state.SetLive(slot, true);
            max = Math.Max(max, slot);
            count++;
        }

        state.Count = count;
        state.NextSlot = max + 1;
        state.FreeSlots.Clear();
        for (var slot = state.NextSlot - 1; slot >= 0; slot--)
        {
            if ((state.Live[slot >> 6] & (1UL << slot)) == 0)
            {
                state.FreeSlots.Push(slot);
            }
        }
    }

    private static VectorArena RebuildArena(CollectionState state, Microsoft.Data.Sqlite.SqliteConnection connection, string path, int dimension, byte[] owner)
    {
        Internal.OwnerOnly.CreateFolder(System.IO.Path.GetDirectoryName(path)!);
        var arena = VectorArena.Create(path, dimension, Math.Max(state.NextSlot, 1024));
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot, embedding, id, vsum FROM records WHERE collection_id = $c";
        command.Parameters.AddWithValue("$c", state.Id);
        try
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var slot = reader.GetInt32(0);
                if (slot < 0 || slot >= state.NextSlot || (state.Live[slot >> 6] & (1UL << slot)) == 0)
                {
                    throw RecordChecksum.Mismatch(state.Name, reader.GetString(2), $"slot number ({slot})");
                }

                var blob = (byte[])reader.GetValue(1);
                RecordChecksum.VerifyVector(state, reader.GetString(2), blob, reader.GetInt64(3));
                arena.WriteVector(slot, MemoryMarshal.Cast<byte, float>(blob), state.Configuration.Space);
            }
        }
        catch
        {
            arena.Dispose();
            throw;
        }

        arena.Checkpoint(state.LastSeq, owner);
        return arena;
    }

    /// <summary>
    /// Checks every record's stored fields against their checksums (<see cref="RecordChecksum"/>); throws
    /// <see cref="ChromaCorruptStoreException"/> naming the first damaged records. Caller holds the store's write lock.
    /// </summary>
    internal void VerifyRecords()
    {
        var names = _collections.Values.ToDictionary(c => c.Id, c => c.Name);
        var damaged = new List<string>();
        var total = 0;
        var connection = Db.Rent();
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT collection_id, id, document, metadata, psum, embedding, vsum FROM records";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(1);
                string? what = null;
                if (RecordChecksum.Payload(id, reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)) != reader.GetInt64(4))
                {
                    what = "document or metadata";
                }
                else if (RecordChecksum.Vector(id, (byte[])reader.GetValue(5)) != reader.GetInt64(6))
                {
                    what = "embedding";
                }

                if (what is not null && total++ < 5)
                {
                    var collection = names.TryGetValue(reader.GetInt64(0), out var name) ? name : $"#{reader.GetInt64(0)}";
                    damaged.Add($"collection '{RecordChecksum.Printable(collection)}', record '{RecordChecksum.Printable(id)}': damaged {what}");
                }
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex) when (Storage.SqliteDb.IsCorruption(ex))
        {
            throw Db.Corrupt(ex);
        }
        finally
        {
            Db.Return(connection);
        }

        if (total > 0)
        {
            throw new ChromaCorruptStoreException(
                $"The store is corrupt: {total} record(s) in '{Db.Path}' fail their checksums ({string.Join("; ", damaged)}). " +
                "Restore the store folder from a backup; the store cannot be trusted as it is.");
        }
    }
}
