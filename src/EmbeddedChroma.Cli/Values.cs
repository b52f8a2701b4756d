using System.Globalization;
using System.Text.Json;

namespace EmbeddedChroma.Cli;

/// <summary>Conversions between the command line's text and JSON and the store's values.</summary>
internal static class Values
{
    /// <summary>A metadata value from JSON: string, integer, float, bool, null (removes the key on upsert) or a non-empty array of one kind.</summary>
    public static MetadataValue? Metadata(JsonElement value, string where) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => MetadataValue.FromString(value.GetString()!),
        JsonValueKind.True => MetadataValue.FromBoolean(true),
        JsonValueKind.False => MetadataValue.FromBoolean(false),
        JsonValueKind.Number => value.TryGetInt64(out var integer) && !value.GetRawText().AsSpan().ContainsAny(".eE") ? MetadataValue.FromInt64(integer) : MetadataValue.FromDouble(value.GetDouble()),
        JsonValueKind.Array => Array(value, where),
        _ => throw new ChromaValidationException($"{where}: a metadata value must be a string, number, bool, null or an array of one of those, not a JSON {value.ValueKind.ToString().ToLowerInvariant()}."),
    };

    private static MetadataValue Array(JsonElement array, string where)
    {
        var items = array.EnumerateArray().ToList();
        if (items.Count == 0)
        {
            throw new ChromaValidationException($"{where}: a metadata array must not be empty.");
        }

        return items[0].ValueKind switch
        {
            JsonValueKind.String => MetadataValue.FromStrings(items.Select(i => i.ValueKind == JsonValueKind.String ? i.GetString()! : throw Mixed(where))),
            JsonValueKind.True or JsonValueKind.False => MetadataValue.FromBooleans(items.Select(i => i.ValueKind is JsonValueKind.True or JsonValueKind.False ? i.GetBoolean() : throw Mixed(where))),
            JsonValueKind.Number when items.All(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt64(out _) && !i.GetRawText().AsSpan().ContainsAny(".eE")) => MetadataValue.FromInt64s(items.Select(i => i.GetInt64())),
            JsonValueKind.Number => MetadataValue.FromDoubles(items.Select(i => i.ValueKind == JsonValueKind.Number ? i.GetDouble() : throw Mixed(where))),
            _ => throw Mixed(where),
        };
    }

    private static ChromaValidationException Mixed(string where) => new($"{where}: a metadata array holds values of one kind (strings, numbers or bools).");

    /// <summary>A metadata object from JSON text or an element.</summary>
    public static Dictionary<string, MetadataValue?> MetadataObject(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ChromaValidationException($"{where}: metadata must be a JSON object.");
        }

        var result = new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            result[property.Name] = Metadata(property.Value, $"{where}, metadata key '{property.Name}'");
        }

        return result;
    }

    /// <summary>An embedding from a JSON array of numbers.</summary>
    public static float[] Embedding(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new ChromaValidationException($"{where}: an embedding must be a JSON array of numbers.");
        }

        var vector = new float[element.GetArrayLength()];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number)
            {
                throw new ChromaValidationException($"{where}: an embedding must be a JSON array of numbers (item {i} is a {item.ValueKind.ToString().ToLowerInvariant()}).");
            }

            vector[i++] = item.GetSingle();
        }

        return vector;
    }

    /// <summary>Parses JSON text given on the command line or in a CSV cell.</summary>
    public static JsonDocument ParseJson(string text, string where)
    {
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new ChromaValidationException($"{where}: not valid JSON ({e.Message})");
        }
    }

    /// <summary>A metadata value typed from CSV text: integer, float, true/false, else string; empty is no value.</summary>
    public static MetadataValue? FromCsvCell(string cell)
    {
        if (cell.Length == 0)
        {
            return null;
        }

        if (long.TryParse(cell, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return MetadataValue.FromInt64(integer);
        }

        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return MetadataValue.FromDouble(real);
        }

        return cell switch
        {
            "true" => MetadataValue.FromBoolean(true),
            "false" => MetadataValue.FromBoolean(false),
            _ => MetadataValue.FromString(cell),
        };
    }

    public static void Write(Utf8JsonWriter writer, MetadataValue value)
    {
        switch (value.Kind)
        {
            case MetadataValueKind.String: writer.WriteStringValue(value.AsString()); break;
            case MetadataValueKind.Int: writer.WriteNumberValue(value.AsInt64()); break;
            case MetadataValueKind.Float: writer.WriteNumberValue(value.AsDouble()); break;
            case MetadataValueKind.Bool: writer.WriteBooleanValue(value.AsBoolean()); break;
            case MetadataValueKind.StringArray:
                writer.WriteStartArray();
                foreach (var item in value.AsStrings())
                {
                    writer.WriteStringValue(item);
                }

                writer.WriteEndArray();
                break;
            case MetadataValueKind.IntArray:
                writer.WriteStartArray();
                foreach (var item in value.AsInt64s())
                {
                    writer.WriteNumberValue(item);
                }

                writer.WriteEndArray();
                break;
            case MetadataValueKind.FloatArray:
                writer.WriteStartArray();
                foreach (var item in value.AsDoubles())
                {
                    writer.WriteNumberValue(item);
                }

                writer.WriteEndArray();
                break;
            case MetadataValueKind.BoolArray:
                writer.WriteStartArray();
                foreach (var item in value.AsBooleans())
                {
                    writer.WriteBooleanValue(item);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    public static void WriteMetadata(Utf8JsonWriter writer, IReadOnlyDictionary<string, MetadataValue>? metadata)
    {
        if (metadata is null)
        {
            writer.WriteNullValue();
            return;
        }

        writer.WriteStartObject();
        foreach (var (key, value) in metadata)
        {
            writer.WritePropertyName(key);
            Write(writer, value);
        }

        writer.WriteEndObject();
    }

    public static void WriteEmbedding(Utf8JsonWriter writer, float[] embedding)
    {
        writer.WriteStartArray();
        foreach (var x in embedding)
        {
            writer.WriteNumberValue(x);
        }

        writer.WriteEndArray();
    }

    /// <summary>Metadata as one line of JSON (table cells).</summary>
    public static string MetadataText(IReadOnlyDictionary<string, MetadataValue>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return string.Empty;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteMetadata(writer, metadata);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A duration such as <c>90s</c>, <c>15m</c>, <c>12h</c>, <c>30d</c>, <c>2w</c> (or <c>0</c>).</summary>
    public static TimeSpan Duration(string text, string option)
    {
        text = text.Trim();
        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        if (text.Length >= 2 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? span = char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                'w' => TimeSpan.FromDays(7 * amount),
                _ => null,
            };
            if (span is { } s)
            {
                return s;
            }
        }

        throw new CliException(ExitCodes.Usage, $"{option}: '{text}' is not a duration.", "write a number and a unit: 90s, 15m, 12h, 30d, 2w (or 0).");
    }

    /// <summary>An expiry: an ISO 8601 date/time (UTC unless it names an offset) or a duration from now.</summary>
    public static DateTimeOffset Expiry(string text)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        return DateTimeOffset.UtcNow + Duration(text, "--expires");
    }

    /// <summary>A rate limit: <c>PERMITS</c> per second, optionally <c>PERMITS:BURST</c> (the burst defaults to the rounded-up rate).</summary>
    public static ApiKeyRateLimit Rate(string text)
    {
        var parts = text.Replace("/s", string.Empty, StringComparison.Ordinal).Split(':');
        if (parts.Length <= 2
            && double.TryParse(parts[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var perSecond) && perSecond > 0
            && (parts.Length == 1 || (int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b > 0)))
        {
            var burst = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : Math.Max(1, (int)Math.Ceiling(perSecond));
            return new ApiKeyRateLimit(perSecond, burst);
        }

        throw new CliException(ExitCodes.Usage, $"--rate: '{text}' is not a rate.", "write calls per second, optionally with a burst: 50, 50/s or 50:100.");
    }
}
