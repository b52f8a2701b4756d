using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The compact float16 copy of a collection's float32 arena (<c>vector_storage = float16</c>): what its HNSW graph
/// walks. Held in memory, kept in step with every write to the arena (<see cref="VectorArena.Write"/>,
/// <see cref="VectorArena.WriteVector"/>), saved on close (<see cref="CompactRowsFile"/>) and read back by the next open,
/// or derived from the arena when that file cannot be used. Rows are 64-byte aligned (the stride is the dimension rounded up to
/// 32 halves) in one pinned array that grows by half as rows are written.
/// </summary>
/// <remarks>Not thread-safe: like the arena, written only under the collection's write lock (no reader meanwhile).</remarks>
internal sealed class HalfRows : IRowBlock<Half>
{
    private Half[] _data = [];
    private int _offset;

    public HalfRows(int dimension, int capacity)
    {
        Dimension = dimension;
        RowStride = StrideFor(dimension);
        Grow(Math.Max(capacity, 64));
    }

    public int Dimension { get; }

    /// <summary>Halves per row at <paramref name="dimension"/>: the dimension rounded up to 32 (64 bytes).</summary>
    public static int StrideFor(int dimension) => (dimension + 31) & ~31;

    public int RowStride { get; }

    public int SlotCount { get; private set; }

    /// <summary>Slots the array holds.</summary>
    public int Capacity { get; private set; }

    /// <summary>Bytes of the rows in memory (capacity × stride × 2).</summary>
    public long MemoryBytes => (long)Capacity * RowStride * Unsafe.SizeOf<Half>();

    public ref readonly Half FirstRow => ref _data[_offset];

    /// <summary>True when the stored row of <paramref name="slot"/> is what <see cref="Write"/> stores for <paramref name="row"/> (integrity check).</summary>
    public bool Matches(int slot, ReadOnlySpan<float> row)
    {
        if (slot >= SlotCount)
        {
            return false;
        }

        Span<Half> expected = stackalloc Half[Dimension];
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(row[..Dimension], expected);
        return MemoryMarshal.AsBytes(GetRow(slot)).SequenceEqual(MemoryMarshal.AsBytes(expected));
    }

    /// <summary>The row of <paramref name="slot"/> (tests).</summary>
    public ReadOnlySpan<Half> GetRow(int slot) => _data.AsSpan(_offset + (slot * RowStride), Dimension);

    /// <summary>The write sequence number the saved file (<see cref="CompactRowsFile"/>) holds these rows for; null when not saved as they are.</summary>
    public long? SavedStamp { get; set; }

    /// <summary>The bytes of rows [0, <see cref="SlotCount"/>), stride included (saving).</summary>
    public ReadOnlySpan<byte> RowBytes => MemoryMarshal.AsBytes(_data.AsSpan(_offset, SlotCount * RowStride));

    /// <summary>Makes rows [0, <paramref name="slotCount"/>) present and returns their bytes, to be filled from a saved file (loading).</summary>
    public Span<byte> LoadRows(int slotCount)
    {
        if (slotCount > Capacity)
        {
            Grow(slotCount);
        }

        SlotCount = slotCount;
        return MemoryMarshal.AsBytes(_data.AsSpan(_offset, slotCount * RowStride));
    }

    /// <summary>Stores <paramref name="row"/> (float32, already normalized for cosine) as float16, rounding to nearest.</summary>
    public void Write(int slot, ReadOnlySpan<float> row)
    {
        if (slot >= Capacity)
        {
            // 1.5× rather than 2×: the copy is memory, and memory is what this storage saves.
            Grow((int)Math.Min(int.MaxValue / RowStride, Math.Max(slot + 1L, Capacity + (Capacity / 2))));
        }

        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(row[..Dimension], _data.AsSpan(_offset + (slot * RowStride), Dimension));
        if (slot >= SlotCount)
        {
            SlotCount = slot + 1;
        }
    }

    private void Grow(int capacity)
    {
        // Pinned and over-allocated by 64 bytes so row 0 can start on a cache line.
        var data = GC.AllocateArray<Half>((capacity * RowStride) + 32, pinned: true);
        int offset;
        unsafe
        {
            var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(data));
            offset = (int)(((64 - (address & 63)) & 63) / sizeof(Half));
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
