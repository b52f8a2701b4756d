namespace EmbeddedChroma.Tests;

/// <summary>Typed metadata as plain CLR values (string, long, double, bool, arrays), for assertions against literals.</summary>
public static class MetadataPlain
{
    public static IReadOnlyDictionary<string, object>? Plain(this IReadOnlyDictionary<string, MetadataValue>? metadata) =>
        metadata?.ToDictionary(p => p.Key, p => p.Value.ToObject(), StringComparer.Ordinal);
}
