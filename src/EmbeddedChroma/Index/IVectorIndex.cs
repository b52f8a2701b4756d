namespace EmbeddedChroma.Index;

/// <summary>
/// The search seam of a vector index over an <see cref="IVectorRows"/>: <see cref="ExactScanIndex"/> today, HNSW
/// later. The query planner chooses between implementations per query; both return the same result shape.
/// </summary>
internal interface IVectorIndex
{
    /// <summary>The distance the index ranks by.</summary>
    DistanceSpace Space { get; }

    /// <summary>
    /// Finds up to <paramref name="k"/> admitted rows nearest to <paramref name="query"/>, best first (distance
    /// ascending, ties by slot ascending), writing them to <paramref name="destination"/>.
    /// </summary>
    /// <param name="query">The query vector; already normalized when <see cref="Space"/> is cosine.</param>
    /// <param name="k">How many neighbours to return; 0 returns none.</param>
    /// <param name="filter">Which slots may be returned; other slots are never returned (an approximate index may
    /// still traverse them).</param>
    /// <param name="destination">Receives the neighbours; must hold min(<paramref name="k"/>, admitted slots).</param>
    /// <returns>The number of neighbours written. An exact index returns min(k, admitted); an approximate one may
    /// return fewer.</returns>
    /// <exception cref="ArgumentException">Wrong query dimension or too small a destination.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative or a listed slot is out of range.</exception>
    int Search(ReadOnlySpan<float> query, int k, SlotFilter filter, Span<Neighbor> destination);
}
