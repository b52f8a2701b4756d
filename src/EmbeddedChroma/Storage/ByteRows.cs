using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;

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
internal sealed class ByteRows : IAffineRows, IDisposable
{
    private readonly float[] _low;
    private readonly float[] _step;
    private readonly float[] _inverseStep;
    private readonly int _normOffset;
    private readonly int _boundOffset;
    private readonly NativeRows _rows;

    private ByteRows(int dimension, int capacity, float[] low, float[] step)
    {
        Dimension = dimension;
        _normOffset = IAffineRows.NormOffset(dimension);
        _boundOffset = _normOffset + sizeof(float);
        RowStride = StrideFor(dimension);
        _low = low;
        _step = step;
        _inverseStep = step.Select(s => s > 0 ? 1f / s : 0f).ToArray();
        _rows = new NativeRows(RowStride, Math.Max(capacity, 64));
    }

    public int Dimension { get; }

    /// <summary>Bytes per row at <paramref name="dimension"/>: the codes (rounded up to 4), ‖x̂‖² and the error bound, rounded up to 64.</summary>
    public static int StrideFor(int dimension) => (IAffineRows.NormOffset(dimension) + (2 * sizeof(float)) + 63) & ~63;

    public int RowStride { get; }

    public int SlotCount => _rows.SlotCount;

    /// <summary>Slots that fit in the memory made usable so far.</summary>
    public int Capacity => _rows.Capacity;

    /// <summary>Bytes of the rows and parameters in memory (the pages the rows written lie on; see <see cref="NativeRows.ResidentBytes"/>).</summary>
    public long MemoryBytes => _rows.ResidentBytes + (3L * Dimension * sizeof(float));

    /// <summary>The rows' memory (saving, loading and comparing them).</summary>
    public NativeRows Rows => _rows;

    /// <summary>Frees the rows' memory: only once no reader can walk them (replaced or dropped under the collection's write lock).</summary>
    public void Dispose() => _rows.Dispose();

    public ReadOnlySpan<float> Low => _low;

    public ReadOnlySpan<float> Step => _step;

    public ref readonly byte FirstRow => ref _rows.First;

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

    /// <summary>Rows with the ranges saved with them (<see cref="CompactRowsFile"/>), empty until a load fills <see cref="Rows"/>.</summary>
    public static ByteRows WithRanges(int dimension, int capacity, float[] low, float[] step) => new(dimension, capacity, low, step);

    /// <summary>The write sequence number the saved file (<see cref="CompactRowsFile"/>) holds these rows for; null when not saved as they are.</summary>
    public long? SavedStamp { get; set; }

    /// <summary>True when the stored codes, norm and bound of <paramref name="slot"/> are what <see cref="Write"/> stores for <paramref name="row"/> (integrity check).</summary>
    public bool Matches(int slot, ReadOnlySpan<float> row)
    {
        if (slot >= SlotCount)
        {
            return false;
        }

        var expected = System.Buffers.ArrayPool<byte>.Shared.Rent(RowStride);
        try
        {
            var encoded = expected.AsSpan(0, RowStride);
            Encode(row, encoded);
            var compared = _boundOffset + sizeof(float);
            return _rows.Row(slot)[..compared].SequenceEqual(encoded[..compared]);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(expected);
        }
    }

    /// <summary>‖x̂‖² of <paramref name="slot"/>: the squared norm of the values its codes stand for.</summary>
    public float SquaredNorm(int slot) => MemoryMarshal.Read<float>(_rows.Row(slot)[_normOffset..]);

    /// <summary>
    /// An upper bound on ‖x − x̂‖ for <paramref name="slot"/>: the distance between the float32 row written and the values
    /// its codes stand for (the quantization residual, larger for a value clamped to the trained range), rounded up.
    /// </summary>
    public float ErrorBound(int slot) => MemoryMarshal.Read<float>(_rows.Row(slot)[_boundOffset..]);

    /// <summary>The codes of <paramref name="slot"/> (tests).</summary>
    public ReadOnlySpan<byte> GetCodes(int slot) => _rows.Row(slot)[..Dimension];

    /// <summary>Stores <paramref name="row"/> (float32, already normalized for cosine) as codes, clamped to the trained range, with its ‖x̂‖² and the bound on ‖x − x̂‖.</summary>
    public void Write(int slot, ReadOnlySpan<float> row) => Encode(row, _rows.WritableRow(slot));

    /// <summary>The codes of <paramref name="row"/>, clamped to the trained range, with ‖x̂‖² and the bound on ‖x − x̂‖, into <paramref name="target"/> (one row's stride).</summary>
    private void Encode(ReadOnlySpan<float> row, Span<byte> target)
    {
        var codes = target[..Dimension];
        target[Dimension.._normOffset].Clear();
        target[(_boundOffset + sizeof(float))..].Clear();
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
}
