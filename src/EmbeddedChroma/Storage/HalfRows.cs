using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Index;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The compact float16 copy of a collection's float32 arena (<c>vector_storage = float16</c>): what its HNSW graph
/// walks. Held in memory, kept in step with every write to the arena (<see cref="VectorArena.Write"/>,
/// <see cref="VectorArena.WriteVector"/>), saved on close (<see cref="CompactRowsFile"/>) and read back by the next open,
/// or derived from the arena when that file cannot be used. Rows are 64-byte aligned (the stride is the dimension rounded up to
/// 32 halves) in native memory that grows in place as rows are written (<see cref="NativeRows"/>).
/// </summary>
/// <remarks>Not thread-safe: like the arena, written only under the collection's write lock (no reader meanwhile).</remarks>
internal sealed class HalfRows : IRowBlock<Half>, IDisposable
{
    private readonly NativeRows _rows;

    public HalfRows(int dimension, int capacity)
    {
        Dimension = dimension;
        RowStride = StrideFor(dimension);
        _rows = new NativeRows(RowStride * Unsafe.SizeOf<Half>(), Math.Max(capacity, 64));
    }

    public int Dimension { get; }

    /// <summary>Halves per row at <paramref name="dimension"/>: the dimension rounded up to 32 (64 bytes).</summary>
    public static int StrideFor(int dimension) => (dimension + 31) & ~31;

    public int RowStride { get; }

    public int SlotCount => _rows.SlotCount;

    /// <summary>Slots that fit in the memory made usable so far.</summary>
    public int Capacity => _rows.Capacity;

    /// <summary>Bytes of the rows in memory (the pages the rows written lie on; see <see cref="NativeRows.ResidentBytes"/>).</summary>
    public long MemoryBytes => _rows.ResidentBytes;

    /// <summary>The rows' memory (saving, loading and comparing them).</summary>
    public NativeRows Rows => _rows;

    public ref readonly Half FirstRow => ref Unsafe.As<byte, Half>(ref _rows.First);

    /// <summary>Frees the rows' memory: only once no reader can walk them (replaced or dropped under the collection's write lock).</summary>
    public void Dispose() => _rows.Dispose();

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
    public ReadOnlySpan<Half> GetRow(int slot) => MemoryMarshal.Cast<byte, Half>(_rows.Row(slot))[..Dimension];

    /// <summary>The write sequence number the saved file (<see cref="CompactRowsFile"/>) holds these rows for; null when not saved as they are.</summary>
    public long? SavedStamp { get; set; }

    /// <summary>Stores <paramref name="row"/> (float32, already normalized for cosine) as float16, rounding to nearest.</summary>
    public void Write(int slot, ReadOnlySpan<float> row)
    {
        var target = MemoryMarshal.Cast<byte, Half>(_rows.WritableRow(slot));
        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(row[..Dimension], target[..Dimension]);
        target[Dimension..].Clear();
    }
}
