using System.Globalization;
using System.Collections.Concurrent;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Engine;

/// <summary>
/// Tenants, databases and collections: their rows in the SQLite catalog, and the live collections in memory (one
/// <see cref="CollectionEngine"/> each, loaded at open; a created one joins when its row commits, a deleted one leaves
/// when its deletion commits). Writes run inside the current write transaction (<see cref="WriteSession.Run{T}"/>),
/// reads under the store's write lock (<see cref="WriteSession.Read{T}"/>). Callers have validated and authorized.
/// </summary>
internal sealed class Catalog(StoreContext store)
{
    /// <summary>The tenant used when none is named.</summary>
    public const string DefaultTenant = ChromaDefaults.Tenant;

    /// <summary>The database used when none is named.</summary>
    public const string DefaultDatabase = ChromaDefaults.Database;

    private readonly StoreContext _store = store;
    private readonly ConcurrentDictionary<long, CollectionEngine> _collections = new();

    private WriteSession Session => _store.Session;

    public void EnsureDefaults()
    {
        InsertTenant(DefaultTenant, ifMissing: true);
        InsertDatabase(DefaultTenant, DefaultDatabase, ifMissing: true);
    }

    public void InsertTenant(string name, bool ifMissing)
    {
        if (!TenantExists(name))
        {
            var count = (long)Session.WriteCommand("SELECT COUNT(*) FROM tenants").ExecuteScalar()!;
            if (count >= _store.Limits.MaxTenants)
            {
                throw new ChromaLimitExceededException(
                    $"Cannot create tenant '{Echo.Text(name)}': the store holds {count} tenants, the limit (ChromaStoreOptions.MaxTenants) is {_store.Limits.MaxTenants}.",
                    "MaxTenants",
                    _store.Limits.MaxTenants);
            }
        }

        var command = Session.WriteCommand("INSERT INTO tenants(name, created_seq) VALUES ($n, $s) ON CONFLICT(name) DO NOTHING");
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$s", Session.NextSeq());
        if (command.ExecuteNonQuery() == 0 && !ifMissing)
        {
            throw new ChromaConflictException($"Tenant '{Echo.Text(name)}' already exists.");
        }
    }

    public bool TenantExists(string name)
    {
        var command = Session.ReadCommand("SELECT 1 FROM tenants WHERE name = $n");
        command.Parameters.AddWithValue("$n", name);
        return command.ExecuteScalar() is not null;
    }

