using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Checks typed metadata against the store's limits into a plain form (string, long, double, bool and arrays of one of
/// those) and encodes it as JSON that keeps integers and floats apart (a float is always written with a '.' or
/// an exponent, so 5.0 stays a float after a round trip).
/// </summary>
internal static class MetadataCodec
{
    /// <summary>
    /// Checks one metadata object against the store's limits and rules for keys, and returns it as plain values (string,
    /// long, double, bool and arrays of one of those). The type rules were checked when each <see cref="MetadataValue"/>
    /// was made; this adds only what a store decides: key rules, lengths, counts, valid UTF-16 (SQLite's UTF-8 cannot hold
    /// an unpaired surrogate). <paramref name="allowNullValues"/>: for update/upsert a null value means "remove this key",
    /// so the result keeps it as <see langword="null"/>; for add a null is dropped. <paramref name="scalarsOnly"/>: arrays
    /// are refused (collection metadata).
    /// </summary>
    public static Dictionary<string, object?>? Normalize(
        IReadOnlyDictionary<string, MetadataValue?>? metadata, string where, StoreLimits limits, bool allowNullValues, bool scalarsOnly = false)
    {
        if (metadata is null)
        {
            return null;
        }

        RecordRules.MetadataNotEmpty(metadata.Count, where);

        if (metadata.Count > limits.MaxMetadataKeys)
        {
            throw new ChromaValidationException($"{where}: metadata has {metadata.Count} keys; the limit is {limits.MaxMetadataKeys}.");
        }

        var result = new Dictionary<string, object?>(metadata.Count, StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            RecordRules.MetadataKey(key, where, limits.MaxMetadataValueLength);

            if (value is null)
            {
                if (allowNullValues)
                {
                    result[key] = null;
                }

                continue;
            }

            result[key] = CheckLimits(value, $"{where}: metadata key '{Echo.Text(key)}'", limits, scalarsOnly);
        }

        return result;
    }

    /// <summary>The store's limits on one value (its type rules were checked when it was made); the plain value.</summary>
    private static object CheckLimits(MetadataValue value, string where, StoreLimits limits, bool scalarsOnly)
    {
        if (value.IsArray)
        {
            if (scalarsOnly)
            {
                throw new ChromaValidationException($"{where}: an array is not allowed here; expected string, integer, float or bool.");
            }

            var plain = value.ToObject();
            var length = ((Array)plain).Length;
            if (length > limits.MaxMetadataArrayLength)
            {
                throw new ChromaValidationException($"{where}: array is longer than the limit of {limits.MaxMetadataArrayLength} elements.");
            }

            if (value.Kind == MetadataValueKind.StringArray)
            {
                foreach (var element in (string[])plain)
                {
                    CheckString(element, where, limits);
                }
            }

            return plain;
        }

        if (value.Kind == MetadataValueKind.String)
        {
            CheckString(value.AsString(), where, limits);
        }

        return value.ToObject();
    }

    private static void CheckString(string s, string where, StoreLimits limits)
    {
        if (s.Length > limits.MaxMetadataValueLength)
        {
            throw new ChromaValidationException($"{where}: string of {s.Length} characters exceeds the limit of {limits.MaxMetadataValueLength}.");
        }

        Utf16Text.Check(s, $"{where}: string value");
    }

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
