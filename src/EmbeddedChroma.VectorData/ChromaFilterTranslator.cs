using System.Collections;
using System.Linq.Expressions;
using Microsoft.Extensions.VectorData.ProviderServices;
using Microsoft.Extensions.VectorData.ProviderServices.Filter;

namespace EmbeddedChroma.VectorData;

/// <summary>A LINQ filter in Chroma's terms: a metadata filter, a document filter and an id list, all of which must match.</summary>
internal sealed record ChromaFilter(Where? Where, WhereDocument? Document, IReadOnlyList<string>? Ids)
{
    public static readonly ChromaFilter None = new(null, null, null);

    /// <summary>True when the filter can match nothing (an empty key list).</summary>
    public bool MatchesNothing => Ids is { Count: 0 };
}

/// <summary>
/// Translates an MEVD LINQ filter into Chroma's <c>where</c> model.
/// </summary>
/// <remarks>
/// <para>Supported: <c>==</c>, <c>!=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c> between a property and a
/// constant or captured value (either side); <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> (pushed down by De Morgan and operator
/// complement, since Chroma's <c>where</c> has no <c>$not</c>); a bool property alone (<c>r =&gt; r.IsActive</c>);
/// <c>Contains</c> of an inline array or captured collection over a property (→ <c>$in</c>) and of a value over a
/// string-array property (→ <c>$contains</c>); <c>Any(x =&gt; values.Contains(x))</c> over a string-array property;
/// <c>r =&gt; true</c>. At the top level of the filter (joined by <c>&amp;&amp;</c> only), the key may be compared with
/// <c>==</c> or tested with <c>keys.Contains(r.Key)</c> (→ Chroma's id list), and the document property may be searched
/// with <c>r.Text.Contains("word")</c> / <c>!r.Text.Contains("word")</c> (→ <c>where_document</c>).</para>
/// <para>Anything else throws <see cref="NotSupportedException"/> naming the part: a comparison with null (Chroma
/// cannot select a missing key), an ordering comparison on a string or bool, a method other than Contains/Any, a
/// comparison of two properties.</para>
/// </remarks>
internal sealed class ChromaFilterTranslator : FilterTranslatorBase
{
    private readonly ChromaRecordModel _record;

    public ChromaFilterTranslator(ChromaRecordModel record) => _record = record;

    public ChromaFilter Translate(LambdaExpression filter)
    {
        var body = PreprocessFilter(filter, _record.Model, new FilterPreprocessingOptions());
        var wheres = new List<Where>();
        var documents = new List<WhereDocument>();
        List<string>? ids = null;

        foreach (var conjunct in Conjuncts(body))
        {
            if (conjunct is ConstantExpression { Value: true })
            {
                continue;
            }

            if (TryDocument(conjunct, out var document))
            {
                documents.Add(document);
                continue;
            }

            if (TryKeys(conjunct, out var keys))
            {
                ids = ids is null ? keys : ids.Intersect(keys, StringComparer.Ordinal).ToList();
                continue;
            }

            wheres.Add(TranslateWhere(conjunct, negated: false));
        }

        return new ChromaFilter(
            wheres.Count switch { 0 => null, 1 => wheres[0], _ => Where.And([.. wheres]) },
            documents.Count switch { 0 => null, 1 => documents[0], _ => WhereDocument.And([.. documents]) },
            ids);
    }

    private static IEnumerable<Expression> Conjuncts(Expression node)
    {
        if (node is BinaryExpression { NodeType: ExpressionType.AndAlso } and)
        {
            foreach (var left in Conjuncts(and.Left))
            {
                yield return left;
            }

            foreach (var right in Conjuncts(and.Right))
            {
                yield return right;
            }
        }
        else
        {
            yield return node;
        }
    }

