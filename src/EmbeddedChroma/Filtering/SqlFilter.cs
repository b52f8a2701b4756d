using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Filtering;

/// <summary>
/// A translated filter: a SQL boolean expression over <c>records r</c> plus the parameters it uses. Produced by
/// <see cref="SqlFilterBuilder"/>; immutable.
/// </summary>
/// <remarks>
/// The expression refers to <see cref="SqlFilterBuilder.CollectionParameter"/> (<c>$collection</c>), which the
/// caller binds itself (it is not in <see cref="Parameters"/>), and, for <c>$regex</c>, to the SQL function
/// <c>regexp</c> that <see cref="SqliteRegex.Register"/> installs on the connection.
/// </remarks>
internal sealed class SqlFilter
{
    /// <summary>The filter that keeps every record (<c>1</c>, no parameters).</summary>
    public static SqlFilter MatchAll { get; } = new("1", [], usesRegex: false);

    internal SqlFilter(string sql, IReadOnlyList<KeyValuePair<string, object>> parameters, bool usesRegex)
    {
        Sql = sql;
        Parameters = parameters;
        UsesRegex = usesRegex;
    }

    /// <summary>The boolean expression; embed it as <c>... WHERE r.collection_id = $collection AND (Sql)</c>.</summary>
    public string Sql { get; }

    /// <summary>Parameter names (with their <c>$</c> prefix) and values: <see cref="string"/>, <see cref="double"/> or <see cref="long"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Parameters { get; }

    /// <summary>True when <see cref="Sql"/> calls <c>regexp</c>, so the connection needs <see cref="SqliteRegex.Register"/>.</summary>
    public bool UsesRegex { get; }

    /// <summary>True for <see cref="MatchAll"/> (no filter at all).</summary>
    public bool IsMatchAll => Parameters.Count == 0 && Sql == "1";

    /// <summary>Adds <see cref="Parameters"/> to <paramref name="command"/>; <c>$collection</c> is left to the caller.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="command"/> is null.</exception>
    public void ApplyTo(SqliteCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        foreach ((string name, object value) in Parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
    }
}
