using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The SQLite source of truth: one writer connection (callers serialize on <see cref="WriteLock"/>) and a
/// small pool of reader connections. WAL lets readers run beside the writer on a consistent snapshot.
/// </summary>
internal sealed class SqliteDb : IDisposable
{
    internal const int SchemaVersion = 1;

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
        Exec(Writer, "PRAGMA journal_mode=WAL;");
        Exec(Writer, "PRAGMA synchronous=FULL;");
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
        catch (SqliteException ex) when (ex.SqliteErrorCode is 11 or 26)
        {
            connection.Dispose();
            throw new ChromaCorruptStoreException($"The store is corrupt: '{Path}' is not a valid SQLite database ({ex.SqliteErrorCode}).", ex);
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
