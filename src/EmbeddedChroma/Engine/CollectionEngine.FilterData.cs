using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>
/// The collection's derived filter data: the in-memory filter index (saved beside the arena, loaded or built from the
/// checksummed records), and the filter rows and document index in SQLite, checked against the records and rebuilt from
/// them before a read relies on them.
/// </summary>
/// <remarks>
/// A <c>where</c> is answered by the in-memory <see cref="MetadataFilterIndex"/> whenever it is enabled and within its
/// budget (queries, gets and deletes alike): it is derived from the records themselves (built from them after their
/// checksums were verified, or loaded from its checksummed file stamped with the collection's last write), so the
/// filter rows in SQLite — which a damaged page could silently thin out — need no check before such a read. Only a read
/// that must filter <c>where</c> in SQL (index disabled or over budget) checks the filter rows first, once per open.
/// </remarks>
internal sealed partial class CollectionEngine
{
    /// <summary>
    /// Thrown inside a read that must filter <c>where</c> in SQL while the filter rows are unchecked this open;
    /// <see cref="Filtered{T}"/> checks them (outside the collection's lock) and runs the read again.
    /// </summary>
    private sealed class FilterRowsUncheckedException() : Exception("The filter rows must be checked against the records before this read.");

    /// <summary>True when a <c>where</c> will be answered by the in-memory filter index (so the filter rows need no check).</summary>
    private bool FilterIndexUsable => _store.Limits.FilterIndexMemoryBudget > 0 && !State.FilterIndexOverBudget;

    /// <summary>
    /// The collection's in-memory filter index: on first use loaded from its saved file when that is intact and stamped
    /// with the collection's last write, else built from the records (<see cref="MetadataFilterIndex.TryBuild"/>); null
    /// when disabled or over budget. Caller holds the collection's lock (read or write); concurrent readers build it once.
    /// </summary>
    public MetadataFilterIndex? FilterIndex(SqliteConnection connection, SqliteTransaction? transaction)
    {
        if (State.FilterIndex is { } built)
        {
            return built;
        }

        var budget = _store.Limits.FilterIndexMemoryBudget;
        if (budget == 0 || State.FilterIndexOverBudget)
        {
            return null;
        }

        lock (State.FilterIndexBuildLock)
        {
            if (State.FilterIndex is null && !State.FilterIndexOverBudget)
            {
                var index = LoadFilterIndex(budget);
                var saved = index is not null;
                index ??= MetadataFilterIndex.TryBuild(connection, transaction, State, budget);
                State.FilterIndexOverBudget = index is null;
                State.FilterIndexSaved = saved;
                State.FilterIndex = index;
            }

            return State.FilterIndex;
        }
    }

    /// <summary>The saved filter index, once per open: null when missing, stale, damaged (logged) or over budget.</summary>
    private MetadataFilterIndex? LoadFilterIndex(long budget)
    {
        if (State.FilterIndexFileTried)
        {
            return null;
        }

        State.FilterIndexFileTried = true;
        var path = _store.Folder.FilterIndexPath(State.Uuid);
        var index = FilterIndexFile.TryLoad(path, State.LastSeq, Owner(State.LastChain), State.NextSlot, out var problem);
        if (problem is not null)
        {
            StoreLog.FilterIndexRebuilt(_store.Limits.Logger, State.Name, path, problem);
        }

        return index is not null && index.EstimatedBytes <= budget ? index : null;
    }

    /// <summary>
    /// Before a write: loads the saved filter index if it is still current (a cheap read, never a build), so the write
    /// keeps it in step and the close saves it again — a session that only writes leaves the next open a current file.
    /// Caller holds the collection's write lock.
    /// </summary>
    private void KeepSavedFilterIndexCurrent()
    {
        if (State.FilterIndex is not null || State.FilterIndexFileTried || !FilterIndexUsable)
        {
            return;
        }

        lock (State.FilterIndexBuildLock)
        {
            if (State.FilterIndex is null && LoadFilterIndex(_store.Limits.FilterIndexMemoryBudget) is { } index)
            {
                State.FilterIndexSaved = true;
                State.FilterIndex = index;
            }
        }
    }

