using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The SQLite source of truth: one writer connection (callers serialize on <see cref="WriteLock"/>) and a
/// small pool of reader connections. WAL lets readers run beside the writer on a consistent snapshot.
/// </summary>
internal sealed class SqliteDb : IDisposable
{
    internal const int SchemaVersion = 4; // 2: record checksums, write chain, store id; 3: record uris; 4: documents indexed after the batch

    /// <summary>
    /// Log bytes after which a commit checkpoints the log into the database file: 64 MiB, i.e. 16,384 pages of 4 KiB
    /// (a store created before session 10) or 8,192 of 8 KiB (SQLite's default: 1,000 pages).
    /// </summary>
    internal const long WalCheckpointBytes = 64L << 20;

    /// <summary>
    /// The page size of a new store's database. A record holds its 4-byte-per-dimension embedding (1,536 bytes at 384-d),
    /// so at SQLite's default 4 KiB only two fit a page and about a fifth of the records table is slack; at 8 KiB five do.
    /// Measured on 100,000 × 384 records without documents: see README "Scale (issue #17)". Fixed when the file is created
    /// (an existing store keeps its page size).
    /// </summary>
    internal const int NewDatabasePageSize = 8_192;

    /// <summary>Bytes the write-ahead log file is truncated back to after a checkpoint.</summary>
    internal const long JournalSizeLimit = 64L << 20;

    private readonly string _connectionString;
    private readonly ConcurrentBag<SqliteConnection> _readers = new();
    private readonly Action<SqliteConnection>? _configure;
    private readonly Dictionary<string, SqliteCommand> _writerCommands = new(StringComparer.Ordinal);
    private bool _disposed;

