using System.Globalization;
using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Filtering;

/// <summary>
/// An in-memory SQLite database with the storage schema the filter SQL targets (records, record_meta, the trigram
/// FTS5 table) and the regexp function registered. Metadata values: string, bool, int, long, double, or an array of
/// those (written as elem = 1 rows).
/// </summary>
internal sealed class FilterTestDatabase : IDisposable
{
    /// <summary>The store's own schema, so the filter SQL is tested against exactly what production creates.</summary>
    public const string SchemaSql = EmbeddedChroma.Storage.Schema.Create;

    private long _nextRid = 1;

    public FilterTestDatabase()
    {
        Connection = new SqliteConnection("Data Source=:memory:");
        Connection.Open();
        SqliteRegex.Register(Connection);
        Execute(SchemaSql);
    }

    public SqliteConnection Connection { get; }

    public void Add(string id, string? document, params (string Key, object Value)[] metadata) =>
        AddTo(1, id, document, metadata);

    public void AddTo(long collectionId, string id, string? document, params (string Key, object Value)[] metadata)
    {
        long rid = _nextRid++;
        using (SqliteCommand insert = Connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO records(rid, collection_id, id, slot, seq, document, metadata, embedding)
                VALUES ($rid, $c, $id, $rid, $rid, $doc, NULL, zeroblob(4))
                """;
            insert.Parameters.AddWithValue("$rid", rid);
            insert.Parameters.AddWithValue("$c", collectionId);
            insert.Parameters.AddWithValue("$id", id);
            insert.Parameters.AddWithValue("$doc", (object?)document ?? DBNull.Value);
            insert.ExecuteNonQuery();
        }

        if (document is not null)
        {
            using SqliteCommand fts = Connection.CreateCommand();
            fts.CommandText = "INSERT INTO documents_fts(rowid, document) VALUES ($rid, $doc)";
            fts.Parameters.AddWithValue("$rid", rid);
            fts.Parameters.AddWithValue("$doc", document);
            fts.ExecuteNonQuery();
        }

        foreach ((string key, object value) in metadata)
        {
            if (value is Array array)
            {
                foreach (object element in array)
                {
                    InsertMeta(collectionId, rid, key, 1, element);
                }
            }
            else
            {
                InsertMeta(collectionId, rid, key, 0, value);
            }
        }
    }

    /// <summary>Ids of the records of <paramref name="collectionId"/> the filters select, sorted ordinally.</summary>
    public IReadOnlyList<string> Select(Where? where, WhereDocument? whereDocument = null, long collectionId = 1)
    {
        SqlFilter filter = SqlFilterBuilder.Build(where, whereDocument);
        using SqliteCommand command = Connection.CreateCommand();
        command.CommandText =
            $"SELECT r.id FROM records r WHERE r.collection_id = {SqlFilterBuilder.CollectionParameter} AND ({filter.Sql})";
        command.Parameters.AddWithValue(SqlFilterBuilder.CollectionParameter, collectionId);
        filter.ApplyTo(command);
        var ids = new List<string>();
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    public void Execute(string sql)
    {
        using SqliteCommand command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => Connection.Dispose();

    private void InsertMeta(long collectionId, long rid, string key, int elem, object value)
    {
        using SqliteCommand command = Connection.CreateCommand();
        command.CommandText = """
            INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b) VALUES ($c, $rid, $key, $elem, $s, $n, $b)
            """;
        command.Parameters.AddWithValue("$c", collectionId);
        command.Parameters.AddWithValue("$rid", rid);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$elem", elem);
        command.Parameters.AddWithValue("$s", value is string s ? s : DBNull.Value);
        command.Parameters.AddWithValue("$n", value switch
        {
            int or long or double => Convert.ToDouble(value, CultureInfo.InvariantCulture),
            _ => DBNull.Value,
        });
        command.Parameters.AddWithValue("$b", value is bool b ? (b ? 1 : 0) : DBNull.Value);
        command.ExecuteNonQuery();
    }
}
