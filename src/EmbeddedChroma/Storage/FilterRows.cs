using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The derived filter data of the records, checked against the records and rebuilt from them: the <c>record_meta</c>
/// filter rows (table and its three value indexes) and the FTS5 document index. Both are derived from the
/// checksummed <c>records.metadata</c>/<c>records.document</c> in the write transaction that stores a record; a
/// damaged row or index entry would make a filtered read miss a record (or find one the read check then refuses).
/// </summary>
/// <remarks>
/// The rows a record should have are computed in SQL by <see cref="Derived"/> (the same statement the writer inserts
/// with, so SQLite's own number parsing decides the values), and compared as sets with what the table and each index
/// hold. Rows of a JSON null (no value column set) take part in no filter and are ignored.
/// </remarks>
internal static class FilterRows
{
    /// <summary>
    /// The filter rows (collection_id, rid, key, elem, s, n, b) of the records satisfying <paramref name="condition"/> (over
    /// <c>records r</c>): scalars as elem 0, each array element as elem 1; strings in s, numbers in n (REAL), bools in b.
    /// </summary>
    public static string Derived(string condition, string leading = "r.collection_id, r.rid") => $"""
        SELECT {leading}, j.key AS key, 0 AS elem,
               CASE WHEN j.type = 'text' THEN j.value END AS s,
               CASE WHEN j.type IN ('integer', 'real') THEN CAST(j.value AS REAL) END AS n,
               CASE j.type WHEN 'true' THEN 1 WHEN 'false' THEN 0 END AS b
        FROM records r, json_each(r.metadata) j
        WHERE {condition} AND r.metadata IS NOT NULL AND j.type <> 'array'
        UNION ALL
        SELECT {leading}, j.key, 1,
               CASE WHEN e.type = 'text' THEN e.value END,
               CASE WHEN e.type IN ('integer', 'real') THEN CAST(e.value AS REAL) END,
               CASE e.type WHEN 'true' THEN 1 WHEN 'false' THEN 0 END
        FROM records r, json_each(r.metadata) j, json_each(j.value) e
        WHERE {condition} AND r.metadata IS NOT NULL AND j.type = 'array'
        """;

    /// <summary>
    /// The rids of collection <paramref name="collectionId"/> (only <paramref name="rid"/> when given) whose filter rows in
    /// the table or in any of its value indexes differ from the rows derived from their metadata, ascending.
    /// </summary>
    public static List<long> Mismatched(SqliteConnection connection, SqliteTransaction? transaction, long collectionId, long? rid = null)
    {
        var only = rid is null ? string.Empty : " AND rid = $rid";
        var derived = Derived("r.collection_id = $c" + (rid is null ? string.Empty : " AND r.rid = $rid"));
        var parts = new List<string>();
        foreach (var (column, index) in (ReadOnlySpan<(string, string)>)[("s", "record_meta_s"), ("n", "record_meta_n"), ("b", "record_meta_b")])
        {
            var expected = $"SELECT rid, key, elem, {column} FROM d WHERE {column} IS NOT NULL";
            var actual = $"SELECT rid, key, elem, {column} FROM record_meta INDEXED BY {index} WHERE collection_id = $c AND {column} IS NOT NULL{only}";
            parts.Add($"SELECT rid FROM ({expected} EXCEPT {actual})");
            parts.Add($"SELECT rid FROM ({actual} EXCEPT {expected})");
        }

        const string ExpectedRows = "SELECT rid, key, elem, s, n, b FROM d WHERE s IS NOT NULL OR n IS NOT NULL OR b IS NOT NULL";
        var tableRows = $"SELECT rid, key, elem, s, n, b FROM record_meta NOT INDEXED WHERE collection_id = $c AND (s IS NOT NULL OR n IS NOT NULL OR b IS NOT NULL){only}";
        parts.Add($"SELECT rid FROM ({ExpectedRows} EXCEPT {tableRows})");
        parts.Add($"SELECT rid FROM ({tableRows} EXCEPT {ExpectedRows})");
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"WITH d(collection_id, rid, key, elem, s, n, b) AS MATERIALIZED ({derived}) SELECT DISTINCT rid FROM ({string.Join(" UNION ALL ", parts)}) ORDER BY rid";
        command.Parameters.AddWithValue("$c", collectionId);
        if (rid is not null)
        {
            command.Parameters.AddWithValue("$rid", rid.Value);
        }

        var rids = new List<long>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rids.Add(reader.GetInt64(0));
        }

