using System.Runtime.InteropServices;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks;

/// <summary>In-memory <see cref="IVectorRows"/> over one float array with a fixed stride, like the arena's layout.</summary>
internal sealed class ArrayVectorRows(float[] data, int dimension, int stride) : IVectorRows
{
    public int Dimension { get; } = dimension;

    public int SlotCount { get; } = data.Length / stride;

    public ReadOnlySpan<float> GetRow(int slot) => data.AsSpan(slot * stride, Dimension);

    public ref readonly float FirstRow => ref MemoryMarshal.GetArrayDataReference(data);

    public int RowStride => stride;
}
