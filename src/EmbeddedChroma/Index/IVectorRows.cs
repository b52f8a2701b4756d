namespace EmbeddedChroma.Index;

/// <summary>
/// Read-only view of dense vector slots (the memory-mapped arena implements it). Slot numbers are dense
/// internal ids starting at zero; a slot's row is only meaningful while the slot is live.
/// </summary>
internal interface IVectorRows : IRowBlock<float>
{
    /// <summary>The row of <paramref name="slot"/>; no copy, valid until the next write to the rows.</summary>
    ReadOnlySpan<float> GetRow(int slot);
}

/// <summary>
/// Fixed-stride rows of <typeparamref name="TElement"/> (float32 rows, or the compact float16 rows of a quantized
/// collection), addressed from <see cref="FirstRow"/>: what the HNSW graph walks.
/// </summary>
/// <typeparam name="TElement">The stored element: <see cref="float"/> or <see cref="Half"/>.</typeparam>
internal interface IRowBlock<TElement>
    where TElement : unmanaged
{
    /// <summary>Number of components of every row.</summary>
    int Dimension { get; }

    /// <summary>One past the highest slot that may be live.</summary>
    int SlotCount { get; }

    /// <summary>
    /// The first element of row 0; row <c>s</c> starts <c>s · <see cref="RowStride"/></c> elements further. Lets a hot loop
    /// address rows without a call per row. Valid, like a row, until the next write to the rows (the memory may move
    /// when the rows grow).
    /// </summary>
    ref readonly TElement FirstRow { get; }

    /// <summary>Elements from the start of one row to the start of the next (at least <see cref="Dimension"/>).</summary>
    int RowStride { get; }
}

/// <summary>One search hit: an internal slot and its distance to the query (Chroma's definition).</summary>
internal readonly record struct Neighbor(int Slot, float Distance);

/// <summary>
/// 8-bit rows with per-dimension affine codes (<c>vector_storage = int8</c>): component d of a row stands for
/// <c>Low[d] + Step[d] · code</c>. Each row holds its <see cref="IRowBlock{TElement}.Dimension"/> codes, then, at byte
/// <see cref="NormOffset"/>, the float ‖x̂‖² of the values the codes stand for (for squared L2 without decoding).
/// </summary>
internal interface IAffineRows : IRowBlock<byte>
{
    /// <summary>The value of code 0, per dimension.</summary>
    ReadOnlySpan<float> Low { get; }

    /// <summary>The value one code step adds, per dimension.</summary>
    ReadOnlySpan<float> Step { get; }

    /// <summary>Byte offset of a row's ‖x̂‖² (a float) from the row's start: the dimension rounded up to 4.</summary>
    static int NormOffset(int dimension) => (dimension + 3) & ~3;
}
