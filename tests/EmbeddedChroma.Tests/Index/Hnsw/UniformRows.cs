using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index.Hnsw;

/// <summary>
/// In-memory rows of uniform [0, 1) values drawn from <c>new Random(seed)</c>: low-dimensional uniform data is where
/// neighbour pruning leaves nodes without in-links most often (no clusters to hold them).
/// </summary>
internal sealed class UniformRows : IVectorRows
{
    private readonly float[] _data;

    private UniformRows(int dimension, int slotCount)
    {
        Dimension = dimension;
        SlotCount = slotCount;
        _data = new float[dimension * slotCount];
    }

    public int Dimension { get; }

    public int SlotCount { get; }

    public ReadOnlySpan<float> GetRow(int slot) => _data.AsSpan(slot * Dimension, Dimension);

    public ref readonly float FirstRow => ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_data);

    public int RowStride => Dimension;

    public void SetRow(int slot, ReadOnlySpan<float> values) => values.CopyTo(_data.AsSpan(slot * Dimension, Dimension));

    public static UniformRows Create(int seed, int dimension, int slotCount)
    {
        var random = new Random(seed);
        var rows = new UniformRows(dimension, slotCount);
        for (int i = 0; i < rows._data.Length; i++)
        {
            rows._data[i] = (float)random.NextDouble();
        }

        return rows;
    }
}
