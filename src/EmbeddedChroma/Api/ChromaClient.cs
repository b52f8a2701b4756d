using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma;

/// <summary>
/// The operations of one caller (an <see cref="ApiKeyContext"/>) on one tenant/database, like Chroma's
/// client: tenants, databases and collections. Every call re-checks the key and its permission.
/// Obtain one from <see cref="ChromaStore.GetClient(ApiKeyContext, string, string)"/>.
/// </summary>
/// <remarks>
/// Thread-safe. Its properties (<see cref="Context"/>, <see cref="Tenant"/>, <see cref="Database"/>) are the values it
/// was created with; they read nothing from the store, so they reveal nothing once its key is revoked.
/// </remarks>
public sealed partial class ChromaClient
{
    internal ChromaClient(ChromaStore store, ApiKeyContext context, string tenant, string database)
    {
        Store = store;
        Context = context;
        Tenant = tenant;
        Database = database;
    }

    internal ChromaStore Store { get; }

    /// <summary>The caller this client acts for.</summary>
    public ApiKeyContext Context { get; }

    /// <summary>The tenant collections are created in and looked up from.</summary>
    public string Tenant { get; }

    /// <summary>The database collections are created in and looked up from.</summary>
    public string Database { get; }

    /// <summary>A client for the same caller on another database (and optionally tenant).</summary>
    public ChromaClient WithDatabase(string database, string? tenant = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        Names.RejectKey(database, "database name");
        Names.RejectKey(tenant ?? Tenant, "tenant name");
        Store.ThrowIfClosed();
        Store.Keys.Authorize(Context, ChromaActions.GetDatabase, new ResourceRef(tenant ?? Tenant, database), navigate: true, implied: true);
        return new ChromaClient(Store, Context, tenant ?? Tenant, database);
    }

    internal void Gate(string action, in ResourceRef resource, bool navigate = false)
    {
        Store.ThrowIfClosed();
        Store.Keys.Authorize(Context, action, resource, navigate);
    }

    /// <summary>
    /// Checks again that the key is still usable and in scope, without counting a second use (for a call that was gated
    /// before a long step, such as embedding its texts): a key revoked meanwhile stops here.
    /// </summary>
    internal void Recheck(string action, in ResourceRef resource)
    {
        Store.ThrowIfClosed();
        Store.Keys.Authorize(Context, action, resource, implied: true);
    }

    private bool Sees(in ResourceRef resource) => KeyRing.Touches(Context.Record, resource);

