using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace EmbeddedChroma.Storage;

/// <summary>A stored record as a write needs it.</summary>
internal readonly record struct StoredRecord(long Rid, int Slot, string? Document, string? MetadataJson, string? Uri);

/// <summary>A record as a read returns it; fields not requested are null.</summary>
internal sealed record RecordRow(long Rid, int Slot, string Id, string? Document, string? MetadataJson, float[]? Embedding, string? Uri = null);

/// <summary>
/// Reads records with filters in SQLite: ids through <c>json_each</c>, where / where_document through
/// <see cref="SqlFilterBuilder"/> (metadata indexes and the FTS5 trigram index do the work), ordered by
/// insertion (rid).
/// </summary>
internal static class RecordReader
{
    [Flags]
    public enum Columns
    {
        None = 0,
        Document = 1,
        Metadata = 2,
        Embedding = 4,
        Uri = 8,
    }

    /// <summary>The columns the payload checksum (psum) covers: a read of any of them reads all of them to verify it.</summary>
    private const Columns Payload = Columns.Document | Columns.Metadata | Columns.Uri;

    /// <summary>The records matching every given selector, with document, metadata and uri (for writes that remove them).</summary>
    public static List<StoredRecord> Select(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument, int? limit = null, ulong[]? whereSlots = null)
    {
        var rows = Read(connection, transaction, state, Payload, ids, where, whereDocument, limit, 0, whereSlots);
        return rows.ConvertAll(r => new StoredRecord(r.Rid, r.Slot, r.Document, r.MetadataJson, r.Uri));
    }

    /// <summary>Slots of the records matching the selectors (for filtered queries).</summary>
    public static List<int> SelectSlots(SqliteConnection connection, CollectionState state, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument)
    {
        using var command = Build(connection, null, state, "r.slot", ids, where, whereDocument, null, 0, ordered: false);
        var slots = new List<int>();
        Execute(command, reader =>
        {
            while (reader.Read())
            {
                slots.Add(reader.GetInt32(0));
            }
        });
        slots.Sort();
        return slots;
    }

    /// <summary>
    /// The records matching every given selector, in insertion order. The selectors are answered by derived data (filter
    /// rows, the document index, SQLite's id index); each record found is checked again against them on its verified
    /// fields (<see cref="Recheck"/>), so a damaged derived row cannot add a record. With <paramref name="whereSlots"/> (the
    /// slots the in-memory filter index selects for <paramref name="where"/>), <c>where</c> is answered by those slots
    /// instead of the filter rows.
    /// </summary>
    public static List<RecordRow> Read(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state, Columns columns, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument, int? limit, int offset, ulong[]? whereSlots = null)
    {
        if (whereSlots is not null)
        {
            // The same filter is accepted or refused whichever way it is evaluated (here: the in-memory index).
            SqlFilterBuilder.EnsureWithinLimits(where, whereDocument);
            if (whereSlots.AsSpan().IndexOfAnyExcept(0UL) < 0)
            {
                return [];
            }
        }

        var filter = RecordFilter.Create(ids, where, whereDocument);
        var read = filter is null ? columns : columns | Payload;
        using var command = Build(connection, transaction, state, SelectList(read), ids, whereSlots is null ? where : null, whereDocument, limit, offset, ordered: true, whereSlots);
        var rows = new List<RecordRow>();
        Execute(command, reader =>
        {
            while (reader.Read())
            {
                rows.Add(ReadRow(reader, state, read));
            }
        });
        return filter is null ? rows : Recheck(connection, transaction, state, filter, rows, columns);
    }

    /// <summary>Slots one execution of the fixed-arity slot read binds (<c>IN (?2, …, ?17)</c>); more slots run it once per 16.</summary>
    internal const int SlotsPerStatement = 16;

    /// <summary>Above this many slots the read binds them all as one JSON array (<c>json_each</c>) instead of 16 at a time.</summary>
    internal const int MaxSlotsBoundDirectly = 64;

    // ReaderStatements keys: 0-3 the fixed-arity slot read, 4-7 the JSON one, by SlotVariant.
    private const int SlotListKey = 0;
    private const int SlotJsonKey = 4;

