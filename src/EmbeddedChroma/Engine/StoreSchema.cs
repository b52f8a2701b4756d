using System.Globalization;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Engine;

/// <summary>
/// The SQLite schema of a store (<see cref="Schema"/>): created in a new store; in an existing one its version is
/// checked (an older version is migrated once, one transaction per version step, logged once), and the cheap checks SQLite does not make on its own run
/// at open (the schema text and the catalog tables' integrity). Opening writes nothing otherwise.
/// </summary>
internal static class StoreSchema
{
    /// <summary>Creates the schema in a new store; in an existing one only checks its version (opening writes nothing).</summary>
    public static void Initialize(SqliteDb db, bool create, ILogger logger)
    {
        lock (db.WriteLock)
        {
            using var command = db.Writer.CreateCommand();
            command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'";
            if (command.ExecuteScalar() is null)
            {
                if (!create)
                {
                    // An emptied (zero-length) file is a valid, empty SQLite database: never mistake it for a new store.
                    throw db.Corrupt(new InvalidDataException("no EmbeddedChroma schema"), "it holds no EmbeddedChroma tables; it was emptied or replaced");
                }

                using var tx = db.Writer.BeginTransaction();
                command.Transaction = tx;
                command.CommandText = Schema.Create;
                command.ExecuteNonQuery();
                command.CommandText = "INSERT INTO store_meta(key, value) VALUES ('schema_version', $v), ('seq', '0'), ('store_id', $id)";
                command.Parameters.AddWithValue("$v", SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture));
                command.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
                command.ExecuteNonQuery();
                tx.Commit();
                command.Transaction = null;
                command.Parameters.Clear();
            }

            command.CommandText = "SELECT value FROM store_meta WHERE key = 'schema_version'";
            var version = command.ExecuteScalar() as string;
            var found = version;
            long records = 0;
            if (version is "1" or "2" && db.ReadOnly)
            {
                // The upgrade writes (one transaction per step); a read-only open writes nothing, so it cannot read the
                // older schema either (every read names the new column).
                throw new ChromaReadOnlyException(
                    $"The store '{Echo.Path(db.Path)}' has schema version {version}; this library upgrades it to version {SqliteDb.SchemaVersion} " +
                    "the first time it is opened writable. Open it once without ChromaStoreOptions.ReadOnly (on writable media), then read-only.");
            }

            if (version == "1")
            {
                records = MigrateFrom1(db);
                version = "2";
            }

            if (version == "2")
            {
                MigrateFrom2(db);
                version = "3";
            }

            if (version == "3" && db.ReadOnly)
            {
                // Readable as it is: without marks every document is in the index (PendingDocuments), and nothing writes.
                CheckSchemaAndCatalog(db);
                return;
            }

            if (version == "3")
            {
                MigrateFrom3(db);
                version = SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture);
            }

            if (found != version)
            {
                StoreLog.SchemaMigrated(logger, db.Path, int.Parse(found!, CultureInfo.InvariantCulture), SqliteDb.SchemaVersion, records);
            }

            if (version != SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw new ChromaCorruptStoreException($"The store is corrupt or from another version: '{Echo.Path(db.Path)}' has schema version {version ?? "(none)"}; this library reads version {SqliteDb.SchemaVersion}.");
            }

