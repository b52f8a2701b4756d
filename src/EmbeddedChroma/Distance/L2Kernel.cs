namespace EmbeddedChroma.Distance;

/// <summary>Chroma's <c>"l2"</c>: the squared Euclidean distance Σ(aᵢ − bᵢ)² (no square root).</summary>
internal readonly struct L2Kernel : IDistanceKernel
{
    /// <inheritdoc />
    public static float Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => VectorMath.SquaredL2(a, b);
}
