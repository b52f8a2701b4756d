using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The saved in-memory filter index of one collection (<c>vectors/&lt;collection&gt;.flt</c>): derived data like the arena
/// and the graph, written whole on close (temporary file, then an atomic rename), stamped with the write it covers and
/// its owner, checksummed. A reopen that finds it intact and stamped for the collection's current write uses it as it is
/// — no scan of SQLite — and anything else (missing, stale, damaged, another store's) is discarded and the index is built
/// again from the checksummed records.
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     8  magic "ECFILT01"
///      8     4  format version (1)
///     12     4  reserved (0)
///     16     8  stamp: the collection's last write sequence number the index covers
///     24     8  body length in bytes
///     32     8  XxHash3 of the body
///     40     4  owner stamp length (0-48)
///     44    48  owner stamp (whose index this is: store, collection, write chain value), zero-padded
///     92    28  reserved (0)
///    120     8  XxHash3 of bytes [0, 120)
///    128        body (<see cref="MetadataFilterIndex.WriteTo"/>)
/// </code>
/// </remarks>
internal static class FilterIndexFile
{
    /// <summary>Benchmarks only: false makes every open build the index again (the behaviour before the file existed).</summary>
    internal static bool Enabled = true;

    private const int HeaderSize = 128;
    private const int FormatVersion = 1;
    private const int OwnerOffset = 44;
    private const int MaxOwnerLength = 48;
    private const int HeaderHashOffset = 120;
    private static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ECFILT01"u8);

    /// <summary>Writes <paramref name="index"/> to <paramref name="path"/> (atomically replaced). Throws on storage faults.</summary>
    public static void Save(MetadataFilterIndex index, string path, long stamp, ReadOnlySpan<byte> owner)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(owner.Length, MaxOwnerLength, nameof(owner));
        var temporary = path + ".tmp";
        try
        {
            using (var file = Internal.OwnerOnly.Open(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                file.Write(new byte[HeaderSize]);
                var body = new Writer(file);
                index.WriteTo(body);
                Span<byte> header = stackalloc byte[HeaderSize];
                header.Clear();
                BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteInt64LittleEndian(header[16..], stamp);
                BinaryPrimitives.WriteInt64LittleEndian(header[24..], body.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(header[32..], body.Hash);
                BinaryPrimitives.WriteInt32LittleEndian(header[40..], owner.Length);
                owner.CopyTo(header[OwnerOffset..]);
                BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderHashOffset..], XxHash3.HashToUInt64(header[..HeaderHashOffset]));
                file.Position = 0;
                file.Write(header);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A full disk or read-only media: leave no partial .tmp behind.
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Overwritten by the next save.
            }

            throw;
        }
    }

    /// <summary>The stamp of the file at <paramref name="path"/> when its header is intact (magic, version, header checksum), else null.</summary>
    public static long? ReadStamp(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (file.Length < HeaderSize)
            {
                return null;
            }

            file.ReadExactly(header);
            return BinaryPrimitives.ReadUInt64LittleEndian(header) == Magic
                && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) == FormatVersion
                && BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) == XxHash3.HashToUInt64(header[..HeaderHashOffset])
                ? BinaryPrimitives.ReadInt64LittleEndian(header[16..])
                : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The index saved in <paramref name="path"/> when the file is intact and stamped with <paramref name="stamp"/> and
    /// <paramref name="owner"/>; else null with the reason in <paramref name="problem"/> (null when there is no file).
    /// Never throws on file content or storage faults (the index is then built from the records).
    /// </summary>
    public static MetadataFilterIndex? TryLoad(string path, long stamp, ReadOnlySpan<byte> owner, int slotCapacity, out string? problem)
    {
        problem = null;
        if (!Enabled)
        {
            return null;
        }

        byte[] body;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (file.Length < HeaderSize)
            {
                problem = "is shorter than its header";
                return null;
            }

            file.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic
                || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != FormatVersion
                || BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) != XxHash3.HashToUInt64(header[..HeaderHashOffset]))
            {
                problem = "has a damaged header or an unknown format";
                return null;
            }

            var ownerLength = BinaryPrimitives.ReadInt32LittleEndian(header[40..]);
            if (BinaryPrimitives.ReadInt64LittleEndian(header[16..]) != stamp
                || ownerLength != owner.Length
                || !header.Slice(OwnerOffset, owner.Length).SequenceEqual(owner))
            {
                problem = $"covers another write than the collection's last ({stamp}): written before later writes, or another store's";
                return null;
            }

            var length = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            if (length < 0 || length != file.Length - HeaderSize || length > Array.MaxLength)
            {
                problem = "has the wrong length";
                return null;
            }

            body = GC.AllocateUninitializedArray<byte>((int)length);
            file.ReadExactly(body);
            if (XxHash3.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(header[32..]))
            {
                problem = "fails its checksum";
                return null;
            }
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = "could not be read (" + ex.Message + ")";
            return null;
        }

        try
        {
            var reader = new Reader(body);
            var index = MetadataFilterIndex.ReadFrom(ref reader, slotCapacity);
            if (!reader.AtEnd)
            {
                problem = "has bytes after its content";
                return null;
            }

            return index;
        }
        catch (InvalidDataException ex)
        {
            problem = "has malformed content (" + ex.Message + ")";
            return null;
        }
    }

    /// <summary>Appends little-endian values to a stream and hashes them (XxHash3).</summary>
    internal sealed class Writer(Stream stream)
    {
        private readonly XxHash3 _hash = new();

        public long Length { get; private set; }

        public ulong Hash => _hash.GetCurrentHashAsUInt64();

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            stream.Write(bytes);
            _hash.Append(bytes);
            Length += bytes.Length;
        }

        public void Int32(int value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
            Bytes(bytes);
        }

        public void Double(double value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
            Bytes(bytes);
        }

        public void String(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Int32(bytes.Length);
            Bytes(bytes);
        }

        /// <summary>A block of unmanaged values, as their in-memory bytes (little-endian machines only write files).</summary>
        public void Values<T>(ReadOnlySpan<T> values)
            where T : unmanaged => Bytes(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Reads what <see cref="Writer"/> wrote; any overrun or implausible count is an <see cref="InvalidDataException"/>.</summary>
    internal ref struct Reader(ReadOnlySpan<byte> body)
    {
        private readonly ReadOnlySpan<byte> _body = body;
        private int _position;

        public readonly bool AtEnd => _position == _body.Length;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || count > _body.Length - _position)
            {
                throw new InvalidDataException("a length runs past the end");
            }

            var bytes = _body.Slice(_position, count);
            _position += count;
            return bytes;
        }

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));

        public double Double() => BinaryPrimitives.ReadDoubleLittleEndian(Bytes(8));

        public byte Byte() => Bytes(1)[0];

        /// <summary>A count of items of at least <paramref name="itemBytes"/> bytes each that fits in what is left.</summary>
        public int Count(int itemBytes)
        {
            var count = Int32();
            if (count < 0 || (long)count * itemBytes > _body.Length - _position)
            {
                throw new InvalidDataException("a count runs past the end");
            }

            return count;
        }

        public string String() => Encoding.UTF8.GetString(Bytes(Count(1)));

        public T[] Values<T>(int count)
            where T : unmanaged => MemoryMarshal.Cast<byte, T>(Bytes(checked(count * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()))).ToArray();
    }
}
