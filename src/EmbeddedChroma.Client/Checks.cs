using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Client;

/// <summary>
/// The contract's argument rules checked before a request is sent: the shared <see cref="RecordRules"/> and
/// <see cref="Names"/> (the embedded store's very checks, so the same exception types and messages), without the
/// embedded store's own limits (batch size, id, document and metadata lengths): the server has its own, and a batch
/// larger than its <c>max_batch_size</c> is split.
/// </summary>
internal static class Checks
{
    public static void LimitOffset(int? limit, int offset) => RecordRules.LimitOffset(limit, offset);

    public static void Ids(IReadOnlyList<string>? ids, string field = "ids") =>
        RecordRules.Ids(ids, RecordRules.Unlimited, RecordRules.Unlimited, field);

    public static void SameLength<T>(IReadOnlyList<T>? list, int expected, string field) => RecordRules.SameLength(list, expected, field);

    /// <summary>Every embedding present, of one dimension (the collection's when known), finite.</summary>
    public static int Embeddings(IReadOnlyList<float[]> embeddings, int? expectedDimension, string field = "embeddings") =>
        RecordRules.Embeddings(embeddings, expectedDimension, RecordRules.Unlimited, RecordRules.IndexOfNonFinite, field);

    public static void Metadata(IReadOnlyDictionary<string, MetadataValue?>? metadata, string where, bool scalarsOnly)
    {
        if (metadata is null)
        {
            return;
        }

        RecordRules.MetadataNotEmpty(metadata.Count, where);
        foreach (var (key, value) in metadata)
        {
            RecordRules.MetadataKey(key, where, RecordRules.Unlimited);
            if (value is not null && scalarsOnly && value.IsArray)
            {
                throw new ChromaValidationException($"{where}: metadata key '{Echo.Text(key)}': an array is not allowed here; expected string, integer, float or bool.");
            }

            if (value is not null && value.Kind is MetadataValueKind.String)
            {
                Utf16Text.Check(value.AsString(), $"{where}: metadata key '{Echo.Text(key)}'");
            }
        }
    }

    public static void Documents(IReadOnlyList<string?> documents) => RecordRules.Documents(documents, RecordRules.Unlimited);

    public static void Uris(IReadOnlyList<string?> uris, IReadOnlyList<string> ids) => RecordRules.Uris(uris, ids, RecordRules.Unlimited);

    public static void Include(Include include, bool allowDistances) => RecordRules.Include(include, allowDistances);

    public static void Configuration(CollectionConfiguration configuration) => configuration.Validate();
}
