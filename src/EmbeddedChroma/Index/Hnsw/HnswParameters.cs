namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// Construction and search parameters of an HNSW graph, named as in Malkov &amp; Yashunin, arXiv:1603.09320
/// (Chroma's collection configuration calls them <c>max_neighbors</c>, <c>ef_construction</c>, <c>ef_search</c>).
/// </summary>
/// <param name="M">Links kept per node on the upper levels (the paper's M); level 0 keeps <see cref="MaxM0"/>.</param>
/// <param name="EfConstruction">Size of the dynamic candidate list while inserting (Alg. 1, efConstruction).</param>
/// <param name="Ef">Default size of the dynamic candidate list while searching (Alg. 5, ef); raised to k when smaller.</param>
/// <param name="Seed">Seeds the level draw, so a build is reproducible for a fixed seed and insertion order.</param>
/// <param name="InitialCapacity">Slots allocated up front; the graph grows (doubling) past it.</param>
internal sealed record HnswParameters(int M = 16, int EfConstruction = 100, int Ef = 10, ulong Seed = 100, int InitialCapacity = HnswParameters.DefaultInitialCapacity)
{
    /// <summary>
    /// Largest accepted M: keeps a level-0 record (1 + 2M ints) small and the count field 16 bits wide. The public
    /// configuration's upper bound of <c>max_neighbors</c> is the same number (a test holds them equal).
    /// </summary>
    public const int MaxSupportedM = CollectionConfiguration.MaxMaxNeighbors;

    /// <summary>Slots a new graph allocates up front (the same as a new vector arena's minimum capacity).</summary>
    public const int DefaultInitialCapacity = 1024;

    /// <summary>Level-0 link capacity, Mmax0 = 2·M (paper §4.1; hnswlib <c>maxM0_ = M_ * 2</c>).</summary>
    public int MaxM0 => 2 * M;

    /// <summary>mL = 1 / ln M, the normalization of the level distribution (paper §4.1).</summary>
    public double LevelMultiplier => 1.0 / Math.Log(M);

    /// <summary>Throws when a parameter is out of range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">M is outside [2, <see cref="MaxSupportedM"/>], an ef is below 1,
    /// or the initial capacity is negative.</exception>
    public void Validate()
    {
        // M = 1 would make mL = 1/ln 1 infinite.
        ArgumentOutOfRangeException.ThrowIfLessThan(M, 2, nameof(M));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(M, MaxSupportedM, nameof(M));
        ArgumentOutOfRangeException.ThrowIfLessThan(EfConstruction, 1, nameof(EfConstruction));
        ArgumentOutOfRangeException.ThrowIfLessThan(Ef, 1, nameof(Ef));
        ArgumentOutOfRangeException.ThrowIfNegative(InitialCapacity, nameof(InitialCapacity));
    }
}
