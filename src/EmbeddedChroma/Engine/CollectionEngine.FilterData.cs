using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Engine;

/// <summary>The collection's derived filter data (filter rows, document index) checked against its records and rebuilt from them.</summary>
internal sealed partial class CollectionEngine
{
    /// <summary>
    /// Before a filtered read: once per open, the filter data the read will use is checked against the records (a
    /// damaged filter row would otherwise make the read miss a record without a word) and rebuilt when it differs.
    /// Caller holds no lock of this collection.
    /// </summary>
    private void EnsureFilterDataVerified(Where? where, WhereDocument? whereDocument)
    {
        if (Db.ReadOnly)
        {
            // FTS5 checks its index only in a write transaction: a read-only store answers from the documents instead.
            State.ScanDocuments = true;
        }

        var rows = where is not null && !State.FilterRowsVerified;
        var documents = whereDocument is not null && !Db.DocumentIndexVerified && !Db.ReadOnly && Filtering.RecordFilter.UsesDocumentIndex(whereDocument);

        if (rows || documents)
        {
            VerifyFilterData(rows, documents);
        }
    }

    /// <summary>
    /// Compares the collection's filter rows (<paramref name="rows"/>) and the store's FTS5 document index
    /// (<paramref name="documents"/>) with what the records derive, and rebuilds what differs in one write transaction with a
    /// Warning (events 30, 31): they are derived data, like the arena and the graph. The records whose rows differ have
    /// their checksums verified first (a damaged record is reported, never indexed). A store that cannot write
    /// (read-only, or opened on a full disk) reports the damage as <see cref="ChromaCorruptStoreException"/> instead.
    /// Returns the number of records whose filter rows were rebuilt (plus one when the document index was).
    /// </summary>
    public int VerifyFilterData(bool rows, bool documents)
    {
        lock (Db.WriteLock)
        {
            _store.Session.ThrowIfClosed();
            ThrowIfDeleted();
            return Db.Guard(() =>
            {
                var damaged = rows ? FilterRows.Mismatched(Db.Writer, null, State.Id) : [];
                var documentProblem = documents && !Db.ReadOnly ? FilterRows.DocumentIndexProblem(Db.Writer, null) : null;
                if (damaged.Count == 0 && documentProblem is null)
                {
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
                            FilterRows.RebuildDocumentIndex(Db.Writer, transaction);
                        }

                        return 0;
                    },
                    _ =>
                    {
                        // The in-memory filter index and the cached allowed sets came from the damaged rows.
                        State.FilterIndex = null;
                        State.FilterIndexOverBudget = false;
                        State.FilterCache.Clear();
                    },
                    State.Lock);
                if (damaged.Count > 0)
                {
                    StoreLog.FilterRowsRebuilt(_store.Limits.Logger, State.Name, damaged.Count, first ?? "(rows of no record)");
                }

                if (documentProblem is not null)
                {
                    StoreLog.DocumentIndexRebuilt(_store.Limits.Logger, Db.Path, documentProblem);
                }

                MarkVerified(rows, documents);
                return damaged.Count + (documentProblem is null ? 0 : 1);
            });
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
        EnsureFilterDataVerified(where, whereDocument);
        try
        {
            return read();
        }
        catch (ChromaCorruptStoreException) when (where is not null || whereDocument is not null)
        {
            State.FilterRowsVerified = false;
            Db.DocumentIndexVerified = false;
            throw;
        }
    }
}
