using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The compact 8-bit copy of a collection's float32 arena (<c>vector_storage = int8</c>): what its HNSW graph walks.
/// Per-dimension scalar quantization: each dimension's range [low, high] is trained on the arena's rows when the copy
/// is made (the collection loads with a graph, or its graph is first built), and a value is stored as
/// round((x − low) / step) with step = (high − low) / 255; a value written later outside the trained range is clamped
/// to it (its distance is then approximate, and exact again after re-ranking). The codes and ranges are saved on close
/// (<see cref="CompactRowsFile"/>) and read back by the next open, so the ranges stay those trained until compaction or a
/// vector_storage change re-trains them (or the file cannot be used). Rows are 64-byte aligned: the codes, then the float
/// ‖x̂‖² (<see cref="IAffineRows.NormOffset"/>), then the float bound on ‖x − x̂‖ (<see cref="ErrorBound"/>), which lets a
/// re-rank skip reading the float32 rows of candidates that cannot reach the results (<see cref="Engine.CompactRerank"/>).
/// </summary>
/// <remarks>Not thread-safe: like the arena, written only under the collection's write lock (no reader meanwhile).</remarks>
internal sealed class ByteRows : IAffineRows
{
    private readonly float[] _low;
    private readonly float[] _step;
    private readonly float[] _inverseStep;
    private readonly int _normOffset;
    private readonly int _boundOffset;
    private byte[] _data = [];
    private int _offset;

    private ByteRows(int dimension, int capacity, float[] low, float[] step)
    {
        Dimension = dimension;
        _normOffset = IAffineRows.NormOffset(dimension);
        _boundOffset = _normOffset + sizeof(float);
        RowStride = StrideFor(dimension);
        _low = low;
        _step = step;
        _inverseStep = step.Select(s => s > 0 ? 1f / s : 0f).ToArray();
        Grow(Math.Max(capacity, 64));
    }

    public int Dimension { get; }

    /// <summary>Bytes per row at <paramref name="dimension"/>: the codes (rounded up to 4), ‖x̂‖² and the error bound, rounded up to 64.</summary>
    public static int StrideFor(int dimension) => (IAffineRows.NormOffset(dimension) + (2 * sizeof(float)) + 63) & ~63;

    public int RowStride { get; }

    public int SlotCount { get; private set; }

    /// <summary>Slots the array holds.</summary>
    public int Capacity { get; private set; }

    /// <summary>Bytes of the rows and parameters in memory.</summary>
    public long MemoryBytes => ((long)Capacity * RowStride) + (3L * Dimension * sizeof(float));

    public ReadOnlySpan<float> Low => _low;

    public ReadOnlySpan<float> Step => _step;

    public ref readonly byte FirstRow => ref _data[_offset];

    /// <summary>
    /// Trains the per-dimension ranges on <paramref name="rows"/> (each at least <paramref name="dimension"/> floats,
    /// already normalized for cosine): low = the smallest value, step = (largest − smallest) / 255.
    /// </summary>
    public static ByteRows Train(int dimension, int capacity, IEnumerable<ReadOnlyMemory<float>> rows)
    {
        var low = new float[dimension];
        var high = new float[dimension];
        Array.Fill(low, float.PositiveInfinity);
        Array.Fill(high, float.NegativeInfinity);
        foreach (var memory in rows)
        {
            var row = memory.Span[..dimension];
            System.Numerics.Tensors.TensorPrimitives.Min(low, row, low);
            System.Numerics.Tensors.TensorPrimitives.Max(high, row, high);
        }

        var step = new float[dimension];
        for (var d = 0; d < dimension; d++)
        {
            if (float.IsPositiveInfinity(low[d]))
            {
                // No rows to train on: an empty range at 0 (every later value is clamped to it until the next load).
                low[d] = 0f;
                high[d] = 0f;
            }

            step[d] = (high[d] - low[d]) / 255f;
        }

        return new ByteRows(dimension, capacity, low, step);
    }

    /// <summary>Rows with the ranges saved with them (<see cref="CompactRowsFile"/>), empty until <see cref="LoadRows"/> fills them.</summary>
    public static ByteRows WithRanges(int dimension, int capacity, float[] low, float[] step) => new(dimension, capacity, low, step);

    /// <summary>The write sequence number the saved file (<see cref="CompactRowsFile"/>) holds these rows for; null when not saved as they are.</summary>
    public long? SavedStamp { get; set; }

    /// <summary>The bytes of rows [0, <see cref="SlotCount"/>), codes, norm and padding (saving).</summary>
    public ReadOnlySpan<byte> RowBytes => _data.AsSpan(_offset, SlotCount * RowStride);