    /// <summary>Saves the in-memory filter index on close when it differs from the saved file (best effort, like the arena).</summary>
    private void SaveFilterIndex()
    {
        if (State.FilterIndex is not { } index || State.FilterIndexSaved || State.Deleted || _store.Limits.ReadOnly || !FilterIndexFile.Enabled)
        {
            return;
        }

        var path = _store.Folder.FilterIndexPath(State.Uuid);
        SaveDerived(path, () =>
        {
            OwnerOnly.CreateFolder(System.IO.Path.GetDirectoryName(path)!);
            FilterIndexFile.Save(index, path, State.LastSeq, Owner(State.LastChain));
            State.FilterIndexSaved = true;
        });
    }

    /// <summary>
    /// The slots <paramref name="where"/> selects, from the in-memory filter index; null when there is no <c>where</c>, or
    /// when the index is disabled or over budget (the read then filters in SQL, on filter rows checked this open).
    /// Caller holds the collection's lock.
    /// </summary>
    private ulong[]? WhereSlots(SqliteConnection connection, SqliteTransaction? transaction, Where? where)
    {
        if (where is null)
        {
            return null;
        }

        if (FilterIndex(connection, transaction) is { } index)
        {
            return index.Evaluate(where, State.Live);
        }

        RequireCheckedRows();
        return null;
    }

    private void RequireCheckedRows()
    {
        if (!State.FilterRowsVerified)
        {
            throw new FilterRowsUncheckedException();
        }
    }

    /// <summary>
    /// Before a filtered read: once per open, the filter data the read will use is checked against the records (a
    /// damaged filter row would otherwise make the read miss a record without a word) and rebuilt when it differs —
    /// the filter rows only when <paramref name="checkRows"/> (the read filters <c>where</c> in SQL). Caller holds no
    /// lock of this collection.
    /// </summary>
    private void EnsureFilterDataVerified(Where? where, WhereDocument? whereDocument, bool checkRows)
    {
        var usesIndex = whereDocument is not null && Filtering.RecordFilter.UsesDocumentIndex(whereDocument);
        if (usesIndex && State.DocumentsDeferred)
        {
            // The documents are searched: index the pending ones now rather than scan them in every such read.
            _store.Session.Documents?.Want(State.Id);
        }

        var documents = usesIndex && !Db.DocumentIndexVerified;
        if (documents && !Db.DocumentIndexStampChecked && DocumentIndexStampCurrent())
        {
            // Verified by an earlier open at this very write, and unchanged since (digest of the index's tables).
            Db.DocumentIndexVerified = true;
            documents = false;
        }

        if (Db.ReadOnly)
        {
            // FTS5 checks its index only in a write transaction: unless a stamp vouches for it, a read-only store answers
            // from the documents instead.
            State.ScanDocuments = !Db.DocumentIndexVerified;
            documents = false;
        }

        var rows = checkRows && where is not null && !State.FilterRowsVerified;

        if (rows || documents)
        {
            VerifyFilterData(rows, documents, forRead: true);
        }
    }

    /// <summary>
    /// True when the document index carries a stamp (<see cref="DocumentIndexStamp"/>) for the store's last write and its
    /// tables still hash to the stamp's digest: a clean reopen then skips FTS5's full check.
    /// </summary>
    private bool DocumentIndexStampCurrent()
    {
        lock (Db.WriteLock)
        {
            _store.Session.ThrowIfClosed();
            if (Db.DocumentIndexStampChecked)
            {
                return Db.DocumentIndexVerified;
            }

            var current = Db.Guard(() => DocumentIndexStamp.Matches(Db.Writer, null, _store.Session.Seq, _store.Session.CurrentChain));
            Db.DocumentIndexStampChecked = true;
            return current;
        }
    }