    public SqliteDb(string path, Action<SqliteConnection>? configure, bool readOnly = false)
    {
        _configure = configure;
        Path = path;
        ReadOnly = readOnly;
        if (readOnly)
        {
            // The caller holds the folder's lock shared, so no writer can exist: with no WAL left to replay (a cleanly
            // closed store) the file is opened as immutable, which reads it without creating a -wal or -shm file (and
            // works on read-only media). Otherwise SQLite opens it read-only and replays the log in memory.
            _connectionString = ReadOnlyConnectionString(path, immutable: CanOpenImmutable(path));
            Writer = OpenConnection();
            return;
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
        }.ToString();
        Writer = OpenConnection();
        try
        {
            // Incremental auto-vacuum lets compaction hand freed pages back to the file system cheaply. It takes
            // effect only in a database without tables (a new store); an older store keeps its mode until a VACUUM.
            // The page size too applies only to a database without tables, and must precede WAL mode.
            Exec(Writer, $"PRAGMA page_size={NewDatabasePageSize}; PRAGMA auto_vacuum=INCREMENTAL;");
            Exec(Writer, "PRAGMA journal_mode=WAL;");
            Exec(Writer, "PRAGMA synchronous=FULL;");
            // Each commit is durable by itself (the log is synced); moving the log's pages into the database file (a
            // checkpoint: copy and sync) every WalCheckpointBytes of log instead of SQLite's 1,000 halves what a bulk ingest
            // syncs, since the index pages every batch rewrites are copied once per checkpoint, not once per batch.
            // The checkpoint runs on a background thread (WalCheckpointer), not in the commit of a write call, so the
            // writer's automatic checkpoint is off. The log is cut back to JournalSizeLimit after a checkpoint.
            Exec(Writer, $"PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={JournalSizeLimit};");
            CheckpointPages = (int)(WalCheckpointBytes / PageSize(Writer));
        }
        catch (SqliteException ex)
        {
            Writer.Dispose();
            if (IsCorruption(ex))
            {
                throw Corrupt(ex);
            }

            if (!StorageErrors.IsOutOfSpace(ex, System.IO.Path.GetDirectoryName(path) ?? path))
            {
                throw;
            }

            // A full disk: SQLite cannot create the WAL's shared-memory file. It opens for reads; writes report the full
            // disk (see OpenedWhileFull).
            ReadOnly = true;
            OpenedWhileFull = ex;
            if (CanOpenImmutable(path))
            {
                // Closed cleanly (no log to replay): immutable, nothing is created beside the file.
                _connectionString = ReadOnlyConnectionString(path, immutable: true);
                Writer = OpenConnection();
            }
            else
            {
                // Closed on a full disk, its log not checkpointed: the log must be read, and its index cannot be created
                // as a file. In exclusive locking mode SQLite keeps that index in memory; it then serves one connection
                // only, so every read shares the writer connection under the write lock (see Rent).
                _connectionString = WalInMemoryConnectionString(path);
                Writer = OpenConnection();
                try
                {
                    Exec(Writer, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA query_only=1;");
                    Exec(Writer, "SELECT count(*) FROM sqlite_master;");
                }
                catch
                {
                    Writer.Dispose();
                    throw;
                }

                SingleConnection = true;
            }
        }
    }

    /// <summary>
    /// Opened on a full disk with a log to replay: the log's index is in this process's memory and one connection (the
    /// writer's) serves every read, under <see cref="WriteLock"/>.
    /// </summary>
    public bool SingleConnection { get; }

    private static string WalInMemoryConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWrite,
        Pooling = false,
        Cache = SqliteCacheMode.Private,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>Opened read-only (<see cref="ChromaStoreOptions.ReadOnly"/>, or the disk was full): no connection can write.</summary>
    public bool ReadOnly { get; }

    /// <summary>The disk was full when the store was opened, so it was opened for reads only: SQLite's error then, else null.</summary>
    public Exception? OpenedWhileFull { get; }

    /// <summary>Set once this open found the FTS5 document index equal to the documents (<see cref="FilterRows.DocumentIndexProblem"/>), before the first read that uses it.</summary>
    public volatile bool DocumentIndexVerified;

    /// <summary>Set once this open compared the document index with its stamp (<see cref="DocumentIndexStamp"/>): the digest is read at most once per open.</summary>
    public volatile bool DocumentIndexStampChecked;

    /// <summary>
    /// Set when this open's background document indexer changed the index (and the marks) — transactions that take no
    /// sequence number, so the stamp's "last write" does not tell: the close stamps the index again.
    /// </summary>
    public volatile bool DocumentIndexMovedQuietly;

    /// <summary>How many times this open ran FTS5's full check of the document index (tests, benchmarks).</summary>
    public int DocumentIndexFullChecks;

    private static string ReadOnlyConnectionString(string path, bool immutable) => new SqliteConnectionStringBuilder
    {
        DataSource = immutable ? new Uri(path).AbsoluteUri + "?immutable=1" : path,
        Mode = SqliteOpenMode.ReadOnly,
        Pooling = false,
        Cache = SqliteCacheMode.Private,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>True when no write-ahead log holds writes the database file lacks (immutable mode would not read them).</summary>
    public static bool CanOpenImmutable(string path)
    {
        var wal = new FileInfo(path + "-wal");
        return !wal.Exists || wal.Length == 0;
    }

    /// <summary>
    /// SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), extended codes included: the file is damaged or not a database. Also
    /// the generic SQLITE_ERROR that SQLite raises for a damaged header ("unsupported file format": a flipped schema
    /// format byte) or schema ("malformed database schema").
    /// </summary>
    public static bool IsCorruption(SqliteException ex) =>
        (ex.SqliteErrorCode & 0xFF) is 11 or 26
        || (ex.SqliteExtendedErrorCode & 0xFF) is 11 or 26
        || ((ex.SqliteErrorCode & 0xFF) == 1
            && (ex.Message.Contains("unsupported file format", StringComparison.Ordinal) || ex.Message.Contains("malformed database schema", StringComparison.Ordinal)));

    /// <summary>The exception for a damaged database file: names the file, says it is corrupt, and what to do.</summary>
    public ChromaCorruptStoreException Corrupt(Exception inner, string? detail = null) =>
        new($"The store is corrupt: the SQLite file '{Internal.Echo.Path(Path)}' is damaged ({detail ?? Describe(inner)}). " +
            "Restore the store folder from a backup; the store cannot be used as it is.", inner);

    private static string Describe(Exception ex) => ex is SqliteException sqlite
        ? $"SQLite error {sqlite.SqliteErrorCode}/{sqlite.SqliteExtendedErrorCode}: {sqlite.Message.Split('\n')[0].Trim()}"
        : ex.Message;

    /// <summary>
    /// Runs <paramref name="action"/>, turning every storage fault (SQLite's and the file system's) into the
    /// <see cref="ChromaException"/> that names its cause (<see cref="StorageErrors.Map"/>): corruption, a full disk,
    /// read-only media or an I/O error.
    /// </summary>
    public T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            throw Corrupt(ex);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            throw StorageErrors.Map(ex, Path);
        }
    }

    /// <summary>
    /// <c>PRAGMA quick_check</c> (or the slower <c>integrity_check</c> when <paramref name="full"/>) on a reader
    /// connection: the problems it reports, empty when the file is sound. Reads the whole file: not for the open path.
    /// </summary>
    /// <remarks>A token that can be cancelled interrupts the check (SQLite's progress handler looks at it every few
    /// thousand virtual-machine steps): an <see cref="OperationCanceledException"/>.</remarks>
    public IReadOnlyList<string> Check(bool full, CancellationToken cancellationToken = default)
    {
        var connection = Rent();
        var interruptible = cancellationToken.CanBeCanceled;
        try
        {
            if (interruptible)
            {
                SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 4096, static token => ((StrongBox<CancellationToken>)token).Value.IsCancellationRequested ? 1 : 0, new StrongBox<CancellationToken>(cancellationToken));
            }

            using var command = connection.CreateCommand();
            command.CommandText = full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)";
            using var reader = command.ExecuteReader();
            var problems = new List<string>();
            while (reader.Read())
            {
                var line = reader.GetString(0);
                if (line != "ok")
                {
                    problems.Add(line);
                }
            }

