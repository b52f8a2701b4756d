using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The SQLite source of truth: one writer connection (callers serialize on <see cref="WriteLock"/>) and a
/// small pool of reader connections. WAL lets readers run beside the writer on a consistent snapshot.
/// </summary>
internal sealed class SqliteDb : IDisposable
{
    internal const int SchemaVersion = 2; // 2: record checksums, write chain, store id

    private readonly string _connectionString;
    private readonly ConcurrentBag<SqliteConnection> _readers = new();
    private readonly Action<SqliteConnection>? _configure;
    private readonly Dictionary<string, SqliteCommand> _writerCommands = new(StringComparer.Ordinal);
    private bool _disposed;

    public SqliteDb(string path, Action<SqliteConnection>? configure)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
        }.ToString();
        _configure = configure;
        Path = path;
        Writer = OpenConnection();
        try
        {
            // Incremental auto-vacuum lets compaction hand freed pages back to the file system cheaply. It takes
            // effect only in a database without tables (a new store); an older store keeps its mode until a VACUUM.
            Exec(Writer, "PRAGMA auto_vacuum=INCREMENTAL;");
            Exec(Writer, "PRAGMA journal_mode=WAL;");
            Exec(Writer, "PRAGMA synchronous=FULL;");
        }
        catch (SqliteException ex)
        {
            Writer.Dispose();
            throw IsCorruption(ex) ? Corrupt(ex) : ex;
        }
    }

    /// <summary>SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), extended codes included: the file is damaged or not a database.</summary>
    public static bool IsCorruption(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is 11 or 26 || (ex.SqliteExtendedErrorCode & 0xFF) is 11 or 26;

    /// <summary>The exception for a damaged database file: names the file, says it is corrupt, and what to do.</summary>
    public ChromaCorruptStoreException Corrupt(Exception inner, string? detail = null) =>
        new($"The store is corrupt: the SQLite file '{Path}' is damaged ({detail ?? Describe(inner)}). " +
            "Restore the store folder from a backup; the store cannot be used as it is.", inner);

    private static string Describe(Exception ex) => ex is SqliteException sqlite
        ? $"SQLite error {sqlite.SqliteErrorCode}/{sqlite.SqliteExtendedErrorCode}: {sqlite.Message.Split('\n')[0].Trim()}"
        : ex.Message;

    /// <summary>Runs <paramref name="action"/>, turning SQLite's corruption errors into <see cref="ChromaCorruptStoreException"/>.</summary>
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
    }

    /// <summary>
    /// <c>PRAGMA quick_check</c> (or the slower <c>integrity_check</c> when <paramref name="full"/>) on a reader
    /// connection: the problems it reports, empty when the file is sound. Reads the whole file: not for the open path.
    /// </summary>
    public IReadOnlyList<string> Check(bool full)
    {
        var connection = Rent();
        try
        {
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
        catch (SqliteException ex) when (IsCorruption(ex))
        {
            return [Describe(ex)];
        }
        finally
        {
            Return(connection);
        }
    }

    public string Path { get; }

    /// <summary>The single writer connection; use only while holding <see cref="WriteLock"/>.</summary>
    public SqliteConnection Writer { get; }

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

    /// <summary>Runs SQL without results on a connection.</summary>
    public static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

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
    public SqliteConnection Rent() => _readers.TryTake(out var c) ? c : OpenConnection();

    /// <summary>Returns a reader connection to the pool.</summary>
    public void Return(SqliteConnection connection)
    {
        if (_disposed || _readers.Count >= 16)
        {
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
        foreach (var c in _writerCommands.Values)
        {
            c.Dispose();
        }

        while (_readers.TryTake(out var r))
        {
            r.Dispose();
        }

        try
        {
            Exec(Writer, "PRAGMA wal_checkpoint(TRUNCATE);");
        }
        catch (SqliteException)
        {
            // A checkpoint is an optimization on close; the WAL is replayed on the next open anyway.
        }

        Writer.Dispose();
    }
}
