using System.Collections.Concurrent;
using System.Globalization;
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
    /// <summary>The tenant used when none is named.</summary>
    public const string DefaultTenant = "default_tenant";

    /// <summary>The database used when none is named.</summary>
    public const string DefaultDatabase = "default_database";

    /// <summary>Largest accepted <c>Authorization</c> header value, in characters; longer ones are rejected before parsing.</summary>
    public const int MaxHeaderLength = Credentials.MaxHeaderLength;

    internal const string DatabaseFileName = "chroma.sqlite3";
    private const string LockFileName = "chroma.lock";
    private const string VectorsFolder = "vectors";

    private readonly FileStream? _lockFile;
    private readonly ConcurrentDictionary<long, CollectionState> _collections = new();
    private readonly string _derivedFolder;
    private long _seq;
    private long _chain;
    private readonly Guid _storeId;
    private readonly AcknowledgedSeqFile? _acknowledged;
    private volatile bool _closed;

    private ChromaStore(string path, ChromaStoreOptions options, FileStream? lockFile, SqliteDb db, KeyRing keys)
    {
        Path = path;
        Options = options;
        _lockFile = lockFile;
        Db = db;
        Keys = keys;
        keys.Logger = options.Logger;
        // Read-only: derived files are rebuilt into a private scratch folder, never written in the store folder.
        _derivedFolder = options.ReadOnly
            ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "EmbeddedChroma.ReadOnly", Guid.NewGuid().ToString("N"))
            : System.IO.Path.Combine(path, VectorsFolder);
        AcknowledgedSeqFile? acknowledged = null;
        try
        {
            _seq = long.Parse(ReadMeta("seq") ?? "0", CultureInfo.InvariantCulture);
            _storeId = Guid.Parse(ReadMeta("store_id") ?? throw db.Corrupt(new InvalidDataException("no store id"), "store_meta holds no store id"));
            lock (Db.WriteLock)
            {
                _chain = ChainAt(Db.Writer, _seq);
            }

            acknowledged = AcknowledgedSeqFile.Open(path, _storeId, options.ReadOnly, out var recorded);
            if (recorded > _seq)
            {
                // Written only after a commit was durable: the database lost acknowledged writes (or is an older copy).
                throw new ChromaCorruptStoreException(
                    $"The store is corrupt: acknowledged writes up to sequence number {recorded} are missing from '{Internal.Echo.Path(db.Path)}', " +
                    $"which ends at {_seq}. Was its -wal file deleted, or an older chroma.sqlite3 put in its place? " +
                    $"Restore the store folder from a backup. (If an older database was restored on purpose, delete '{AcknowledgedSeqFile.FileName}' to accept it.)");
            }

            _acknowledged = acknowledged;
            LoadCollections();
        }
        catch
        {
            acknowledged?.Dispose();
            keys.Dispose();
            throw;
        }

        Internal.OwnerOnly.WarnIfShared(path, options.Logger, [DatabaseFileName, DatabaseFileName + "-wal", DatabaseFileName + "-shm", LockFileName, AcknowledgedSeqFile.FileName, VectorsFolder]);
    }

    /// <summary>The store folder.</summary>
    public string Path { get; }

    /// <summary>The limits and settings the store was opened with.</summary>
    public ChromaStoreOptions Options { get; }

    internal SqliteDb Db { get; }

    internal KeyRing Keys { get; }

    /// <summary>True when <paramref name="path"/> holds a store.</summary>
    public static bool Exists(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return File.Exists(System.IO.Path.Combine(path, DatabaseFileName));
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
            throw new ChromaReadOnlyException($"A store cannot be created with ChromaStoreOptions.ReadOnly = true ('{Internal.Echo.Path(path)}').");
        }

        try
        {
            return CreateCore(path, out adminKey, options);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            throw StorageErrors.Map(ex, path);
        }
    }

    private static ChromaStore CreateCore(string path, out string adminKey, ChromaStoreOptions options)
    {
        Internal.OwnerOnly.CreateFolder(path);
        var lockFile = AcquireLock(path, readOnly: false)!;
        try
        {
            if (File.Exists(System.IO.Path.Combine(path, DatabaseFileName)))
            {
                throw new ChromaConflictException($"'{Internal.Echo.Path(path)}' already holds a store; open it with ChromaStore.Open.");
            }

            Internal.OwnerOnly.PrepareDatabaseFile(System.IO.Path.Combine(path, DatabaseFileName));
            var db = new SqliteDb(System.IO.Path.Combine(path, DatabaseFileName), EmbeddedChroma.Filtering.SqliteRegex.Register);
            KeyRing? keys = null;
            try
            {
                InitializeSchema(db, create: true, options.Logger);
                keys = KeyRing.Open(path, options.TimeProvider, create: true);
                var store = new ChromaStore(path, options, lockFile, db, keys);
                store.InWrite(() =>
                {
                    store.EnsureDefaults();
                    return 0;
                });
                adminKey = keys.CreateAdminKey("admin");
                return store;
            }
            catch
            {
                keys?.Dispose();
                // A store that failed to be created must not look like one: remove what was written.
                db.Dispose();
                SqliteConnection.ClearAllPools();
                File.Delete(System.IO.Path.Combine(path, AcknowledgedSeqFile.FileName));
                foreach (var file in (ReadOnlySpan<string>)[DatabaseFileName, KeyRingFile.DatabaseFileName])
                {
                    foreach (var suffix in (ReadOnlySpan<string>)["", "-wal", "-shm", "-journal"])
                    {
                        File.Delete(System.IO.Path.Combine(path, file + suffix));
                    }
                }

                File.Delete(System.IO.Path.Combine(path, KeyRingFile.PepperFileName));

                throw;
            }
        }
        catch
        {
            lockFile.Dispose();
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
        options.Validate();
        path = System.IO.Path.GetFullPath(path);
        if (!Exists(path))
        {
            throw new ChromaNotFoundException($"No store in '{Internal.Echo.Path(path)}'; create one with ChromaStore.Create.");
        }

        var lockFile = AcquireLock(path, options.ReadOnly);
        try
        {
            // Cheap checks only (the open path must stay fast): SQLite validates the header and every page it reads
            // (schema, catalog, counters); a damaged page elsewhere surfaces when it is read, as the same exception.
            // ChromaClient.VerifyIntegrity reads the whole file.
            var db = OpenDatabase(System.IO.Path.Combine(path, DatabaseFileName), options.ReadOnly);
            try
            {
                InitializeSchema(db, create: false, options.Logger);
                return new ChromaStore(path, options, lockFile, db, KeyRing.Open(path, options.TimeProvider, create: false, options.ReadOnly));
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
            lockFile?.Dispose();
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
                $"The store is corrupt: the SQLite file '{Internal.Echo.Path(file)}' could not be opened (SQLite error {ex.SqliteErrorCode}). " +
                "Restore the store folder from a backup; the store cannot be used as it is.", ex);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            if (!readOnly && StorageErrors.IsReadOnly(ex))
            {
                throw new ChromaReadOnlyException(
                    $"The store's SQLite file '{Internal.Echo.Path(file)}' cannot be opened for writing: it is on read-only media, immutable or not writable " +
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

    /// <summary>
    /// Takes the folder's lock: exclusive for a writer (FileShare.None: flock LOCK_EX on Unix), shared for a
    /// <see cref="ChromaStoreOptions.ReadOnly"/> reader (read access with FileShare.Read: LOCK_SH), so readers exclude
    /// a writer but not each other. Null only for a reader on media where the lock file is missing and cannot exist.
    /// </summary>
    private static FileStream? AcquireLock(string path, bool readOnly)
    {
        var lockPath = System.IO.Path.Combine(path, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock LOCK_EX on Unix) held until disposal; FileShare.Read a shared one.
            return readOnly
                ? new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.Read)
                : Internal.OwnerOnly.Open(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (StorageErrors.IsLockConflict(ex))
        {
            throw new ChromaStoreLockedException(readOnly
                ? $"The store in '{Internal.Echo.Path(path)}' is open for writing by another process (or by this one)."
                : $"The store in '{Internal.Echo.Path(path)}' is in use by another process (or already open in this one).", ex);
        }
        catch (FileNotFoundException) when (readOnly)
        {
            // A store copied without its lock file onto media where none can be created: nobody can write there either.
            return null;
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            if (!readOnly && StorageErrors.IsReadOnly(ex))
            {
                throw new ChromaReadOnlyException(
                    $"The store in '{Internal.Echo.Path(path)}' cannot be opened for writing: its folder or lock file is on read-only media, immutable or not writable " +
                    $"by this process ({ex.GetType().Name}: {ex.Message}). To read it, open it with ChromaStoreOptions.ReadOnly = true.", ex);
            }

            throw StorageErrors.Map(ex, lockPath);
        }
    }

    /// <summary>Creates the schema in a new store; in an existing one only checks its version (opening writes nothing).</summary>
    private static void InitializeSchema(SqliteDb db, bool create, Microsoft.Extensions.Logging.ILogger logger)
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
            if (version == "1")
            {
                MigrateFrom1(db, logger);
                version = SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture);
            }

            if (version != SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture))
            {
                throw new ChromaCorruptStoreException($"The store is corrupt or from another version: '{Internal.Echo.Path(db.Path)}' has schema version {version ?? "(none)"}; this library reads version {SqliteDb.SchemaVersion}.");
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
        ThrowIfClosed();
        return new ApiKeyContext(Keys, Keys.Authenticate(credential()));
    }

    /// <summary>A client bound to <paramref name="context"/> and one tenant/database (defaults: Chroma's).</summary>
    /// <exception cref="ChromaNotFoundException">The database is outside the key's scope.</exception>
    /// <exception cref="ChromaValidationException">The tenant or database name holds an API key (never accepted as a name, nor repeated).</exception>
    public ChromaClient GetClient(ApiKeyContext context, string tenant = DefaultTenant, string database = DefaultDatabase)
    {
        ThrowIfClosed();
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(database);
        Internal.Names.RejectKey(tenant, "tenant name");
        Internal.Names.RejectKey(database, "database name");
        Keys.Authorize(context, ChromaActions.GetDatabase, new ResourceRef(tenant, database), navigate: true, implied: true);
        return new ChromaClient(this, context, tenant, database);
    }

    /// <summary>Authenticates <paramref name="apiKey"/> and returns a client bound to a tenant/database.</summary>
    public ChromaClient GetClient(string apiKey, string tenant = DefaultTenant, string database = DefaultDatabase) =>
        GetClient(Authenticate(apiKey), tenant, database);

    /// <summary>Key management for <paramref name="context"/> (each call needs its <c>keyring:</c> action).</summary>
    public KeyRingClient GetKeyRing(ApiKeyContext context)
    {
        ThrowIfClosed();
        ArgumentNullException.ThrowIfNull(context);
        Keys.Authorize(context, ChromaActions.ListKeys, default, navigate: true, implied: true);
        return new KeyRingClient(this, context);
    }

    /// <summary>Refuses a write on a store opened with <see cref="ChromaStoreOptions.ReadOnly"/>.</summary>
    internal void ThrowIfReadOnly()
    {
        if (Db.OpenedWhileFull is { } full)
        {
            throw new ChromaStorageFullException(
                $"The store in '{Internal.Echo.Path(Path)}' was opened while its disk was full, for reads only. Free space on that disk, then close and reopen the store to write.",
                Path, null, full);
        }

        if (Options.ReadOnly)
        {
            throw new ChromaReadOnlyException($"The store in '{Internal.Echo.Path(Path)}' was opened read-only (ChromaStoreOptions.ReadOnly); writes are refused. Open it without ReadOnly to write.");
        }
    }

    internal void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new ChromaStoreClosedException($"The store in '{Internal.Echo.Path(Path)}' is closed.");
        }
    }

    /// <summary>Runs <paramref name="action"/> inside one SQLite write transaction (all or nothing).</summary>
    /// <remarks><paramref name="afterCommit"/> runs under the same lock once the transaction is durable: in-memory state changes go there.</remarks>
    internal T InWrite<T>(Func<T> action, Action<T>? afterCommit = null, CollectionState? exclusive = null)
    {
        lock (Db.WriteLock)
        {
            ThrowIfClosed();
            ThrowIfReadOnly();
            if (exclusive is null)
            {
                return Db.Guard(() => InTransaction(action, afterCommit));
            }

            // Lock order everywhere: the store's write lock, then a collection's lock.
            exclusive.Lock.EnterWriteLock();
            try
            {
                return Db.Guard(() => InTransaction(action, afterCommit));
            }
            finally
            {
                exclusive.Lock.ExitWriteLock();
            }
        }
    }

    private T InTransaction<T>(Func<T> action, Action<T>? afterCommit)
    {
        {
            T result;
            _onCommit.Clear();
            _onRollback.Clear();
            WriteBytes = 0;
            using (var tx = Db.Writer.BeginTransaction())
            {
                Db.CurrentTransaction = tx;
                try
                {
                    result = action();
                    tx.Commit();
                }
                catch (Exception ex)
                {
                    _onCommit.Clear();
                    foreach (var step in _onRollback)
                    {
                        step();
                    }

                    _onRollback.Clear();
                    if (ex is not ChromaException && StorageErrors.IsDiskFull(ex))
                    {
                        // SQLite could not write its log: the batch needed at least its own bytes.
                        throw StorageErrors.StorageFull(Path, WriteBytes > 0 ? WriteBytes : null, ex);
                    }

                    throw;
                }
                finally
                {
                    Db.CurrentTransaction = null;
                }
            }

            _onRollback.Clear();
            Acknowledge(_seq);
            foreach (var step in _onCommit)
            {
                step();
            }

            _onCommit.Clear();
            afterCommit?.Invoke(result);
            return result;
        }
    }

    /// <summary>In-memory steps of the current write transaction, run only once it has committed (writer lock held).</summary>
    private readonly List<Action> _onCommit = [];

    /// <summary>Runs <paramref name="step"/> after the current write transaction commits, and never if it rolls back.</summary>
    internal void OnCommit(Action step)
    {
        _ = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        _onCommit.Add(step);
    }

    /// <summary>Bytes of record data the current write transaction stores (a lower bound of what it needs on disk). Writer lock held.</summary>
    internal long WriteBytes { get; set; }

    /// <summary>In-memory undo steps of the current write transaction, run only if it fails (its commit included).</summary>
    private readonly List<Action> _onRollback = [];

    /// <summary>Runs <paramref name="step"/> if the current write transaction fails, its commit included; never after a commit.</summary>
    internal void OnRollback(Action step)
    {
        _ = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        _onRollback.Add(step);
    }

    internal SqliteTransaction? CurrentTransaction => Db.CurrentTransaction;

    /// <summary>A prepared writer command bound to the current write transaction.</summary>
    internal SqliteCommand WriteCommand(string sql)
    {
        var command = Db.WriterCommand(sql);
        command.Transaction = CurrentTransaction ?? throw new InvalidOperationException("No write transaction is active.");
        return command;
    }

    /// <summary>Takes the next write sequence number inside the current write transaction, and extends the write chain.</summary>
    internal long NextSeq()
    {
        var seq = _seq + 1;
        var command = WriteCommand("UPDATE store_meta SET value = $v WHERE key = 'seq'");
        command.Parameters.AddWithValue("$v", seq.ToString(CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
        var chain = StoreIdentity.NextChain(_chain, seq);
        if (RecordChecksum.Enabled)
        {
            var link = WriteCommand("INSERT INTO write_chain(seq, chain) VALUES ($s, $h)");
            link.Parameters.AddWithValue("$s", seq);
            link.Parameters.AddWithValue("$h", chain);
            link.ExecuteNonQuery();
        }

        _seq = seq;
        _chain = chain;
        return seq;
    }

    /// <summary>The write chain value of the last <see cref="NextSeq"/> (see <see cref="StoreIdentity"/>).</summary>
    internal long CurrentChain => _chain;

    /// <summary>The write chain value recorded for <paramref name="seq"/>, 0 when none is (writes before schema 2).</summary>
    internal static long ChainAt(SqliteConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chain FROM write_chain WHERE seq = $s";
        command.Parameters.AddWithValue("$s", seq);
        return command.ExecuteScalar() is long chain ? chain : 0;
    }

    /// <summary>The owner stamp of <paramref name="state"/>'s derived files covering the write whose chain value is <paramref name="chain"/>.</summary>
    internal byte[] Owner(CollectionState state, long chain) => StoreIdentity.Owner(_storeId, state.Uuid, chain);

    /// <summary>Records <paramref name="seq"/> as acknowledged in <c>chroma.seq</c>; call only once its commit is durable.</summary>
    internal void Acknowledge(long seq)
    {
        if (!RecordChecksum.Enabled)
        {
            return;
        }

        try
        {
            _acknowledged?.Write(seq);
        }
        catch (IOException)
        {
            // The write is durable in SQLite; the side file only weakens the lost-WAL check when it lags.
        }
    }

    /// <summary>
    /// Schema 1 → 2 in one transaction: the record checksum columns (filled for every record), the write chain table and
    /// a store id. Logged once; a store that fails here is left at version 1 (the transaction rolls back).
    /// </summary>
    private static void MigrateFrom1(SqliteDb db, Microsoft.Extensions.Logging.ILogger logger)
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
                    p.Value = RecordChecksum.Payload(id, reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3));
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
            command.Parameters.AddWithValue("$v", SqliteDb.SchemaVersion.ToString(CultureInfo.InvariantCulture));
            command.ExecuteNonQuery();
            tx.Commit();
        }

        Internal.StoreLog.SchemaMigrated(logger, db.Path, 1, SqliteDb.SchemaVersion, records);
    }

    private string? ReadMeta(string key)
    {
        lock (Db.WriteLock)
        {
            var command = Db.WriterCommand("SELECT value FROM store_meta WHERE key = $k");
            command.Parameters.AddWithValue("$k", key);
            return (string?)command.ExecuteScalar();
        }
    }

    internal string ArenaPath(Guid collection) => System.IO.Path.Combine(_derivedFolder, collection.ToString("N") + ".vec");

    internal string GraphPath(Guid collection) => System.IO.Path.Combine(_derivedFolder, collection.ToString("N") + ".hnsw");

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
        if (_closed)
        {
            return;
        }

        Exception? failure = null;
        lock (Db.WriteLock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            foreach (var state in _collections.Values)
            {
                // The background indexers need the collections' read locks: stop them before taking the write side.
                CloseStep(state.Name, "stopping the background indexer", () => state.Indexer?.StopWorker());
            }

            foreach (var state in _collections.Values)
            {
                state.Lock.EnterWriteLock();
                try
                {
                    CloseCollection(state);
                }
                finally
                {
                    state.Lock.ExitWriteLock();
                }
            }

            CloseStep(KeyRingFile.DatabaseFileName, "closing the key ring", Keys.Dispose);
            try
            {
                Db.Dispose();
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            CloseStep(AcknowledgedSeqFile.FileName, "closing the acknowledged-sequence file", () => _acknowledged?.Dispose());
            CloseStep(LockFileName, "releasing the store lock", () => _lockFile?.Dispose());
            if (Options.ReadOnly)
            {
                CloseStep(_derivedFolder, "deleting the read-only scratch folder", () =>
                {
                    if (Directory.Exists(_derivedFolder))
                    {
                        Directory.Delete(_derivedFolder, recursive: true);
                    }
                });
            }
        }

        if (failure is not null)
        {
            throw StorageErrors.IsStorageFault(failure) ? StorageErrors.Map(failure, Db.Path) : failure;
        }
    }

    /// <summary>Saves (best effort) and releases one collection's derived files. Caller holds its write lock.</summary>
    private void CloseCollection(CollectionState state)
    {
        if (state.Indexer is { } indexer)
        {
            if (state.Arena is not null && !state.ArenaInvalid && !Options.ReadOnly)
            {
                SaveDerived(state, GraphPath(state.Uuid), indexer.Persist);
            }

            CloseStep(state.Name, "releasing the HNSW graph", indexer.Dispose);
            state.Indexer = null;
        }

        if (state.Arena is { } arena)
        {
            if (!state.ArenaInvalid && !Options.ReadOnly)
            {
                SaveDerived(state, ArenaPath(state.Uuid), () => arena.Checkpoint(state.LastSeq, Owner(state, state.LastChain)));
            }

            CloseStep(state.Name, "unmapping the vector arena", arena.Dispose);
            state.Arena = null;
        }
    }

    /// <summary>Saves a derived file on close; a storage fault is logged and skipped (the file is rebuilt from SQLite later).</summary>
    private void SaveDerived(CollectionState state, string path, Action save)
    {
        try
        {
            save();
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            Internal.StoreLog.DerivedSaveFailed(Options.Logger, state.Name, path, StorageErrors.Map(ex, path).Message);
        }
    }

    /// <summary>One step of <see cref="Dispose"/>: a failure is logged, and closing goes on.</summary>
    private void CloseStep(string what, string step, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            Internal.StoreLog.CloseStepFailed(Options.Logger, Path, $"{step} ({what})", $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"ChromaStore({Path})";
}
