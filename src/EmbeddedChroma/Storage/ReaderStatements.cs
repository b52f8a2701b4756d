using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace EmbeddedChroma.Storage;

/// <summary>
/// SQLite statements prepared once per connection and kept with it, so a hot read (a query's rows) binds values into a
/// prepared statement instead of preparing its SQL on every call, and steps it without the per-execution objects of
/// ADO.NET (command, reader, record, parameter binders). SQLite re-prepares a statement by itself after a schema change
/// (<c>sqlite3_prepare_v2</c>), so a deleted collection or a compaction needs nothing here. A connection is used by one
/// thread at a time (it is rented), and so are its statements. <see cref="SqliteDb"/> releases a connection's statements
/// before it disposes the connection.
/// </summary>
internal sealed class ReaderStatements
{
    /// <summary>How many distinct statements a connection keeps (keys 0 to Capacity - 1; each caller owns a range).</summary>
    public const int Capacity = 16;

    private static readonly ConditionalWeakTable<SqliteConnection, ReaderStatements> Cache = new();

    private readonly sqlite3_stmt?[] _statements = new sqlite3_stmt?[Capacity];

    /// <summary>
    /// The statement for <paramref name="key"/> on <paramref name="connection"/>, prepared from <paramref name="sql"/>
    /// (the key's SQL, always the same) on first use. The caller resets it after use (<see cref="Reset"/>), so it never
    /// holds a read snapshot between calls.
    /// </summary>
    public static sqlite3_stmt Get(SqliteConnection connection, int key, Func<int, string> sql)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)key, (uint)Capacity, nameof(key));
        var statements = Cache.GetValue(connection, static _ => new ReaderStatements());
        var statement = statements._statements[key];
        if (statement is null)
        {
            Check(connection, raw.sqlite3_prepare_v2(connection.Handle, sql(key), out statement));
            statements._statements[key] = statement;
        }

        return statement;
    }

    /// <summary>Throws SQLite's error (a <see cref="SqliteException"/>, mapped by the caller's guard) unless <paramref name="rc"/> is OK, ROW or DONE.</summary>
    public static int Check(SqliteConnection connection, int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            SqliteException.ThrowExceptionForRC(rc, connection.Handle);
        }

        return rc;
    }

    /// <summary>Resets <paramref name="statement"/> (ends its read) and clears its bindings.</summary>
    public static void Reset(sqlite3_stmt statement)
    {
        raw.sqlite3_reset(statement);
        raw.sqlite3_clear_bindings(statement);
    }

    /// <summary>Finalizes the statements kept for <paramref name="connection"/> (before it is disposed).</summary>
    public static void Release(SqliteConnection connection)
    {
        if (Cache.TryGetValue(connection, out var statements))
        {
            Cache.Remove(connection);
            foreach (var statement in statements._statements)
            {
                statement?.Dispose();
            }
        }
    }

    /// <summary>Tests: how many statements are kept for <paramref name="connection"/>.</summary>
    internal static int CountFor(SqliteConnection connection) =>
        Cache.TryGetValue(connection, out var statements) ? statements._statements.Count(s => s is not null) : 0;
}