    /// <summary>
    /// The records in <paramref name="slots"/>, keyed by slot. When the slots were chosen by selectors, each record is checked
    /// again against them on its verified fields (<see cref="Recheck"/>). The SQL is a statement prepared once per reader
    /// connection and stepped directly (<see cref="ReaderStatements"/>): up to <see cref="MaxSlotsBoundDirectly"/> slots
    /// are bound 16 per execution, more as one JSON array. A slot given twice appears once in the result.
    /// </summary>
    public static Dictionary<int, RecordRow> ReadSlots(SqliteConnection connection, CollectionState state, Columns columns, ReadOnlySpan<int> slots, IReadOnlyList<string>? ids = null, Where? where = null, WhereDocument? whereDocument = null)
    {
        var filter = RecordFilter.Create(ids, where, whereDocument);
        var read = filter is null ? columns : columns | Payload;
        var rows = new List<RecordRow>(Math.Min(slots.Length, 1024));
        var variant = SlotVariant(read);
        if (slots.Length > MaxSlotsBoundDirectly)
        {
            var statement = ReaderStatements.Get(connection, SlotJsonKey + variant, SlotSql);
            try
            {
                raw.sqlite3_bind_int64(statement, 1, state.Id);
                raw.sqlite3_bind_text(statement, 2, SlotJson(slots));
                ReadRows(connection, statement, state, read, rows);
            }
            finally
            {
                ReaderStatements.Reset(statement);
            }
        }
        else if (slots.Length > 0)
        {
            var statement = ReaderStatements.Get(connection, SlotListKey + variant, SlotSql);
            try
            {
                for (var start = 0; start < slots.Length; start += SlotsPerStatement)
                {
                    raw.sqlite3_reset(statement);
                    raw.sqlite3_bind_int64(statement, 1, state.Id);
                    var bound = Math.Min(SlotsPerStatement, slots.Length - start);
                    for (var i = 0; i < SlotsPerStatement; i++)
                    {
                        // An unused place is NULL: `slot IN (…, NULL)` never matches it.
                        _ = i < bound ? raw.sqlite3_bind_int64(statement, i + 2, slots[start + i]) : raw.sqlite3_bind_null(statement, i + 2);
                    }

                    ReadRows(connection, statement, state, read, rows);
                }
            }
            finally
            {
                ReaderStatements.Reset(statement);
            }
        }

        if (filter is not null)
        {
            rows = Recheck(connection, null, state, filter, rows, columns);
        }

        var result = new Dictionary<int, RecordRow>(rows.Count);
        foreach (var row in rows)
        {
            result[row.Slot] = row;
        }

        return result;
    }

    /// <summary>Which of the four select lists a read needs: bit 0 the payload (document, metadata, uri), bit 1 the embedding.</summary>
    private static int SlotVariant(Columns read) => ((read & Payload) != 0 ? 1 : 0) | (read.HasFlag(Columns.Embedding) ? 2 : 0);