    /// <summary>
    /// Compares the collection's filter rows (<paramref name="rows"/>) and the store's FTS5 document index
    /// (<paramref name="documents"/>) with what the records derive, and rebuilds what differs in one write transaction with a
    /// Warning (events 30, 31): they are derived data, like the arena and the graph. The records whose rows differ have
    /// their checksums verified first (a damaged record is reported, never indexed). A store that cannot write
    /// (read-only, or opened on a full disk) reports the damage as <see cref="ChromaCorruptStoreException"/> instead.
    /// Returns the number of records whose filter rows were rebuilt (plus one when the document index was).
    /// A collection that keeps no filter rows (<see cref="CollectionState.FilterRowsKept"/>) has none to compare: for a
    /// read (<paramref name="forRead"/>) they are derived from the records now (<see cref="DeriveFilterRows"/>); for an
    /// integrity check, rows left in the table by an older library are dropped (nothing reads them).
    /// </summary>
    public int VerifyFilterData(bool rows, bool documents, bool forRead = false)
    {
        lock (Db.WriteLock)
        {
            _store.Session.ThrowIfClosed();
            ThrowIfDeleted();
            return Db.Guard(() =>
            {
                if (rows && !State.FilterRowsKept)
                {
                    rows = false;
                    if (forRead)
                    {
                        DeriveFilterRows();
                    }
                    else
                    {
                        DropUnkeptFilterRows();
                    }
                }

                if (documents && !Db.ReadOnly && !CatchUpDocuments())
                {
                    // The pending documents could not be indexed (a full disk): FTS5's check would count them as damage.
                    // This collection's reads scan the documents instead until a later read checks the index.
                    State.ScanDocuments = true;
                    documents = false;
                }

                var damaged = rows ? FilterRows.Mismatched(Db.Writer, null, State.Id) : [];
                if (documents && !Db.ReadOnly)
                {
                    Interlocked.Increment(ref Db.DocumentIndexFullChecks);
                }

                var documentProblem = documents && !Db.ReadOnly ? FilterRows.DocumentIndexProblem(Db.Writer, null) : null;
                if (damaged.Count == 0 && documentProblem is null)
                {
                    if (documents && !Db.ReadOnly)
                    {
                        StampDocumentIndex();
                    }

                    MarkVerified(rows, documents);
                    return 0;
                }

                string? first = null;
                foreach (var (id, document, metadata, uri, psum) in FilterRows.Payloads(Db.Writer, null, State.Id, damaged))
                {
                    RecordChecksum.VerifyPayload(State, id, document, metadata, uri, psum);
                    first ??= id;
                }

                if (Db.ReadOnly)
                {
                    var what = damaged.Count > 0
                        ? $"the filter rows of {damaged.Count} record(s) of collection '{RecordChecksum.Printable(State.Name)}'{(first is null ? string.Empty : $" (first: '{RecordChecksum.Printable(first)}')")} do not match their metadata"
                        : $"the document index does not match the documents ({Echo.Text(documentProblem!, 200)})";
                    throw new ChromaCorruptStoreException(
                        $"The store's filter data is damaged: {what}. The records themselves are intact (checksums verified) and the filter " +
                        "data is derived from them, but this store was opened for reads only: open it writable (with free space on its disk) " +
                        "and the next filtered read, or ChromaClient.VerifyIntegrity, rebuilds it.");
                }

                _store.Session.Run(
                    () =>
                    {
                        var transaction = Db.CurrentTransaction!;
                        if (damaged.Count > 0)
                        {
                            FilterRows.Rebuild(Db.Writer, transaction, State.Id);
                        }

                        if (documentProblem is not null)
                        {
                            FilterRows.RebuildDocumentIndex(Db.Writer, transaction, _store.Session.Seq);
                        }

                        return 0;
                    },
                    // The cached allowed sets may have come from the damaged rows (the in-memory filter index did not: it is
                    // derived from the records).
                    _ => State.FilterCache.Clear(),
                    State.Lock);
                if (damaged.Count > 0)
                {
                    StoreLog.FilterRowsRebuilt(_store.Limits.Logger, State.Name, damaged.Count, first ?? "(rows of no record)");
                }

                if (documentProblem is not null)
                {
                    StoreLog.DocumentIndexRebuilt(_store.Limits.Logger, Db.Path, documentProblem);
                }

                if (documents)
                {
                    // After the commit: FTS5 writes its pending changes to its tables only then.
                    StampDocumentIndex();
                }

                MarkVerified(rows, documents);
                return damaged.Count + (documentProblem is null ? 0 : 1);
            });
        }
    }