    /// <summary>A nanosecond timestamp, like Chroma's heartbeat; gated like every call.</summary>
    public long Heartbeat()
    {
        using var op = Telemetry.Start(Telemetry.Ops.Heartbeat, null, null, null);
        try
        {
            return HeartbeatCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private long HeartbeatCore()
    {
        Gate(ChromaActions.SystemHeartbeat, default);
        return Store.Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
    }

    /// <summary>
    /// Writes a consistent copy of the whole store into <paramref name="destinationFolder"/> (new, or an empty
    /// folder outside the store) while the store stays open: every write acknowledged before the call, none
    /// begun after it, and the key ring (the same keys open the copy). Open the copy with
    /// <see cref="ChromaStore.Open"/>; it carries the collections' vector files, taken at the same point as the
    /// database, so they are not rebuilt (writers wait while the vectors are copied). Needs
    /// <see cref="ChromaActions.SystemBackup"/> and an admin key (the bootstrap key or a recovered one): the copy
    /// holds the ring and its pepper, so whoever holds it can recover an admin key of the copy.
    /// </summary>
    /// <exception cref="ChromaValidationException">The destination is not a new or empty folder outside the store.</exception>
    /// <exception cref="ChromaAuthorizationException">The key lacks the action or is not an admin key.</exception>
    public BackupResult Backup(string destinationFolder)
    {
        using var op = Telemetry.Start(Telemetry.Ops.Backup, null, null, null);
        try
        {
            return BackupCore(destinationFolder);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private BackupResult BackupCore(string destinationFolder, ProgressReporter? progress = null)
    {
        Gate(ChromaActions.SystemBackup, default);
        RequireAdmin("back up the store: a backup copies every tenant and the key ring with its pepper");
        return Store.BackupTo(destinationFolder, progress);
    }

    /// <summary>
    /// <see cref="Backup(string)"/> reporting the pages of the SQLite file copied to <paramref name="progress"/>
    /// (<see cref="ChromaProgress"/>: operation <c>"backup"</c>, unit <c>"pages"</c>; the key ring and the vector files
    /// are copied before the first page) and stopping when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <remarks>
    /// A backup that is cancelled (or fails) leaves nothing behind: a destination folder it created is deleted, an empty
    /// one it was given is emptied again; the store itself is never changed by a backup. Once the copy is complete the
    /// final rename is not interrupted, and the final report (<c>Total</c> of <c>Total</c>) follows it.
    /// </remarks>
    /// <exception cref="ChromaValidationException">The destination is not a new or empty folder outside the store.</exception>
    /// <exception cref="ChromaAuthorizationException">The key lacks the action or is not an admin key.</exception>
    /// <exception cref="ChromaBackupException">Writing the copy failed; nothing is left in the destination.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the copy was complete; nothing is left
    /// in the destination. Besides <see cref="ChromaException"/>s it is the one exception a call lets through.</exception>
    public BackupResult Backup(string destinationFolder, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken = default)
    {
        using var op = Telemetry.Start(Telemetry.Ops.Backup, null, null, null);
        try
        {
            return BackupCore(destinationFolder, ProgressReporter.Create(Telemetry.Ops.Backup, "pages", progress, cancellationToken));
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>Store-wide operations that copy or inspect the whole store need an admin key, not a data key.</summary>
    private void RequireAdmin(string what)
    {
        if (!Context.Record.IsAdmin)
        {
            throw new ChromaAuthorizationException($"The key {Context} may not {what}, so it needs an admin key (the bootstrap or a recovered admin key, scoped to '*'); a data key cannot, whatever its grants.");
        }
    }

    /// <summary>
    /// Reads the whole SQLite file and checks it (<c>PRAGMA integrity_check</c>): every page, index and constraint; then
    /// every record's id, embedding, metadata and document against the checksums stored with it; then everything derived
    /// from the records, collection by collection (every tenant's and database's), and rebuilds from the records what
    /// differs: the filter rows and the document index; the vector arena (every live record's row bitwise against its
    /// embedding, the file's header, owner stamp and, when marked clean, its rows checksum); the HNSW graph (its
    /// structure, every live record linked or pending and every gone one marked deleted, its saved file's checksums and
    /// owner); the filter index (in memory and its saved file, against one built afresh from the records). Opening a
    /// store only does cheap checks (header, schema, catalog) to stay fast; run this after a crash of the machine, a disk
    /// error or a copy of the folder to find damage before a query hits it. Takes time proportional to the store's size;
    /// writes wait meanwhile, and a collection's queries while it is checked.
    /// </summary>
    /// <returns>What was checked and what was repaired (each repair is also logged as a Warning, event 50, or the filter
    /// data's 30/31); a repaired store answers as its records say.</returns>
    /// <remarks>Needs <see cref="ChromaActions.VerifyIntegrity"/> and an admin key: it reads every tenant's pages and holds the store's write lock meanwhile.</remarks>
    /// <exception cref="ChromaCorruptStoreException">The file is damaged; the message names it and the first problems found
    /// (for a damaged record: its collection and id). Damage in derived data alone is repaired and reported instead.</exception>
    /// <exception cref="ChromaAuthorizationException">The key lacks the action or is not an admin key.</exception>
    public ChromaIntegrityReport VerifyIntegrity()
    {
        using var op = Telemetry.Start(Telemetry.Ops.VerifyIntegrity, null, null, null);
        try
        {
            return VerifyIntegrityCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>
    /// <see cref="VerifyIntegrity()"/> reporting the records checked to <paramref name="progress"/>
    /// (<see cref="ChromaProgress"/>: operation <c>"verify_integrity"</c>, unit <c>"records"</c>; SQLite's page check runs
    /// first, before the first report, and the derived data's check after the last record, before the final report) and
    /// stopping when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <remarks>
    /// The check reads; cancelled, it stops where it is and the store is as before (derived data it found damaged and
    /// already rebuilt stays rebuilt: each rebuild is a step of its own). SQLite's page check is interrupted too.
    /// </remarks>
    /// <returns>What was checked and what was repaired (see <see cref="VerifyIntegrity()"/>).</returns>
    /// <exception cref="ChromaCorruptStoreException">The file is damaged (see <see cref="VerifyIntegrity()"/>).</exception>
    /// <exception cref="ChromaAuthorizationException">The key lacks the action or is not an admin key.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the check finished. Besides
    /// <see cref="ChromaException"/>s it is the one exception a call lets through.</exception>
    public ChromaIntegrityReport VerifyIntegrity(IProgress<ChromaProgress>? progress, CancellationToken cancellationToken = default)
    {
        using var op = Telemetry.Start(Telemetry.Ops.VerifyIntegrity, null, null, null);
        try
        {
            return VerifyIntegrityCore(ProgressReporter.Create(Telemetry.Ops.VerifyIntegrity, "records", progress, cancellationToken));
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private ChromaIntegrityReport VerifyIntegrityCore(ProgressReporter? progress = null)
    {
        Gate(ChromaActions.VerifyIntegrity, default);
        RequireAdmin("check the whole store: the check reads every tenant's data and holds the store's write lock meanwhile");
        progress?.ThrowIfCancellationRequested();
        var problems = Store.InRead(() => Store.Db.Check(full: true, progress?.Token ?? default));
        var filterProblems = problems.Where(Engine.Catalog.IsFilterDataProblem).ToList();
        if (problems.Count > filterProblems.Count)
        {
            throw Store.Db.Corrupt(new InvalidDataException(string.Join("; ", problems)), $"integrity check: {string.Join("; ", problems.Take(5))}");
        }

        // SQLite checks the pages' structure; the records' checksums check their content.
        var records = Store.Catalog.VerifyRecords(progress);

        // The filter rows and the document index are derived from the records: compared with them, rebuilt where they differ.
        progress?.ThrowIfCancellationRequested();
        var filterData = Store.Catalog.VerifyFilterData(filterProblems);

        // So are the vector arenas, the graphs and the filter indexes, in memory and in their files.
        var derived = Store.Catalog.VerifyDerived(progress?.Token ?? default);
        progress?.Finish();
        return ChromaIntegrityReport.From(records, filterData, derived);
    }

    // ---- tenants ----

    /// <summary>Creates a tenant.</summary>
    /// <exception cref="ChromaConflictException">It exists.</exception>
    public void CreateTenant(string name)
    {
        using var op = Telemetry.Start(Telemetry.Ops.CreateTenant, name, null, null);
        try
        {
            CreateTenantCore(name);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void CreateTenantCore(string name)
    {
        Names.Validate(name, "tenant");
        Gate(ChromaActions.CreateTenant, new ResourceRef(name));
        Store.InWrite(() => { Store.Catalog.InsertTenant(name, ifMissing: false); return 0; });
    }

    /// <summary>Returns the tenant, or throws <see cref="ChromaNotFoundException"/>.</summary>
    public TenantInfo GetTenant(string name)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetTenant, name, null, null);
        try
        {
            return GetTenantCore(name);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private TenantInfo GetTenantCore(string name)
    {
        Names.RejectKey(name, "tenant name");
        Gate(ChromaActions.GetTenant, new ResourceRef(name), navigate: true);
        if (!Store.InRead(() => Store.Catalog.TenantExists(name)))
        {
            throw new ChromaNotFoundException(NotFoundMessages.Tenant(name));
        }

        return new TenantInfo(name);
    }

    /// <summary>Lists tenant names, oldest first.</summary>
    public IReadOnlyList<string> ListTenants()
    {
        using var op = Telemetry.Start(Telemetry.Ops.ListTenants, null, null, null);
        try
        {
            return ListTenantsCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private List<string> ListTenantsCore()
    {
        Gate(ChromaActions.ListTenants, default);
        return Store.InRead(Store.Catalog.ListTenantNames).Where(t => Sees(new ResourceRef(t))).ToList();
    }

    /// <summary>Deletes an empty tenant.</summary>
    /// <exception cref="ChromaConflictException">It still has databases.</exception>
    public void DeleteTenant(string name)
    {
        using var op = Telemetry.Start(Telemetry.Ops.DeleteTenant, name, null, null);
        try
        {
            DeleteTenantCore(name);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void DeleteTenantCore(string name)
    {
        Names.RejectKey(name, "tenant name");
        Gate(ChromaActions.DeleteTenant, new ResourceRef(name));
        Store.InWrite(() => { Store.Catalog.DeleteTenant(name); return 0; });
    }

    // ---- databases ----

    /// <summary>Creates a database in <paramref name="tenant"/> (default: this client's tenant).</summary>
    public void CreateDatabase(string name, string? tenant = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.CreateDatabase, tenant ?? Tenant, name, null);
        try
        {
            CreateDatabaseCore(name, tenant);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void CreateDatabaseCore(string name, string? tenant = null)
    {
        tenant ??= Tenant;
        Names.Validate(name, "database");
        Names.RejectKey(tenant, "tenant name");
        Gate(ChromaActions.CreateDatabase, new ResourceRef(tenant, name));
        Store.InWrite(() => { Store.Catalog.InsertDatabase(tenant, name, ifMissing: false); return 0; });
    }

    /// <summary>Returns the database, or throws <see cref="ChromaNotFoundException"/>.</summary>
    public DatabaseInfo GetDatabase(string name, string? tenant = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetDatabase, tenant ?? Tenant, name, null);
        try
        {
            return GetDatabaseCore(name, tenant);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private DatabaseInfo GetDatabaseCore(string name, string? tenant = null)
    {
        tenant ??= Tenant;
        Names.RejectKey(name, "database name");
        Names.RejectKey(tenant, "tenant name");
        Gate(ChromaActions.GetDatabase, new ResourceRef(tenant, name), navigate: true);
        Store.InRead(() => Store.Catalog.DatabaseId(tenant, name));
        return new DatabaseInfo(tenant, name);
    }

    /// <summary>Lists a tenant's databases, oldest first.</summary>
    public IReadOnlyList<DatabaseInfo> ListDatabases(string? tenant = null, int? limit = null, int offset = 0)
    {
        using var op = Telemetry.Start(Telemetry.Ops.ListDatabases, tenant ?? Tenant, null, null);
        try
        {
            return ListDatabasesCore(tenant, limit, offset);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private List<DatabaseInfo> ListDatabasesCore(string? tenant = null, int? limit = null, int offset = 0)
    {
        tenant ??= Tenant;
        Names.RejectKey(tenant, "tenant name");
        Validation.LimitOffset(limit, offset);
        Gate(ChromaActions.ListDatabases, new ResourceRef(tenant), navigate: true);
        return Store.InRead(() => Store.Catalog.ListDatabases(tenant, null, 0))
            .Where(d => Sees(new ResourceRef(d.Tenant, d.Name))).Skip(offset).Take(limit ?? int.MaxValue).ToList();
    }

    /// <summary>Deletes a database and every collection in it.</summary>
    public void DeleteDatabase(string name, string? tenant = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.DeleteDatabase, tenant ?? Tenant, name, null);
        try
        {
            DeleteDatabaseCore(name, tenant);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void DeleteDatabaseCore(string name, string? tenant = null)
    {
        tenant ??= Tenant;
        Names.RejectKey(name, "database name");
        Names.RejectKey(tenant, "tenant name");
        Gate(ChromaActions.DeleteDatabase, new ResourceRef(tenant, name));
        Store.InWrite(() => { Store.Catalog.DeleteDatabase(tenant, name); return 0; });
    }

    // ---- collections ----

    /// <summary>Creates a collection.</summary>
    /// <exception cref="ChromaConflictException">A collection with that name exists in this database.</exception>
    /// <exception cref="ChromaValidationException">The name, metadata or configuration is invalid.</exception>
    public Collection CreateCollection(string name, CollectionOptions? options = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.CreateCollection, Tenant, Database, name);
        try
        {
            return CreateOrGet(name, options, ChromaActions.CreateCollection, getExisting: false);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>Returns the collection, creating it if missing; when it exists the other arguments are ignored (Chroma's rule).</summary>
    public Collection GetOrCreateCollection(string name, CollectionOptions? options = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetOrCreateCollection, Tenant, Database, name);
        try
        {
            return CreateOrGet(name, options, ChromaActions.GetOrCreateCollection, getExisting: true);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private Collection CreateOrGet(string name, CollectionOptions? options, string action, bool getExisting)
    {
        Names.Validate(name, "collection");
        // Chroma's legacy hnsw:* metadata: always checked, used only when no configuration is given (Chroma's rule).
        var legacy = CollectionConfiguration.FromLegacyMetadata(options?.Metadata);
        var configuration = options?.Configuration ?? legacy ?? new CollectionConfiguration();
        configuration.Validate();
        configuration = configuration with { EmbeddingFunction = EmbeddingFunctions.ChooseForNewCollection(configuration.EmbeddingFunction, options?.EmbeddingGenerator) };
        var metadata = MetadataCodec.Normalize(options?.Metadata, $"collection '{Echo.Text(name)}'", Store.Limits, allowNullValues: false, scalarsOnly: true);
        Gate(action, new ResourceRef(Tenant, Database, name));
        if (getExisting && Store.Options.ReadOnly
            && Store.InRead(() => Store.Catalog.FindCollection(Store.Catalog.DatabaseId(Tenant, Database), name)) is { } found)
        {
            // Read-only: an existing collection is returned; creating one is refused by InWrite below.
            return new Collection(this, found, options?.EmbeddingGenerator);
        }

        var state = Store.InWrite(() =>
        {
            var databaseId = Store.Catalog.DatabaseId(Tenant, Database);
            if (Store.Catalog.FindCollection(databaseId, name) is { } existing)
            {
                return getExisting ? existing : throw new ChromaCollectionExistsException($"Collection '{Echo.Text(name)}' already exists in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'.", name);
            }

            return Store.Catalog.InsertCollection(databaseId, Tenant, Database, name, configuration, metadata);
        });
        return new Collection(this, state, options?.EmbeddingGenerator);
    }

    /// <summary>Returns an existing collection.</summary>
    /// <param name="name">The collection's name.</param>
    /// <param name="embeddingGenerator">Optional generator for the <c>…Async</c> calls (not persisted).</param>
    /// <exception cref="ChromaNotFoundException">No such collection.</exception>
    public Collection GetCollection(string name, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetCollection, Tenant, Database, name);
        try
        {
            return GetCollectionCore(name, embeddingGenerator);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private Collection GetCollectionCore(string name, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        Names.RejectKey(name, "collection name");
        Gate(ChromaActions.GetCollection, new ResourceRef(Tenant, Database, name));
        var state = Store.Catalog.FindLoaded(Tenant, Database, name)
            ?? Store.InRead(() => Store.Catalog.FindCollection(Store.Catalog.DatabaseId(Tenant, Database), name))
            ?? throw new ChromaNotFoundException(NotFoundMessages.Collection(Tenant, Database, name));
        return new Collection(this, state, embeddingGenerator);
    }

    /// <summary>Returns an existing collection of this database by id.</summary>
    /// <param name="id">The collection's id.</param>
    /// <param name="embeddingGenerator">Optional generator for writes of documents without embeddings and the text calls (not persisted).</param>
    /// <exception cref="ChromaNotFoundException">No collection of this database has that id (or the key's scope does not cover it).</exception>
    public Collection GetCollection(Guid id, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetCollection, Tenant, Database, null);
        try
        {
            return GetCollectionCore(id, embeddingGenerator);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private Collection GetCollectionCore(Guid id, IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null)
    {
        // The key must be able to reach this database with the action before anything is looked up; the collection's
        // own scope is checked once its name is known, with the same answer as a lookup by name.
        Gate(ChromaActions.GetCollection, new ResourceRef(Tenant, Database), navigate: true);
        var state = Store.Catalog.FindLoaded(Tenant, Database, id)
            ?? Store.InRead(() => Store.Catalog.CollectionsOf(Store.Catalog.DatabaseId(Tenant, Database)).FirstOrDefault(c => c.Uuid == id))
            ?? throw new ChromaNotFoundException($"Collection {id} does not exist in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'.");
        try
        {
            Gate(ChromaActions.GetCollection, new ResourceRef(Tenant, Database, state.Name));
        }
        catch (ChromaNotFoundException)
        {
            // Out of the key's scope: answered exactly as for an id that does not exist (the refusal is still counted
            // and audited by the gate), so a caller holding only an id learns neither the name nor that the id is in use.
            throw new ChromaNotFoundException($"Collection {id} does not exist in '{Echo.Text(Tenant)}/{Echo.Text(Database)}'.");
        }

        return new Collection(this, state, embeddingGenerator);
    }

    /// <summary>Lists the collections of this database, oldest first.</summary>
    public IReadOnlyList<CollectionInfo> ListCollections(int? limit = null, int offset = 0)
    {
        using var op = Telemetry.Start(Telemetry.Ops.ListCollections, Tenant, Database, null);
        try
        {
            return ListCollectionsCore(limit, offset);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private List<CollectionInfo> ListCollectionsCore(int? limit = null, int offset = 0)
    {
        Validation.LimitOffset(limit, offset);
        Gate(ChromaActions.ListCollections, new ResourceRef(Tenant, Database), navigate: true);
        return Store.InRead(() => Visible(Store.Catalog.CollectionsOf(Store.Catalog.DatabaseId(Tenant, Database)))
            .Skip(offset).Take(limit ?? int.MaxValue).Select(c => c.State.ToInfo()).ToList());
    }

    /// <summary>Number of collections in this database.</summary>
    public int CountCollections()
    {
        using var op = Telemetry.Start(Telemetry.Ops.CountCollections, Tenant, Database, null);
        try
        {
            return CountCollectionsCore();
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private int CountCollectionsCore()
    {
        Gate(ChromaActions.ListCollections, new ResourceRef(Tenant, Database), navigate: true);
        return Store.InRead(() => Visible(Store.Catalog.CollectionsOf(Store.Catalog.DatabaseId(Tenant, Database))).Count());
    }

    /// <summary>Deletes a collection and its records.</summary>
    /// <exception cref="ChromaNotFoundException">No such collection.</exception>
    public void DeleteCollection(string name)
    {
        using var op = Telemetry.Start(Telemetry.Ops.DeleteCollection, Tenant, Database, name);
        try
        {
            DeleteCollectionCore(name);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private void DeleteCollectionCore(string name)
    {
        Names.RejectKey(name, "collection name");
        Gate(ChromaActions.DeleteCollection, new ResourceRef(Tenant, Database, name));
        Store.InWrite(() =>
        {
            var collection = Store.Catalog.FindCollection(Store.Catalog.DatabaseId(Tenant, Database), name)
                ?? throw new ChromaNotFoundException(NotFoundMessages.Collection(Tenant, Database, name));
            Store.Catalog.DropCollection(collection);
            return 0;
        });
    }

    /// <summary>Only the collections the key's scope covers: the others are not listed, as if they did not exist.</summary>
    private IEnumerable<Engine.CollectionEngine> Visible(IEnumerable<Engine.CollectionEngine> collections) =>
        collections.Where(c => KeyRing.Covers(Context.Record, new ResourceRef(c.State.Tenant, c.State.Database, c.Name)));

    /// <inheritdoc/>
    public override string ToString() => $"ChromaClient({Echo.Text(Tenant)}/{Echo.Text(Database)}, key {Context})";
}
