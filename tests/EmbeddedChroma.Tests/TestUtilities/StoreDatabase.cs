using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>A store's SQLite file (<c>chroma.sqlite3</c>) read or edited from outside the store, as another program would.</summary>
public static class StoreDatabase
{
    /// <summary>The database file of the store in <paramref name="folder"/>.</summary>
    public static string File(string folder) => Path.Combine(folder, "chroma.sqlite3");

    /// <summary>Runs <paramref name="sql"/> on the store's database file through a connection of its own (WAL: the store may be open).</summary>
    public static void Execute(string folder, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={File(folder)};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row <paramref name="sql"/> returns, read through a read-only connection of its own.</summary>
    public static object? Scalar(string folder, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={File(folder)};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
