namespace EmbeddedChroma.Index;

/// <summary>
/// <see cref="IVectorIndex"/> by exhaustive scan (<see cref="ExactScan"/>): always exact, no build step, no extra
/// memory. Thread safety: searches may run concurrently; writers to the rows must be excluded by the caller.
/// </summary>
internal sealed class ExactScanIndex : IVectorIndex
{
    private readonly IVectorRows _rows;

    /// <summary>Creates the index over <paramref name="rows"/>, ranking by <paramref name="space"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined.</exception>
    public ExactScanIndex(IVectorRows rows, DistanceSpace space)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (!Enum.IsDefined(space))
        {
            throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space.");
        }

        _rows = rows;
        Space = space;
    }

    /// <inheritdoc />
    public DistanceSpace Space { get; }

    /// <inheritdoc />
    public int Search(ReadOnlySpan<float> query, int k, SlotFilter filter, Span<Neighbor> destination) =>
        ExactScan.Search(_rows, Space, query, k, filter, destination);
}
