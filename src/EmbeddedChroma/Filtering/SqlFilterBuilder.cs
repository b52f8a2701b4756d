using System.Globalization;
using System.Text;

namespace EmbeddedChroma.Filtering;

/// <summary>
/// Translates <see cref="Where"/> and <see cref="WhereDocument"/> into one SQLite boolean expression over the
/// records table aliased <c>r</c>. Every literal (keys, values, patterns) is a parameter; nothing the user wrote is
/// concatenated into the SQL.
/// </summary>
/// <remarks>
/// <para>Schema it targets (owned by the storage layer):</para>
/// <code>
/// records(rid PK, collection_id, id, slot, seq, document NULL, metadata NULL, embedding)
/// record_meta(collection_id, rid, key, elem, s, n, b)   -- elem 0: scalar value, 1: one array element
///                                                        -- exactly one of s (text), n (REAL), b (0/1) set
/// documents_fts: FTS5 trigram case_sensitive 1, external content records(document), content_rowid = rid
/// </code>
/// <para>Translation (p = parameter):</para>
/// <code>
/// $eq  k v   r.rid IN (SELECT m.rid FROM record_meta m WHERE m.collection_id = $collection
///                      AND m.key = p AND m.elem = 0 AND m.{s|n|b} = p)
/// $ne        r.rid NOT IN (same)          -- records without the key match, as in Chroma
/// $gt..$lte  ... AND m.elem = 0 AND m.n &gt; p  -- numeric only; strings and bools have n NULL
/// $in / $nin ... AND m.{s|n|b} IN (p, p, ...) / NOT IN
/// $contains / $not_contains (metadata)  ... AND m.elem = 1 AND m.{s|n|b} = p / NOT IN
/// $contains (document)  r.rid IN (SELECT f.rowid FROM documents_fts f WHERE f.document GLOB p
///                        UNION ALL SELECT pd.rid FROM records pd WHERE pd.collection_id = $collection
///                        AND pd.seq > W AND pd.document IS NOT NULL AND instr(pd.document, t) > 0)
///                       -- p = '*' + text with * ? [ bracketed + '*'; trigram answers GLOB from the index;
///                       -- W = the collection's documents_indexed mark: records written after it are scanned
/// $regex                (r.document IS NOT NULL AND regexp(p, r.document))
/// $not_*                NOT (...)                -- complement: records without a document match
/// </code>
/// <para>Numbers bind as doubles, so an int matches an equal float (Chroma compares numerically) and a bool, stored
/// in b, never matches a number. Equal literals share one parameter. An instance builds one filter and is not
/// thread-safe; use <see cref="Build"/>.</para>
/// </remarks>
internal sealed class SqlFilterBuilder
{
    /// <summary>Parameter the caller must bind to the collection's integer id.</summary>
    public const string CollectionParameter = "$collection";

    /// <summary>
    /// Prefix of the <c>store_meta</c> key that holds, per collection, the last sequence number whose documents the FTS5
    /// index holds (the storage layer's <c>PendingDocuments</c>); records written after it are scanned exactly.
    /// </summary>
    public const string DocumentsIndexedKeyPrefix = "documents_indexed:";

    /// <summary>The collection's mark, read in the statement's snapshot; without a mark every document is indexed.</summary>
    private string DocumentsIndexedThrough() =>
        "COALESCE((SELECT CAST(dm.value AS INTEGER) FROM store_meta dm WHERE dm.key = " + Bind(DocumentsIndexedKeyPrefix) + " || " + CollectionParameter + "), 9223372036854775807)";

    /// <summary>
    /// Most distinct literals (keys, values, patterns) one filter may bind; a long <c>$in</c>/<c>$nin</c> list counts
    /// as one. SQLite allows 32,766 parameters per statement but resolves each name by a linear scan, so binding is
    /// quadratic: 4,096 keeps the worst case well under a second.
    /// </summary>
    public const int MaxParameters = 4_096;

    /// <summary><c>$in</c>/<c>$nin</c> lists longer than this bind as one JSON array read with <c>json_each</c>.</summary>
    public const int InlineListLimit = 32;

    /// <summary>Default prefix of the parameters the builder creates (<c>$f0</c>, <c>$f1</c>, ...).</summary>
    public const string DefaultParameterPrefix = "$f";

    private readonly StringBuilder _sql = new();
    private readonly List<KeyValuePair<string, object>> _parameters = [];
    private readonly Dictionary<object, string> _names = [];
    private readonly string _prefix;
    private bool _usesRegex;

    private readonly bool _documentIndex;

    private SqlFilterBuilder(string prefix, bool documentIndex)
    {
        _prefix = prefix;
        _documentIndex = documentIndex;
    }