            CheckSchemaAndCatalog(db);
        }
    }

    /// <summary>The tables and columns of a sound store, in order (from <see cref="Schema.Create"/> in memory).</summary>
    private static readonly Lazy<string> ExpectedColumns = new(() =>
    {
        using var memory = new SqliteConnection("Data Source=:memory:");
        memory.Open();
        SqliteDb.Exec(memory, Schema.Create);
        return TableColumns(memory);
    });

    private static string TableColumns(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT m.name || '.' || p.name || ':' || p.type FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'documents_fts%' AND m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.cid";
        var columns = new System.Text.StringBuilder();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                columns.Append(reader.GetString(0)).Append(';');
            }
        }

        // The indexes' and the document index's definitions, which ALTER TABLE never rewrites.
        command.CommandText = "SELECT name || ':' || IFNULL(sql, '') FROM sqlite_master WHERE type = 'index' OR name = 'documents_fts' ORDER BY name";
        using var definitions = command.ExecuteReader();
        while (definitions.Read())
        {
            columns.Append(definitions.GetString(0)).Append(';');
        }

        return columns.ToString();
    }

    /// <summary>
    /// Cheap checks at open that SQLite does not make on its own: the schema text still describes our tables and columns
    /// (a damaged column name would surface later as "no such column"), and the small catalog tables agree with their
    /// indexes (a damaged index entry would hide a tenant, database or collection: a wrong "not found"). Caller holds the write lock.
    /// </summary>
    private static void CheckSchemaAndCatalog(SqliteDb db)
    {
        if (TableColumns(db.Writer) != ExpectedColumns.Value)
        {
            throw db.Corrupt(new InvalidDataException("schema mismatch"), "its schema does not describe the store's tables and columns");
        }

        foreach (var table in (ReadOnlySpan<string>)["store_meta", "tenants", "databases", "collections"])
        {
            using var command = db.Writer.CreateCommand();
            command.CommandText = $"PRAGMA integrity_check({table})";
            var result = command.ExecuteScalar() as string;
            if (result != "ok")
            {
                throw db.Corrupt(new InvalidDataException(result ?? "no result"), $"integrity check of its catalog table {table}: {result}");
            }
        }
    }

    /// <summary>
    /// Schema 1 → 2 in one transaction: the record checksum columns (filled for every record), the write chain table and
    /// a store id. A store that fails here is left at version 1 (the transaction rolls back). Returns the records summed.
    /// </summary>
    private static long MigrateFrom1(SqliteDb db)
    {
        long records = 0;
        using (var tx = db.Writer.BeginTransaction())
        {
            using var command = db.Writer.CreateCommand();
            command.Transaction = tx;
            command.CommandText = Schema.MigrateFrom1;
            command.ExecuteNonQuery();

            // Index definitions changed within version 1 (elem, records_seq): recreate each as this version defines it,
            // so the schema check at open compares against one definition.
            foreach (var line in Schema.Create.Split('\n'))
            {
                var definition = line.Trim();
                if (definition.StartsWith("CREATE INDEX ", StringComparison.Ordinal))
                {
                    var name = definition.Split(' ')[2];
                    command.CommandText = $"DROP INDEX IF EXISTS {name}; {definition}";
                    command.ExecuteNonQuery();
                }
            }
            using var update = db.Writer.CreateCommand();
            update.Transaction = tx;
            update.CommandText = "UPDATE records SET psum = $p, vsum = $v WHERE rid = $rid";
            var p = update.Parameters.Add("$p", SqliteType.Integer);
            var v = update.Parameters.Add("$v", SqliteType.Integer);
            var rid = update.Parameters.Add("$rid", SqliteType.Integer);
            command.CommandText = "SELECT rid, id, document, metadata, embedding FROM records";
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var id = reader.GetString(1);
                    rid.Value = reader.GetInt64(0);
                    p.Value = RecordChecksum.Payload(id, reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), uri: null);
                    v.Value = RecordChecksum.Vector(id, (byte[])reader.GetValue(4));
                    update.ExecuteNonQuery();
                    records++;
                }
            }

            using (var collections = db.Writer.CreateCommand())
            {
                collections.Transaction = tx;
                collections.CommandText = "SELECT id, uuid, database_id, name, dimension, space, ef_construction, ef_search, max_neighbors, metadata FROM collections";
                var sums = new List<(long Id, long Sum)>();
                using (var reader = collections.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        sums.Add((reader.GetInt64(0), RecordChecksum.CollectionRow(
                            reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetInt32(4), reader.GetString(5),
                            reader.GetInt32(6), reader.GetInt32(7), reader.GetInt32(8), reader.IsDBNull(9) ? null : reader.GetString(9))));
                    }
                }

                collections.CommandText = "UPDATE collections SET csum = $s WHERE id = $id";
                foreach (var (id, sum) in sums)
                {
                    collections.Parameters.Clear();
                    collections.Parameters.AddWithValue("$s", sum);
                    collections.Parameters.AddWithValue("$id", id);
                    collections.ExecuteNonQuery();
                }
            }

            command.CommandText = "INSERT OR IGNORE INTO store_meta(key, value) VALUES ('store_id', $id); UPDATE store_meta SET value = $v WHERE key = 'schema_version'";
            command.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
            command.Parameters.AddWithValue("$v", "2");
            command.ExecuteNonQuery();
            tx.Commit();
        }

        return records;
    }

    /// <summary>
    /// Schema 2 → 3 in one transaction: the nullable <c>records.uri</c> column (<see cref="Schema.MigrateFrom2"/>). No row
    /// is rewritten: without a uri a record's payload checksum is what it was. A store that fails here stays at version 2.
    /// </summary>
    private static void MigrateFrom2(SqliteDb db) => Migrate(db, Schema.MigrateFrom2, 3);

    /// <summary>
    /// Schema 3 → 4 in one transaction: every collection's document index mark (<see cref="Schema.MigrateFrom3"/>). A store
    /// that fails here stays at version 3.
    /// </summary>
    private static void MigrateFrom3(SqliteDb db) => Migrate(db, Schema.MigrateFrom3, 4);

    private static void Migrate(SqliteDb db, string sql, int toVersion)
    {
        using var tx = db.Writer.BeginTransaction();
        using var command = db.Writer.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql + "UPDATE store_meta SET value = $v WHERE key = 'schema_version';";
        command.Parameters.AddWithValue("$v", toVersion.ToString(CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
        tx.Commit();
    }

    /// <summary>A value of <c>store_meta</c>, or null.</summary>
    public static string? ReadMeta(SqliteDb db, string key)
    {
        lock (db.WriteLock)
        {
            var command = db.WriterCommand("SELECT value FROM store_meta WHERE key = $k");
            command.Parameters.AddWithValue("$k", key);
            return (string?)command.ExecuteScalar();
        }
    }
}
