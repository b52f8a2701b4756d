using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Filtering;

/// <summary>
/// The SQL function <c>regexp(pattern, text)</c> behind <c>where_document</c>'s <c>$regex</c>. The storage layer
/// calls <see cref="Register"/> once on every connection it opens (SQLite functions are per connection).
/// </summary>
/// <remarks>
/// The argument order matches SQLite's <c>text REGEXP pattern</c> operator, which calls <c>regexp(pattern, text)</c>,
/// so both spellings work. Each connection gets its own bounded cache of compiled patterns, so there is no static
/// mutable state. A NULL pattern or text gives 0 (no match).
/// </remarks>
internal static class SqliteRegex
{
    /// <summary>Name of the registered function.</summary>
    public const string FunctionName = "regexp";

    /// <summary>Compiled patterns kept per connection; the cache is emptied when it would exceed this.</summary>
    public const int CacheCapacity = 64;

    /// <summary>Longest a single match may run before the query fails.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    // Microsoft.Data.Sqlite turns an exception thrown in a user function into sqlite3_result_error with the
    // exception's message, and the statement then fails with a SqliteException carrying that text. The marker lets
    // TryTranslate recognise our failures and give the caller back a ChromaFilterException.
    private const string ErrorMarker = "[EmbeddedChroma.regexp] ";

    /// <summary>Installs <c>regexp(pattern, text)</c> on <paramref name="connection"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is null.</exception>
    public static void Register(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var cache = new PatternCache();
        connection.CreateFunction<string?, string?, bool>(FunctionName, cache.IsMatch, isDeterministic: true);
    }

    /// <summary>
    /// Recognises a statement failure raised by the <c>regexp</c> function (timeout, invalid pattern) and converts it
    /// to a <see cref="ChromaFilterException"/> naming the pattern. Use as
    /// <c>catch (SqliteException ex) when (SqliteRegex.TryTranslate(ex, out var fe)) { throw fe; }</c>.
    /// </summary>
    public static bool TryTranslate(SqliteException exception, [NotNullWhen(true)] out ChromaFilterException? filterException)
    {
        ArgumentNullException.ThrowIfNull(exception);
        string message = exception.Message;
        int at = message.IndexOf(ErrorMarker, StringComparison.Ordinal);
        if (at < 0)
        {
            filterException = null;
            return false;
        }

        string text = message[(at + ErrorMarker.Length)..];
        // SqliteException wraps the function's message as "SQLite Error 1: '<message>'."
        if (text.EndsWith("'.", StringComparison.Ordinal))
        {
            text = text[..^2];
        }

        filterException = new ChromaFilterException(text, exception);
        return true;
    }

    private sealed class PatternCache
    {
        private readonly Dictionary<string, Regex> _compiled = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public bool IsMatch(string? pattern, string? text)
        {
            if (pattern is null || text is null)
            {
                return false;
            }

            Regex regex = Get(pattern);
            try
            {
                return regex.IsMatch(text);
            }
            catch (RegexMatchTimeoutException)
            {
                throw new InvalidOperationException(
                    $"{ErrorMarker}Invalid where_document: operator '$regex' pattern {FilterJson.Quote(pattern)} timed out after "
                    + $"{MatchTimeout.TotalSeconds:0.###} s on a document; simplify the pattern.");
            }
        }

        private Regex Get(string pattern)
        {
            lock (_lock)
            {
                if (_compiled.TryGetValue(pattern, out Regex? regex))
                {
                    return regex;
                }
            }

            Regex created;
            try
            {
                created = new Regex(pattern, RegexOptions.Compiled, MatchTimeout);
            }
            catch (ArgumentException ex)
            {
                // Parsed filters are validated already; this guards hand-written SQL that calls regexp directly.
                throw new InvalidOperationException(
                    $"{ErrorMarker}Invalid where_document: operator '$regex' has an invalid regular expression {FilterJson.Quote(pattern)}: {Internal.Echo.Text(ex.Message, 512)}",
                    ex);
            }

            lock (_lock)
            {
                if (_compiled.Count >= CacheCapacity)
                {
                    // Filters reuse few patterns; dropping everything at the bound is simpler than LRU and still bounded.
                    _compiled.Clear();
                }

                _compiled.TryAdd(pattern, created);
            }

            return created;
        }
    }
}
