using System.Runtime.InteropServices;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>The derived data of a collection that <c>ChromaClient.VerifyIntegrity</c> checks.</summary>
internal enum DerivedKind
{
    VectorArena,
    HnswGraph,
    FilterIndex,
    FilterRows,
}

/// <summary>What the check of one kind of derived data found.</summary>
internal enum DerivedOutcome
{
    /// <summary>Present and equal to what the records derive.</summary>
    Checked,

    /// <summary>Found different from the records (or its file damaged) and rebuilt.</summary>
    Repaired,

    /// <summary>Not there, legitimately (the detail says why).</summary>
    Absent,

    /// <summary>A saved file of the store folder found damaged and left as it is: the store was opened read-only.</summary>
    Damaged,
}

/// <summary>One line of the integrity report: a kind of derived data, the outcome, and why (for a repair: what was wrong).</summary>
internal readonly record struct DerivedFinding(DerivedKind Kind, DerivedOutcome Outcome, string Detail);

// ChromaClient.VerifyIntegrity's check of the derived data (vector arena, HNSW graph, filter index) against the records:
// what differs is rebuilt from SQLite, the source of truth, and reported.
internal sealed partial class CollectionEngine
{
    /// <summary>
    /// Compares the collection's derived data, in memory and in its files, with its records (whose checksums the caller
    /// has verified): the arena's rows bitwise with the embeddings (normalized for cosine, as written) and its header; the
    /// graph's structure, its nodes against the live records (linked or pending, deleted or marked), and its saved file;
    /// the filter index against one built afresh from the records, and its saved file. What differs is rebuilt (Warning,
    /// event 50) and reported. Holds the store's write lock and this collection's write lock meanwhile.
    /// </summary>
    public List<DerivedFinding> VerifyDerived(CancellationToken cancellationToken)
    {
        lock (Db.WriteLock)
        {
            _store.Session.ThrowIfClosed();
            ThrowIfDeleted();

            // What an open would find in the files, checked before this call loads the collection (the load rebuilds
            // what it cannot use, and the report says so).
            var loadProblem = State.Dimension is not { } dimension ? null
                : State.ArenaInvalid ? "was left invalid by a failed write"
                : State.Loaded || _store.Folder.ReadOnly ? null // A read-only open always builds its arena in a scratch folder.
                : ArenaFileProblemBeforeLoad(dimension);
            State.Lock.EnterWriteLock();
            try
            {
                lock (State)
                {
                    return Db.Guard(() =>
                    {
                        EnsureLoaded();
                        var connection = Db.Rent();
                        try
                        {
                            var findings = new List<DerivedFinding>(3)
                            {
                                VerifyArena(connection, loadProblem, cancellationToken),
                            };
                            cancellationToken.ThrowIfCancellationRequested();
                            findings.Add(VerifyGraph(connection));
                            cancellationToken.ThrowIfCancellationRequested();
                            findings.Add(VerifyFilterIndex(connection));
                            return findings;
                        }
                        finally
                        {
                            Db.Return(connection);
                        }
                    });
                }
            }
            finally
            {
                State.Lock.ExitWriteLock();
            }
        }
    }

    /// <summary>Why the arena file of a collection not loaded yet would be rebuilt by its load (null: it would be used).</summary>
    private string? ArenaFileProblemBeforeLoad(int dimension)
    {
        var path = _store.Folder.ArenaPath(State.Uuid);
        using var arena = VectorArena.TryOpen(path, dimension, State.LastSeq, Owner(State.LastChain), verifyRows: true, out var problem);
        return problem;
    }