        return rids;
    }

    /// <summary>
    /// The record id and payload fields (id, document, metadata, uri, psum) of the given rids of the collection, to verify
    /// their checksums before their filter rows are rebuilt from them; rids without a record are left out.
    /// </summary>
    public static List<(string Id, string? Document, string? Metadata, string? Uri, long Psum)> Payloads(SqliteConnection connection, SqliteTransaction? transaction, long collectionId, IReadOnlyList<long> rids)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, document, metadata, uri, psum FROM records WHERE collection_id = $c AND rid IN (SELECT value FROM json_each($rids))";
        command.Parameters.AddWithValue("$c", collectionId);
        command.Parameters.AddWithValue("$rids", System.Text.Json.JsonSerializer.Serialize(rids));
        var rows = new List<(string, string?, string?, string?, long)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetInt64(4)));
        }

        return rows;
    }

    /// <summary>
    /// Verifies the payload checksum of every record of the collection (<see cref="RecordChecksum.VerifyPayload"/>: a damaged
    /// record is a <see cref="ChromaCorruptStoreException"/>), before filter data is derived from all of them.
    /// </summary>
    public static void VerifyPayloads(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state)
    {
        using var verify = connection.CreateCommand();
        verify.Transaction = transaction;
        verify.CommandText = "SELECT id, document, metadata, uri, psum FROM records WHERE collection_id = $c";
        verify.Parameters.AddWithValue("$c", state.Id);
        using var records = verify.ExecuteReader();
        while (records.Read())
        {
            RecordChecksum.VerifyPayload(
                state,
                records.GetString(0),
                records.IsDBNull(1) ? null : records.GetString(1),
                records.IsDBNull(2) ? null : records.GetString(2),
                records.IsDBNull(3) ? null : records.GetString(3),
                records.GetInt64(4));
        }
    }

    /// <summary>
    /// Derives the filter rows of a collection that kept none (inside the caller's write transaction, records verified):
    /// any rows it has are dropped, every record's rows inserted, and the mark that it keeps none removed, so its writes
    /// keep them from then on.
    /// </summary>
    public static void Derive(SqliteConnection connection, SqliteTransaction transaction, long collectionId) =>
        RunForCollection(connection, transaction, collectionId, [
            "DELETE FROM record_meta WHERE collection_id = $c",
            "INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b) " + Derived("r.collection_id = $c"),
            "DELETE FROM store_meta WHERE key = 'filter_rows:' || $c"]);

    /// <summary>Runs each statement with <c>$c</c> bound to the collection's id (inside the caller's write transaction).</summary>
    private static void RunForCollection(SqliteConnection connection, SqliteTransaction transaction, long collectionId, ReadOnlySpan<string> statements)
    {
        foreach (var sql in statements)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.AddWithValue("$c", collectionId);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>True when <c>record_meta</c> holds any row of the collection.</summary>
    public static bool Any(SqliteConnection connection, long collectionId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT EXISTS(SELECT 1 FROM record_meta WHERE collection_id = $c)";
        command.Parameters.AddWithValue("$c", collectionId);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
    }

    /// <summary>Deletes every filter row of the collection (inside the caller's write transaction).</summary>
    public static void Drop(SqliteConnection connection, SqliteTransaction transaction, long collectionId) =>
        RunForCollection(connection, transaction, collectionId, ["DELETE FROM record_meta WHERE collection_id = $c"]);

    /// <summary>
    /// Stops keeping the filter rows of a collection whose <c>where</c> is answered by the in-memory filter index (inside the
    /// caller's write transaction): its rows are deleted and the mark that it keeps none is set, in the same transaction, so
    /// a rollback leaves both as they were. The caller flips <see cref="CollectionState.FilterRowsKept"/> after the commit.
    /// </summary>
    public static void StopKeeping(SqliteConnection connection, SqliteTransaction transaction, long collectionId) =>
        RunForCollection(connection, transaction, collectionId, [
            "DELETE FROM record_meta WHERE collection_id = $c",
            "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('filter_rows:' || $c, 'derived')"]);

    /// <summary>
    /// Rebuilds the filter rows of collection <paramref name="collectionId"/> from its records (inside the caller's write
    /// transaction): the table's indexes are rebuilt first (a damaged entry would fail the deletion), then the
    /// collection's rows are deleted and derived again.
    /// </summary>
    public static void Rebuild(SqliteConnection connection, SqliteTransaction transaction, long collectionId)
    {
        foreach (var sql in (ReadOnlySpan<string>)[
            "REINDEX record_meta",
            "DELETE FROM record_meta WHERE collection_id = $c",
            "INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b) " + Derived("r.collection_id = $c")])
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            command.Parameters.AddWithValue("$c", collectionId);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Null when the FTS5 document index matches the documents (FTS5's own <c>integrity-check</c>, comparing the index
    /// with its content table), else SQLite's description of the difference.
    /// </summary>
    public static string? DocumentIndexProblem(SqliteConnection connection, SqliteTransaction? transaction)
    {
        try
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)";
            command.ExecuteNonQuery();
            return null;
        }
        catch (SqliteException ex) when (SqliteDb.IsCorruption(ex))
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Rebuilds the FTS5 document index from the documents (every collection's, pending ones included, so every collection's
    /// mark moves to <paramref name="seq"/>, the store's last write; inside the caller's write transaction).
    /// </summary>
    public static void RebuildDocumentIndex(SqliteConnection connection, SqliteTransaction transaction, long seq)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')";
        command.ExecuteNonQuery();
        PendingDocuments.MarkAllIndexed(connection, transaction, seq);
    }
}
