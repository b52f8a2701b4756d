using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Globalization;
using System.Text.Json;

namespace EmbeddedChroma.Server.Wire;

/// <summary>
/// Reads Chroma's request bodies into the contract's types. Shape errors (a string where a list belongs, an unknown
/// configuration field) are <see cref="WireException"/>s (422); bad values inside a well-shaped body (an unknown filter
/// operator, a NaN) are left to the store's own validation (400), as Chroma's server splits them.
/// </summary>
internal static class WireReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>Parses a whole body; an empty body counts as <c>{}</c>.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return JsonDocument.Parse("{}");
        }

        try
        {
            var document = JsonDocument.Parse(body, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw WireException.Shape("body", "expected a JSON object");
            }

            return document;
        }
        catch (JsonException e)
        {
            // The position only: the parser's own message can quote a token of the body, and a body is never echoed.
            throw WireException.NotJson($"invalid JSON at line {(e.LineNumber ?? 0) + 1} column {(e.BytePositionInLine ?? 0) + 1}");
        }
    }

    public static JsonElement? Field(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string RequiredString(JsonElement body, string name) =>
        Field(body, name) is { } value
            ? value.ValueKind == JsonValueKind.String ? value.GetString()! : throw WireException.Shape(name, $"expected a string, got {Kind(value)}")
            : throw WireException.Shape("body", $"missing field `{name}`");

    public static string? OptionalString(JsonElement body, string name) =>
        Field(body, name) is { } value
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : throw WireException.Shape(name, $"expected a string, got {Kind(value)}")
            : null;

    public static bool OptionalBool(JsonElement body, string name) =>
        Field(body, name) is { } value
            && (value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : throw WireException.Shape(name, $"expected a boolean, got {Kind(value)}"));

    /// <summary>A non-negative integer (Chroma's <c>u32</c>), or null when absent.</summary>
    public static int? OptionalCount(JsonElement body, string name)
    {
        if (Field(body, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n) || n < 0 || n > uint.MaxValue)
        {
            throw WireException.Shape(name, $"invalid value: {Short(value)}, expected u32");
        }

        return (int)Math.Min(n, int.MaxValue);
    }

    public static List<string>? Strings(JsonElement body, string name)
    {
        if (Field(body, name) is not { } value)
        {
            return null;
        }

        var list = new List<string>(Array(value, name).GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw WireException.Shape($"{name}[{i}]", $"expected a string, got {Kind(item)}"));
            i++;
        }

        return list;
    }

    public static List<string?>? NullableStrings(JsonElement body, string name)
    {
        if (Field(body, name) is not { } value)
        {
            return null;
        }

        var list = new List<string?>(Array(value, name).GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind switch
            {
                JsonValueKind.String => item.GetString(),
                JsonValueKind.Null => null,
                _ => throw WireException.Shape($"{name}[{i}]", $"expected a string or null, got {Kind(item)}"),
            });
            i++;
        }

        return list;
    }

    /// <summary>
    /// Embeddings: each a list of numbers, or (what Chroma's clients send when pre-flight says
    /// <c>supports_base64_encoding</c>) a base64 string of little-endian float32 values.
    /// </summary>
    public static List<float[]>? Embeddings(JsonElement body, string name)
    {
        if (Field(body, name) is not { } value)
        {
            return null;
        }

        var list = new List<float[]>(Array(value, name).GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind switch
            {
                JsonValueKind.Array => Vector(item, $"{name}[{i}]"),
                JsonValueKind.String => Base64Vector(item, $"{name}[{i}]"),
                _ => throw WireException.Shape($"{name}[{i}]", $"expected a list of numbers or a base64 string, got {Kind(item)}"),
            });
            i++;
        }

        return list;
    }

    private static float[] Vector(JsonElement array, string field)
    {
        var vector = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            // A number outside float's range becomes ±infinity here and is refused by the store's own check (400).
            vector[i] = item.ValueKind == JsonValueKind.Number ? (float)item.GetDouble() : throw WireException.Shape($"{field}[{i}]", $"expected a number, got {Kind(item)}");
            i++;
        }

        return vector;
    }

    private static float[] Base64Vector(JsonElement item, string field)
    {
        // Fast path: decode the raw UTF-8 text straight into the float array (no byte[] in between). A value with JSON
        // escapes (a client may write "\/"), bad base64 or a partial float takes the general path, which words the error.
        if (BitConverter.IsLittleEndian)
        {
            var raw = JsonMarshal.GetRawUtf8Value(item);
            if (raw.Length >= 2 && raw[0] == (byte)'"')
            {
                raw = raw[1..^1];
            }

            if (raw.Length % 4 == 0)
            {
                var padding = raw.Length == 0 ? 0 : raw[^1] != (byte)'=' ? 0 : raw[^2] != (byte)'=' ? 1 : 2;
                var length = (raw.Length / 4 * 3) - padding;
                if (length % sizeof(float) == 0)
                {
                    var fast = new float[length / sizeof(float)];
                    if (Base64.DecodeFromUtf8(raw, MemoryMarshal.AsBytes(fast.AsSpan()), out var consumed, out var written) == OperationStatus.Done
                        && consumed == raw.Length && written == length)
                    {
                        return fast;
                    }
                }
            }
        }

        byte[] bytes;
        try
        {
            bytes = item.GetBytesFromBase64();
        }
        catch (FormatException)
        {
            throw new ChromaValidationException($"{field}: not valid base64 (expected little-endian float32 values).");
        }

        if (bytes.Length % sizeof(float) != 0)
        {
            throw new ChromaValidationException($"{field}: {bytes.Length} bytes of base64 is not a whole number of float32 values.");
        }

        var vector = new float[bytes.Length / sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }

        return vector;
    }

    public static List<IReadOnlyDictionary<string, MetadataValue?>?>? Metadatas(JsonElement body, string name)
    {
        if (Field(body, name) is not { } value)
        {
            return null;
        }

        var list = new List<IReadOnlyDictionary<string, MetadataValue?>?>(Array(value, name).GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            list.Add(item.ValueKind == JsonValueKind.Null ? null : MetadataObject(item, $"{name}[{i}]"));
            i++;
        }

        return list;
    }

    public static IReadOnlyDictionary<string, MetadataValue?>? Metadata(JsonElement body, string name) =>
        Field(body, name) is { } value ? MetadataObject(value, name) : null;

    private static Dictionary<string, MetadataValue?> MetadataObject(JsonElement item, string field)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw WireException.Shape(field, $"expected an object or null, got {Kind(item)}");
        }

        var metadata = new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
        foreach (var property in item.EnumerateObject())
        {
            metadata[property.Name] = Value(property.Value, $"{field}.{property.Name}");
        }

        return metadata;
    }

    private static MetadataValue? Value(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => MetadataValue.FromString(value.GetString()!),
        JsonValueKind.True => MetadataValue.FromBoolean(true),
        JsonValueKind.False => MetadataValue.FromBoolean(false),
        JsonValueKind.Number => IsInteger(value, out var n) ? MetadataValue.FromInt64(n) : MetadataValue.FromDouble(value.GetDouble()),
        JsonValueKind.Array => ArrayValue(value, field),
        _ => throw new ChromaValidationException($"metadata {field}: expected a string, number, boolean, list or null, got {Kind(value)}."),
    };

    private static MetadataValue ArrayValue(JsonElement array, string field)
    {
        var items = array.EnumerateArray().ToList();
        if (items.Count == 0)
        {
            throw new ChromaValidationException($"metadata {field}: an empty list is not a metadata value.");
        }

        var first = items[0].ValueKind;
        if (first == JsonValueKind.String && items.All(i => i.ValueKind == JsonValueKind.String))
        {
            return MetadataValue.FromStrings(items.Select(i => i.GetString()!));
        }

        if (first is JsonValueKind.True or JsonValueKind.False && items.All(i => i.ValueKind is JsonValueKind.True or JsonValueKind.False))
        {
            return MetadataValue.FromBooleans(items.Select(i => i.GetBoolean()));
        }

        if (first == JsonValueKind.Number && items.All(i => i.ValueKind == JsonValueKind.Number))
        {
            return items.All(i => IsInteger(i, out _))
                ? MetadataValue.FromInt64s(items.Select(i => i.GetInt64()))
                : MetadataValue.FromDoubles(items.Select(i => i.GetDouble()));
        }

        throw new ChromaValidationException($"metadata {field}: a list holds values of one type (strings, integers, floats or booleans).");
    }

    /// <summary>An integer literal (no fraction, no exponent) that fits in 64 bits: Chroma's <c>int</c>; everything else is a float.</summary>
    private static bool IsInteger(JsonElement number, out long value)
    {
        var raw = number.GetRawText();
        value = 0;
        return raw.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static Where? Where(JsonElement body, string name) =>
        Field(body, name) is { } value ? EmbeddedChroma.Where.Parse(value.GetRawText()) : null;

    public static WhereDocument? WhereDocument(JsonElement body, string name) =>
        Field(body, name) is { } value ? EmbeddedChroma.WhereDocument.Parse(value.GetRawText()) : null;

    /// <summary>Chroma's include strings; an unknown one is a shape error (422), as on Chroma's server.</summary>
    public static (Include Flags, List<string> Names)? Include(JsonElement body, string name)
    {
        if (Strings(body, name) is not { } names)
        {
            return null;
        }

        try
        {
            return (IncludeNames.Parse(names), names);
        }
        catch (ChromaValidationException e)
        {
            throw WireException.Shape(name, e.Message);
        }
    }

    private static JsonElement Array(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Array ? value : throw WireException.Shape(field, $"expected a list, got {Kind(value)}");

    public static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Short(JsonElement value)
    {
        var raw = value.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