    private bool TryDocument(Expression node, out WhereDocument document)
    {
        var negated = false;
        if (node is UnaryExpression { NodeType: ExpressionType.Not } not)
        {
            negated = true;
            node = not.Operand;
        }

        if (_record.Document is { } doc
            && node is MethodCallExpression { Method.Name: nameof(string.Contains), Object: { } target, Arguments: [ConstantExpression { Value: string text }] } call
            && call.Method.DeclaringType == typeof(string)
            && TryBindProperty(target, out var property)
            && ReferenceEquals(property, doc))
        {
            document = negated ? WhereDocument.NotContains(text) : WhereDocument.Contains(text);
            return true;
        }

        document = null!;
        return false;
    }

    private bool TryKeys(Expression node, out List<string> keys)
    {
        keys = null!;
        if (node is BinaryExpression { NodeType: ExpressionType.Equal } equal)
        {
            if (IsKey(equal.Left) && Constant(equal.Right, out var value) && value is not null)
            {
                keys = [KeyCodec.ToId(value)];
                return true;
            }

            if (IsKey(equal.Right) && Constant(equal.Left, out value) && value is not null)
            {
                keys = [KeyCodec.ToId(value)];
                return true;
            }
        }

        if (node is MethodCallExpression call && TryMatchContains(call, out var source, out var item) && IsKey(item))
        {
            keys = [.. Elements(source, "Contains").Select(v => KeyCodec.ToId(v ?? throw new NotSupportedException("Filter: a null key in Contains is not supported.")))];
            return true;
        }

        return false;
    }

    private bool IsKey(Expression node) => TryBindProperty(Unwrap(node), out var p) && p is KeyPropertyModel;

    private Where TranslateWhere(Expression node, bool negated)
    {
        switch (node)
        {
            case BinaryExpression { NodeType: ExpressionType.AndAlso or ExpressionType.OrElse } logical:
                {
                    // De Morgan: !(a && b) == !a || !b.
                    var and = logical.NodeType == ExpressionType.AndAlso ^ negated;
                    var left = TranslateWhere(logical.Left, negated);
                    var right = TranslateWhere(logical.Right, negated);
                    return and ? left & right : left | right;
                }

            case UnaryExpression { NodeType: ExpressionType.Not } not:
                return TranslateWhere(not.Operand, !negated);

            case UnaryExpression { NodeType: ExpressionType.Convert } convert when convert.Type == typeof(bool) || Nullable.GetUnderlyingType(convert.Type) == convert.Operand.Type:
                return TranslateWhere(convert.Operand, negated);

            case BinaryExpression { NodeType: ExpressionType.Equal or ExpressionType.NotEqual or ExpressionType.LessThan or ExpressionType.LessThanOrEqual or ExpressionType.GreaterThan or ExpressionType.GreaterThanOrEqual } comparison:
                return TranslateComparison(comparison, negated);

            case MethodCallExpression call:
                return TranslateCall(call, negated);

            case ConstantExpression { Value: bool }:
                throw new NotSupportedException("Filter: a constant true/false inside a larger condition is not supported (Chroma's where has no constant); write r => true alone to match every record.");

            case var member when member.Type == typeof(bool) && TryBindProperty(Unwrap(member), out var property):
                return Where.Eq(Key(property), !negated);

            default:
                throw new NotSupportedException($"Filter: the expression '{node}' ({node.NodeType}) cannot be translated to a Chroma where filter.");
        }
    }

