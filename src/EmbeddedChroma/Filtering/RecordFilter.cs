using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EmbeddedChroma.Filtering;

/// <summary>
/// The selectors of one read (ids, <see cref="Where"/>, <see cref="WhereDocument"/>) compiled into an in-memory
/// predicate over one record's id, metadata JSON (as stored) and document. A filtered read finds its records through
/// derived data (the <c>record_meta</c> filter rows, the FTS5 document index, the in-memory filter index, SQLite's
/// id index); each record it returns or deletes is checked again here on its checksum-verified fields, so a damaged
/// derived row can never add a record to an answer.
/// </summary>
/// <remarks>
/// <para>Semantics are <see cref="SqlFilterBuilder"/>'s: a comparison looks at the key's scalar value (or, for
/// <c>$contains</c>/<c>$not_contains</c>, its array elements); numbers compare as doubles (an integer as SQLite's REAL
/// column holds it), strings ordinally, bools only with bools; a JSON null matches nothing; <c>$ne</c>/<c>$nin</c>/
/// <c>$not_contains</c> are the complement (a record without the key matches). Document <c>$contains</c> is an
/// ordinal substring test (the trigram index is case-sensitive), <c>$regex</c> the same .NET expression the SQL
/// function runs. One instance serves one read on one thread (it reuses a buffer).</para>
/// </remarks>
internal sealed class RecordFilter
{
    private readonly Where? _where;
    private readonly WhereDocument? _whereDocument;
    private readonly HashSet<string>? _ids;
    private readonly Dictionary<string, int> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Value[] _values;
    private readonly Dictionary<string, Regex> _patterns = new(StringComparer.Ordinal);

    private RecordFilter(IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument)
    {
        _ids = ids is null ? null : new HashSet<string>(ids, StringComparer.Ordinal);
        _where = where;
        _whereDocument = whereDocument;
        if (where is not null)
        {
            CollectKeys(where);
        }

        _lookup = _keys.GetAlternateLookup<ReadOnlySpan<char>>();
        _values = new Value[_keys.Count];
    }

    /// <summary>
    /// False only in benchmarks measuring what the read check costs (<see cref="Create"/> then returns null: reads are
    /// not checked). Never false in a store that is used for real.
    /// </summary>
    internal static bool Enabled = true;

    /// <summary>The predicate of these selectors, or null when there is none (every record matches).</summary>
    public static RecordFilter? Create(IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument) =>
        !Enabled || (ids is null && where is null && whereDocument is null) ? null : new RecordFilter(ids, where, whereDocument);

    /// <summary>Whether the selectors include a document <c>$contains</c>/<c>$not_contains</c> (answered by the FTS5 index).</summary>
    public static bool UsesDocumentIndex(WhereDocument? whereDocument) => whereDocument switch
    {
        WhereDocumentText text => !text.Operator.IsRegex(),
        WhereDocumentLogical logical => logical.Clauses.Any(UsesDocumentIndex),
        _ => false,
    };

    /// <summary>Whether the record's id is one of the requested ids (true when no ids were given).</summary>
    public bool MatchesId(string id) => _ids is null || _ids.Contains(id);

    /// <summary>Whether the record's metadata (the JSON text as stored) satisfies <c>where</c> (true when there is none).</summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public bool MatchesWhere(string? metadataJson)
    {
        if (_where is null)
        {
            return true;
        }

        Load(metadataJson);
        return Evaluate(_where);
    }

    /// <summary>Whether the document satisfies <c>where_document</c> (true when there is none).</summary>
    public bool MatchesDocument(string? document) => _whereDocument is null || Evaluate(_whereDocument, document);

    private void CollectKeys(Where where)
    {
        switch (where)
        {
            case WhereLogical logical:
                foreach (var clause in logical.Clauses)
                {
                    CollectKeys(clause);
                }

                break;
            case WhereComparison comparison:
                _keys.TryAdd(comparison.Key, _keys.Count);
                break;
        }
    }