    /// <summary>
    /// Translates the filters (either may be null) into one expression; both present are joined with AND.
    /// Returns <see cref="SqlFilter.MatchAll"/> when both are null.
    /// </summary>
    /// <param name="where">Metadata filter, or null.</param>
    /// <param name="whereDocument">Document filter, or null.</param>
    /// <param name="parameterPrefix">Prefix for generated parameter names; must not collide with the caller's own names.</param>
    /// <param name="documentIndex">
    /// False: document <c>$contains</c> is answered from the documents themselves (<c>instr</c>, a scan) instead of the FTS5
    /// index, for a store that cannot check that index (opened read-only).
    /// </param>
    public static SqlFilter Build(Where? where, WhereDocument? whereDocument, string parameterPrefix = DefaultParameterPrefix, bool documentIndex = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(parameterPrefix);
        if (where is null && whereDocument is null)
        {
            return SqlFilter.MatchAll;
        }

        var builder = new SqlFilterBuilder(parameterPrefix, documentIndex);
        if (where is not null && whereDocument is not null)
        {
            builder._sql.Append('(');
            builder.AppendWhere(where);
            builder._sql.Append(" AND ");
            builder.AppendDocument(whereDocument);
            builder._sql.Append(')');
        }
        else if (where is not null)
        {
            builder.AppendWhere(where);
        }
        else
        {
            builder.AppendDocument(whereDocument!);
        }

        if (builder._parameters.Count > MaxParameters)
        {
            throw new ChromaFilterException(
                $"Invalid {(where is null ? "where_document" : whereDocument is null ? "where" : "where/where_document")}: the filter has {builder._parameters.Count} distinct keys and values; the limit is {MaxParameters} (split it, e.g. a long '$in' list, over several calls).");
        }

        return new SqlFilter(builder._sql.ToString(), builder._parameters.AsReadOnly(), builder._usesRegex);
    }

    /// <summary>
    /// Throws <see cref="ChromaFilterException"/> when the filters exceed <see cref="MaxParameters"/>, whichever way
    /// they are evaluated later (SQL or the in-memory index), so the same filter is accepted or refused everywhere.
    /// </summary>
    public static void EnsureWithinLimits(Where? where, WhereDocument? whereDocument)
    {
        if (where is not null || whereDocument is not null)
        {
            _ = Build(where, whereDocument);
        }
    }

    private void AppendWhere(Where where)
    {
        switch (where)
        {
            case WhereLogical logical:
                AppendLogical(logical.Operator, logical.Clauses, AppendWhere);
                break;
            case WhereComparison comparison:
                AppendComparison(comparison);
                break;
            default:
                throw new InvalidOperationException($"Unexpected where node {where.GetType().Name}.");
        }
    }

    private void AppendDocument(WhereDocument whereDocument)
    {
        switch (whereDocument)
        {
            case WhereDocumentLogical logical:
                AppendLogical(logical.Operator, logical.Clauses, AppendDocument);
                break;
            case WhereDocumentText text:
                AppendDocumentText(text);
                break;
            default:
                throw new InvalidOperationException($"Unexpected where_document node {whereDocument.GetType().Name}.");
        }
    }

    /// <summary>
    /// Clauses grouped as a balanced tree, <c>((a AND b) AND (c AND d))</c>: SQLite parses a flat chain left-deep, so
    /// thousands of clauses in one <c>$and</c> would exceed its expression depth (1,000); balanced, the depth is log2 n.
    /// </summary>
    private void AppendLogical<T>(LogicalOperator op, IReadOnlyList<T> clauses, Action<T> append) =>
        AppendBalanced(op == LogicalOperator.And ? " AND " : " OR ", clauses, 0, clauses.Count, append);

    private void AppendBalanced<T>(string separator, IReadOnlyList<T> clauses, int start, int end, Action<T> append)
    {
        if (end - start == 1)
        {
            append(clauses[start]);
            return;
        }

        var middle = start + ((end - start) / 2);
        _sql.Append('(');
        AppendBalanced(separator, clauses, start, middle, append);
        _sql.Append(separator);
        AppendBalanced(separator, clauses, middle, end, append);
        _sql.Append(')');
    }

