using System.Buffers.Binary;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The arena's rows checksum: CRC-32C (the standard check value), the hardware path equal to the table path, every
/// single-bit flip and every swap of two words detected, chunking irrelevant, and misuse refused.
/// </summary>
public sealed class RowChecksumTests
{
    [Fact]
    public void Table_path_gives_the_standard_CRC32C_check_value()
    {
        // CRC-32C("123456789") = 0xE3069283 (the catalogue's check value).
        (~RowChecksum.UpdateBytes(uint.MaxValue, "123456789"u8)).Should().Be(0xE3069283u);
    }

    [Fact]
    public void Word_path_equals_the_table_path_on_random_words()
    {
        var random = new Random(11);
        Span<byte> bytes = stackalloc byte[8];
        for (var i = 0; i < 2_000; i++)
        {
            random.NextBytes(bytes);
            var crc = (uint)random.Next() ^ ((uint)random.Next() << 16);
            RowChecksum.UpdateWord(crc, BinaryPrimitives.ReadUInt64LittleEndian(bytes)).Should().Be(RowChecksum.UpdateBytes(crc, bytes));
        }
    }

    private static ulong Of(ReadOnlySpan<byte> data)
    {
        var state = RowChecksum.Begin();
        RowChecksum.Append(ref state, data);
        return RowChecksum.Finish(state);
    }

    [Fact]
    public void Every_single_bit_flip_changes_the_checksum()
    {
        var data = new byte[256];
        new Random(3).NextBytes(data);
        var original = Of(data);
        for (var bit = 0; bit < data.Length * 8; bit++)
        {
            data[bit >> 3] ^= (byte)(1 << (bit & 7));
            Of(data).Should().NotBe(original, $"bit {bit} flipped");
            data[bit >> 3] ^= (byte)(1 << (bit & 7));
        }
    }

    [Fact]
    public void Swapping_two_rows_or_adding_zero_rows_changes_the_checksum()
    {
        var data = new byte[512];
        new Random(5).NextBytes(data);
        var original = Of(data);

        var swapped = (byte[])data.Clone();
        data.AsSpan(0, 64).CopyTo(swapped.AsSpan(64, 64));
        data.AsSpan(64, 64).CopyTo(swapped.AsSpan(0, 64));
        Of(swapped).Should().NotBe(original);

        var longer = new byte[data.Length + 64];
        data.CopyTo(longer, 0);
        Of(longer).Should().NotBe(original, "trailing zero rows are part of the covered range");
        Of(new byte[64]).Should().NotBe(Of(new byte[128]));
    }

    [Fact]
    public void Appending_in_chunks_equals_appending_at_once()
    {
        var data = new byte[4096];
        new Random(7).NextBytes(data);
        var state = RowChecksum.Begin();
        foreach (var size in new[] { 16, 48, 1024, 3008 })
        {
            var offset = (int)state.Length;
            RowChecksum.Append(ref state, data.AsSpan(offset, size));
        }

        RowChecksum.Finish(state).Should().Be(Of(data));
    }

    [Fact]
    public void Data_not_in_16_byte_multiples_is_refused()
    {
        var act = () => Of(new byte[24]);

        act.Should().Throw<ArgumentException>().WithMessage("*16-byte multiples*");
    }
}
