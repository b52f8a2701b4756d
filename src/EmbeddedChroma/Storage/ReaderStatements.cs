using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Prepared read commands kept with one connection, so a hot read (a query's rows) binds values into a statement SQLite
/// prepared once instead of preparing its SQL on every call. Microsoft.Data.Sqlite keeps a command's prepared statement
/// while its text is unchanged; SQLite re-prepares it by itself after a schema change (<c>sqlite3_prepare_v2</c>), so a
/// deleted collection or a compaction needs nothing here. A connection is used by one thread at a time (it is rented),
/// and so are its commands. <see cref="SqliteDb"/> releases a connection's commands before it disposes the connection.
/// </summary>
internal sealed class ReaderStatements
{
    /// <summary>How many distinct commands a connection keeps (keys 0 to Capacity - 1).</summary>
    public const int Capacity = 16;

    private static readonly ConditionalWeakTable<SqliteConnection, ReaderStatements> Cache = new();

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand?[] _commands;

    private ReaderStatements(SqliteConnection connection)
    {
        _connection = connection;
        _commands = new SqliteCommand?[Capacity];
    }

    /// <summary>
    /// The command for <paramref name="key"/> (below <see cref="Capacity"/>; each caller owns a range of keys) on
    /// <paramref name="connection"/>, created with <paramref name="create"/> on first use and returned as it was left
    /// (its parameters stay: the caller sets their values).
    /// </summary>
    public static SqliteCommand Get(SqliteConnection connection, int key, Action<SqliteCommand, int> create)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)key, (uint)Capacity, nameof(key));
        var statements = Cache.GetValue(connection, static c => new ReaderStatements(c));

        var command = statements._commands[key];
        if (command is null)
        {
            command = statements._connection.CreateCommand();
            create(command, key);
            statements._commands[key] = command;
        }

        return command;
    }

    /// <summary>Disposes the commands kept for <paramref name="connection"/> (before it is disposed).</summary>
    public static void Release(SqliteConnection connection)
    {
        if (Cache.TryGetValue(connection, out var statements))
        {
            Cache.Remove(connection);
            foreach (var command in statements._commands)
            {
                command?.Dispose();
            }
        }
    }

    /// <summary>Tests: how many commands are kept for <paramref name="connection"/>.</summary>
    internal static int CountFor(SqliteConnection connection) =>
        Cache.TryGetValue(connection, out var statements) ? statements._commands.Count(c => c is not null) : 0;
}
