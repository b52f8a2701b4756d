namespace EmbeddedChroma.Distance;

/// <summary>
/// A distance function as a static member of a struct, so generic scan loops
/// (<c>where TKernel : struct, IDistanceKernel</c>) are compiled once per kernel and call it directly,
/// with no virtual or delegate dispatch per row.
/// </summary>
internal interface IDistanceKernel
{
    /// <summary>
    /// Distance between <paramref name="a"/> and <paramref name="b"/> with ChromaDB's definition; smaller is closer.
    /// Both spans must have the same length (checked by the underlying kernel).
    /// </summary>
    static abstract float Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b);
}
