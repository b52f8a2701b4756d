using System.Collections.Immutable;
using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>Metadata comparison operators of <c>where</c>.</summary>
internal enum WhereOperator
{
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    Nin,
    Contains,
    NotContains,
}

/// <summary><c>$and</c> / <c>$or</c>, shared by <c>where</c> and <c>where_document</c>.</summary>
internal enum LogicalOperator
{
    And,
    Or,
}

internal static class FilterOperators
{
    internal static string Name(this WhereOperator op) => op switch
    {
        WhereOperator.Eq => "$eq",
        WhereOperator.Ne => "$ne",
        WhereOperator.Gt => "$gt",
        WhereOperator.Gte => "$gte",
        WhereOperator.Lt => "$lt",
        WhereOperator.Lte => "$lte",
        WhereOperator.In => "$in",
        WhereOperator.Nin => "$nin",
        WhereOperator.Contains => "$contains",
        WhereOperator.NotContains => "$not_contains",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    internal static string Name(this LogicalOperator op) => op == LogicalOperator.And ? "$and" : "$or";

    internal static bool TryParseWhere(string name, out WhereOperator op)
    {
        switch (name)
        {
            case "$eq": op = WhereOperator.Eq; return true;
            case "$ne": op = WhereOperator.Ne; return true;
            case "$gt": op = WhereOperator.Gt; return true;
            case "$gte": op = WhereOperator.Gte; return true;
            case "$lt": op = WhereOperator.Lt; return true;
            case "$lte": op = WhereOperator.Lte; return true;
            case "$in": op = WhereOperator.In; return true;
            case "$nin": op = WhereOperator.Nin; return true;
            case "$contains": op = WhereOperator.Contains; return true;
            case "$not_contains": op = WhereOperator.NotContains; return true;
            default: op = default; return false;
        }
    }

    internal static bool TryParseLogical(string name, out LogicalOperator op)
    {
        switch (name)
        {
            case "$and": op = LogicalOperator.And; return true;
            case "$or": op = LogicalOperator.Or; return true;
            default: op = default; return false;
        }
    }

    internal static bool IsSet(this WhereOperator op) => op is WhereOperator.In or WhereOperator.Nin;

    internal static bool IsRange(this WhereOperator op) =>
        op is WhereOperator.Gt or WhereOperator.Gte or WhereOperator.Lt or WhereOperator.Lte;

    /// <summary>What the operand must be, for error messages.</summary>
    internal static string Expects(this WhereOperator op) => op switch
    {
        _ when op.IsRange() => "a number",
        _ when op.IsSet() => "a non-empty array of strings, numbers or bools of one type",
        _ => "a string, number or bool",
    };
}

/// <summary>A leaf of <c>where</c>: one key, one operator, one operand (or a list for <c>$in</c>/<c>$nin</c>).</summary>
internal sealed class WhereComparison : Where
{
    private WhereComparison(string key, WhereOperator op, ImmutableArray<FilterValue> values)
    {
        Key = key;
        Operator = op;
        Values = values;
    }

    public string Key { get; }

    public WhereOperator Operator { get; }

    /// <summary>One value for scalar operators; one or more for <c>$in</c>/<c>$nin</c>, all of one kind (ints and floats mix).</summary>
    public ImmutableArray<FilterValue> Values { get; }

    /// <summary>The operand of a scalar operator.</summary>
    public FilterValue Value => Values[0];

    internal static WhereComparison Create(string key, WhereOperator op, FilterValue value)
    {
        ValidateKey(key, op);
        ValidateValue(key, op, value);
        if (op.IsSet())
        {
            // Reached only through internal callers; the public In/NotIn take arrays.
            throw Error(key, op, $"expects {op.Expects()}, got {value.TypeName} {value}");
        }

        return new WhereComparison(key, op, [value]);
    }

    internal static WhereComparison Create(string key, WhereOperator op, FilterValue[] values)
    {
        ValidateKey(key, op);
        if (values is null || values.Length == 0)
        {
            throw Error(key, op, $"expects {op.Expects()}, got an empty array");
        }

        foreach (FilterValue value in values)
        {
            ValidateValue(key, op, value);
        }

        FilterValue first = values[0];
        foreach (FilterValue value in values)
        {
            if (SameCategory(first, value))
            {
                continue;
            }

            throw Error(key, op, $"expects values of one type, got {first.TypeName} {first} and {value.TypeName} {value}");
        }

        return new WhereComparison(key, op, [.. values]);
    }

