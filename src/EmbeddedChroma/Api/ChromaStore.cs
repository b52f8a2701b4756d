using System.Collections.Concurrent;
using System.Globalization;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma;

/// <summary>
/// An EmbeddedChroma store: a folder holding a SQLite database (the source of truth: catalog, records,
/// metadata, documents, keys) and one memory-mapped vector arena per collection. One process owns a
/// store for writing at a time (an OS file lock enforces it). Every operation is gated by an
/// <see cref="ApiKeyContext"/>: <see cref="Create"/> yields the first admin key exactly once.
/// </summary>
/// <remarks>Thread-safe: any number of threads may use one store; writes are serialized, queries run concurrently.</remarks>
public sealed partial class ChromaStore : IDisposable
{
    // Size: About 410 lines, nearly half of them XML docs of the public surface: create/open/close and the key entry
    // points; the store's work is in Engine (StoreFolder, WriteSession, Catalog, Compactor, BackupWriter).

    /// <summary>The tenant used when none is named.</summary>
    public const string DefaultTenant = ChromaDefaults.Tenant;

    /// <summary>The database used when none is named.</summary>
    public const string DefaultDatabase = ChromaDefaults.Database;

    /// <summary>Largest accepted <c>Authorization</c> header value, in characters; longer ones are rejected before parsing.</summary>
    public const int MaxHeaderLength = Credentials.MaxHeaderLength;

    private readonly StoreFolder _folder;
    private readonly WriteSession _session;

    /// <summary>This store's registration with the meter's observable gauges (removed on close).</summary>
    private readonly IDisposable _gauges;

    private ChromaStore(StoreFolder folder, ChromaStoreOptions options, SqliteDb db, KeyRing keys)
    {
        Path = folder.Path;
        Options = options;
        Limits = options.ToLimits();
        _folder = folder;
        Db = db;
        Keys = keys;
        keys.Logger = options.Logger;
        WriteSession? session = null;
        try
        {
            session = WriteSession.Open(db, folder.Path, options.ReadOnly);
            _session = session;
            var context = new StoreContext(db, session, folder, Limits);
            Catalog = new Catalog(context);
            Compactor = new Compactor(context);
            Backups = new BackupWriter(context, keys, () => Catalog.All);
            Catalog.Load();
            session.BeforeFirstWrite = CheckDocumentIndexStampBeforeWrites;
            if (!options.ReadOnly && db.OpenedWhileFull is null)
            {
                session.Documents = new DocumentIndexer(
                    session, Limits.Logger, Catalog.All.Where(c => c.State.DocumentsDeferred).Select(c => c.Id).ToList(), options.DocumentIndexQuietPeriod, options.DocumentIndexOnRead,
                    () => Catalog.All.Any(c => c.State.Indexer is { PendingCount: > 0 }));
            }

            _gauges = Telemetry.RegisterStore(CollectionFigures);
        }
        catch
        {
            session?.Documents?.Dispose();
            session?.Dispose();
            keys.Dispose();
            throw;
        }

        folder.WarnIfShared(options.Logger);
    }

    /// <summary>The store folder.</summary>
    public string Path { get; }

    /// <summary>The limits and settings the store was opened with.</summary>
    public ChromaStoreOptions Options { get; }

    /// <summary>The options as the layers below the API see them.</summary>
    internal StoreLimits Limits { get; }

    internal SqliteDb Db { get; }

    internal KeyRing Keys { get; }

    internal Catalog Catalog { get; }

    /// <summary>The store's write side (tests reach the transaction machinery through it).</summary>
    internal WriteSession Session => _session;

    internal Compactor Compactor { get; }

    internal BackupWriter Backups { get; }