    /// <summary>The SQL of a slot read statement (<see cref="ReaderStatements"/> key): ?1 the collection, ?2… the slots (or ?2 their JSON).</summary>
    private static string SlotSql(int key)
    {
        var variant = key & 3;
        var select = SelectList(((variant & 1) != 0 ? Payload : Columns.None) | ((variant & 2) != 0 ? Columns.Embedding : Columns.None));
        var slots = key >= SlotJsonKey
            ? "SELECT value FROM json_each(?2)"
            : string.Join(", ", Enumerable.Range(2, SlotsPerStatement).Select(i => "?" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return $"SELECT {select} FROM records r WHERE r.collection_id = ?1 AND r.slot IN ({slots})";
    }

    /// <summary>The slots as a JSON array of integers.</summary>
    private static string SlotJson(ReadOnlySpan<int> slots)
    {
        var json = new StringBuilder((slots.Length * 8) + 2).Append('[');
        for (var i = 0; i < slots.Length; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            json.Append(slots[i]);
        }

        return json.Append(']').ToString();
    }

    /// <summary>Steps <paramref name="statement"/> to its end, adding each row (checksums verified, as <see cref="ReadRow"/>).</summary>
    private static void ReadRows(SqliteConnection connection, sqlite3_stmt statement, CollectionState state, Columns columns, List<RecordRow> rows)
    {
        while (ReaderStatements.Check(connection, raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
        {
            var id = Text(statement, 2)!;
            if (raw.sqlite3_column_int64(statement, 3) != state.Id)
            {
                throw RecordChecksum.Mismatch(state.Name, id, "index entry (it leads to a row of another collection)");
            }

            string? document = null;
            string? metadata = null;
            string? uri = null;
            if ((columns & Payload) != 0)
            {
                document = Text(statement, 4);
                metadata = Text(statement, 5);
                uri = Text(statement, 9);
                RecordChecksum.VerifyPayload(state, id, document, metadata, uri, raw.sqlite3_column_int64(statement, 6));
            }

            float[]? embedding = null;
            if (columns.HasFlag(Columns.Embedding))
            {
                var blob = raw.sqlite3_column_blob(statement, 7);
                RecordChecksum.VerifyVector(state, id, blob, raw.sqlite3_column_int64(statement, 8));
                if (state.Dimension is { } dimension && blob.Length != dimension * sizeof(float))
                {
                    throw RecordChecksum.Mismatch(state.Name, id, "embedding (wrong length)");
                }

                embedding = MemoryMarshal.Cast<byte, float>(blob).ToArray();
            }

            rows.Add(new RecordRow(
                raw.sqlite3_column_int64(statement, 0),
                raw.sqlite3_column_int(statement, 1),
                id,
                columns.HasFlag(Columns.Document) ? document : null,
                columns.HasFlag(Columns.Metadata) ? metadata : null,
                embedding,
                columns.HasFlag(Columns.Uri) ? uri : null));
        }
    }

    private static string? Text(sqlite3_stmt statement, int column) =>
        raw.sqlite3_column_type(statement, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(statement, column).utf8_to_string();

    /// <summary>
    /// <see cref="Recheck"/> for rows read with their metadata (checksum verified) of records chosen by <paramref name="ids"/>
    /// and/or <paramref name="where"/> through derived data: returns them with only rid, slot and id.
    /// </summary>
    public static List<RecordRow> CheckSelected(SqliteConnection connection, CollectionState state, IReadOnlyList<string>? ids, Where? where, List<RecordRow> rows)
    {
        var filter = RecordFilter.Create(ids, where, null);
        return filter is null ? rows.ConvertAll(row => row with { MetadataJson = null }) : Recheck(connection, null, state, filter, rows, Columns.None);
    }

    /// <summary>
    /// Checks each record a selector chose against the selector, on its checksum-verified id, metadata and document
    /// (<see cref="RecordFilter"/>), then drops the columns the caller did not ask for. A record that does not match
    /// was added by damaged derived data: its filter rows differ from its metadata (confirmed in SQL, so a record is
    /// never refused over a difference in number parsing), the document index points at it, or SQLite's id index
    /// leads to it. That is a <see cref="ChromaCorruptStoreException"/> naming the collection and the record; the
    /// records themselves are intact and the filter data is rebuilt from them (<see cref="FilterRows"/>).
    /// </summary>
    private static List<RecordRow> Recheck(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state, RecordFilter filter, List<RecordRow> rows, Columns columns)
    {
        var project = (columns & Payload) != Payload;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            if (!filter.MatchesId(row.Id))
            {
                throw DerivedMismatch(state, row.Id, "id index (a requested id leads to this record)");
            }

            bool matches;
            try
            {
                matches = filter.MatchesWhere(row.MetadataJson);
            }
            catch (JsonException ex)
            {
                throw RecordChecksum.Mismatch(state.Name, row.Id, "metadata (not valid JSON)", ex);
            }

            // A mismatch is confirmed against the stored filter rows (a difference in number parsing must not refuse a
            // sound record); a collection that keeps none answered from rows derived by that same SQL: nothing to confirm.
            if (!matches && state.FilterRowsKept && FilterRows.Mismatched(connection, transaction, state.Id, row.Rid).Count > 0)
            {
                throw DerivedMismatch(state, row.Id, "filter rows (record_meta: the where filter selected it, its metadata does not match)");
            }

            if (!filter.MatchesDocument(row.Document))
            {
                throw DerivedMismatch(state, row.Id, "document index (FTS5: the where_document filter selected it, its document does not match)");
            }

            if (project)
            {
                rows[i] = row with
                {
                    Document = columns.HasFlag(Columns.Document) ? row.Document : null,
                    MetadataJson = columns.HasFlag(Columns.Metadata) ? row.MetadataJson : null,
                    Uri = columns.HasFlag(Columns.Uri) ? row.Uri : null,
                };
            }
        }

        return rows;
    }

    /// <summary>A filtered read found a record its derived filter data should not have led to.</summary>
    internal static ChromaCorruptStoreException DerivedMismatch(CollectionState state, string id, string what) =>
        new($"The store's filter data is damaged: in collection '{RecordChecksum.Printable(state.Name)}', record " +
            $"'{RecordChecksum.Printable(id)}' was found through a damaged {what}. The records themselves are intact (checksums verified): " +
            "the next filtered read of the collection checks and rebuilds its filter data from them, and ChromaClient.VerifyIntegrity does it for the whole store.");

    // The document, the metadata and the uri share a checksum (psum): a read of any reads all three to verify it.
    private static string SelectList(Columns columns) =>
        "r.rid, r.slot, r.id, r.collection_id"
        + ((columns & Payload) != 0 ? ", r.document, r.metadata, r.psum" : ", NULL, NULL, NULL")
        + (columns.HasFlag(Columns.Embedding) ? ", r.embedding, r.vsum" : ", NULL, NULL")
        + ((columns & Payload) != 0 ? ", r.uri" : ", NULL");

    /// <summary>One row, its checksums verified for the columns it returns (<see cref="RecordChecksum"/>).</summary>
    private static RecordRow ReadRow(SqliteDataReader reader, CollectionState state, Columns columns)
    {
        var id = reader.GetString(2);
        if (reader.GetInt64(3) != state.Id)
        {
            // The index that found the row points at another collection's row: a damaged index.
            throw RecordChecksum.Mismatch(state.Name, id, "index entry (it leads to a row of another collection)");
        }

        string? document = null;
        string? metadata = null;
        string? uri = null;
        if ((columns & Payload) != 0)
        {
            document = reader.IsDBNull(4) ? null : reader.GetString(4);
            metadata = reader.IsDBNull(5) ? null : reader.GetString(5);
            uri = reader.IsDBNull(9) ? null : reader.GetString(9);
            RecordChecksum.VerifyPayload(state, id, document, metadata, uri, reader.GetInt64(6));
        }

        float[]? embedding = null;
        if (columns.HasFlag(Columns.Embedding))
        {
            var blob = (byte[])reader.GetValue(7);
            RecordChecksum.VerifyVector(state, id, blob, reader.GetInt64(8));
            if (state.Dimension is { } dimension && blob.Length != dimension * sizeof(float))
            {
                throw RecordChecksum.Mismatch(state.Name, id, "embedding (wrong length)");
            }

            embedding = MemoryMarshal.Cast<byte, float>(blob).ToArray();
        }

        return new RecordRow(
            reader.GetInt64(0),
            reader.GetInt32(1),
            id,
            columns.HasFlag(Columns.Document) ? document : null,
            columns.HasFlag(Columns.Metadata) ? metadata : null,
            embedding,
            columns.HasFlag(Columns.Uri) ? uri : null);
    }

    private static SqliteCommand Build(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state, string select, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument, int? limit, int offset, bool ordered, ulong[]? whereSlots = null)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var sql = new StringBuilder();
        if (where is not null && !state.FilterRowsKept)
        {
            // The collection keeps no filter rows and this store could not derive them into record_meta (read-only): the
            // statement derives them from the records itself, under the table's name (a scan per read, never a stale row).
            sql.Append("WITH record_meta(collection_id, rid, key, elem, s, n, b) AS MATERIALIZED (")
                .Append(FilterRows.Derived("r.collection_id = $collection"))
                .Append(") ");
        }

        sql.Append($"SELECT {select} FROM records r WHERE r.collection_id = $collection");
        command.Parameters.AddWithValue("$collection", state.Id);
        if (ids is not null)
        {
            sql.Append(" AND r.id IN (SELECT value FROM json_each($ids))");
            command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(ids));
        }

        if (whereSlots is not null)
        {
            sql.Append(" AND r.slot IN (SELECT value FROM json_each($slots))");
            command.Parameters.AddWithValue("$slots", JsonSerializer.Serialize(Index.SlotBitmap.ToSlots(whereSlots)));
        }

        if (where is not null || whereDocument is not null)
        {
            var filter = SqlFilterBuilder.Build(where, whereDocument, documentIndex: !state.ScanDocuments);
            sql.Append(" AND (").Append(filter.Sql).Append(')');
            filter.ApplyTo(command);
        }

        if (ordered)
        {
            sql.Append(" ORDER BY r.rid");
        }

        if (limit is not null || offset > 0)
        {
            sql.Append(" LIMIT $limit OFFSET $offset");
            command.Parameters.AddWithValue("$limit", limit ?? -1);
            command.Parameters.AddWithValue("$offset", offset);
        }

        command.CommandText = sql.ToString();
        return command;
    }

    private static void Execute(SqliteCommand command, Action<SqliteDataReader> read)
    {
        try
        {
            using var reader = command.ExecuteReader();
            read(reader);
        }
        catch (SqliteException ex) when (SqliteRegex.TryTranslate(ex, out var filterException))
        {
            throw filterException;
        }
    }
}
