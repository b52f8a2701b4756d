using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// Kernel of an inner-product graph: queries are ranked by Chroma's ip distance 1 − q·x, exactly as
/// <see cref="DotDistanceKernel"/>, but the graph chooses its links by L2 between Möbius-transformed points
/// (see <see cref="HnswGraph{TKernel, TElement}"/>, "Inner product"), so it is a separate type the graph recognizes statically.
/// </summary>
internal readonly struct MipsKernel : IDistanceKernel
{
    /// <inheritdoc />
    public static float Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => 1f - VectorMath.Dot(a, b);
}
