using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EmbeddedChroma.Filtering;

/// <summary>JSON helpers shared by the <c>where</c> and <c>where_document</c> parsers and writers.</summary>
internal static class FilterJson
{
    // Filters are shown to people (ToString, error messages); keep non-ASCII and '<' readable. The output is
    // never embedded in HTML by this library.
    internal static readonly JsonSerializerOptions SerializerOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
    };

    /// <summary>Shortest round-trip form that always reads back as a float (has '.', 'E' or 'e').</summary>
    internal static string FormatFloat(double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.AsSpan().IndexOfAny('.', 'E', 'e') < 0 ? text + ".0" : text;
    }

    internal static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The error for JSON whose string escapes are not valid UTF-16 (an unpaired surrogate such as <c>"\ud800"</c>).</summary>
    internal static ChromaFilterException InvalidText(string filterName, InvalidOperationException inner) =>
        new($"Invalid {filterName}: a key or string is not valid UTF-16, e.g. an escaped unpaired surrogate ({inner.Message})", inner);

    internal static JsonDocument ParseDocument(string json, string filterName)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new ChromaFilterException($"Invalid {filterName}: malformed JSON ({ex.Message})", ex);
        }
    }

    /// <summary>JSON type name for error messages.</summary>
    internal static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>Quotes a key or operator name for an error message.</summary>
    internal static string Quote(string text) => JsonSerializer.Serialize(text, SerializerOptions);
}
