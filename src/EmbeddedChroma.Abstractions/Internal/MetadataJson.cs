using System.Globalization;
using System.Text.Json;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Chroma's JSON for metadata values, written the one way both wire ends need: the remote client's request bodies and the
/// host's answers. A float always reads back as a float (<c>1.0</c>, never <c>1</c>): Chroma keeps the two apart.
/// </summary>
internal static class MetadataJson
{
    /// <summary>Writes one metadata value (scalar or array) as Chroma's JSON.</summary>
    public static void WriteValue(Utf8JsonWriter w, MetadataValue value)
    {
        switch (value.Kind)
        {
            case MetadataValueKind.String:
                w.WriteStringValue(value.AsString());
                break;
            case MetadataValueKind.Int:
                w.WriteNumberValue(value.AsInt64());
                break;
            case MetadataValueKind.Float:
                WriteFloat(w, value.AsDouble());
                break;
            case MetadataValueKind.Bool:
                w.WriteBooleanValue(value.AsBoolean());
                break;
            case MetadataValueKind.StringArray:
                w.WriteStartArray();
                foreach (var s in value.AsStrings())
                {
                    w.WriteStringValue(s);
                }

                w.WriteEndArray();
                break;
            case MetadataValueKind.IntArray:
                w.WriteStartArray();
                foreach (var n in value.AsInt64s())
                {
                    w.WriteNumberValue(n);
                }

                w.WriteEndArray();
                break;
            case MetadataValueKind.FloatArray:
                w.WriteStartArray();
                foreach (var d in value.AsDoubles())
                {
                    WriteFloat(w, d);
                }

                w.WriteEndArray();
                break;
            case MetadataValueKind.BoolArray:
                w.WriteStartArray();
                foreach (var b in value.AsBooleans())
                {
                    w.WriteBooleanValue(b);
                }

                w.WriteEndArray();
                break;
            default:
                throw new ChromaValidationException($"Unknown metadata kind {value.Kind}.");
        }
    }

    /// <summary>A finite double in its shortest round-trip form, with <c>.0</c> added when it would read back as an integer.</summary>
    public static void WriteFloat(Utf8JsonWriter w, double value)
    {
        Span<byte> buffer = stackalloc byte[40];
        value.TryFormat(buffer, out var n, "R", CultureInfo.InvariantCulture);
        WriteFloatText(w, buffer, n);
    }

    /// <summary>A float32 in its shortest round-trip form, with <c>.0</c> added when it would read back as an integer.</summary>
    public static void WriteFloat(Utf8JsonWriter w, float value)
    {
        Span<byte> buffer = stackalloc byte[40];
        value.TryFormat(buffer, out var n, "R", CultureInfo.InvariantCulture);
        WriteFloatText(w, buffer, n);
    }

    private static void WriteFloatText(Utf8JsonWriter w, Span<byte> buffer, int n)
    {
        if (buffer[..n].IndexOfAny((byte)'.', (byte)'E', (byte)'e') < 0)
        {
            buffer[n++] = (byte)'.';
            buffer[n++] = (byte)'0';
        }

        w.WriteRawValue(buffer[..n], skipInputValidation: true);
    }
}