    private static bool SameCategory(FilterValue a, FilterValue b) => a.Kind == b.Kind || (a.IsNumber && b.IsNumber);

    private static void ValidateKey(string key, WhereOperator op)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new ChromaFilterException($"Invalid where: empty metadata key (operator '{op.Name()}').");
        }

        if (key[0] == '$')
        {
            throw new ChromaFilterException(
                $"Invalid where: metadata key {FilterJson.Quote(key)} (operator '{op.Name()}') must not start with '$'; only '$and' and '$or' may appear there.");
        }

        if (Internal.Utf16Text.Problem(key, $"Invalid where: metadata key (operator '{op.Name()}')") is { } problem)
        {
            throw new ChromaFilterException(problem + ".");
        }
    }

    private static void ValidateValue(string key, WhereOperator op, FilterValue value)
    {
        if (value.Kind == FilterValueKind.None)
        {
            throw Error(key, op, $"expects {op.Expects()}, got null");
        }

        if (!value.IsFinite)
        {
            throw Error(key, op, $"expects a finite number, got {value.NumberValue}");
        }

        if (op.IsRange() && !value.IsNumber)
        {
            throw Error(key, op, $"expects a number (comparisons are numeric only), got {value.TypeName} {value}");
        }

        if (value.Kind == FilterValueKind.String && Internal.Utf16Text.Problem(value.StringValue, "its string value") is { } problem)
        {
            throw Error(key, op, problem);
        }
    }

    internal static ChromaFilterException Error(string key, WhereOperator op, string problem) =>
        new($"Invalid where: operator '{op.Name()}' on key {FilterJson.Quote(key)} {problem}.");

    public override bool Equals(Where? other) =>
        other is WhereComparison c
        && c.Operator == Operator
        && string.Equals(c.Key, Key, StringComparison.Ordinal)
        && c.Values.AsSpan().SequenceEqual(Values.AsSpan());

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Operator);
        hash.Add(Key, StringComparer.Ordinal);
        foreach (FilterValue value in Values)
        {
            hash.Add(value);
        }

        return hash.ToHashCode();
    }

    internal override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WritePropertyName(Key);
        writer.WriteStartObject();
        writer.WritePropertyName(Operator.Name());
        if (Operator.IsSet())
        {
            writer.WriteStartArray();
            foreach (FilterValue value in Values)
            {
                value.WriteTo(writer);
            }

            writer.WriteEndArray();
        }
        else
        {
            Value.WriteTo(writer);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

/// <summary><c>$and</c> / <c>$or</c> over two or more <c>where</c> clauses.</summary>
internal sealed class WhereLogical : Where
{
    private WhereLogical(LogicalOperator op, ImmutableArray<Where> clauses)
    {
        Operator = op;
        Clauses = clauses;
        Depth = LogicalClauses.DepthOf(clauses, c => c.Depth, "where");
    }

    internal override int Depth { get; }

    public LogicalOperator Operator { get; }

    public ImmutableArray<Where> Clauses { get; }

    internal static WhereLogical Create(LogicalOperator op, Where[] clauses) =>
        new(op, LogicalClauses.Validate(op, clauses, "where", "where clauses"));

    /// <summary>The operators' form: flattens same-operator chains so a &amp; b &amp; c is one node of three.</summary>
    internal static WhereLogical Combine(LogicalOperator op, Where left, Where right) =>
        new(op, LogicalClauses.Flatten(op, left, right, c => (c as WhereLogical)?.Operator, c => ((WhereLogical)c).Clauses));

    public override bool Equals(Where? other) =>
        other is WhereLogical l && l.Operator == Operator && l.Clauses.SequenceEqual(Clauses);

    public override int GetHashCode() => LogicalClauses.Hash(Operator, Clauses);

    internal override void WriteTo(Utf8JsonWriter writer) => LogicalClauses.Write(writer, Operator, Clauses, (c, w) => c.WriteTo(w));
}