    /// <summary>
    /// Before FTS5's full check (which compares the index with every document): indexes the documents still pending
    /// (<see cref="PendingDocuments"/>), of every collection, in one write transaction. False when that could not write (a
    /// full disk). Writer lock held.
    /// </summary>
    private bool CatchUpDocuments()
    {
        try
        {
            if (_store.Session.RunQuietly(() => PendingDocuments.CatchUp(Db.Writer, Db.CurrentTransaction!)) > 0)
            {
                Db.DocumentIndexMovedQuietly = true;
            }

            if (State.ScanDocuments && !Db.ReadOnly)
            {
                State.ScanDocuments = false;
            }

            return true;
        }
        catch (Exception ex) when (ex is ChromaStorageFullException or ChromaReadOnlyException)
        {
            return false;
        }
    }

    /// <summary>
    /// For a read that must filter <c>where</c> in SQL while the collection keeps no filter rows: every record's payload
    /// checksum is verified (a damaged record is reported, never filtered on), then the rows are derived from the records
    /// into <c>record_meta</c> and kept from then on, in one write transaction. A store that cannot write (read-only, or a
    /// full disk) leaves them underived: its reads derive them from the records inside each statement
    /// (<see cref="RecordReader"/>). Writer lock held.
    /// </summary>
    private void DeriveFilterRows()
    {
        FilterRows.VerifyPayloads(Db.Writer, null, State);
        if (!Db.ReadOnly)
        {
            try
            {
                _store.Session.Run(
                    () =>
                    {
                        FilterRows.Derive(Db.Writer, Db.CurrentTransaction!, State.Id);
                        return 0;
                    },
                    // Readers need no pause: until this flag flips they derive the rows inside their statement, after it
                    // they read the committed ones; every writer waits for the store's write lock held here.
                    _ => State.FilterRowsKept = true);
            }
            catch (Exception ex) when (ex is ChromaStorageFullException or ChromaReadOnlyException)
            {
                // A read must not need space: this open derives the rows inside each read that filters in SQL.
            }
        }

        State.FilterRowsVerified = true;
    }

    /// <summary>An integrity check of a collection that keeps no filter rows: drops any it has (none is ever read). Writer lock held.</summary>
    private void DropUnkeptFilterRows()
    {
        if (Db.ReadOnly || !FilterRows.Any(Db.Writer, State.Id))
        {
            return;
        }

        _store.Session.Run(() =>
        {
            FilterRows.Drop(Db.Writer, Db.CurrentTransaction!, State.Id);
            return 0;
        });
    }

    /// <summary>Records the document index as verified at the store's last write (a transaction of its own; no sequence number). Writer lock held.</summary>
    private void StampDocumentIndex()
    {
        try
        {
            _store.Session.Run(() =>
            {
                DocumentIndexStamp.Record(Db.Writer, Db.CurrentTransaction!, _store.Session.Seq, _store.Session.CurrentChain);
                return 0;
            });
        }
        catch (Exception ex) when (ex is ChromaStorageFullException or ChromaReadOnlyException)
        {
            // A read must not need space: without the stamp the next open checks the index in full again.
        }
    }

    private void MarkVerified(bool rows, bool documents)
    {
        if (rows)
        {
            State.FilterRowsVerified = true;
        }

        if (documents && !Db.ReadOnly)
        {
            Db.DocumentIndexVerified = true;
        }
    }

    /// <summary>Runs a filtered read; damaged filter data found by it is checked again (and rebuilt) before the next filtered read.</summary>
    private T Filtered<T>(Where? where, WhereDocument? whereDocument, Func<T> read)
    {
        var checkRows = !FilterIndexUsable;
        while (true)
        {
            EnsureFilterDataVerified(where, whereDocument, checkRows);
            try
            {
                return read();
            }
            catch (FilterRowsUncheckedException)
            {
                // The index turned out over budget (or was dropped by a write): this read filters in SQL.
                checkRows = true;
            }
            catch (ChromaCorruptStoreException) when (where is not null || whereDocument is not null)
            {
                State.FilterRowsVerified = false;
                Db.DocumentIndexVerified = false;
                throw;
            }
        }
    }
}