    /// <summary>Makes rows [0, <paramref name="slotCount"/>) present and returns their bytes, to be filled from a saved file (loading).</summary>
    public Span<byte> LoadRows(int slotCount)
    {
        if (slotCount > Capacity)
        {
            Grow(slotCount);
        }

        SlotCount = slotCount;
        return _data.AsSpan(_offset, slotCount * RowStride);
    }

    /// <summary>True when the stored codes and norm of <paramref name="slot"/> are what <see cref="Write"/> stores for <paramref name="row"/> (integrity check).</summary>
    public bool Matches(int slot, ReadOnlySpan<float> row)
    {
        if (slot >= SlotCount)
        {
            return false;
        }

        var expected = new ByteRows(Dimension, 1, _low, _step);
        expected.Write(0, row);
        return _data.AsSpan(_offset + (slot * RowStride), _boundOffset + sizeof(float)).SequenceEqual(expected._data.AsSpan(expected._offset, _boundOffset + sizeof(float)));
    }

    /// <summary>‖x̂‖² of <paramref name="slot"/>: the squared norm of the values its codes stand for.</summary>
    public float SquaredNorm(int slot) => MemoryMarshal.Read<float>(_data.AsSpan(_offset + (slot * RowStride) + _normOffset, sizeof(float)));

    /// <summary>
    /// An upper bound on ‖x − x̂‖ for <paramref name="slot"/>: the distance between the float32 row written and the values
    /// its codes stand for (the quantization residual, larger for a value clamped to the trained range), rounded up.
    /// </summary>
    public float ErrorBound(int slot) => MemoryMarshal.Read<float>(_data.AsSpan(_offset + (slot * RowStride) + _boundOffset, sizeof(float)));

    /// <summary>The codes of <paramref name="slot"/> (tests).</summary>
    public ReadOnlySpan<byte> GetCodes(int slot) => _data.AsSpan(_offset + (slot * RowStride), Dimension);

    /// <summary>Stores <paramref name="row"/> (float32, already normalized for cosine) as codes, clamped to the trained range, with its ‖x̂‖² and the bound on ‖x − x̂‖.</summary>
    public void Write(int slot, ReadOnlySpan<float> row)
    {
        if (slot >= Capacity)
        {
            // 1.5× rather than 2×: the copy is memory, and memory is what this storage saves.
            Grow((int)Math.Min(int.MaxValue / RowStride, Math.Max(slot + 1L, Capacity + (Capacity / 2))));
        }

        var target = _data.AsSpan(_offset + (slot * RowStride), RowStride);
        var codes = target[..Dimension];
        QuantizedMath.QuantizeU8(row[..Dimension], _low, _inverseStep, codes);
        var decoded = System.Buffers.ArrayPool<float>.Shared.Rent(Dimension);
        try
        {
            var values = decoded.AsSpan(0, Dimension);
            QuantizedMath.DequantizeU8(codes, _low, _step, values);
            var norm = VectorMath.Dot(values, values);
            MemoryMarshal.Write(target[_normOffset..], in norm);
            var bound = ResidualBound(row[..Dimension], codes, _low, _step);
            MemoryMarshal.Write(target[_boundOffset..], in bound);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(decoded);
        }

        if (slot >= SlotCount)
        {
            SlotCount = slot + 1;
        }
    }

    /// <summary>
    /// ‖row − x̂‖ with x̂ = low + step · code in exact arithmetic (what the walks' distances stand for), summed in double and
    /// rounded up with a margin, so the float returned is never below it; +∞ when it overflows a float (a re-rank then
    /// always reads the row).
    /// </summary>
    internal static float ResidualBound(ReadOnlySpan<float> row, ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step)
    {
        double sum = 0;
        for (var d = 0; d < row.Length; d++)
        {
            double difference = row[d] - (low[d] + ((double)step[d] * codes[d]));
            sum += difference * difference;
        }

        var bound = (float)(Math.Sqrt(sum) * (1 + 1e-6));
        return float.IsFinite(bound) ? MathF.BitIncrement(bound) : float.PositiveInfinity;
    }

    private void Grow(int capacity)
    {
        // Pinned and over-allocated by 64 bytes so row 0 can start on a cache line.
        var data = GC.AllocateArray<byte>((capacity * RowStride) + 64, pinned: true);
        int offset;
        unsafe
        {
            var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(data));
            offset = (int)((64 - (address & 63)) & 63);
        }

        if (SlotCount > 0)
        {
            _data.AsSpan(_offset, SlotCount * RowStride).CopyTo(data.AsSpan(offset));
        }

        _data = data;
        _offset = offset;
        Capacity = capacity;
    }
}
