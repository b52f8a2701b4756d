namespace EmbeddedChroma.Distance;

/// <summary>
/// 1 − a·b. This is Chroma's <c>"ip"</c> distance, and also its <c>"cosine"</c> distance once both vectors are
/// unit length (cosine collections store normalized rows and the caller normalizes the query).
/// </summary>
/// <remarks>
/// For unit vectors the result lies in [0, 2] up to rounding: a query equal to a row can give a tiny negative
/// value such as −1e-7. It is not clamped, matching hnswlib, which Chroma uses.
/// </remarks>
internal readonly struct DotDistanceKernel : IDistanceKernel
{
    /// <inheritdoc />
    public static float Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => 1f - VectorMath.Dot(a, b);
}