    private void AppendComparison(WhereComparison comparison)
    {
        WhereOperator op = comparison.Operator;
        bool negated = op is WhereOperator.Ne or WhereOperator.Nin or WhereOperator.NotContains;
        bool arrayElement = op is WhereOperator.Contains or WhereOperator.NotContains;

        _sql.Append(negated ? "r.rid NOT IN (" : "r.rid IN (")
            .Append("SELECT m.rid FROM record_meta m WHERE m.collection_id = ").Append(CollectionParameter)
            .Append(" AND m.key = ").Append(Bind(comparison.Key))
            .Append(" AND m.elem = ").Append(arrayElement ? '1' : '0')
            .Append(" AND m.");

        // Values of one comparison share a category (validated by the factories), so one column serves all.
        FilterValue first = comparison.Value;
        _sql.Append(first.Kind switch
        {
            FilterValueKind.String => 's',
            FilterValueKind.Bool => 'b',
            _ => 'n',
        });

        switch (op)
        {
            case WhereOperator.In or WhereOperator.Nin when comparison.Values.Length > InlineListLimit:
                // One JSON parameter instead of one per value: SQLite resolves parameter names by a linear scan, so
                // binding thousands of them is quadratic, and a statement may have at most 32,766.
                _sql.Append(" IN (SELECT value FROM json_each(").Append(Bind(JsonList(comparison.Values))).Append("))");
                break;
            case WhereOperator.In or WhereOperator.Nin:
                _sql.Append(" IN (");
                for (int i = 0; i < comparison.Values.Length; i++)
                {
                    _sql.Append(i > 0 ? ", " : string.Empty).Append(Parameter(comparison.Values[i]));
                }

                _sql.Append(')');
                break;
            default:
                _sql.Append(' ').Append(SqlComparison(op)).Append(' ').Append(Parameter(first));
                break;
        }

        _sql.Append(')');
    }

    /// <summary>The values as a JSON array of what the column holds: strings, numbers as doubles, bools as 1/0.</summary>
    private static string JsonList(IReadOnlyList<FilterValue> values) => FilterJson.Write(writer =>
    {
        writer.WriteStartArray();
        foreach (var value in values)
        {
            switch (value.Kind)
            {
                case FilterValueKind.String: writer.WriteStringValue(value.StringValue); break;
                case FilterValueKind.Bool: writer.WriteNumberValue(value.BoolValue ? 1 : 0); break;
                default: writer.WriteNumberValue(value.NumberValue); break;
            }
        }

        writer.WriteEndArray();
    });

    private static string SqlComparison(WhereOperator op) => op switch
    {
        WhereOperator.Gt => ">",
        WhereOperator.Gte => ">=",
        WhereOperator.Lt => "<",
        WhereOperator.Lte => "<=",
        _ => "=", // $eq, $ne (negated outside), $contains, $not_contains (negated outside)
    };

    private void AppendDocumentText(WhereDocumentText text)
    {
        if (text.Operator.IsNegated())
        {
            _sql.Append("NOT ");
        }

        if (text.Operator.IsRegex())
        {
            _usesRegex = true;
            _sql.Append("(r.document IS NOT NULL AND ").Append(SqliteRegex.FunctionName).Append('(')
                .Append(Bind(text.Text)).Append(", r.document))");
        }
        else if (!_documentIndex)
        {
            _sql.Append("(r.document IS NOT NULL AND instr(r.document, ").Append(Bind(text.Text)).Append(") > 0)");
        }
        else
        {
            // The index holds the documents of records up to the collection's mark (PendingDocuments); the records
            // written since are scanned exactly (a range of records_seq, empty once the indexer caught up). Both read the
            // statement's one snapshot. One rid IN list, so SQLite still looks the matches up by rowid.
            _sql.Append("(r.rid IN (SELECT f.rowid FROM documents_fts f WHERE f.document GLOB ")
                .Append(Bind(GlobContainsPattern(text.Text)))
                .Append(" UNION ALL SELECT pd.rid FROM records pd WHERE pd.collection_id = ").Append(CollectionParameter)
                .Append(" AND pd.seq > ").Append(DocumentsIndexedThrough())
                .Append(" AND pd.document IS NOT NULL AND instr(pd.document, ").Append(Bind(text.Text)).Append(") > 0))");
        }
    }

    /// <summary>
    /// A GLOB pattern matching any text that contains <paramref name="text"/> literally. GLOB's metacharacters
    /// outside a bracket are '*', '?' and '['; each is wrapped in a one-character class. ']' is literal on its own.
    /// </summary>
    internal static string GlobContainsPattern(string text)
    {
        var pattern = new StringBuilder(text.Length + 8);
        pattern.Append('*');
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[')
            {
                pattern.Append('[').Append(c).Append(']');
            }
            else
            {
                pattern.Append(c);
            }
        }

        return pattern.Append('*').ToString();
    }

    private string Parameter(FilterValue value) => value.Kind switch
    {
        FilterValueKind.String => Bind(value.StringValue),
        FilterValueKind.Bool => Bind(value.BoolValue ? 1L : 0L),
        _ => Bind(value.NumberValue),
    };

    private string Bind(object value)
    {
        if (_names.TryGetValue(value, out string? name))
        {
            return name;
        }

        name = _prefix + _parameters.Count.ToString(CultureInfo.InvariantCulture);
        _names.Add(value, name);
        _parameters.Add(new KeyValuePair<string, object>(name, value));
        return name;
    }
}
