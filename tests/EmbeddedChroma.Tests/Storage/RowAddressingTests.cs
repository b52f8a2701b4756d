using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Index;
using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;
using FluentAssertions;
using Xunit;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The HNSW walks address rows as <c>FirstRow + slot · RowStride</c> instead of calling <c>GetRow</c> per row; the
/// arena must give the same row both ways, for every dimension shape and after it grows (and is remapped).
/// </summary>
public sealed class RowAddressingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(128)]
    [InlineData(384)]
    public void Arena_rows_addressed_from_the_first_row_equal_GetRow_before_and_after_growth(int dimension)
    {
        using var folder = new TempStoreFolder();
        using VectorArena arena = VectorArena.Create(Path.Combine(folder.Path, "rows.vec"), dimension, capacity: 4);
        var random = new Random(dimension);
        var expected = new List<float[]>();
        for (int slot = 0; slot < 4; slot++)
        {
            expected.Add(Write(arena, slot, random));
        }

        ShouldMatch(arena, expected);

        // Far past the capacity: the file grows and is mapped again, so the first row moves.
        for (int slot = 4; slot < 300; slot++)
        {
            expected.Add(Write(arena, slot, random));
        }

        arena.Capacity.Should().BeGreaterThanOrEqualTo(300);
        ShouldMatch(arena, expected);
    }

    [Fact]
    public void Arena_row_stride_is_the_dimension_rounded_up_to_64_bytes()
    {
        using var folder = new TempStoreFolder();
        using VectorArena arena = VectorArena.Create(Path.Combine(folder.Path, "rows.vec"), 17, capacity: 2);

        arena.RowStride.Should().Be(32);
        ((IVectorRows)arena).RowStride.Should().BeGreaterThanOrEqualTo(arena.Dimension);
    }

    private static float[] Write(VectorArena arena, int slot, Random random)
    {
        var row = new float[arena.Dimension];
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = (float)((random.NextDouble() * 2) - 1);
        }

        arena.Write(slot, row);
        return row;
    }

    private static void ShouldMatch(VectorArena rows, List<float[]> expected)
    {
        ref float first = ref Unsafe.AsRef(in rows.FirstRow);
        for (int slot = 0; slot < expected.Count; slot++)
        {
            float[] addressed = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref first, (nint)slot * rows.RowStride), rows.Dimension).ToArray();
            addressed.Should().Equal(expected[slot], $"slot {slot} read from the first row");
            rows.GetRow(slot).ToArray().Should().Equal(expected[slot], $"slot {slot} read with GetRow");
        }
    }
}
