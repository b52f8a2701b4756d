using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>
/// Reads Chroma's <c>where</c> JSON into the <see cref="Where"/> AST. Every operand goes through the same
/// factories as the C# builder, so both paths validate identically.
/// </summary>
internal static class WhereParser
{
    internal static Where Parse(string json)
    {
        using JsonDocument document = FilterJson.ParseDocument(json, "where");
        try
        {
            return ParseClause(document.RootElement);
        }
        catch (InvalidOperationException ex)
        {
            // Reading a name or string whose escapes decode to an unpaired surrogate ("\ud800") throws here.
            throw FilterJson.InvalidText("where", ex);
        }
    }

    private static Where ParseClause(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ChromaFilterException(
                $"Invalid where: expected a JSON object, got {FilterJson.KindName(element.ValueKind)}.");
        }

        JsonProperty property = SingleProperty(element);
        string name = property.Name;

        if (FilterOperators.TryParseLogical(name, out LogicalOperator logical))
        {
            return ParseLogical(logical, property.Value);
        }

        if (name.StartsWith('$'))
        {
            throw new ChromaFilterException(
                $"Invalid where: unknown operator {FilterJson.Quote(name)} at the top of a clause; only '$and' and '$or' "
                + "may appear there, metadata keys must not start with '$' (document filters belong in where_document).");
        }

        if (name.Length == 0)
        {
            throw new ChromaFilterException("Invalid where: empty metadata key.");
        }

        return property.Value.ValueKind == JsonValueKind.Object
            ? ParseOperatorObject(name, property.Value)
            : WhereComparison.Create(name, WhereOperator.Eq, ReadScalar(name, WhereOperator.Eq, property.Value));
    }

    private static JsonProperty SingleProperty(JsonElement element)
    {
        using JsonElement.ObjectEnumerator properties = element.EnumerateObject();
        if (!properties.MoveNext())
        {
            throw new ChromaFilterException("Invalid where: empty object {}; expected exactly one key or operator.");
        }

        JsonProperty first = properties.Current;
        if (properties.MoveNext())
        {
            string second = properties.Current.Name;
            throw new ChromaFilterException(
                $"Invalid where: expected where to have exactly one operator, got keys {FilterJson.Quote(first.Name)} and "
                + $"{FilterJson.Quote(second)}; combine conditions with '$and'.");
        }

        return first;
    }

    private static WhereLogical ParseLogical(LogicalOperator op, JsonElement operand)
    {
        if (operand.ValueKind != JsonValueKind.Array)
        {
            throw new ChromaFilterException(
                $"Invalid where: operator '{op.Name()}' expects an array of at least 2 where clauses, got {FilterJson.KindName(operand.ValueKind)}.");
        }

        var clauses = new Where[operand.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in operand.EnumerateArray())
        {
            clauses[i++] = ParseClause(item);
        }

        return WhereLogical.Create(op, clauses);
    }

    private static WhereComparison ParseOperatorObject(string key, JsonElement operators)
    {
        using JsonElement.ObjectEnumerator properties = operators.EnumerateObject();
        if (!properties.MoveNext())
        {
            throw new ChromaFilterException(
                $"Invalid where: key {FilterJson.Quote(key)} has an empty operator object {{}}; expected one operator such as '$eq'.");
        }

        JsonProperty property = properties.Current;
        if (properties.MoveNext())
        {
            throw new ChromaFilterException(
                $"Invalid where: key {FilterJson.Quote(key)} has more than one operator ({FilterJson.Quote(property.Name)} and "
                + $"{FilterJson.Quote(properties.Current.Name)}); expected exactly one operator, combine them with '$and'.");
        }

        if (!FilterOperators.TryParseWhere(property.Name, out WhereOperator op))
        {
            string hint = property.Name.StartsWith('$')
                ? "supported: $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $contains, $not_contains"
                : "nested objects are not allowed as metadata values";
            throw new ChromaFilterException(
                $"Invalid where: unknown operator {FilterJson.Quote(property.Name)} on key {FilterJson.Quote(key)} ({hint}).");
        }

        JsonElement operand = property.Value;
        if (!op.IsSet())
        {
            return WhereComparison.Create(key, op, ReadScalar(key, op, operand));
        }

        if (operand.ValueKind != JsonValueKind.Array)
        {
            throw WhereComparison.Error(key, op, $"expects {op.Expects()}, got {FilterJson.KindName(operand.ValueKind)}");
        }

        var values = new FilterValue[operand.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in operand.EnumerateArray())
        {
            values[i++] = ReadScalar(key, op, item);
        }

        return WhereComparison.Create(key, op, values);
    }

    /// <summary>A JSON scalar as a value; null becomes <see cref="FilterValueKind.None"/> for the factory to reject.</summary>
    private static FilterValue ReadScalar(string key, WhereOperator op, JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => FilterValue.FromString(element.GetString()),
        JsonValueKind.True => FilterValue.FromBoolean(true),
        JsonValueKind.False => FilterValue.FromBoolean(false),
        JsonValueKind.Number => ReadNumber(key, op, element),
        JsonValueKind.Null => default,
        _ => throw WhereComparison.Error(
            key,
            op,
            $"expects {(op.IsSet() ? "scalar elements (strings, numbers or bools)" : op.Expects())}, got {FilterJson.KindName(element.ValueKind)}"),
    };

    private static FilterValue ReadNumber(string key, WhereOperator op, JsonElement element)
    {
        string raw = element.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
        {
            // double parsing saturates to infinity on overflow (1e999) rather than failing.
            if (element.TryGetDouble(out double d) && double.IsFinite(d))
            {
                return FilterValue.FromDouble(d);
            }

            throw WhereComparison.Error(key, op, $"expects a finite number, got {raw}");
        }

        if (element.TryGetInt64(out long l))
        {
            return FilterValue.FromInt64(l);
        }

        throw WhereComparison.Error(key, op, $"got integer {raw}, which is outside the 64-bit range");
    }
}
