using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Validates user metadata into a normalized form (string, long, double, bool and arrays of one of those)
/// and encodes it as JSON that keeps integers and floats apart (a float is always written with a '.' or
/// an exponent, so 5.0 stays a float after a round trip).
/// </summary>
internal static class MetadataCodec
{
    /// <summary>
    /// Normalizes one metadata object. <paramref name="allowNullValues"/>: for update/upsert a null value
    /// means "remove this key", so the normalized map keeps it as <see langword="null"/>; for add a null is dropped.
    /// </summary>
    public static Dictionary<string, object?>? Normalize(
        IReadOnlyDictionary<string, MetadataValue?>? metadata, string where, StoreLimits limits, bool allowNullValues, bool scalarsOnly = false) =>
        Normalize(metadata?.ToDictionary(p => p.Key, p => p.Value?.ToObject(), StringComparer.Ordinal), where, limits, allowNullValues, scalarsOnly);

    /// <summary>Normalizes metadata given as CLR values (JSON elements included); see the typed overload.</summary>
    public static Dictionary<string, object?>? Normalize(
        IReadOnlyDictionary<string, object?>? metadata, string where, StoreLimits limits, bool allowNullValues, bool scalarsOnly = false)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Count == 0)
        {
            throw new ChromaValidationException($"{where}: metadata must be a non-empty object or null.");
        }

        if (metadata.Count > limits.MaxMetadataKeys)
        {
            throw new ChromaValidationException($"{where}: metadata has {metadata.Count} keys; the limit is {limits.MaxMetadataKeys}.");
        }

        var result = new Dictionary<string, object?>(metadata.Count, StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ChromaValidationException($"{where}: metadata keys must be non-empty strings.");
            }

            if (key[0] is '#' or '$')
            {
                throw new ChromaValidationException($"{where}: metadata key '{Echo.Text(key)}' is reserved (keys may not start with '#' or '$').");
            }

            if (key.Length > limits.MaxMetadataValueLength)
            {
                throw new ChromaValidationException($"{where}: a metadata key is {key.Length} characters long; the limit is {limits.MaxMetadataValueLength}.");
            }

            Utf16Text.Check(key, $"{where}: metadata key '{Echo.Text(key)}'");

            if (value is null)
            {
                if (allowNullValues)
                {
                    result[key] = null;
                }

                continue;
            }

            result[key] = NormalizeValue(value, $"{where}: metadata key '{Echo.Text(key)}'", limits, scalarsOnly);
        }

        return result;
    }

    private static object NormalizeValue(object value, string where, StoreLimits limits, bool scalarsOnly)
    {
        switch (value)
        {
            case string s:
                CheckString(s, where, limits);
                return s;
            case bool b:
                return b;
            case int or long or short or sbyte or byte or ushort or uint:
                return Convert.ToInt64(value, CultureInfo.InvariantCulture);
            case ulong ul:
                return ul <= long.MaxValue ? (long)ul : throw new ChromaValidationException($"{where}: integer {ul} is out of the 64-bit signed range.");
            case float f:
                return CheckFinite(f, where);
            case double d:
                return CheckFinite(d, where);
            case decimal m:
                return (double)m;
            case JsonElement e:
                return FromJsonElement(e, where, limits, scalarsOnly);
        }

        if (!scalarsOnly && value is System.Collections.IEnumerable list)
        {
            return NormalizeArray(list, where, limits);
        }

        throw new ChromaValidationException(
            $"{where}: value of type {value.GetType().Name} is not allowed; expected string, integer, float, bool{(scalarsOnly ? "" : " or a non-empty array of one of those")}.");
    }

    private static object NormalizeArray(System.Collections.IEnumerable list, string where, StoreLimits limits)
    {
        var items = new List<object>();
        foreach (var item in list)
        {
            if (item is null)
            {
                throw new ChromaValidationException($"{where}: arrays may not contain null.");
            }

            items.Add(NormalizeValue(item, where, limits, scalarsOnly: true));
            if (items.Count > limits.MaxMetadataArrayLength)
            {
                throw new ChromaValidationException($"{where}: array is longer than the limit of {limits.MaxMetadataArrayLength} elements.");
            }
        }

        if (items.Count == 0)
        {
            throw new ChromaValidationException($"{where}: arrays must be non-empty.");
        }

        var type = items[0].GetType();
        if (items.Any(i => i.GetType() != type))
        {
            throw new ChromaValidationException($"{where}: array elements must all have the same type (string, integer, float or bool).");
        }

        return items[0] switch
        {
            string => items.Cast<string>().ToArray(),
            long => items.Cast<long>().ToArray(),
            double => items.Cast<double>().ToArray(),
            _ => (object)items.Cast<bool>().ToArray(),
        };
    }

    private static object FromJsonElement(JsonElement e, string where, StoreLimits limits, bool scalarsOnly)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                string s;
                try
                {
                    s = e.GetString()!;
                }
                catch (InvalidOperationException ex)
                {
                    // A JSON escape such as "\ud800" decodes to an unpaired surrogate, which System.Text.Json refuses.
                    throw new ChromaValidationException($"{where}: JSON string is not valid UTF-16 ({Echo.Text(ex.Message, 512)})", ex);
                }

                CheckString(s, where, limits);
                return s;
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Number:
                return e.TryGetInt64(out var l) && !IsFloatLiteral(e.GetRawText()) ? (object)l : CheckFinite(e.GetDouble(), where);
            case JsonValueKind.Array when !scalarsOnly:
                return NormalizeArray(e.EnumerateArray().Select(x => (object)x).ToList(), where, limits);
            default:
                throw new ChromaValidationException($"{where}: JSON {e.ValueKind} is not an allowed metadata value.");
        }
    }

    private static void CheckString(string s, string where, StoreLimits limits)
    {
        if (s.Length > limits.MaxMetadataValueLength)
        {
            throw new ChromaValidationException($"{where}: string of {s.Length} characters exceeds the limit of {limits.MaxMetadataValueLength}.");
        }

        Utf16Text.Check(s, $"{where}: string value");
    }

    private static double CheckFinite(double d, string where) =>
        double.IsFinite(d) ? d : throw new ChromaValidationException($"{where}: NaN and infinite numbers are not allowed.");

    private static bool IsFloatLiteral(string raw) => raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0;

    /// <summary>Encodes normalized metadata as JSON (null values are skipped), or returns null when no value is left.</summary>
    public static string? Encode(IReadOnlyDictionary<string, object?>? metadata)
    {
        if (metadata is null || metadata.Values.All(v => v is null))
        {
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                if (value is null)
                {
                    continue;
                }

                w.WritePropertyName(key);
                WriteValue(w, value);
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            case double d: WriteDouble(w, d); break;
            case string[] a: w.WriteStartArray(); foreach (var x in a) { w.WriteStringValue(x); } w.WriteEndArray(); break;
            case long[] a: w.WriteStartArray(); foreach (var x in a) { w.WriteNumberValue(x); } w.WriteEndArray(); break;
            case double[] a: w.WriteStartArray(); foreach (var x in a) { WriteDouble(w, x); } w.WriteEndArray(); break;
            case bool[] a: w.WriteStartArray(); foreach (var x in a) { w.WriteBooleanValue(x); } w.WriteEndArray(); break;
            default: throw new InvalidOperationException($"Unnormalized metadata value {value.GetType()}.");
        }
    }

    private static void WriteDouble(Utf8JsonWriter w, double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        if (!IsFloatLiteral(text))
        {
            text += ".0";
        }

        w.WriteRawValue(text, skipInputValidation: true);
    }

    /// <summary>Typed values of normalized (or decoded) metadata; <see langword="null"/> stays null.</summary>
    public static IReadOnlyDictionary<string, MetadataValue>? Typed(IReadOnlyDictionary<string, object>? normalized)
    {
        if (normalized is null)
        {
            return null;
        }

        var typed = new Dictionary<string, MetadataValue>(normalized.Count, StringComparer.Ordinal);
        foreach (var (key, value) in normalized)
        {
            typed[key] = MetadataValue.FromObject(value);
        }

        return typed;
    }

    /// <summary>Decodes what <see cref="Encode"/> wrote into typed values.</summary>
    public static IReadOnlyDictionary<string, MetadataValue>? DecodeTyped(string? json) => Typed(Decode(json));

    /// <summary>Decodes what <see cref="Encode"/> wrote.</summary>
    public static Dictionary<string, object>? Decode(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(json);
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            result[p.Name] = DecodeValue(p.Value);
        }

        return result;
    }

    private static object DecodeValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => IsFloatLiteral(e.GetRawText()) ? (object)e.GetDouble() : e.GetInt64(),
        JsonValueKind.Array => DecodeArray(e),
        _ => throw new ChromaCorruptStoreException($"Stored metadata holds an unexpected JSON {e.ValueKind}."),
    };

    private static object DecodeArray(JsonElement e)
    {
        var items = e.EnumerateArray().Select(DecodeValue).ToList();
        return items[0] switch
        {
            string => items.Cast<string>().ToArray(),
            long => items.Cast<long>().ToArray(),
            double => items.Cast<double>().ToArray(),
            _ => (object)items.Cast<bool>().ToArray(),
        };
    }

    /// <summary>Applies an update (null value = remove the key) on top of existing metadata; returns null when nothing is left.</summary>
    public static Dictionary<string, object?>? Merge(IReadOnlyDictionary<string, object>? existing, IReadOnlyDictionary<string, object?> update)
    {
        var merged = existing is null
            ? new Dictionary<string, object?>(StringComparer.Ordinal)
            : existing.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
        foreach (var (key, value) in update)
        {
            if (value is null)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        return merged.Count == 0 ? null : merged;
    }
}
