using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedChroma.Index;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>The int8 rows: per-dimension ranges trained on the rows, half-step accuracy inside them, clamping outside.</summary>
public sealed class ByteRowsTests
{
    private static float Value(ByteRows rows, int slot, int d) => rows.Low[d] + (rows.Step[d] * rows.GetCodes(slot)[d]);

    [Fact]
    public void Write_stores_each_value_within_half_a_step_and_its_squared_norm_when_the_value_is_inside_the_trained_range()
    {
        var random = new Random(5);
        var training = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 37).Select(d => (float)((random.NextDouble() * (d + 1)) - d)).ToArray()).ToArray();
        var rows = ByteRows.Train(37, 16, training.Select(r => (ReadOnlyMemory<float>)r));
        rows.RowStride.Should().Be(64, "37 codes and a 4-byte norm fit one cache line");

        for (var slot = 0; slot < training.Length; slot++)
        {
            rows.Write(slot, training[slot]);
        }

        rows.SlotCount.Should().Be(200);
        rows.Capacity.Should().BeGreaterThanOrEqualTo(200, "the rows grew past the first capacity");
        for (var slot = 0; slot < training.Length; slot++)
        {
            var decoded = Enumerable.Range(0, 37).Select(d => Value(rows, slot, d)).ToArray();
            for (var d = 0; d < 37; d++)
            {
                Math.Abs(decoded[d] - training[slot][d]).Should().BeLessThanOrEqualTo((rows.Step[d] / 2) + 1e-5f);
            }

            var stored = MemoryMarshal.Read<float>(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref Unsafe.AsRef(in rows.FirstRow), (slot * rows.RowStride) + IAffineRows.NormOffset(37)), 4));
            stored.Should().BeApproximately(decoded.Sum(x => x * x), 1e-3f);
        }
    }

    [Fact]
    public void Write_clamps_values_to_the_trained_range_when_a_later_row_lies_outside_it()
    {
        float[][] training = [[0f, -1f], [1f, 1f]];
        var rows = ByteRows.Train(2, 4, training.Select(r => (ReadOnlyMemory<float>)r));
        rows.Write(0, [5f, -7f]);
        rows.GetCodes(0).ToArray().Should().Equal([255, 0]);
        Value(rows, 0, 0).Should().Be(1f);
        Value(rows, 0, 1).Should().Be(-1f);
    }

    [Fact]
    public void Train_gives_an_empty_range_at_zero_when_there_are_no_rows_and_a_constant_dimension_keeps_its_value()
    {
        var empty = ByteRows.Train(3, 4, []);
        empty.Write(0, [0.5f, -0.5f, 0f]);
        empty.GetCodes(0).ToArray().Should().Equal([0, 0, 0]);
        Value(empty, 0, 0).Should().Be(0f);

        float[][] constant = [[2f, 0f], [2f, 1f]];
        var rows = ByteRows.Train(2, 4, constant.Select(r => (ReadOnlyMemory<float>)r));
        rows.Write(0, [2f, 0.5f]);
        Value(rows, 0, 0).Should().Be(2f);
    }
}