    /// <summary>True when <paramref name="path"/> holds a store.</summary>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return StoreFolder.Exists(path);
    }

    /// <summary>
    /// Creates a new store in <paramref name="path"/> (created if missing) and returns its first admin key
    /// in <paramref name="adminKey"/>. The key is shown only this once and stored only as a hash: keep it
    /// somewhere safe (a secret store, an environment variable), never in source control.
    /// </summary>
    /// <exception cref="ChromaConflictException">The folder already holds a store.</exception>
    /// <exception cref="ChromaStoreLockedException">Another process holds the folder.</exception>
    public static ChromaStore Create(string path, out string adminKey, ChromaStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new ChromaStoreOptions();
        options.Validate();
        path = System.IO.Path.GetFullPath(path);
        if (options.ReadOnly)
        {
            throw new ChromaReadOnlyException($"A store cannot be created with ChromaStoreOptions.ReadOnly = true ('{Echo.Path(path)}').");
        }

        using var op = Telemetry.Start(Telemetry.Ops.CreateStore, null, null, null);
        try
        {
            return CreateCore(path, out adminKey, options);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            var mapped = StorageErrors.Map(ex, path);
            Telemetry.Failed(op, mapped);
            throw mapped;
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private static ChromaStore CreateCore(string path, out string adminKey, ChromaStoreOptions options)
    {
        var folder = StoreFolder.CreateNew(path);
        try
        {
            OwnerOnly.PrepareDatabaseFile(folder.DatabasePath);
            var db = new SqliteDb(folder.DatabasePath, EmbeddedChroma.Filtering.SqliteRegex.Register);
            KeyRing? keys = null;
            try
            {
                StoreSchema.Initialize(db, create: true, options.Logger);
                keys = KeyRing.Open(path, options.TimeProvider, create: true);
                var store = new ChromaStore(folder, options, db, keys);
                store.InWrite(() =>
                {
                    store.Catalog.EnsureDefaults();
                    return 0;
                });

                // A new store's document index is empty, hence equal to its (no) documents; its writes keep it so.
                db.DocumentIndexVerified = true;
                adminKey = keys.CreateAdminKey("admin");
                return store;
            }
            catch
            {
                keys?.Dispose();
                // A store that failed to be created must not look like one: remove what was written.
                db.Dispose();
                SqliteConnection.ClearAllPools();
                folder.RemoveFailedCreate();
                throw;
            }
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>Opens an existing store.</summary>
    /// <exception cref="ChromaNotFoundException">The folder holds no store.</exception>
    /// <exception cref="ChromaStoreLockedException">Another process holds the folder.</exception>
    /// <exception cref="ChromaCorruptStoreException">The SQLite file is damaged.</exception>
    public static ChromaStore Open(string path, ChromaStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new ChromaStoreOptions();
        using var op = Telemetry.Start(Telemetry.Ops.OpenStore, null, null, null);
        try
        {
            op?.ReadOnly(options.ReadOnly);
            return OpenCore(path, options);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>Opens the store (the span and metrics are <see cref="Open"/>'s).</summary>
    private static ChromaStore OpenCore(string path, ChromaStoreOptions options)
    {
        options.Validate();
        path = System.IO.Path.GetFullPath(path);
        if (!Exists(path))
        {
            throw new ChromaNotFoundException($"No store in '{Echo.Path(path)}'; create one with ChromaStore.Create.");
        }

        var step = System.Diagnostics.Stopwatch.GetTimestamp();
        var folder = StoreFolder.OpenExisting(path, options.ReadOnly);
        try
        {
            // Cheap checks only (the open path must stay fast): SQLite validates the header and every page it reads
            // (schema, catalog, counters); a damaged page elsewhere surfaces when it is read, as the same exception.
            // ChromaClient.VerifyIntegrity reads the whole file.
            var db = OpenDatabase(folder.DatabasePath, options.ReadOnly);
            try
            {
                step = OpenTrace.Step("open.database", step);
                StoreSchema.Initialize(db, create: false, options.Logger);
                step = OpenTrace.Step("open.schema", step);
                var keys = KeyRing.Open(path, options.TimeProvider, create: false, options.ReadOnly);
                step = OpenTrace.Step("open.keyring", step);
                var store = new ChromaStore(folder, options, db, keys);
                OpenTrace.Step("open.session_catalog", step);
                return store;
            }
            catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
            {
                db.Dispose();
                throw ex is SqliteException sqlite && SqliteDb.IsCorruption(sqlite) ? db.Corrupt(ex) : StorageErrors.Map(ex, db.Path);
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens the SQLite file of an existing store. Only SQLITE_CORRUPT and SQLITE_NOTADB mean the file is damaged; a
    /// full disk, read-only media, a file that cannot be opened or an I/O error is reported as what it is.
    /// </summary>
    private static SqliteDb OpenDatabase(string file, bool readOnly)
    {
        try
        {
            return new SqliteDb(file, EmbeddedChroma.Filtering.SqliteRegex.Register, readOnly);
        }
        catch (SqliteException ex) when (SqliteDb.IsCorruption(ex))
        {
            throw new ChromaCorruptStoreException(
                $"The store is corrupt: the SQLite file '{Echo.Path(file)}' could not be opened (SQLite error {ex.SqliteErrorCode}). " +
                "Restore the store folder from a backup; the store cannot be used as it is.", ex);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            if (!readOnly && (StorageErrors.IsReadOnly(ex) || StorageErrors.RefusesNewFiles(System.IO.Path.GetDirectoryName(file)!)))
            {
                throw new ChromaReadOnlyException(
                    $"The store's SQLite file '{Echo.Path(file)}' cannot be opened for writing: it is on read-only media, immutable or not writable " +
                    $"by this process. To read it, open the store with ChromaStoreOptions.ReadOnly = true.", ex);
            }

            throw StorageErrors.Map(ex, file);
        }
    }

    /// <summary>
    /// Admin-key recovery for a lost key: revokes every admin key of the store in <paramref name="path"/>
    /// and returns a new one (shown once). Needs file-system access to the store folder, which already
    /// implies full control of the store. The store must not be open in any process.
    /// </summary>
    public static string RecoverAdminKey(string path, ChromaStoreOptions? options = null)
    {
        using var store = Open(path, options);
        return store.Keys.RecoverAdminKey("admin (recovered)");
    }

    /// <summary>Authenticates a raw API key.</summary>
    /// <exception cref="ChromaAuthenticationException">The key is missing, malformed, unknown, wrong, expired, disabled or revoked (one message for all).</exception>
    /// <exception cref="ChromaRateLimitedException">Too many failed attempts for this key id; a correct key is still accepted.</exception>
    public ApiKeyContext Authenticate(string apiKey) => AuthenticateKey(() => Credentials.FromApiKey(apiKey));

    /// <summary>
    /// Authenticates an <c>Authorization</c> header value, <c>Bearer &lt;key&gt;</c> (RFC 6750 §2.1: the scheme is
    /// case-insensitive, the key is not; one or more spaces between them; nothing else before or after).
    /// </summary>
    /// <exception cref="ChromaAuthenticationException">The header is missing, malformed, too long, uses another scheme, or its key is not valid.</exception>
    public ApiKeyContext AuthenticateHeader(string authorizationHeaderValue) => AuthenticateHeaders(authorizationHeaderValue, null);

    /// <summary>
    /// Authenticates from the request headers an HTTP host received: <c>Authorization: Bearer &lt;key&gt;</c>
    /// and/or Chroma's <c>X-Chroma-Token: &lt;key&gt;</c>. When both are present they must carry the same key.
    /// </summary>
    /// <exception cref="ChromaAuthenticationException">No credential, a malformed header, two different keys, or a key that is not valid.</exception>
    public ApiKeyContext AuthenticateHeaders(string? authorization, string? xChromaToken) => AuthenticateKey(() => Credentials.FromHeaders(authorization, xChromaToken));

    /// <summary>Checks the store is open, then parses the credential (<see cref="Credentials"/>) and authenticates its key.</summary>
    private ApiKeyContext AuthenticateKey(Func<string> credential)
    {
        // The span carries the key id once the key is authenticated (its public half, as the key-ring counter records
        // it); a failed attempt carries only error.type: what the caller sent is never recorded.
        using var op = Telemetry.Start(Telemetry.Ops.Authenticate, null, null, null);
        try
        {
            ThrowIfClosed();
            var context = new ApiKeyContext(Keys, Keys.Authenticate(credential()));
            op?.KeyId(context.KeyId);
            return context;
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    /// <summary>A client bound to <paramref name="context"/> and one tenant/database (defaults: Chroma's).</summary>
    /// <exception cref="ChromaNotFoundException">The database is outside the key's scope.</exception>
    /// <exception cref="ChromaValidationException">The tenant or database name holds an API key (never accepted as a name, nor repeated).</exception>
    public ChromaClient GetClient(ApiKeyContext context, string tenant = DefaultTenant, string database = DefaultDatabase)
    {
        using var op = Telemetry.Start(Telemetry.Ops.GetClient, tenant, database, null);
        try
        {
            if (context is not null)
            {
                op?.KeyId(context.KeyId);
            }

            return GetClientCore(context!, tenant, database);
        }
        catch (Exception ex) when (Telemetry.Failed(op, ex))
        {
            throw;
        }
    }

    private ChromaClient GetClientCore(ApiKeyContext context, string tenant, string database)
    {
        ThrowIfClosed();
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(database);
        Names.RejectKey(tenant, "tenant name");
        Names.RejectKey(database, "database name");
        Keys.Authorize(context, ChromaActions.GetDatabase, new ResourceRef(tenant, database), navigate: true, implied: true);
        return new ChromaClient(this, context, tenant, database);
    }

    /// <summary>Authenticates <paramref name="apiKey"/> and returns a client bound to a tenant/database.</summary>
    public ChromaClient GetClient(string apiKey, string tenant = DefaultTenant, string database = DefaultDatabase) =>
        GetClient(Authenticate(apiKey), tenant, database);

    /// <summary>
    /// A client of the contract (<see cref="IChromaClient"/>) for <paramref name="credential"/> on one tenant/database:
    /// the key is fetched from the credential and authenticated now, and every call of the client is then checked
    /// against the key ring (a revoked or disabled key stops at its next call). To pick up a rotated key, get a new client.
    /// </summary>
    /// <exception cref="ChromaAuthenticationException">The credential yields no valid key.</exception>
    /// <exception cref="ChromaNotFoundException">The database is outside the key's scope.</exception>
    public ChromaClient GetClient(ChromaCredential credential, string tenant = DefaultTenant, string database = DefaultDatabase)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return GetClient(Authenticate(credential.GetKey()), tenant, database);
    }

    /// <summary>Like <see cref="GetClient(ChromaCredential, string, string)"/>, awaiting a credential provider instead of blocking on it.</summary>
    /// <exception cref="ChromaAuthenticationException">The credential yields no valid key.</exception>
    /// <exception cref="ChromaNotFoundException">The database is outside the key's scope.</exception>
    public async Task<IChromaClient> GetClientAsync(ChromaCredential credential, string tenant = DefaultTenant, string database = DefaultDatabase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credential);
        cancellationToken.ThrowIfCancellationRequested();
        var key = await credential.GetKeyAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return GetClient(Authenticate(key), tenant, database);
    }

    /// <summary>Key management for <paramref name="context"/> (each call needs its <c>keyring:</c> action).</summary>
    public KeyRingClient GetKeyRing(ApiKeyContext context)
    {
        ThrowIfClosed();
        ArgumentNullException.ThrowIfNull(context);
        Keys.Authorize(context, ChromaActions.ListKeys, default, navigate: true, implied: true);
        return new KeyRingClient(this, context);
    }

    /// <summary>Refuses a write on a store opened with <see cref="ChromaStoreOptions.ReadOnly"/>.</summary>
    internal void ThrowIfReadOnly() => _session.ThrowIfReadOnly();

    internal void ThrowIfClosed() => _session.ThrowIfClosed();

    /// <summary>Runs <paramref name="action"/> inside one SQLite write transaction (all or nothing); see <see cref="WriteSession.Run{T}"/>.</summary>
    internal T InWrite<T>(Func<T> action, Action<T>? afterCommit = null) => _session.Run(action, afterCommit);

    /// <summary>Runs a catalog read under the write lock.</summary>
    internal T InRead<T>(Func<T> read) => _session.Read(read);

    /// <summary>Compacts one collection (see <see cref="Compactor.Compact"/>).</summary>
    internal CompactionResult Compact(CollectionEngine collection, ProgressReporter? progress = null)
    {
        var stats = Compactor.Compact(collection, automatic: false, progress)!.Value;
        return new CompactionResult(stats.Records, stats.SlotsBefore, stats.SlotsAfter, stats.RecordsMoved, stats.BytesBefore, stats.BytesAfter, stats.Duration);
    }

    /// <summary>Writes a consistent copy of the store (see <see cref="BackupWriter.BackupTo"/>).</summary>
    internal BackupResult BackupTo(string destination, ProgressReporter? progress = null)
    {
        var stats = Backups.BackupTo(destination, progress);
        return new BackupResult(stats.Path, stats.Bytes, stats.Elapsed);
    }

    /// <summary>Test hook: runs after a backup pinned its snapshot and copied the vectors, before it copies the database.</summary>
    internal Action? AfterBackupSnapshot
    {
        get => Backups.AfterSnapshot;
        set => Backups.AfterSnapshot = value;
    }

    /// <summary>The last failure of a background (automatic) compaction, for tests; the store stays usable.</summary>
    internal Exception? LastMaintenanceError => Compactor.LastError;

    /// <summary>Waits for queued automatic compactions (tests).</summary>
    internal void WaitForMaintenance() => Compactor.WaitForMaintenance();

    /// <summary>
    /// Closes the store: checkpoints every vector arena and saves every HNSW graph (so the next open maps them without
    /// a rebuild), checkpoints SQLite's WAL and releases the folder lock. Idempotent.
    /// </summary>
    /// <remarks>
    /// Releases the lock and every file handle whatever fails, so the folder can be opened again at once. A derived
    /// file (arena, graph) that cannot be saved — a full disk, read-only media — is logged and skipped: the next open
    /// rebuilds or replays it from SQLite. Only a failure to close the SQLite source of truth itself is reported, as a
    /// <see cref="ChromaException"/>, after everything was released.
    /// </remarks>
    /// <exception cref="ChromaStorageIOException">Closing the SQLite database failed (everything was released first).</exception>
    public void Dispose()
    {
        if (_session.IsClosed)
        {
            return;
        }

        Exception? failure = null;
        // Its chunks take the write lock: stopped before this call takes it (a chunk under way ends first).
        _session.Documents?.Dispose();
        lock (Db.WriteLock)
        {
            if (_session.IsClosed)
            {
                return;
            }

            _session.Close();
            _gauges.Dispose();
            foreach (var collection in Catalog.All)
            {
                // The background indexers need the collections' read locks: stop them before taking the write side.
                CloseStep(collection.Name, "stopping the background indexer", collection.StopIndexer);
            }

            foreach (var collection in Catalog.All)
            {
                collection.Close(CloseStep);
            }

            StampDocumentIndexOnClose();
            CloseStep(KeyRingFile.DatabaseFileName, "closing the key ring", Keys.Dispose);
            try
            {
                Db.Dispose();
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            CloseStep(AcknowledgedSeqFile.FileName, "closing the acknowledged-sequence file", _session.Dispose);
            CloseStep(StoreFolder.LockFileName, "releasing the store lock", _folder.Dispose);
            if (Options.ReadOnly)
            {
                CloseStep(_folder.DerivedFolder, "deleting the read-only scratch folder", _folder.DeleteScratch);
            }
        }

        if (failure is not null)
        {
            throw StorageErrors.IsStorageFault(failure) ? StorageErrors.Map(failure, Db.Path) : failure;
        }
    }

    /// <summary>
    /// Before this open's first write: when the document index carries a stamp for the store's last write, compares its
    /// digest now (<see cref="DocumentIndexStamp"/>), while the index is still as stamped — so an open that writes before
    /// any <c>where_document</c> read still carries the verification forward (its close stamps the index again) instead
    /// of leaving the next open a full check. Costs a read of the index's tables, once, only when such a stamp exists.
    /// Writer lock held.
    /// </summary>
    private void CheckDocumentIndexStampBeforeWrites()
    {
        if (Db.DocumentIndexVerified || Db.DocumentIndexStampChecked || Db.ReadOnly)
        {
            return;
        }

        try
        {
            Db.DocumentIndexVerified = Db.Guard(() =>
                DocumentIndexStamp.IsAt(Db.Writer, null, _session.Seq, _session.CurrentChain)
                && DocumentIndexStamp.Matches(Db.Writer, null, _session.Seq, _session.CurrentChain));
            Db.DocumentIndexStampChecked = true;
        }
        catch (Exception ex) when (ex is ChromaException || StorageErrors.IsStorageFault(ex))
        {
            // Not compared: the first where_document read checks the index in full, as without a stamp.
        }
    }

    /// <summary>
    /// When this open trusted the document index (verified it, found its stamp current, or created the store) and wrote
    /// after its stamp, records the stamp again for the last write (<see cref="DocumentIndexStamp"/>): the store's own
    /// writes kept the index in step, so the next open need not check it in full. A failure only costs that check.
    /// Writer lock held.
    /// </summary>
    private void StampDocumentIndexOnClose()
    {
        if (!Db.DocumentIndexVerified || Db.ReadOnly)
        {
            return;
        }

        try
        {
            Db.Guard(() =>
            {
                if (DocumentIndexStamp.IsAt(Db.Writer, null, _session.Seq, _session.CurrentChain) && !Db.DocumentIndexMovedQuietly)
                {
                    return 0;
                }

                using var transaction = Db.Writer.BeginTransaction();
                DocumentIndexStamp.Record(Db.Writer, transaction, _session.Seq, _session.CurrentChain);
                transaction.Commit();
                return 0;
            });
        }
        catch (Exception ex) when (ex is ChromaException || StorageErrors.IsStorageFault(ex))
        {
            // Not recorded (a full disk, damage): the next open checks the index in full, as without a stamp.
        }
    }

    /// <summary>
    /// The loaded collections' figures for the meter's observable gauges (a sample: read without locks). Linked counts
    /// live records only: a record deleted after the graph linked it stays a node, marked deleted, until its slot is reused.
    /// </summary>
    private List<CollectionFigures> CollectionFigures() =>
        Catalog.All.Select(c => c.State).Where(s => s.Loaded && !s.Deleted)
            .Select(s => new CollectionFigures(
                s.Tenant, s.Database, s.Name, s.Count, s.Arena is { } arena ? arena.Capacity * arena.Stride * sizeof(float) : 0, s.Indexer?.Graph is { } graph ? graph.Count - graph.DeletedCount : 0, s.Indexer?.PendingCount ?? 0))
            .ToList();

    /// <summary>One step of <see cref="Dispose"/>: a failure is logged, and closing goes on.</summary>
    private void CloseStep(string what, string step, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            StoreLog.CloseStepFailed(Options.Logger, Path, $"{step} ({what})", $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"ChromaStore({Path})";
}