    /// <summary>Reads the values of the filter's keys from the metadata JSON (one pass; other keys are skipped).</summary>
    private void Load(string? metadataJson)
    {
        Array.Clear(_values);
        if (metadataJson is null || _keys.Count == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(metadataJson.Length));
        var name = ArrayPool<char>.Shared.Rent(256);
        try
        {
            var length = Encoding.UTF8.GetBytes(metadataJson, buffer);
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("The metadata is not a JSON object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var needed = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
                if (name.Length < needed)
                {
                    ArrayPool<char>.Shared.Return(name);
                    name = ArrayPool<char>.Shared.Rent(needed);
                }

                var written = reader.CopyString(name);
                reader.Read();
                if (_lookup.TryGetValue(name.AsSpan(0, written), out var slot))
                {
                    _values[slot] = ReadValue(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(name);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Value ReadValue(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return new Value(FilterValueKind.String, reader.GetString(), 0, null);
            case JsonTokenType.True:
            case JsonTokenType.False:
                return new Value(FilterValueKind.Bool, null, reader.TokenType == JsonTokenType.True ? 1 : 0, null);
            case JsonTokenType.Number:
                return new Value(FilterValueKind.Float, null, Number(ref reader), null);
            case JsonTokenType.StartArray:
                var elements = new List<Value>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    elements.Add(reader.TokenType == JsonTokenType.StartArray || reader.TokenType == JsonTokenType.StartObject
                        ? SkipNested(ref reader)
                        : ReadValue(ref reader));
                }

                return new Value(FilterValueKind.None, null, 0, elements);
            case JsonTokenType.StartObject:
                return SkipNested(ref reader);
            default:
                return default; // null: matches nothing
        }
    }

    private static Value SkipNested(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return default;
    }

    /// <summary>A JSON number as SQLite's REAL column holds it: an integer literal converted from int64, a float parsed.</summary>
    private static double Number(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && reader.TryGetInt64(out var integer))
        {
            return integer;
        }

        return reader.GetDouble();
    }

    private bool Evaluate(Where where)
    {
        switch (where)
        {
            case WhereLogical logical:
                var and = logical.Operator == LogicalOperator.And;
                foreach (var clause in logical.Clauses)
                {
                    if (Evaluate(clause) != and)
                    {
                        return !and;
                    }
                }

                return and;
            case WhereComparison comparison:
                var value = _values[_keys[comparison.Key]];
                return comparison.Operator switch
                {
                    WhereOperator.Ne or WhereOperator.Nin or WhereOperator.NotContains => !Positive(comparison, value),
                    _ => Positive(comparison, value),
                };
            default:
                throw new InvalidOperationException($"Unexpected where node {where.GetType().Name}.");
        }
    }

    /// <summary>The comparison before negation: <c>$ne</c> as <c>$eq</c>, <c>$nin</c> as <c>$in</c>, <c>$not_contains</c> as <c>$contains</c>.</summary>
    private static bool Positive(WhereComparison comparison, Value value)
    {
        var op = comparison.Operator;
        if (op is WhereOperator.Contains or WhereOperator.NotContains)
        {
            if (value.Elements is null)
            {
                return false;
            }

            foreach (var element in value.Elements)
            {
                if (Equal(element, comparison.Value))
                {
                    return true;
                }
            }

            return false;
        }

        if (op.IsRange())
        {
            if (value.Kind != FilterValueKind.Float)
            {
                return false;
            }

            var operand = comparison.Value.NumberValue;
            return op switch
            {
                WhereOperator.Gt => value.Number > operand,
                WhereOperator.Gte => value.Number >= operand,
                WhereOperator.Lt => value.Number < operand,
                _ => value.Number <= operand,
            };
        }

        foreach (var operand in comparison.Values)
        {
            if (Equal(value, operand))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Equal(Value value, FilterValue operand) => operand.Kind switch
    {
        FilterValueKind.String => value.Kind == FilterValueKind.String && string.Equals(value.Text, operand.StringValue, StringComparison.Ordinal),
        FilterValueKind.Bool => value.Kind == FilterValueKind.Bool && value.Number == (operand.BoolValue ? 1 : 0),
        FilterValueKind.None => false,
        _ => value.Kind == FilterValueKind.Float && value.Number == operand.NumberValue,
    };

    private bool Evaluate(WhereDocument whereDocument, string? document)
    {
        switch (whereDocument)
        {
            case WhereDocumentLogical logical:
                var and = logical.Operator == LogicalOperator.And;
                foreach (var clause in logical.Clauses)
                {
                    if (Evaluate(clause, document) != and)
                    {
                        return !and;
                    }
                }

                return and;
            case WhereDocumentText text:
                var positive = document is not null && (text.Operator.IsRegex()
                    ? IsMatch(text.Text, document)
                    : document.Contains(text.Text, StringComparison.Ordinal));
                return text.Operator.IsNegated() ? !positive : positive;
            default:
                throw new InvalidOperationException($"Unexpected where_document node {whereDocument.GetType().Name}.");
        }
    }

    private bool IsMatch(string pattern, string document)
    {
        try
        {
            return Pattern(pattern).IsMatch(document);
        }
        catch (RegexMatchTimeoutException ex)
        {
            throw new ChromaFilterException(
                $"Invalid where_document: operator '$regex' pattern {FilterJson.Quote(pattern)} timed out after {SqliteRegex.MatchTimeout.TotalSeconds:0.###} s on a document; simplify the pattern.", ex);
        }
    }

    private Regex Pattern(string pattern)
    {
        if (!_patterns.TryGetValue(pattern, out var regex))
        {
            // Interpreted (the SQL function compiles): same matches, no compile cost for a handful of records.
            regex = new Regex(pattern, RegexOptions.None, SqliteRegex.MatchTimeout);
            _patterns.Add(pattern, regex);
        }

        return regex;
    }

    /// <summary>One metadata value: a scalar (Kind String/Float/Bool), an array (Elements), or nothing (default: absent or null).</summary>
    private readonly record struct Value(FilterValueKind Kind, string? Text, double Number, List<Value>? Elements);
}
