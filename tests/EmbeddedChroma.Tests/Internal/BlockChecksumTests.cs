using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Tests.Internal;

/// <summary>
/// The graph file's bulk checksum: the same value however the data arrives in pieces (a load checksums the level-0
/// records in pieces and the upper block whole, a save record by record), and a different one for any changed bit,
/// length or order.
/// </summary>
public sealed class BlockChecksumTests
{
    private static byte[] Data(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(132)]
    [InlineData(4099)]
    public void Append_gives_the_value_of_the_whole_when_the_data_comes_in_pieces_of_any_length(int length)
    {
        byte[] data = Data(length, seed: length + 1);
        ulong whole = BlockChecksum.Of(data);
        var random = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            var checksum = BlockChecksum.Create();
            for (int offset = 0; offset < length;)
            {
                int piece = Math.Min(length - offset, random.Next(0, 40));
                checksum.Append(data.AsSpan(offset, piece));
                offset += piece;
            }

            checksum.Finish().Should().Be(whole, $"trial {trial}");
        }
    }

    [Fact]
    public void Finish_differs_when_any_bit_changes_or_zero_bytes_are_added()
    {
        byte[] data = Data(200, seed: 3);
        ulong original = BlockChecksum.Of(data);
        var seen = new HashSet<ulong> { original };
        for (int bit = 0; bit < data.Length * 8; bit++)
        {
            data[bit / 8] ^= (byte)(1 << (bit % 8));
            seen.Add(BlockChecksum.Of(data)).Should().BeTrue($"flipping bit {bit} gives a new value");
            data[bit / 8] ^= (byte)(1 << (bit % 8));
        }

        // A partial last block is zero-padded: the length keeps "data" and "data + zeros" apart.
        var padded = new byte[208];
        data.CopyTo(padded, 0);
        BlockChecksum.Of(padded).Should().NotBe(original);
        BlockChecksum.Of(padded.AsSpan(0, 201)).Should().NotBe(original);
        BlockChecksum.Of(new byte[16]).Should().NotBe(BlockChecksum.Of(new byte[32]));
    }

    [Fact]
    public void Finish_differs_when_two_8_byte_words_trade_places()
    {
        byte[] data = Data(64, seed: 5);
        byte[] swapped = (byte[])data.Clone();
        data.AsSpan(0, 8).CopyTo(swapped.AsSpan(8));
        data.AsSpan(8, 8).CopyTo(swapped.AsSpan(0));
        BlockChecksum.Of(swapped).Should().NotBe(BlockChecksum.Of(data), "the two lanes take alternate words");
        data.AsSpan(0, 8).CopyTo(swapped.AsSpan(16));
        data.AsSpan(16, 8).CopyTo(swapped.AsSpan(0));
        data.AsSpan(8, 8).CopyTo(swapped.AsSpan(8));
        BlockChecksum.Of(swapped).Should().NotBe(BlockChecksum.Of(data), "a lane is order-sensitive");
    }
}
