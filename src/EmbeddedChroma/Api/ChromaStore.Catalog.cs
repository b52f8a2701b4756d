using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma;

// Tenants, databases and collections in the SQLite catalog. Callers have validated and authorized.
public sealed partial class ChromaStore
{
    private void EnsureDefaults()
    {
        InsertTenant(DefaultTenant, ifMissing: true);
        InsertDatabase(DefaultTenant, DefaultDatabase, ifMissing: true);
    }

    internal void InsertTenant(string name, bool ifMissing)
    {
        if (!TenantExists(name))
        {
            var count = (long)WriteCommand("SELECT COUNT(*) FROM tenants").ExecuteScalar()!;
            if (count >= Options.MaxTenants)
            {
                throw new ChromaLimitExceededException(
                    $"Cannot create tenant '{Echo.Text(name)}': the store holds {count} tenants, the limit (ChromaStoreOptions.MaxTenants) is {Options.MaxTenants}.",
                    nameof(ChromaStoreOptions.MaxTenants),
                    Options.MaxTenants);
            }
        }

        var command = WriteCommand("INSERT INTO tenants(name, created_seq) VALUES ($n, $s) ON CONFLICT(name) DO NOTHING");
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$s", NextSeq());
        if (command.ExecuteNonQuery() == 0 && !ifMissing)
        {
            throw new ChromaConflictException($"Tenant '{Echo.Text(name)}' already exists.");
        }
    }

    internal bool TenantExists(string name)
    {
        var command = ReadCommandOnWriter("SELECT 1 FROM tenants WHERE name = $n");
        command.Parameters.AddWithValue("$n", name);
        return command.ExecuteScalar() is not null;
    }