    public IReadOnlyList<string> ListTenantNames()
    {
        var command = Session.ReadCommand("SELECT name FROM tenants ORDER BY created_seq");
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public void DeleteTenant(string name)
    {
        var count = Session.WriteCommand("SELECT COUNT(*) FROM databases WHERE tenant = $t");
        count.Parameters.AddWithValue("$t", name);
        if ((long)count.ExecuteScalar()! > 0)
        {
            throw new ChromaConflictException($"Tenant '{Echo.Text(name)}' still has databases; delete them first.");
        }

        var command = Session.WriteCommand("DELETE FROM tenants WHERE name = $n");
        command.Parameters.AddWithValue("$n", name);
        if (command.ExecuteNonQuery() == 0)
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(name));
        }
    }

    public void InsertDatabase(string tenant, string name, bool ifMissing)
    {
        if (!TenantExists(tenant))
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(tenant));
        }

        var exists = Session.WriteCommand("SELECT 1 FROM databases WHERE tenant = $t AND name = $n");
        exists.Parameters.AddWithValue("$t", tenant);
        exists.Parameters.AddWithValue("$n", name);
        if (exists.ExecuteScalar() is null)
        {
            var count = (long)Session.WriteCommand("SELECT COUNT(*) FROM databases").ExecuteScalar()!;
            if (count >= _store.Limits.MaxDatabases)
            {
                throw new ChromaLimitExceededException(
                    $"Cannot create database '{Echo.Text(name)}' in tenant '{Echo.Text(tenant)}': the store holds {count} databases, the limit (ChromaStoreOptions.MaxDatabases) is {_store.Limits.MaxDatabases}.",
                    "MaxDatabases",
                    _store.Limits.MaxDatabases);
            }
        }

        var command = Session.WriteCommand("INSERT INTO databases(tenant, name, created_seq) VALUES ($t, $n, $s) ON CONFLICT(tenant, name) DO NOTHING");
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$s", Session.NextSeq());
        if (command.ExecuteNonQuery() == 0 && !ifMissing)
        {
            throw new ChromaConflictException($"Database '{Echo.Text(name)}' already exists in tenant '{Echo.Text(tenant)}'.");
        }
    }

    /// <summary>The database's row id; throws not-found naming tenant and database.</summary>
    public long DatabaseId(string tenant, string database)
    {
        var command = Session.ReadCommand("SELECT id FROM databases WHERE tenant = $t AND name = $n");
        command.Parameters.AddWithValue("$t", tenant);
        command.Parameters.AddWithValue("$n", database);
        return command.ExecuteScalar() is long id
            ? id
            : throw new ChromaNotFoundException(NotFoundMessages.Database(tenant, database));
    }

    public IReadOnlyList<DatabaseInfo> ListDatabases(string tenant, int? limit, int offset)
    {
        if (!TenantExists(tenant))
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(tenant));
        }

        var command = Session.ReadCommand("SELECT name FROM databases WHERE tenant = $t ORDER BY id LIMIT $l OFFSET $o");
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

    public void DeleteDatabase(string tenant, string name)
    {
        var id = DatabaseId(tenant, name);
        foreach (var collection in _collections.Values.Where(c => c.State.DatabaseId == id && !c.Deleted).ToList())
        {
            DropCollection(collection);
        }

        var command = Session.WriteCommand("DELETE FROM databases WHERE id = $id");
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    }

    public CollectionEngine? FindCollection(long databaseId, string name) =>
        _collections.Values.FirstOrDefault(c => c.State.DatabaseId == databaseId && !c.Deleted && c.Name == name);

    /// <summary>
    /// A live collection of <paramref name="tenant"/>/<paramref name="database"/> by id, from the in-memory catalog
    /// only: no SQL and no store write lock, so looking a collection up (every record call over the wire does) never
    /// waits for another write's commit. Null when not found; the caller then asks SQLite under the lock, which also
    /// tells a missing database from a missing collection.
    /// </summary>
    public CollectionEngine? FindLoaded(string tenant, string database, Guid uuid) =>
        _collections.Values.FirstOrDefault(c => c.Uuid == uuid && !c.Deleted && c.State.Tenant == tenant && c.State.Database == database);

    /// <summary>As <see cref="FindLoaded(string, string, Guid)"/>, by name.</summary>
    public CollectionEngine? FindLoaded(string tenant, string database, string name) =>
        _collections.Values.FirstOrDefault(c => !c.Deleted && c.Name == name && c.State.Tenant == tenant && c.State.Database == database);

    public IEnumerable<CollectionEngine> CollectionsOf(long databaseId) =>
        _collections.Values.Where(c => c.State.DatabaseId == databaseId && !c.Deleted).OrderBy(c => c.Id);

    /// <summary>Every loaded collection (deleted ones leave when their deletion commits).</summary>
    public ICollection<CollectionEngine> All => _collections.Values;

    public CollectionEngine InsertCollection(long databaseId, string tenant, string database, string name, CollectionConfiguration configuration, Dictionary<string, object?>? metadata)
    {
        // The catalog of live collections is in memory (deleted ones leave it when their deletion commits).
        var count = _collections.Values.Count(c => !c.Deleted);
        if (count >= _store.Limits.MaxCollections)
        {
            throw new ChromaLimitExceededException(
                $"Cannot create collection '{Echo.Text(name)}' in '{Echo.Text(tenant)}/{Echo.Text(database)}': the store holds {count} collections, the limit (ChromaStoreOptions.MaxCollections) is {_store.Limits.MaxCollections}.",
                "MaxCollections",
                _store.Limits.MaxCollections);
        }

        var seq = Session.NextSeq();
        var uuid = Guid.NewGuid();
        var command = Session.WriteCommand("""
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
        if (configuration.EmbeddingFunction is { } function)
        {
            // Chroma's configuration.embedding_function, kept beside the catalog row (no schema change).
            var remember = Session.WriteCommand("INSERT OR REPLACE INTO store_meta(key, value) VALUES ($k, $v)");
            remember.Parameters.AddWithValue("$k", EmbeddingFunctionKey + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            remember.Parameters.AddWithValue("$v", function.ToJson());
            remember.ExecuteNonQuery();
        }

        if (configuration.VectorStorage != VectorStorage.Float32)
        {
            // configuration.vector_storage, beside the catalog row like the embedding function (absent means float32).
            var storage = Session.WriteCommand("INSERT OR REPLACE INTO store_meta(key, value) VALUES ($k, $v)");
            storage.Parameters.AddWithValue("$k", VectorStorageKey + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            storage.Parameters.AddWithValue("$v", CollectionConfiguration.VectorStorageName(configuration.VectorStorage));
            storage.ExecuteNonQuery();
        }

        // With the in-memory filter index enabled, the collection does not keep filter rows in SQLite (see
        // CollectionState.FilterRowsKept): marked beside the catalog row, so a collection without the mark keeps them.
        var keepsFilterRows = _store.Limits.FilterIndexMemoryBudget == 0;
        if (!keepsFilterRows)
        {
            var mark = Session.WriteCommand("INSERT OR REPLACE INTO store_meta(key, value) VALUES ($k, 'derived')");
            mark.Parameters.AddWithValue("$k", FilterRowsKey + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            mark.ExecuteNonQuery();
        }

        // Its documents are indexed for where_document after the batches that write them (PendingDocuments): none yet.
        PendingDocuments.Mark(_store.Db.Writer, _store.Db.CurrentTransaction!, id, seq);

        var state = new CollectionState
        {
            FilterRowsKept = keepsFilterRows,
            DocumentsDeferred = true,
            Id = id,
            Uuid = uuid,
            DatabaseId = databaseId,
            Tenant = tenant,
            Database = database,
            Name = name,
            Configuration = configuration,
            Metadata = MetadataCodec.Decode(MetadataCodec.Encode(metadata)),
            LastSeq = seq,
            LastChain = Session.CurrentChain,
        };

        // Visible in memory only once the row has committed: a failed transaction leaves no phantom collection.
        var collection = new CollectionEngine(state, _store);
        Session.OnCommit(() => _collections[id] = collection);
        return collection;
    }

    private void UpdateCollectionRow(CollectionState state, string name, Dictionary<string, object>? metadata, int efSearch)
    {
        var command = Session.WriteCommand("UPDATE collections SET name = $n, metadata = $meta, ef_search = $efs, csum = $csum WHERE id = $id");
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
    public void DropCollection(CollectionEngine collection)
    {
        var state = collection.State;
        foreach (var sql in new[]
        {
            PendingDocuments.UnindexCollectionStatement,
            "DELETE FROM record_meta WHERE collection_id = $c",
            "DELETE FROM records WHERE collection_id = $c",
            "DELETE FROM collections WHERE id = $c",
            "DELETE FROM store_meta WHERE key = 'compacted:' || $c",
            "DELETE FROM store_meta WHERE key = 'embedding_function:' || $c",
            "DELETE FROM store_meta WHERE key = 'vector_storage:' || $c",
            "DELETE FROM store_meta WHERE key = 'filter_rows:' || $c",
            "DELETE FROM store_meta WHERE key = '" + Filtering.SqlFilterBuilder.DocumentsIndexedKeyPrefix + "' || $c",
        })
        {
            var command = Session.WriteCommand(sql);
            command.Parameters.AddWithValue("$c", state.Id);
            command.ExecuteNonQuery();
        }

        Session.OnCommit(() =>
        {
            collection.Forget();
            _collections.TryRemove(state.Id, out _);
        });
    }

    public void Load()
    {
        var command = Session.ReadCommand("""
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
                throw _store.Db.Corrupt(
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
            _collections[state.Id] = new CollectionEngine(state, _store);
        }

        LoadEmbeddingFunctions();
        LoadVectorStorages();
        LoadFilterRowMarks();
        foreach (var id in Session.Db.Guard(() => PendingDocuments.MarkedCollections(Session.Db.Writer, null)))
        {
            if (_collections.TryGetValue(id, out var collection))
            {
                collection.State.DocumentsDeferred = true;
            }
        }
    }

    /// <summary>
    /// The <c>store_meta</c> key prefix (followed by the collection's row id) marking a collection that keeps no filter rows
    /// in SQLite (<see cref="CollectionState.FilterRowsKept"/>); removed when they are derived for a read that filters in SQL.
    /// </summary>
    internal const string FilterRowsKey = "filter_rows:";

    private void LoadFilterRowMarks()
    {
        // Whatever the value: a mark only ever makes the store derive the rows from the records instead of trusting them.
        var command = Session.ReadCommand("SELECT key FROM store_meta WHERE key LIKE 'filter_rows:%'");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (long.TryParse(reader.GetString(0).AsSpan(FilterRowsKey.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                && _collections.TryGetValue(id, out var collection))
            {
                collection.State.FilterRowsKept = false;
            }
        }
    }

    /// <summary>The <c>store_meta</c> key prefix of a collection's vector storage when not float32 (followed by the collection's row id).</summary>
    private const string VectorStorageKey = "vector_storage:";

    private void LoadVectorStorages()
    {
        var command = Session.ReadCommand("SELECT key, value FROM store_meta WHERE key LIKE 'vector_storage:%'");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (!long.TryParse(reader.GetString(0).AsSpan(VectorStorageKey.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                || !_collections.TryGetValue(id, out var collection))
            {
                continue;
            }

            VectorStorage storage;
            try
            {
                storage = CollectionConfiguration.ParseVectorStorage(reader.GetString(1));
            }
            catch (ChromaValidationException ex)
            {
                throw _store.Db.Corrupt(new InvalidDataException(ex.Message), $"the vector storage of collection #{id} is not readable");
            }

            collection.State.Configuration = collection.State.Configuration with { VectorStorage = storage };
        }
    }

    /// <summary>The <c>store_meta</c> key prefix of a collection's embedding function (followed by the collection's row id).</summary>
    private const string EmbeddingFunctionKey = "embedding_function:";

    private void LoadEmbeddingFunctions()
    {
        var command = Session.ReadCommand("SELECT key, value FROM store_meta WHERE key LIKE 'embedding_function:%'");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (!long.TryParse(reader.GetString(0).AsSpan(EmbeddingFunctionKey.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                || !_collections.TryGetValue(id, out var collection))
            {
                continue;
            }

            EmbeddingFunctionConfiguration function;
            try
            {
                function = EmbeddingFunctionConfiguration.FromJson(reader.GetString(1));
            }
            catch (ChromaValidationException ex)
            {
                throw _store.Db.Corrupt(new InvalidDataException(ex.Message), $"the embedding function of collection #{id} is not readable");
            }

            collection.State.Configuration = collection.State.Configuration with { EmbeddingFunction = function };
        }
    }

    /// <summary>
    /// Renames a collection, replaces its metadata and/or changes its configuration (already validated), in one write
    /// transaction; the in-memory state changes once it commits.
    /// </summary>
    /// <exception cref="ChromaConflictException">Another collection of the database has the new name.</exception>
    public void Modify(CollectionEngine collection, string? name, Dictionary<string, object?>? metadata, CollectionConfiguration configuration)
    {
        var state = collection.State;
        var previous = state.Configuration;
        var storageChanged = configuration.VectorStorage != previous.VectorStorage;
        var suspended = false;
        var committed = false;
        try
        {
            Session.Run(
                () =>
                {
                    collection.ThrowIfDeleted();
                    var newName = name ?? state.Name;
                    if (newName != state.Name && FindCollection(state.DatabaseId, newName) is not null)
                    {
                        throw new ChromaCollectionExistsException($"Collection '{Echo.Text(newName)}' already exists in '{Echo.Text(state.Tenant)}/{Echo.Text(state.Database)}'.", newName);
                    }

                    var newMetadata = metadata is null ? state.Metadata : MetadataCodec.Decode(MetadataCodec.Encode(metadata));
                    UpdateCollectionRow(state, newName, newMetadata, configuration.EfSearch);
                    if (storageChanged)
                    {
                        // The new vector_storage is recorded with the catalog change (absent means float32); the graph file of
                        // the old storage is deleted first, so a crash after the commit reopens with the new storage and
                        // rebuilds from the records (the file also records its element type: see HnswGraph.Persistence).
                        var storage = Session.WriteCommand(configuration.VectorStorage == VectorStorage.Float32
                            ? "DELETE FROM store_meta WHERE key = $k"
                            : "INSERT OR REPLACE INTO store_meta(key, value) VALUES ($k, $v)");
                        storage.Parameters.AddWithValue("$k", VectorStorageKey + state.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        storage.Parameters.AddWithValue("$v", CollectionConfiguration.VectorStorageName(configuration.VectorStorage));
                        storage.ExecuteNonQuery();
                        suspended = true;
                        collection.ForgetSavedGraph();
                    }

                    return (newName, newMetadata);
                },
                done =>
                {
                    committed = true;
                    collection.Modified(done.newName, done.newMetadata, configuration);
                });
        }
        finally
        {
            if (suspended && !committed)
            {
                // The change did not commit: the collection keeps its storage, and its graph (whose file is gone) is
                // rebuilt in the background as after a storage change.
                collection.ChangeStorage(previous);
            }
        }
    }

    /// <summary>
    /// Checks every collection's filter rows and the document index against the records and rebuilds what differs
    /// (<see cref="CollectionEngine.VerifyFilterData"/>). <paramref name="indexProblems"/> are the lines of SQLite's
    /// integrity check about those derived structures only (<see cref="IsFilterDataProblem"/>): their indexes are
    /// rebuilt too. Returns what was rebuilt.
    /// </summary>
    public FilterDataFindings VerifyFilterData(IReadOnlyList<string> indexProblems)
    {
        var rebuilt = 0;
        var findings = new FilterDataFindings();
        foreach (var collection in _collections.Values.Where(c => !c.Deleted).OrderBy(c => c.Id).ToList())
        {
            try
            {
                var rows = collection.VerifyFilterData(rows: true, documents: false);
                findings.RowsRebuilt[collection.Id] = rows;
                if (!collection.State.FilterRowsKept)
                {
                    findings.RowsNotKept.Add(collection.Id);
                }

                rebuilt += rows;
                if (!findings.DocumentsChecked)
                {
                    // The document index is the store's (one FTS5 table): checked once, through the first collection.
                    var documents = collection.VerifyFilterData(rows: false, documents: true);
                    findings.DocumentIndexRebuilt = documents > 0;
                    findings.DocumentsChecked = true;
                    rebuilt += documents;
                }
            }
            catch (ChromaNotFoundException) when (collection.Deleted)
            {
                // Deleted meanwhile: nothing of it is left to check.
            }
        }

        if (indexProblems.Count > 0 && rebuilt == 0)
        {
            // SQLite saw damage in an index of the filter data that no collection's comparison showed: rebuild the indexes.
            var db = _store.Db;
            if (db.ReadOnly)
            {
                throw new ChromaCorruptStoreException(
                    $"The store's filter data is damaged ({Echo.Text(string.Join("; ", indexProblems.Take(3)), 400)}). The records themselves are intact; " +
                    "this store was opened for reads only: open it writable and run ChromaClient.VerifyIntegrity to rebuild it.");
            }

            Session.Run(() =>
            {
                var transaction = db.CurrentTransaction!;
                using (var reindex = db.Writer.CreateCommand())
                {
                    reindex.Transaction = transaction;
                    reindex.CommandText = "REINDEX record_meta";
                    reindex.ExecuteNonQuery();
                }

                if (indexProblems.Any(p => p.Contains("documents_fts", StringComparison.Ordinal)))
                {
                    FilterRows.RebuildDocumentIndex(db.Writer, transaction, Session.Seq);
                }

                return 0;
            });
            StoreLog.DocumentIndexRebuilt(_store.Limits.Logger, db.Path, string.Join("; ", indexProblems.Take(3)));
            findings.IndexesRebuilt = string.Join("; ", indexProblems.Take(3));
        }

        return findings;
    }

    /// <summary>
    /// Checks every collection's derived data against its records and repairs what differs
    /// (<see cref="CollectionEngine.VerifyDerived"/>), collection by collection; the records' checksums were verified first.
    /// </summary>
    public List<(CollectionEngine Collection, int Records, List<DerivedFinding> Findings)> VerifyDerived(CancellationToken cancellationToken)
    {
        var result = new List<(CollectionEngine, int, List<DerivedFinding>)>();
        foreach (var collection in _collections.Values.Where(c => !c.Deleted).OrderBy(c => c.Id).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var findings = collection.VerifyDerived(cancellationToken);
                result.Add((collection, collection.State.Count, findings));
            }
            catch (ChromaNotFoundException) when (collection.Deleted)
            {
                // Deleted meanwhile: nothing of it is left to check.
            }
        }

        return result;
    }

    /// <summary>Whether a line of SQLite's integrity check is about the derived filter data only (an index of <c>record_meta</c>, the FTS5 index).</summary>
    public static bool IsFilterDataProblem(string line) =>
        line.Contains("index record_meta_", StringComparison.Ordinal) || line.Contains("documents_fts", StringComparison.Ordinal);

    /// <summary>
    /// Checks every record's stored fields against their checksums (<see cref="RecordChecksum"/>); throws
    /// <see cref="ChromaCorruptStoreException"/> naming the first damaged records. Caller holds the store's write lock.
    /// </summary>
    /// <remarks><paramref name="progress"/> counts the records read (its token is checked per record).</remarks>
    public long VerifyRecords(ProgressReporter? progress = null)
    {
        var names = _collections.Values.ToDictionary(c => c.Id, c => c.Name);
        var db = _store.Db;
        var damaged = new List<string>();
        var total = 0;
        var read = 0L;
        var connection = db.Rent();
        try
        {
            using var command = connection.CreateCommand();
            if (progress is not null)
            {
                command.CommandText = "SELECT COUNT(*) FROM records";
                progress.Start(Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture));
            }

            command.CommandText = "SELECT collection_id, id, document, metadata, psum, embedding, vsum, uri FROM records";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetString(1);
                string? what = null;
                if (RecordChecksum.Payload(id, reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(7) ? null : reader.GetString(7)) != reader.GetInt64(4))
                {
                    what = RecordChecksum.PayloadFields;
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

                read++;
                progress?.Advance(read);
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex) when (SqliteDb.IsCorruption(ex))
        {
            throw db.Corrupt(ex);
        }
        finally
        {
            db.Return(connection);
        }

        if (total > 0)
        {
            throw new ChromaCorruptStoreException(
                $"The store is corrupt: {total} record(s) in '{db.Path}' fail their checksums ({string.Join("; ", damaged)}). " +
                "Restore the store folder from a backup; the store cannot be trusted as it is.");
        }

        return read;
    }
}

/// <summary>What <see cref="Catalog.VerifyFilterData"/> found: records whose filter rows were rebuilt per collection, the document index, SQLite's indexes.</summary>
internal sealed class FilterDataFindings
{
    /// <summary>Collection id → records whose filter rows differed from their metadata and were rebuilt.</summary>
    public Dictionary<long, int> RowsRebuilt { get; } = [];

    /// <summary>Collections that keep no filter rows in SQLite (<see cref="CollectionState.FilterRowsKept"/>): nothing to compare.</summary>
    public HashSet<long> RowsNotKept { get; } = [];

    public bool DocumentsChecked { get; set; }

    /// <summary>The FTS5 document index differed from the documents and was rebuilt.</summary>
    public bool DocumentIndexRebuilt { get; set; }

    /// <summary>SQLite's integrity check found only the filter data's indexes damaged (its lines), rebuilt with REINDEX; null otherwise.</summary>
    public string? IndexesRebuilt { get; set; }
}
