using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

/// <summary>
/// In-memory <see cref="IVectorRows"/> laid out like the arena: rows back to back with the stride rounded up to a
/// multiple of 16 floats (64 bytes). Padding is NaN, so a kernel reading past a row's end yields NaN. Records which
/// slots were read.
/// </summary>
internal sealed class PaddedVectorRows : IVectorRows
{
    private readonly float[] _data;
    private readonly int _stride;

    public PaddedVectorRows(int dimension, int slotCount)
    {
        Dimension = dimension;
        SlotCount = slotCount;
        _stride = (dimension + 15) & ~15;
        _data = new float[(_stride * slotCount) + 16];
        _data.AsSpan().Fill(float.NaN);
    }

    public int Dimension { get; }

    public int SlotCount { get; }

    public HashSet<int> ReadSlots { get; } = [];

    public ReadOnlySpan<float> GetRow(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, SlotCount);
        ReadSlots.Add(slot);
        return _data.AsSpan(slot * _stride, Dimension);
    }

    /// <summary>Row 0 for the HNSW graph's direct addressing; reads through it are not recorded in <see cref="ReadSlots"/>.</summary>
    public ref readonly float FirstRow => ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_data);

    public int RowStride => _stride;

    public Span<float> Row(int slot) => _data.AsSpan(slot * _stride, Dimension);

    public float[] RowArray(int slot) => Row(slot).ToArray();

    /// <summary>Random rows in [-1, 1), normalized when the space is cosine (as the store does on write).</summary>
    public static PaddedVectorRows Random(int seed, int dimension, int slotCount, DistanceSpace space)
    {
        var random = new Random(seed);
        var rows = new PaddedVectorRows(dimension, slotCount);
        for (int slot = 0; slot < slotCount; slot++)
        {
            Span<float> row = rows.Row(slot);
            for (int i = 0; i < dimension; i++)
            {
                row[i] = (float)((random.NextDouble() * 2) - 1);
            }

            if (space == DistanceSpace.Cosine)
            {
                EmbeddedChroma.Distance.VectorMath.Normalize(row, row);
            }
        }

        return rows;
    }
}
