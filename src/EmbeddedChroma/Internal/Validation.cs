namespace EmbeddedChroma.Internal;

/// <summary>Input checks shared by the public entry points; each failure names the field and the index.</summary>
internal static class Validation
{
    public static void LimitOffset(int? limit, int offset) => RecordRules.LimitOffset(limit, offset);

    /// <summary>Ids: non-empty list within the batch limit, each non-empty and within the length limit, no duplicates (<see cref="RecordRules.Ids"/>).</summary>
    public static void Ids(IReadOnlyList<string>? ids, StoreLimits limits, string field = "ids") =>
        RecordRules.Ids(ids, limits.MaxBatchSize, limits.MaxIdLength, field);

    /// <summary>A parallel list must match the ids in length.</summary>
    public static void SameLength<T>(IReadOnlyList<T>? list, int expected, string field) => RecordRules.SameLength(list, expected, field);

    /// <summary>Every embedding present, of one dimension (the collection's when known), finite (<see cref="RecordRules.Embeddings"/>, with the vectorized kernel).</summary>
    public static int Embeddings(IReadOnlyList<float[]> embeddings, int? expectedDimension, StoreLimits limits, string field = "embeddings") =>
        RecordRules.Embeddings(embeddings, expectedDimension, limits.MaxDimension, Distance.VectorMath.IndexOfNonFinite, field);

    /// <summary>Documents within <see cref="StoreLimits.MaxDocumentLength"/> characters, well-formed UTF-16 (<see cref="RecordRules.Documents"/>).</summary>
    public static void Documents(IReadOnlyList<string?> documents, StoreLimits limits) => RecordRules.Documents(documents, limits.MaxDocumentLength);

    /// <summary>Uris within <see cref="StoreLimits.MaxDocumentLength"/> characters, well-formed UTF-16, never holding a key (<see cref="RecordRules.Uris"/>).</summary>
    public static void Uris(IReadOnlyList<string?> uris, IReadOnlyList<string> ids, StoreLimits limits) => RecordRules.Uris(uris, ids, limits.MaxDocumentLength);
}