            return problems;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The integrity check was cancelled.", ex, cancellationToken);
        }
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            return [Describe(ex)];
        }
        finally
        {
            if (interruptible)
            {
                SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 0, null, null);
            }

            Return(connection);
        }
    }

    public string Path { get; }

    /// <summary>The single writer connection; use only while holding <see cref="WriteLock"/>.</summary>
    public SqliteConnection Writer { get; private set; }

    /// <summary>The write transaction in progress on <see cref="Writer"/>, if any (writer lock required).</summary>
    public SqliteTransaction? CurrentTransaction { get; set; }

    /// <summary>Serializes every write transaction of the store.</summary>
    public Lock WriteLock { get; } = new();

    private SqliteConnection OpenConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            Exec(connection, "PRAGMA busy_timeout=30000; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;");
            _configure?.Invoke(connection);
            return connection;
        }
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            connection.Dispose();
            throw Corrupt(ex);
        }
    }

    /// <summary>The database's page size in bytes.</summary>
    internal static int PageSize(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA page_size;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs SQL without results on a connection.</summary>
    public static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Log pages written after which the background checkpointer copies the log: <see cref="WalCheckpointBytes"/> of the
    /// database's pages (8,192 of 8 KiB, or 16,384 of 4 KiB in a store made before 8 KiB pages); tests lower it.
    /// </summary>
    internal int CheckpointPages { get; set; } = (int)(WalCheckpointBytes / 4_096);

    /// <summary>The background checkpointer, started by the first <see cref="Committed"/>; null before, and for read-only opens.</summary>
    internal WalCheckpointer? Checkpointer { get; private set; }

    /// <summary>
    /// After a commit on <see cref="Writer"/> (writer lock held): lets <see cref="WalCheckpointer"/> count the pages the
    /// commit wrote to the log and checkpoint when enough are there (started here on a store's first commit).
    /// </summary>
    /// <remarks>Never throws: the commit is durable and its caller must go on to publish it. If the checkpointer cannot
    /// start (its connection or thread), the writer falls back to SQLite's automatic checkpoint in its commits.</remarks>
    public void Committed()
    {
        if (ReadOnly || _disposed || _checkpointerFailed)
        {
            return;
        }

        try
        {
            Checkpointer ??= new WalCheckpointer(this, OpenConnection());
            Checkpointer.Committed(Writer);
        }
        catch (Exception)
        {
            _checkpointerFailed = true;
            try
            {
                Exec(Writer, $"PRAGMA wal_autocheckpoint={CheckpointPages};");
            }
            catch (SqliteException)
            {
                // The log then grows until the store is closed, which checkpoints it.
            }
        }
    }

    private bool _checkpointerFailed;

    /// <summary>A cached, prepared command on the writer connection (parameters cleared). Writer lock required.</summary>
    public SqliteCommand WriterCommand(string sql)
    {
        if (!_writerCommands.TryGetValue(sql, out var command))
        {
            command = Writer.CreateCommand();
            command.CommandText = sql;
            _writerCommands[sql] = command;
        }

        command.Parameters.Clear();
        command.Transaction = CurrentTransaction;
        return command;
    }

    /// <summary>Rents a reader connection; return it with <see cref="Return"/>.</summary>
    public SqliteConnection Rent()
    {
        if (SingleConnection)
        {
            WriteLock.Enter();
            return Writer;
        }

        return _readers.TryTake(out var c) ? c : OpenConnection();
    }

    /// <summary>Returns a reader connection to the pool.</summary>
    public void Return(SqliteConnection connection)
    {
        if (SingleConnection && ReferenceEquals(connection, Writer))
        {
            WriteLock.Exit();
            return;
        }

        if (_disposed || _readers.Count >= 16)
        {
            ReaderStatements.Release(connection);
            connection.Dispose();
        }
        else
        {
            _readers.Add(connection);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Checkpointer?.Dispose();
        foreach (var c in _writerCommands.Values)
        {
            c.Dispose();
        }

        while (_readers.TryTake(out var r))
        {
            ReaderStatements.Release(r);
            r.Dispose();
        }

        try
        {
            if (!ReadOnly)
            {
                Exec(Writer, "PRAGMA wal_checkpoint(TRUNCATE);");
            }
        }
        catch (SqliteException)
        {
            // A checkpoint is an optimization on close; the WAL is replayed on the next open anyway.
        }

        ReaderStatements.Release(Writer);
        Writer.Dispose();
    }
}
