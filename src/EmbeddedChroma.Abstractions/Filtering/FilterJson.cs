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

    /// <summary>
    /// JSON depth allowed while reading a filter: each <c>$and</c>/<c>$or</c> level takes two (its object and its
    /// array) and a leaf up to three (<c>{"k": {"$in": [..]}}</c>), so a filter at <see cref="LogicalClauses.MaxDepth"/>
    /// and a few levels past it read as JSON and meet the documented nesting check, which names the limit.
    /// </summary>
    internal const int MaxJsonDepth = (2 * LogicalClauses.MaxDepth) + 16;

    internal static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxJsonDepth,
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
        new($"Invalid {filterName}: a key or string is not valid UTF-16, e.g. an escaped unpaired surrogate ({Internal.Echo.Text(inner.Message, 512)})", inner);

    internal static JsonDocument ParseDocument(string json, string filterName)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex) when (StructuralDepth(json) >= MaxJsonDepth)
        {
            throw LogicalClauses.TooDeep(filterName, ex);
        }
        catch (JsonException ex)
        {
            throw new ChromaFilterException($"Invalid {filterName}: malformed JSON ({Internal.Echo.Text(ex.Message, 512)})", ex);
        }
    }

    /// <summary>The deepest nesting of objects and arrays in <paramref name="json"/>, brackets inside strings ignored (a failed parse only).</summary>
    private static int StructuralDepth(string json)
    {
        int depth = 0, deepest = 0;
        var inString = false;
        for (var i = 0; i < json.Length; i++)
        {
            var c = json[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                deepest = Math.Max(deepest, ++depth);
            }
            else if (c is '}' or ']')
            {
                depth--;
            }
        }

        return deepest;
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

    /// <summary>Quotes a caller's key, operator or text for an error message (keys masked, escaped, capped: <see cref="Internal.Echo.Quoted"/>).</summary>
    internal static string Quote(string text) => Internal.Echo.Quoted(text);
}