    private DerivedFinding VerifyArena(SqliteConnection connection, string? loadProblem, CancellationToken cancellationToken)
    {
        if (State.Dimension is not { } dimension || State.Arena is not { } arena)
        {
            return new(DerivedKind.VectorArena, DerivedOutcome.Absent, "no embeddings yet");
        }

        var path = _store.Folder.ArenaPath(State.Uuid);
        var problem = RowsProblem(connection, arena, cancellationToken)
            ?? arena.VerifyHeader(State.LastSeq, stamp => Owner(stamp == State.LastSeq ? State.LastChain : StoreIdentity.ChainAt(connection, stamp)));
        if (problem is null)
        {
            var detail = $"{State.Count} rows equal the records' embeddings" + (arena.IsScratch ? " (a stand-in outside the store folder for this open: its disk was full)" : string.Empty);
            var compact = VerifyCompactRows(arena);
            if (compact.Repaired is not null)
            {
                loadProblem = loadProblem is null ? null : $"the file {loadProblem}: rebuilt from the records when the collection loaded";
                return new(DerivedKind.VectorArena, DerivedOutcome.Repaired, string.Join("; ", new[] { loadProblem, compact.Repaired, detail }.Where(part => part is not null)));
            }

            detail += compact.Detail;
            return loadProblem is null
                ? new(DerivedKind.VectorArena, DerivedOutcome.Checked, detail)
                : new(DerivedKind.VectorArena, DerivedOutcome.Repaired, $"the file {loadProblem}: rebuilt from the records when the collection loaded; {detail}");
        }

        StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "vector arena", path, problem, "rebuilt it from the records");
        StoreFolder.TryDelete(_store.Folder.CompactRowsPath(State.Uuid)); // Derived again from the rebuilt rows, saved on close.

