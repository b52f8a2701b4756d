using System.Globalization;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// Keys as Chroma ids, and back. A string is kept as is; a <see cref="Guid"/> is written in its 36-character "D" form
/// (lower case); an <see cref="int"/> or <see cref="long"/> in invariant decimal. Reading parses the same forms, so
/// every key round-trips exactly; an id that does not parse as the key type fails the read with a clear message.
/// </summary>
internal static class KeyCodec
{
    public static string ToId(object key) => key switch
    {
        string s => s,
        Guid g => g.ToString("D"),
        int i => i.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        null => throw new ArgumentNullException(nameof(key), "A record key is null."),
        _ => throw new NotSupportedException($"Key type '{key.GetType().Name}' is not supported; use {ChromaModelBuilder.SupportedKeyTypes}."),
    };

    public static object FromId(string id, Type keyType)
    {
        if (keyType == typeof(string))
        {
            return id;
        }

        if (keyType == typeof(Guid) && Guid.TryParseExact(id, "D", out var g))
        {
            return g;
        }

        if (keyType == typeof(int) && int.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            return i;
        }

        if (keyType == typeof(long) && long.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        throw new InvalidOperationException(
            $"The Chroma id '{(id.Length > 64 ? id[..64] + "…" : id)}' is not a {keyType.Name} key (written by another client?).");
    }
}
