using System.Globalization;
using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Documents written but not yet in the FTS5 document index. A collection with a mark
/// <c>documents_indexed:&lt;id&gt;</c> in <c>store_meta</c> (every collection since schema 4) does not index its documents in the
/// write batch that stores them: the mark holds a sequence number W, and the index holds exactly the current documents of
/// the collection's records whose <c>seq</c> is at most W. The records above W are pending: a <c>where_document</c> filter
/// scans them exactly (<see cref="SqlFilterBuilder"/> reads W in the statement's own snapshot), and the store's background
/// document indexer moves W forward in write transactions of their own (<see cref="IndexChunk"/>).
/// </summary>
/// <remarks>
/// A write that replaces or removes a record takes its document out of the index only when it is in it (its old
/// <c>seq</c> at most W, <see cref="UnindexStatement"/>); the record's new version carries the batch's sequence number, so it
/// is pending until indexed. A collection without the mark (written by schema 3, opened read-only without upgrading) has
/// every document indexed, as it always had.
/// </remarks>
internal static class PendingDocuments
{
    /// <summary>The mark's key for a collection.</summary>
    public static string Key(long collectionId) => SqlFilterBuilder.DocumentsIndexedKeyPrefix + collectionId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Takes the document of record <c>$rid</c> out of the index when the index holds it (run before the record is
    /// replaced or deleted; binds <c>$rid</c>).
    /// </summary>
    public const string UnindexStatement = $"""
        INSERT INTO documents_fts(documents_fts, rowid, document)
        SELECT 'delete', rid, document FROM records
        WHERE rid = $rid AND document IS NOT NULL AND seq <= {IndexedThrough}
        """;

    /// <summary>Every indexed document of collection <c>$c</c> out of the index (before the collection is dropped).</summary>
    public const string UnindexCollectionStatement = $"""
        INSERT INTO documents_fts(documents_fts, rowid, document)
        SELECT 'delete', rid, document FROM records
        WHERE collection_id = $c AND document IS NOT NULL AND seq <= {IndexedThrough}
        """;

    /// <summary>W of the collection of the row <c>records</c> in scope (unqualified columns), or the largest sequence number without a mark.</summary>
    private const string IndexedThrough =
        "COALESCE((SELECT CAST(m.value AS INTEGER) FROM store_meta m WHERE m.key = '" + SqlFilterBuilder.DocumentsIndexedKeyPrefix + "' || collection_id), 9223372036854775807)";

    /// <summary>Marks a collection's documents as indexed through <paramref name="seq"/> (inside the caller's write transaction).</summary>
    public static void Mark(SqliteConnection connection, SqliteTransaction transaction, long collectionId, long seq)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO store_meta(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$k", Key(collectionId));
        command.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }

    /// <summary>The collections that carry a mark.</summary>
    public static List<long> MarkedCollections(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT CAST(substr(key, $from) AS INTEGER) FROM store_meta WHERE key LIKE '" + SqlFilterBuilder.DocumentsIndexedKeyPrefix + "%'";
        command.Parameters.AddWithValue("$from", SqlFilterBuilder.DocumentsIndexedKeyPrefix.Length + 1);
        var ids = new List<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    /// <summary>W of a collection, or null when it carries no mark (every document indexed).</summary>
    public static long? IndexedSeq(SqliteConnection connection, SqliteTransaction? transaction, long collectionId)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = $k";
        command.Parameters.AddWithValue("$k", Key(collectionId));
        return command.ExecuteScalar() is long seq ? seq : null;
    }

    /// <summary>How many of the collection's records hold a document the index does not hold yet (counting stops at <paramref name="limit"/>).</summary>
    public static long Count(SqliteConnection connection, SqliteTransaction? transaction, long collectionId, long limit = long.MaxValue)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE collection_id = $c AND seq > COALESCE((SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = $k), 9223372036854775807) AND document IS NOT NULL LIMIT $l)";
        command.Parameters.AddWithValue("$c", collectionId);
        command.Parameters.AddWithValue("$k", Key(collectionId));
        command.Parameters.AddWithValue("$l", limit);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// In one statement (one snapshot): the collection's mark W, its largest sequence number H, the documents of records
    /// with a sequence number above <paramref name="after"/> (null: above W, i.e. every pending document), and the documents of
    /// records with a sequence number in (<paramref name="indexedAfter"/>, W]. Each count reads only the records in its range
    /// (through <c>records_seq</c>).
    /// </summary>
    public static (long Mark, long High, long Added, long Indexed) CountChanges(SqliteConnection connection, long collectionId, long? after, long indexedAfter)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT w, h,
                (SELECT COUNT(*) FROM records WHERE collection_id = $c AND seq > COALESCE($after, w) AND document IS NOT NULL),
                (SELECT COUNT(*) FROM records WHERE collection_id = $c AND seq > $indexedAfter AND seq <= w AND document IS NOT NULL)
            FROM (SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = $k), 9223372036854775807) AS w,
                         COALESCE((SELECT MAX(seq) FROM records WHERE collection_id = $c), 0) AS h)
            """;
        command.Parameters.AddWithValue("$c", collectionId);
        command.Parameters.AddWithValue("$k", Key(collectionId));
        command.Parameters.AddWithValue("$after", (object?)after ?? DBNull.Value);
        command.Parameters.AddWithValue("$indexedAfter", indexedAfter);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>
    /// Indexes the next pending documents of a collection, about <paramref name="maxDocuments"/> of them (whole write
    /// batches: the last batch taken may add more), and moves its mark past them, inside the caller's write transaction.
    /// Returns the documents indexed; <paramref name="more"/> tells whether pending documents remain.
    /// </summary>
    public static int IndexChunk(SqliteConnection connection, SqliteTransaction transaction, long collectionId, int maxDocuments, out bool more)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDocuments, 1);
        more = false;
        if (IndexedSeq(connection, transaction, collectionId) is not { } from)
        {
            return 0;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$c", collectionId);
        command.Parameters.AddWithValue("$w", from);
        command.Parameters.AddWithValue("$n", maxDocuments - 1);
        // The sequence number of the chunk's last document; with fewer pending, the collection's last write.
        command.CommandText = "SELECT seq FROM records WHERE collection_id = $c AND seq > $w AND document IS NOT NULL ORDER BY seq LIMIT 1 OFFSET $n";
        long through;
        if (command.ExecuteScalar() is long last)
        {
            through = last;
            more = true;
        }
        else
        {
            command.CommandText = "SELECT MAX(seq) FROM records WHERE collection_id = $c";
            if (command.ExecuteScalar() is not long max || max <= from)
            {
                return 0;
            }

            through = max;
        }

        command.CommandText = "INSERT INTO documents_fts(rowid, document) SELECT rid, document FROM records WHERE collection_id = $c AND seq > $w AND seq <= $to AND document IS NOT NULL";
        command.Parameters.AddWithValue("$to", through);
        var indexed = command.ExecuteNonQuery();
        Mark(connection, transaction, collectionId, through);
        if (more)
        {
            command.CommandText = "SELECT 1 FROM records WHERE collection_id = $c AND seq > $to AND document IS NOT NULL LIMIT 1";
            more = command.ExecuteScalar() is not null;
        }

        return indexed;
    }

    /// <summary>Indexes every pending document of every collection (inside the caller's write transaction): before FTS5's full check, which compares the index with all documents.</summary>
    public static int CatchUp(SqliteConnection connection, SqliteTransaction transaction)
    {
        var indexed = 0;
        foreach (var collection in MarkedCollections(connection, transaction))
        {
            indexed += IndexChunk(connection, transaction, collection, int.MaxValue, out _);
        }

        return indexed;
    }

    /// <summary>After the index was rebuilt from every document: every mark moves to <paramref name="seq"/>, the store's last write (inside the caller's write transaction).</summary>
    public static void MarkAllIndexed(SqliteConnection connection, SqliteTransaction transaction, long seq)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE store_meta SET value = $v WHERE key LIKE '" + SqlFilterBuilder.DocumentsIndexedKeyPrefix + "%'";
        command.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// A collection's count of pending documents (<see cref="PendingDocuments"/>), kept up to date by reading only what changed
/// since the last count: the records written since (above the largest sequence number then seen) and those the indexer
/// took since (between the old and the new mark). <see cref="Collection.GetIndexingStatus"/> is polled (progress bars, a
/// wait for the index): counting every pending record each time read each one's row, i.e. every page of the pending
/// part of the table (at 100,000 pending records ~150 MB through the page cache per call; a poller polling every
/// millisecond then kept a core busy, and took it from the graph build it was waiting for).
/// </summary>
/// <remarks>
/// The sum holds while records are only added (new records take new, larger sequence numbers; the mark only moves
/// forward). A write that replaces or removes a record calls <see cref="RecordsReplaced"/> before it changes anything;
/// the next count then starts over from all pending records, and so does a count that sees the mark move back. A count
/// that raced such a write (the generation changed while it ran) is not kept. Thread-safe.
/// </remarks>
internal sealed class PendingDocumentTally
{
    private readonly Lock _lock = new();
    private long _generation;
    private bool _known;
    private long _keptGeneration;
    private long _mark;
    private long _high;
    private long _count;

    /// <summary>A write is about to replace or remove records: the next count starts over.</summary>
    public void RecordsReplaced() => Interlocked.Increment(ref _generation);

    /// <summary>The collection's pending documents (caller holds the collection's read lock).</summary>
    public long Count(SqliteConnection connection, long collectionId)
    {
        lock (_lock)
        {
            long generation = Volatile.Read(ref _generation);
            if (_known && _keptGeneration == generation)
            {
                var (mark, high, added, indexed) = PendingDocuments.CountChanges(connection, collectionId, _high, _mark);
                if (mark >= _mark && high >= _high && Volatile.Read(ref _generation) == generation)
                {
                    // Documents above the old high all count as pending unless also at or below the new mark (counted in both).
                    _count += added - indexed;
                    _mark = mark;
                    _high = high;
                    return _count;
                }
            }

            // Everything above the mark, in the same snapshot as the mark and the high it is kept with.
            var (fullMark, fullHigh, counted, _) = PendingDocuments.CountChanges(connection, collectionId, after: null, indexedAfter: long.MaxValue);
            _known = Volatile.Read(ref _generation) == generation;
            _keptGeneration = generation;
            _mark = fullMark;
            _high = fullHigh;
            _count = counted;
            return counted;
        }
    }
}