    private Where TranslateComparison(BinaryExpression comparison, bool negated)
    {
        var op = comparison.NodeType;
        PropertyModel? property;
        object? value;
        if (TryBindProperty(Unwrap(comparison.Left), out property) && Constant(comparison.Right, out value))
        {
        }
        else if (TryBindProperty(Unwrap(comparison.Right), out property) && Constant(comparison.Left, out value))
        {
            op = Flip(op);
        }
        else
        {
            throw new NotSupportedException($"Filter: '{comparison}' must compare one property with a constant or captured value.");
        }

        if (negated)
        {
            op = Complement(op);
        }

        if (property is KeyPropertyModel)
        {
            throw new NotSupportedException($"Filter: the key '{property.ModelName}' can only be compared with == (or tested with Contains) at the top level of the filter, joined by &&.");
        }

        if (_record.Document is { } doc && ReferenceEquals(property, doc))
        {
            throw new NotSupportedException($"Filter: '{property.ModelName}' is the record's Chroma document; it can only be searched with {property.ModelName}.Contains(\"text\") at the top level of the filter.");
        }

        if (value is null)
        {
            throw new NotSupportedException($"Filter: comparing '{property.ModelName}' with null is not supported (Chroma's where cannot select a missing key).");
        }

        var filterValue = ToFilterValue(value, property);
        var key = Key(property);
        if (op is ExpressionType.Equal)
        {
            return Where.Eq(key, filterValue);
        }

        if (op is ExpressionType.NotEqual)
        {
            return Where.Ne(key, filterValue);
        }

        if (!filterValue.IsNumber)
        {
            throw new NotSupportedException($"Filter: '{comparison}' orders a {filterValue.Kind} value; Chroma's $gt/$gte/$lt/$lte compare numbers (and dates, stored as ticks) only.");
        }

        return op switch
        {
            ExpressionType.LessThan => Where.Lt(key, filterValue),
            ExpressionType.LessThanOrEqual => Where.Lte(key, filterValue),
            ExpressionType.GreaterThan => Where.Gt(key, filterValue),
            _ => Where.Gte(key, filterValue),
        };
    }

    private Where TranslateCall(MethodCallExpression call, bool negated)
    {
        if (TryMatchContains(call, out var source, out var item))
        {
            // Array field contains a value: r.Tags.Contains("x").
            if (TryBindProperty(Unwrap(source), out var arrayProperty) && Constant(item, out var element))
            {
                CheckMetadata(arrayProperty);
                if (element is not string text)
                {
                    throw new NotSupportedException($"Filter: Contains on '{arrayProperty.ModelName}' needs a non-null string.");
                }

                return negated ? Where.NotContains(Key(arrayProperty), text) : Where.Contains(Key(arrayProperty), text);
            }

            // Value in an inline/captured list: new[] { 1, 2 }.Contains(r.Int).
            if (TryBindProperty(Unwrap(item), out var property))
            {
                CheckMetadata(property);
                var values = Elements(source, "Contains").Select(v => v is null
                    ? throw new NotSupportedException($"Filter: a null in the Contains list of '{property.ModelName}' is not supported.")
                    : ToFilterValue(v, property)).ToArray();
                if (values.Length == 0)
                {
                    throw new NotSupportedException($"Filter: Contains over an empty list for '{property.ModelName}' is not supported (Chroma's $in needs at least one value).");
                }

                return negated ? Where.NotIn(Key(property), values) : Where.In(Key(property), values);
            }
        }

        // r.Tags.Any(t => values.Contains(t)): the array holds any of the values.
        if (call is { Method.Name: nameof(Enumerable.Any), Arguments: [var anySource, LambdaExpression lambda] }
            && call.Method.DeclaringType == typeof(Enumerable)
            && TryBindProperty(Unwrap(anySource), out var tags)
            && lambda.Body is MethodCallExpression inner
            && TryMatchContains(inner, out var valuesSource, out var parameter)
            && parameter == lambda.Parameters[0])
        {
            CheckMetadata(tags);
            var clauses = Elements(valuesSource, "Any").Select(v => v is string s
                ? negated ? Where.NotContains(Key(tags), s) : Where.Contains(Key(tags), s)
                : throw new NotSupportedException($"Filter: Any over '{tags.ModelName}' needs non-null strings.")).ToArray();
            return clauses.Length switch
            {
                0 => throw new NotSupportedException($"Filter: Any over an empty list for '{tags.ModelName}' is not supported."),
                1 => clauses[0],
                _ => negated ? Where.And(clauses) : Where.Or(clauses),
            };
        }

        if (call.Method.DeclaringType == typeof(string) && call.Object is { } target && TryBindProperty(Unwrap(target), out var textProperty))
        {
            throw ReferenceEquals(textProperty, _record.Document)
                ? new NotSupportedException($"Filter: '{textProperty.ModelName}' is the record's Chroma document; {textProperty.ModelName}.Contains(\"text\") is supported only at the top level of the filter (joined by &&), not inside || or a nested !.")
                : new NotSupportedException($"Filter: String.{call.Method.Name} on '{textProperty.ModelName}' is not supported (Chroma's where has no substring test on metadata; mark the property IsFullTextIndexed to search it as the document).");
        }

        throw new NotSupportedException($"Filter: the method '{call.Method.DeclaringType?.Name}.{call.Method.Name}' is not supported (only Contains and Any(x => values.Contains(x))).");
    }