    internal IReadOnlyList<string> ListTenantNames()
    {
        var command = ReadCommandOnWriter("SELECT name FROM tenants ORDER BY created_seq");
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    internal void DeleteTenant(string name)
    {
        var count = WriteCommand("SELECT COUNT(*) FROM databases WHERE tenant = $t");
        count.Parameters.AddWithValue("$t", name);
        if ((long)count.ExecuteScalar()! > 0)
        {
            throw new ChromaConflictException($"Tenant '{Echo.Text(name)}' still has databases; delete them first.");
        }

        var command = WriteCommand("DELETE FROM tenants WHERE name = $n");
        command.Parameters.AddWithValue("$n", name);
        if (command.ExecuteNonQuery() == 0)
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(name));
        }
    }

    internal void InsertDatabase(string tenant, string name, bool ifMissing)
    {
        if (!TenantExists(tenant))
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(tenant));
        }

        var exists = WriteCommand("SELECT 1 FROM databases WHERE tenant = $t AND name = $n");
        exists.Parameters.AddWithValue("$t", tenant);
        exists.Parameters.AddWithValue("$n", name);
        if (exists.ExecuteScalar() is null)
        {
            var count = (long)WriteCommand("SELECT COUNT(*) FROM databases").ExecuteScalar()!;
            if (count >= Options.MaxDatabases)
            {
                throw new ChromaLimitExceededException(
                    $"Cannot create database '{Echo.Text(name)}' in tenant '{Echo.Text(tenant)}': the store holds {count} databases, the limit (ChromaStoreOptions.MaxDatabases) is {Options.MaxDatabases}.",
                    nameof(ChromaStoreOptions.MaxDatabases),
                    Options.MaxDatabases);
            }
        }

        var command = WriteCommand("INSERT INTO databases(tenant, name, created_seq) VALUES ($t, $n, $s) ON CONFLICT(tenant, name) DO NOTHING");
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$s", NextSeq());
        if (command.ExecuteNonQuery() == 0 && !ifMissing)
        {
            throw new ChromaConflictException($"Database '{Echo.Text(name)}' already exists in tenant '{Echo.Text(tenant)}'.");
        }
    }

    /// <summary>The database's row id; throws not-found naming tenant and database.</summary>
    internal long DatabaseId(string tenant, string database)
    {
        var command = ReadCommandOnWriter("SELECT id FROM databases WHERE tenant = $t AND name = $n");
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$n", database);
        return command.ExecuteScalar() is long id
            ? id
            : throw new ChromaNotFoundException(NotFoundMessages.Database(tenant, database));
    }

    internal IReadOnlyList<DatabaseInfo> ListDatabases(string tenant, int? limit, int offset)
    {
        if (!TenantExists(tenant))
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(tenant));
        }

        var command = ReadCommandOnWriter("SELECT name FROM databases WHERE tenant = $t ORDER BY id LIMIT $l OFFSET $o");
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$l", limit ?? -1);
        command.Parameters.AddWithValue("$o", offset);
        using var reader = command.ExecuteReader();
        var list = new List<DatabaseInfo>();
        while (reader.Read())
        {
            list.Add(new DatabaseInfo(tenant, reader.GetString(0)));
        }

        return list;
    }

    internal void DeleteDatabase(string tenant, string name)
    {
        var id = DatabaseId(tenant, name);
        foreach (var state in _collections.Values.Where(c => c.DatabaseId == id && !c.Deleted).ToList())
        {
            DropCollection(state);
        }

        var command = WriteCommand("DELETE FROM databases WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    }

    internal CollectionState? FindCollection(long databaseId, string name) =>
        _collections.Values.FirstOrDefault(c => c.DatabaseId == databaseId && !c.Deleted && c.Name == name);

    internal IEnumerable<CollectionState> CollectionsOf(long databaseId) =>
        _collections.Values.Where(c => c.DatabaseId == databaseId && !c.Deleted).OrderBy(c => c.Id);

    internal CollectionState InsertCollection(long databaseId, string tenant, string database, string name, CollectionConfiguration configuration, Dictionary<string, object?>? metadata)
    {
        // The catalog of live collections is in memory (deleted ones leave it when their deletion commits).
        var count = _collections.Values.Count(c => !c.Deleted);
        if (count >= Options.MaxCollections)
        {
            throw new ChromaLimitExceededException(
                $"Cannot create collection '{Echo.Text(name)}' in '{Echo.Text(tenant)}/{Echo.Text(database)}': the store holds {count} collections, the limit (ChromaStoreOptions.MaxCollections) is {Options.MaxCollections}.",
                nameof(ChromaStoreOptions.MaxCollections),
                Options.MaxCollections);
        }

        var seq = NextSeq();
        var uuid = Guid.NewGuid();
        var command = WriteCommand("""
            INSERT INTO collections(uuid, database_id, name, dimension, space, ef_construction, ef_search, max_neighbors, metadata, created_seq, last_seq, csum)
            VALUES ($u, $d, $n, NULL, $sp, $efc, $efs, $m, $meta, $s, $s, $csum) RETURNING id
            """);
        command.Parameters.AddWithValue("$u", uuid.ToString());
        command.Parameters.AddWithValue("$d", databaseId);
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$sp", CollectionConfiguration.SpaceName(configuration.Space));
        command.Parameters.AddWithValue("$efc", configuration.EfConstruction);
        command.Parameters.AddWithValue("$efs", configuration.EfSearch);
        command.Parameters.AddWithValue("$m", configuration.MaxNeighbors);
        var metadataJson = MetadataCodec.Encode(metadata);
        command.Parameters.AddWithValue("$meta", (object?)metadataJson ?? DBNull.Value);
        command.Parameters.AddWithValue("$s", seq);
        command.Parameters.AddWithValue("$csum", RecordChecksum.CollectionRow(
            uuid.ToString(), databaseId, name, null, CollectionConfiguration.SpaceName(configuration.Space),
            configuration.EfConstruction, configuration.EfSearch, configuration.MaxNeighbors, metadataJson));
        var id = (long)command.ExecuteScalar()!;
        var state = new CollectionState
        {
            Id = id,
            Uuid = uuid,
            DatabaseId = databaseId,
            Tenant = tenant,
            Database = database,
            Name = name,
            Configuration = configuration,
            Metadata = MetadataCodec.Decode(MetadataCodec.Encode(metadata)),
            LastSeq = seq,
            LastChain = CurrentChain,
        };

        // Visible in memory only once the row has committed: a failed transaction leaves no phantom collection.
        OnCommit(() => _collections[id] = state);
        return state;
    }

    internal void UpdateCollectionRow(CollectionState state, string name, Dictionary<string, object>? metadata, int efSearch)
    {
        var command = WriteCommand("UPDATE collections SET name = $n, metadata = $meta, ef_search = $efs, csum = $csum WHERE id = $id");
        var metadataJson = MetadataCodec.Encode(metadata?.ToDictionary(p => p.Key, p => (object?)p.Value));
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$meta", (object?)metadataJson ?? DBNull.Value);
        command.Parameters.AddWithValue("$efs", efSearch);
        command.Parameters.AddWithValue("$csum", RecordChecksum.CollectionRow(state, state.Dimension, name, efSearch, metadataJson));
        command.Parameters.AddWithValue("$id", state.Id);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Deletes a collection's rows inside the current write transaction. Its in-memory state, graph and arena are
    /// dropped only after the commit, so a transaction that fails leaves the collection fully usable.
    /// </summary>
    internal void DropCollection(CollectionState state)
    {
        foreach (var sql in new[]
        {
            "INSERT INTO documents_fts(documents_fts, rowid, document) SELECT 'delete', rid, document FROM records WHERE collection_id = $c AND document IS NOT NULL",
            "DELETE FROM record_meta WHERE collection_id = $c",
            "DELETE FROM records WHERE collection_id = $c",
            "DELETE FROM collections WHERE id = $c",
            "DELETE FROM store_meta WHERE key = 'compacted:' || $c",
        })
        {
            var command = WriteCommand(sql);
            command.Parameters.AddWithValue("$c", state.Id);
            command.ExecuteNonQuery();
        }

        OnCommit(() => ForgetCollection(state));
    }

    private void ForgetCollection(CollectionState state)
    {
        state.Deleted = true;
        state.Indexer?.StopWorker();
        state.Lock.EnterWriteLock();
        try
        {
            state.Indexer?.Dispose();
            state.Indexer = null;
            if (File.Exists(GraphPath(state.Uuid)))
            {
                File.Delete(GraphPath(state.Uuid));
            }

            state.Arena?.Dispose();
            state.Arena = null;
            VectorArena.Delete(ArenaPath(state.Uuid));
            Engine.StoreFolder.TryDelete(_folder.CompactionTempPath(state.Uuid));
            _collections.TryRemove(state.Id, out _);
        }
        finally
        {
            state.Lock.ExitWriteLock();
        }
    }

    private void LoadCollections()
    {
        var command = ReadCommandOnWriter("""
            SELECT c.id, c.uuid, c.database_id, d.tenant, d.name, c.name, c.dimension, c.space, c.ef_construction,
                   c.ef_search, c.max_neighbors, c.metadata, c.last_seq,
                   IFNULL((SELECT w.chain FROM write_chain w WHERE w.seq = c.last_seq), 0), c.csum
            FROM collections c JOIN databases d ON d.id = c.database_id
            """);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (RecordChecksum.Enabled && RecordChecksum.CollectionRow(
                reader.GetString(1), reader.GetInt64(2), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetInt32(6), reader.GetString(7),
                reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10), reader.IsDBNull(11) ? null : reader.GetString(11)) != reader.GetInt64(14))
            {
                throw Db.Corrupt(
                    new InvalidDataException("collection row checksum mismatch"),
                    $"the catalog row of collection #{reader.GetInt64(0)} ('{RecordChecksum.Printable(reader.GetString(5))}') fails its checksum");
            }

            var state = new CollectionState
            {
                Id = reader.GetInt64(0),
                Uuid = Guid.Parse(reader.GetString(1)),
                DatabaseId = reader.GetInt64(2),
                Tenant = reader.GetString(3),
                Database = reader.GetString(4),
                Name = reader.GetString(5),
                Dimension = reader.IsDBNull(6) ? null : reader.GetInt32(6),
                Configuration = new CollectionConfiguration
                {
                    Space = CollectionConfiguration.ParseSpace(reader.GetString(7)),
                    EfConstruction = reader.GetInt32(8),
                    EfSearch = reader.GetInt32(9),
                    MaxNeighbors = reader.GetInt32(10),
                },
                Metadata = MetadataCodec.Decode(reader.IsDBNull(11) ? null : reader.GetString(11)),
                LastSeq = reader.GetInt64(12),
                LastChain = reader.GetInt64(13),
            };
            _collections[state.Id] = state;
        }
    }

    /// <summary>A read on the writer connection (catalog reads are small and rare); caller holds the write lock or is single-threaded.</summary>
    private SqliteCommand ReadCommandOnWriter(string sql)
    {
        return Db.WriterCommand(sql);
    }

    /// <summary>Runs a catalog read under the write lock.</summary>
    internal T InRead<T>(Func<T> read) => _session.Read(read);
}