        // The slot map is derived too: loaded again with the arena, then the graph re-binds (it keeps a sound saved file).
        // Marked unloaded meanwhile, so a failure (a damaged record) leaves the next use to load everything again.
        State.Loaded = false;
        State.ArenaInvalid = true;
        State.Arena = null;
        arena.Dispose();
        State.Live = [];
        LoadSlots(connection);
        State.Arena = RebuildArena(connection, path, dimension, Owner(State.LastChain));
        State.ArenaInvalid = false;
        State.Loaded = true;
        State.FilterCache.Clear();
        State.Indexer?.Attach(State.Arena, connection);
        return new(DerivedKind.VectorArena, DerivedOutcome.Repaired, $"the arena {problem}: rebuilt from the records ({State.Count} rows)");
    }

    /// <summary>
    /// The compact rows of a quantized collection (in memory: every live row against what its float32 row encodes to with
    /// the trained ranges, re-encoded in place when it differs; on disk: the saved file, deleted and saved again when it is
    /// damaged or answers otherwise). Returns what was repaired (null: nothing) and a detail for a sound check.
    /// </summary>
    private (string? Repaired, string Detail) VerifyCompactRows(VectorArena arena)
    {
        var path = _store.Folder.CompactRowsPath(State.Uuid);
        var repairs = new List<string>();
        if (arena.Compact is not null || arena.Codes is not null)
        {
            var differing = 0;
            var first = -1;
            for (var slot = 0; slot < arena.SlotCount; slot++)
            {
                if (!State.IsLive(slot))
                {
                    continue;
                }

                var row = arena.GetRow(slot);
                if (arena.Codes is { } codes ? !codes.Matches(slot, row) : !arena.Compact!.Matches(slot, row))
                {
                    differing++;
                    first = first < 0 ? slot : first;
                    arena.Codes?.Write(slot, row);
                    arena.Compact?.Write(slot, row);
                }
            }

            if (differing > 0)
            {
                var problem = $"{differing} compact row(s) in memory (first: slot {first}) differed from the float32 rows";
                StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "compact rows", path, problem, "encoded them again");
                repairs.Add(problem + ": encoded again");
                MarkCompactRowsUnsaved(arena);
            }
        }

        if (!_store.Limits.ReadOnly && File.Exists(path) && CompactRowsFileProblem(arena, path) is { } fileProblem)
        {
            StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "compact rows file", path, fileProblem, "replaced it");
            StoreFolder.TryDelete(path);
            MarkCompactRowsUnsaved(arena);
            SaveCompactRows(arena);
            repairs.Add($"the saved compact rows file {fileProblem}: " + (File.Exists(path) ? "saved again from the rows in memory" : "deleted (saved again on close)"));
        }
        else if (repairs.Count > 0)
        {
            SaveCompactRows(arena);
        }

        var kind = arena.Codes is not null ? "int8" : arena.Compact is not null ? "float16" : null;
        return (repairs.Count == 0 ? null : string.Join("; ", repairs),
            kind is null ? string.Empty : $"; the {kind} compact rows encode them" + (File.Exists(path) ? " and their saved file is sound" : string.Empty));
    }

    private static void MarkCompactRowsUnsaved(VectorArena arena)
    {
        if (arena.Codes is { } codes)
        {
            codes.SavedStamp = null;
        }

        if (arena.Compact is { } half)
        {
            half.SavedStamp = null;
        }
    }

    /// <summary>Why the saved compact rows would be rejected or differ from those in memory (null: sound, or only older than the last write).</summary>
    private string? CompactRowsFileProblem(VectorArena arena, string path)
    {
        if (CompactRowsFile.ReadStamp(path) is not { } stamp)
        {
            return "has a damaged header, is truncated or of an unknown format";
        }

        if (stamp > State.LastSeq)
        {
            return $"is newer than the database (stamped at write {stamp}, the collection's last write is {State.LastSeq})";
        }

        if (stamp < State.LastSeq || State.Configuration.VectorStorage == VectorStorage.Float32)
        {
            return null; // Older than the last write (or left by a storage change): an open ignores it, the close replaces it.
        }

        var saved = CompactRowsFile.TryLoad(path, State.Configuration.VectorStorage, arena.Dimension, arena.SlotCount, Math.Max(arena.SlotCount, 1), stamp, Owner(State.LastChain), out var problem);
        if (saved is null)
        {
            return problem ?? "could not be read";
        }

        using var loaded = (IDisposable)saved;
        var same = (saved, (object?)arena.Codes ?? arena.Compact) switch
        {
            (ByteRows file, ByteRows memory) => file.Low.SequenceEqual(memory.Low) && file.Step.SequenceEqual(memory.Step) && file.Rows.SameBytes(memory.Rows),
            (HalfRows file, HalfRows memory) => file.Rows.SameBytes(memory.Rows),
            _ => true, // Not derived in memory this open (no graph yet): the file alone was checked.
        };
        return same ? null : "holds other rows than those in memory";
    }

    /// <summary>Every record against its row (bitwise, as <see cref="VectorArena.WriteVector"/> writes it), and the slot map against the records.</summary>
    private string? RowsProblem(SqliteConnection connection, VectorArena arena, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT slot, embedding, id FROM records WHERE collection_id = $c";
        command.Parameters.AddWithValue("$c", State.Id);
        using var reader = command.ExecuteReader();
        var expected = new float[arena.Dimension];
        var records = 0;
        var cosine = State.Configuration.Space == DistanceSpace.Cosine;
        while (reader.Read())
        {
            if ((++records & 1023) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var slot = reader.GetInt32(0);
            var id = reader.GetString(2);
            if (slot < 0 || slot >= arena.SlotCount || !State.IsLive(slot))
            {
                return $"has no live row for record '{RecordChecksum.Printable(id)}' (slot {slot})";
            }

            var vector = MemoryMarshal.Cast<byte, float>((byte[])reader.GetValue(1));
            if (vector.Length != arena.Dimension)
            {
                return $"has another dimension than record '{RecordChecksum.Printable(id)}'";
            }

            if (cosine)
            {
                Distance.VectorMath.Normalize(vector, expected);
            }
            else
            {
                vector.CopyTo(expected);
            }

            if (!MemoryMarshal.AsBytes(arena.GetRow(slot)).SequenceEqual(MemoryMarshal.AsBytes(expected.AsSpan())))
            {
                return $"holds another row than record '{RecordChecksum.Printable(id)}''s embedding (slot {slot})";
            }
        }

        var live = 0;
        foreach (var word in State.Live)
        {
            live += System.Numerics.BitOperations.PopCount(word);
        }

        return records == State.Count && live == records && State.NextSlot <= arena.SlotCount
            ? null
            : $"and the slot map ({State.Count} records, {live} live slots) differ from the records ({records})";
    }

    private DerivedFinding VerifyGraph(SqliteConnection connection)
    {
        var indexer = State.Indexer;
        var path = _store.Folder.GraphPath(State.Uuid);
        if (indexer is null || State.Arena is not { } arena)
        {
            return GraphFileOnly(path, "no embeddings yet");
        }

        var graph = indexer.Graph;
        var problem = graph is null ? null : graph.VerifyStructure() ?? GraphAgainstRecords(graph, indexer);
        if (graph is null && indexer.LastError is not null && State.Count >= _store.Limits.HnswThreshold)
        {
            problem = "was dropped after its background maintenance failed";
        }

        if (problem is not null)
        {
            // Built again from the records (the saved file may hold the same damage): queries scan what is not linked yet.
            StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "HNSW graph", path, problem, "rebuilding it in the background");
            StoreFolder.TryDelete(path);
            indexer.Attach(arena, connection);
            return new(DerivedKind.HnswGraph, DerivedOutcome.Repaired, $"the graph {problem}: rebuilt from the records (in the background; queries scan what is not linked yet exactly)");
        }

        if (indexer.SavedFileProblem(arena, connection) is { } fileProblem)
        {
            // The live graph replaces it when it has linked everything; else the next checkpoint or the close saves it.
            var replace = graph is not null && indexer.PendingCount == 0;
            StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "HNSW graph file", path, fileProblem, replace ? "saved the live graph in its place" : "deleted it");
            StoreFolder.TryDelete(path);
            if (replace)
            {
                SaveDerived(path, indexer.Persist);
            }

            return new(DerivedKind.HnswGraph, DerivedOutcome.Repaired, $"the saved file: {fileProblem}; " + (replace ? "replaced by the live graph" : graph is null ? "deleted" : "deleted (the live graph is saved at its next checkpoint or on close)"));
        }

        if (graph is null)
        {
            return new(DerivedKind.HnswGraph, DerivedOutcome.Absent, $"{State.Count} records, below the graph threshold ({_store.Limits.HnswThreshold}): queries scan exactly");
        }

        var pending = indexer.PendingCount;
        return new(DerivedKind.HnswGraph, DerivedOutcome.Checked, $"{State.Count - pending} records linked, {pending} pending" + (File.Exists(path) ? string.Empty : "; no saved file yet (saved at a checkpoint or on close)"));
    }

    private DerivedFinding GraphFileOnly(string path, string why)
    {
        if (!File.Exists(path))
        {
            return new(DerivedKind.HnswGraph, DerivedOutcome.Absent, why);
        }

        StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "HNSW graph file", path, "belongs to no embeddings of the collection", "deleted it");
        StoreFolder.TryDelete(path);
        return new(DerivedKind.HnswGraph, DerivedOutcome.Repaired, "a graph file was left for a collection without embeddings: deleted");
    }

    /// <summary>Index against records: every live record is linked or pending, every node of a gone record marked deleted or about to be.</summary>
    private string? GraphAgainstRecords(Index.Hnsw.HnswIndex graph, VectorIndexer indexer)
    {
        var pending = indexer.PendingSnapshot().ToHashSet();
        var removed = indexer.RemovedSnapshot().ToHashSet();
        var slots = Math.Max(State.NextSlot, State.Arena?.SlotCount ?? 0);
        for (var slot = 0; slot < slots; slot++)
        {
            var linked = graph.Contains(slot) && !graph.IsDeleted(slot);
            var live = State.IsLive(slot);
            if (live && !linked && !pending.Contains(slot))
            {
                return $"neither links nor queues the record in slot {slot}";
            }

            if (!live && linked && !removed.Contains(slot))
            {
                return $"links slot {slot}, which holds no record, without marking it deleted";
            }
        }

        return null;
    }

    private DerivedFinding VerifyFilterIndex(SqliteConnection connection)
    {
        var path = _store.Folder.FilterIndexPath(State.Uuid);
        var budget = _store.Limits.FilterIndexMemoryBudget;
        var fresh = budget > 0 ? MetadataFilterIndex.TryBuild(connection, null, State, budget) : null;
        var details = new List<string>();
        string? repaired = null;
        string? damaged = null;
        if (State.FilterIndex is { } live && fresh is not null && live.Difference(fresh, State.Live) is { } difference)
        {
            StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "filter index", path, difference, "rebuilt it from the records");
            State.FilterIndex = fresh;
            State.FilterIndexSaved = false;
            State.FilterCache.Clear();
            repaired = $"the index in memory: {difference}; rebuilt from the records";
        }
        else if (State.FilterIndex is not null && fresh is null)
        {
            details.Add("the index in memory outgrew its budget when built afresh");
        }

        if (File.Exists(path) && FilterIndexFileProblem(connection, path, fresh) is { } fileProblem)
        {
            if (!_store.Limits.ReadOnly)
            {
                StoreLog.DerivedRepaired(_store.Limits.Logger, State.Name, "filter index file", path, fileProblem, "replaced it");
                StoreFolder.TryDelete(path);
                if (State.FilterIndex is { } current && FilterIndexFile.Enabled)
                {
                    SaveDerived(path, () =>
                    {
                        FilterIndexFile.Save(current, path, State.LastSeq, Owner(State.LastChain));
                        State.FilterIndexSaved = true;
                    });
                }

                repaired = (repaired is null ? string.Empty : repaired + "; ") + $"the saved file {fileProblem}: " + (File.Exists(path) ? "saved again from the index in memory" : "deleted (the next open builds it from the records)");
            }
            else
            {
                damaged = $"the saved file {fileProblem}";
            }
        }

        if (damaged is not null)
        {
            return new(DerivedKind.FilterIndex, DerivedOutcome.Damaged, (repaired is null ? string.Empty : repaired + "; ") + damaged + "; left as it is: the store was opened read-only (its opens build the index from the records instead)");
        }

        if (repaired is not null)
        {
            return new(DerivedKind.FilterIndex, DerivedOutcome.Repaired, repaired);
        }

        if (budget == 0)
        {
            return new(DerivedKind.FilterIndex, DerivedOutcome.Absent, "disabled (FilterIndexMemoryBudget is 0): filters run in SQL on the checked filter rows");
        }

        if (fresh is null)
        {
            return new(DerivedKind.FilterIndex, DerivedOutcome.Absent, "over its memory budget: filters run in SQL on the checked filter rows");
        }

        details.Insert(0, State.FilterIndex is null ? "not in memory this open (built on the first filtered read); the records' index built afresh" : "the index in memory answers as the records do");
        details.Add(File.Exists(path) ? "its saved file is sound" : "no saved file (saved on close)");
        return new(DerivedKind.FilterIndex, DerivedOutcome.Checked, string.Join("; ", details));
    }

    /// <summary>Why the saved filter index would not be used, or would answer otherwise than the records (null: sound, or only older than the last write).</summary>
    private string? FilterIndexFileProblem(SqliteConnection connection, string path, MetadataFilterIndex? fresh)
    {
        if (!FilterIndexFile.Enabled)
        {
            return null;
        }

        if (FilterIndexFile.ReadStamp(path) is not { } stamp)
        {
            return "has a damaged header, is truncated or of an unknown format";
        }

        if (stamp > State.LastSeq)
        {
            return $"is newer than the database (stamped at write {stamp}, the collection's last write is {State.LastSeq})";
        }

        var chain = stamp == State.LastSeq ? State.LastChain : StoreIdentity.ChainAt(connection, stamp);
        var saved = FilterIndexFile.TryLoad(path, stamp, Owner(chain), State.NextSlot, out var problem);
        if (saved is null)
        {
            // Loaded with its own stamp: a stamp mismatch can only be its owner's.
            return problem is null ? "could not be read"
                : problem.StartsWith("covers another write", StringComparison.Ordinal) ? "belongs to another collection or another copy of the store (its owner stamp differs)"
                : problem;
        }

        // Older than the last write: an open ignores it and the close saves the current index (not damage).
        return stamp == State.LastSeq && fresh is not null && saved.Difference(fresh, State.Live) is { } difference
            ? $"answers otherwise than the records ({difference})"
            : null;
    }
}