    private void CheckMetadata(PropertyModel property)
    {
        if (property is KeyPropertyModel || (_record.Document is { } doc && ReferenceEquals(property, doc)))
        {
            throw new NotSupportedException($"Filter: '{property.ModelName}' can only be used in its own top-level form (key == value, keys.Contains(key), text.Contains(\"word\")).");
        }

        if (property is VectorPropertyModel)
        {
            throw new NotSupportedException($"Filter: the vector property '{property.ModelName}' cannot be filtered on.");
        }
    }

    private static string Key(PropertyModel property) => property.StorageName;

    private static FilterValue ToFilterValue(object value, PropertyModel property) => value switch
    {
        string s => FilterValue.FromString(s),
        bool b => FilterValue.FromBoolean(b),
        int i => FilterValue.FromInt64(i),
        long l => FilterValue.FromInt64(l),
        short s => FilterValue.FromInt64(s),
        byte b => FilterValue.FromInt64(b),
        float f => FilterValue.FromDouble(f),
        double d => FilterValue.FromDouble(d),
        DateTime dt => FilterValue.FromInt64(RecordMapper.Ticks(dt)),
        DateTimeOffset dto => FilterValue.FromInt64(dto.UtcTicks),
        _ => throw new NotSupportedException($"Filter: a value of type '{value.GetType().Name}' for '{property.ModelName}' is not supported."),
    };

    private static IEnumerable<object?> Elements(Expression source, string method) => source switch
    {
        NewArrayExpression array => array.Expressions.Select(e => Constant(e, out var v)
            ? v
            : throw new NotSupportedException($"Filter: {method}: inline array elements must be constants or captured values.")),
        ConstantExpression { Value: IEnumerable values and not string } => values.Cast<object?>(),
        _ => throw new NotSupportedException($"Filter: {method} over '{source}' is not supported (use an inline array or a captured collection)."),
    };

    private static bool Constant(Expression node, out object? value)
    {
        node = Unwrap(node);
        if (node is ConstantExpression constant)
        {
            value = constant.Value;
            return true;
        }

        value = null;
        return false;
    }

    private static Expression Unwrap(Expression node)
    {
        while (node is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked } convert)
        {
            node = convert.Operand;
        }

        return node;
    }

    private static ExpressionType Flip(ExpressionType op) => op switch
    {
        ExpressionType.LessThan => ExpressionType.GreaterThan,
        ExpressionType.LessThanOrEqual => ExpressionType.GreaterThanOrEqual,
        ExpressionType.GreaterThan => ExpressionType.LessThan,
        ExpressionType.GreaterThanOrEqual => ExpressionType.LessThanOrEqual,
        _ => op,
    };

    private static ExpressionType Complement(ExpressionType op) => op switch
    {
        ExpressionType.Equal => ExpressionType.NotEqual,
        ExpressionType.NotEqual => ExpressionType.Equal,
        ExpressionType.LessThan => ExpressionType.GreaterThanOrEqual,
        ExpressionType.LessThanOrEqual => ExpressionType.GreaterThan,
        ExpressionType.GreaterThan => ExpressionType.LessThanOrEqual,
        _ => ExpressionType.LessThan,
    };
}
