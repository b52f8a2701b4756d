using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using X86Sse42 = System.Runtime.Intrinsics.X86.Sse42;

namespace EmbeddedChroma.Internal;

/// <summary>
/// A 64-bit checksum of data of any length, appended in pieces of any length: two CRC-32C (Castagnoli) lanes over
/// alternate 8-byte little-endian words of the data (a final partial block zero-padded), joined with the length. The
/// arena's row checksum (<c>Storage.RowChecksum</c>) is the same construction over whole 16-byte blocks; this one carries
/// a partial block between appends, for the graph file (records of 132 bytes, upper-level arrays of 68 × level bytes).
/// </summary>
/// <remarks>
/// Our own code, compiled fully optimized at its first call, on the CPU's CRC-32C instruction (SSE4.2; elsewhere
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>, which uses Arm64's CRC32 or a table). The graph file's earlier
/// checksum, System.IO.Hashing's XxHash3, ships as IL only and first runs as tier-0 code: 240–260 ms over the 41 MB base of
/// a 300,000-node graph in a fresh process (load average ~20), against a few ms once compiled.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct BlockChecksum
{
    private const int Block = 16;
    private uint _even;
    private uint _odd;
    private long _length;
    private Carry _carry;
    private int _carried;

    /// <summary>An empty checksum (the value of <see cref="Finish"/> over no data).</summary>
    public static BlockChecksum Create() => new() { _even = uint.MaxValue, _odd = uint.MaxValue };

    /// <summary>The checksum of <paramref name="data"/> in one piece.</summary>
    public static ulong Of(ReadOnlySpan<byte> data)
    {
        var checksum = Create();
        checksum.Append(data);
        return checksum.Finish();
    }

    /// <summary>Adds <paramref name="data"/>: the result depends on the bytes in order, not on how they were split.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        if (_carried > 0)
        {
            int take = Math.Min(Block - _carried, data.Length);
            data[..take].CopyTo(((Span<byte>)_carry)[_carried..]);
            _carried += take;
            data = data[take..];
            if (_carried < Block)
            {
                return;
            }

            Blocks(((ReadOnlySpan<byte>)_carry)[..Block]);
            _carried = 0;
        }

        int whole = data.Length & ~(Block - 1);
        Blocks(data[..whole]);
        data[whole..].CopyTo(_carry);
        _carried = data.Length - whole;
    }

    /// <summary>The 64-bit checksum of everything appended (the lanes and the length); the state is left as it was.</summary>
    public readonly ulong Finish()
    {
        var last = this;
        if (last._carried > 0)
        {
            Span<byte> padded = stackalloc byte[Block];
            padded.Clear();
            ((ReadOnlySpan<byte>)last._carry)[..last._carried].CopyTo(padded);
            last.Blocks(padded);
        }

        ulong value = ((ulong)~last._even << 32) | ~last._odd;
        return value ^ ((ulong)last._length * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>Whole 16-byte blocks: even words into one lane, odd words into the other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Blocks(ReadOnlySpan<byte> data)
    {
        uint even = _even;
        uint odd = _odd;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        for (int i = 0; i + 1 < words.Length; i += 2)
        {
            ulong first = words[i];
            ulong second = words[i + 1];
            if (!BitConverter.IsLittleEndian)
            {
                first = BinaryPrimitives.ReverseEndianness(first);
                second = BinaryPrimitives.ReverseEndianness(second);
            }

            even = Update(even, first);
            odd = Update(odd, second);
        }

        _even = even;
        _odd = odd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Update(uint crc, ulong word) =>
        X86Sse42.X64.IsSupported ? (uint)X86Sse42.X64.Crc32(crc, word) : BitOperations.Crc32C(crc, word);

    /// <summary>A partial block between appends.</summary>
    [InlineArray(Block)]
    private struct Carry
    {
        private byte _element;
    }
}
