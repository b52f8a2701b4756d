using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>Reads Chroma's <c>where_document</c> JSON through the same factories as the C# builder.</summary>
internal static class WhereDocumentParser
{
    internal static WhereDocument Parse(string json)
    {
        using JsonDocument document = FilterJson.ParseDocument(json, "where_document");
        try
        {
            return ParseClause(document.RootElement);
        }
        catch (InvalidOperationException ex)
        {
            // Reading a name or string whose escapes decode to an unpaired surrogate ("\ud800") throws here.
            throw FilterJson.InvalidText("where_document", ex);
        }
    }

    private static WhereDocument ParseClause(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ChromaFilterException(
                $"Invalid where_document: expected a JSON object, got {FilterJson.KindName(element.ValueKind)}.");
        }

        using JsonElement.ObjectEnumerator properties = element.EnumerateObject();
        if (!properties.MoveNext())
        {
            throw new ChromaFilterException("Invalid where_document: empty object {}; expected exactly one operator.");
        }

        JsonProperty property = properties.Current;
        if (properties.MoveNext())
        {
            throw new ChromaFilterException(
                $"Invalid where_document: expected exactly one operator, got {FilterJson.Quote(property.Name)} and "
                + $"{FilterJson.Quote(properties.Current.Name)}; combine them with '$and'.");
        }

        string name = property.Name;
        JsonElement operand = property.Value;
        if (FilterOperators.TryParseLogical(name, out LogicalOperator logical))
        {
            if (operand.ValueKind != JsonValueKind.Array)
            {
                throw new ChromaFilterException(
                    $"Invalid where_document: operator '{logical.Name()}' expects an array of at least 2 clauses, got {FilterJson.KindName(operand.ValueKind)}.");
            }

            var clauses = new WhereDocument[operand.GetArrayLength()];
            int i = 0;
            foreach (JsonElement item in operand.EnumerateArray())
            {
                clauses[i++] = ParseClause(item);
            }

            return WhereDocumentLogical.Create(logical, clauses);
        }

        if (!DocumentOperators.TryParse(name, out DocumentOperator op))
        {
            throw new ChromaFilterException(
                $"Invalid where_document: unknown operator {FilterJson.Quote(name)} (supported: $contains, $not_contains, $regex, $not_regex, $and, $or).");
        }

        if (operand.ValueKind != JsonValueKind.String)
        {
            throw new ChromaFilterException(
                $"Invalid where_document: operator '{op.Name()}' expects a string, got {FilterJson.KindName(operand.ValueKind)}.");
        }

        return WhereDocumentText.Create(op, operand.GetString());
    }
}
