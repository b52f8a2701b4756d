using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The saved compact rows of a quantized collection (<c>vectors/&lt;collection&gt;.qvec</c>): the float16 rows
/// (<see cref="HalfRows"/>) or the int8 codes with their trained ranges (<see cref="ByteRows"/>) its graph walks. Derived
/// data like the arena and the graph: written whole on close (temporary file, then an atomic rename), stamped with the
/// write it covers and its owner, checksummed. An open that finds it intact, of the collection's storage and shape,
/// stamped for the collection's current write and holding as many rows as the arena reads it instead of encoding the
/// arena again, so int8 keeps the ranges it was trained with; anything else (missing, stale, damaged, truncated, another
/// storage, another store's) is discarded and the rows are derived from the arena again (int8 re-trains).
/// </summary>
/// <remarks>
/// <code>
/// offset  size  field
///      0     8  magic "ECQROWS1"
///      8     4  format version (3; 2 had int8 rows without their error bound: read for float16, rebuilt for int8;
///                 1 used XxHash3 for the body and is rebuilt)
///     12     4  element type: 1 float16, 2 int8
///     16     8  stamp: the collection's last write sequence number the rows cover
///     24     8  rows (slot count)
///     32     4  dimension
///     36     4  row stride in bytes
///     40     4  owner stamp length (0-48)
///     44    48  owner stamp (whose rows these are: store, collection, write chain value), zero-padded
///     92     8  body length in bytes
///    100    12  reserved (0)
///    112     8  checksum of the body (Internal.BlockChecksum: CRC-32C lanes, optimized from the first call in a fresh
///                 process, unlike System.IO.Hashing's IL-only XxHash3, as for the graph file)
///    120     8  XxHash3 of bytes [0, 120)
///    128        body: int8 only, low[dimension] and step[dimension] (float32); then the rows, stride bytes each
/// </code>
/// </remarks>
internal static class CompactRowsFile
{
    private const int HeaderSize = 128;
    private const int FormatVersion = 3;

    /// <summary>The last format whose int8 rows lacked <see cref="ByteRows.ErrorBound"/>; its float16 rows are as now.</summary>
    private const int FormatWithoutErrorBounds = 2;
    private const int OwnerOffset = 44;
    private const int MaxOwnerLength = 48;
    private const int BodyHashOffset = 112;
    private const int HeaderHashOffset = 120;
    private const int Float16 = 1;
    private const int Int8 = 2;

    /// <summary>Rows are written and read this many bytes at a time (a copy may pass 2 GiB, a span's limit).</summary>
    private const int ChunkBytes = 1 << 20;
    private static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ECQROWS1"u8);

    /// <summary>Writes <paramref name="rows"/> (a <see cref="HalfRows"/> or a <see cref="ByteRows"/>) to <paramref name="path"/>, atomically replaced. Throws on storage faults. The caller records the stamp saved (<see cref="HalfRows.SavedStamp"/>) when the file is the store's own.</summary>
    public static void Save(object rows, string path, long stamp, ReadOnlySpan<byte> owner)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(owner.Length, MaxOwnerLength, nameof(owner));
        var (kind, dimension, stride, slots) = rows switch
        {
            HalfRows half => (Float16, half.Dimension, half.RowStride * 2, half.SlotCount),
            ByteRows codes => (Int8, codes.Dimension, codes.RowStride, codes.SlotCount),
            _ => throw new ArgumentException("Only float16 and int8 rows are saved.", nameof(rows)),
        };
        var temporary = path + ".tmp";
        try
        {
            using (var file = Internal.OwnerOnly.Open(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                file.Write(new byte[HeaderSize]);
                var hash = BlockChecksum.Create();
                long length = 0;
                void Body(ReadOnlySpan<byte> bytes)
                {
                    file.Write(bytes);
                    hash.Append(bytes);
                    length += bytes.Length;
                }

                if (rows is ByteRows byteRows)
                {
                    Body(MemoryMarshal.AsBytes(byteRows.Low));
                    Body(MemoryMarshal.AsBytes(byteRows.Step));
                }

                var memory = rows is ByteRows ranged ? ranged.Rows : ((HalfRows)rows).Rows;
                for (long at = 0; at < memory.UsedBytes; at += ChunkBytes)
                {
                    Body(memory.Bytes(at, (int)Math.Min(ChunkBytes, memory.UsedBytes - at)));
                }

                Span<byte> header = stackalloc byte[HeaderSize];
                header.Clear();
                BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteInt32LittleEndian(header[12..], kind);
                BinaryPrimitives.WriteInt64LittleEndian(header[16..], stamp);
                BinaryPrimitives.WriteInt64LittleEndian(header[24..], slots);
                BinaryPrimitives.WriteInt32LittleEndian(header[32..], dimension);
                BinaryPrimitives.WriteInt32LittleEndian(header[36..], stride);
                BinaryPrimitives.WriteInt32LittleEndian(header[40..], owner.Length);
                owner.CopyTo(header[OwnerOffset..]);
                BinaryPrimitives.WriteInt64LittleEndian(header[92..], length);
                BinaryPrimitives.WriteUInt64LittleEndian(header[BodyHashOffset..], hash.Finish());
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
            Delete(temporary);
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
            return HeaderIntact(header) ? BinaryPrimitives.ReadInt64LittleEndian(header[16..]) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The rows saved in <paramref name="path"/> (a <see cref="HalfRows"/> for float16, a <see cref="ByteRows"/> for
    /// int8, with <see cref="HalfRows.SavedStamp"/> / <see cref="ByteRows.SavedStamp"/> set) when the file is intact, of
    /// <paramref name="storage"/>, <paramref name="dimension"/> and <paramref name="slotCount"/> rows, and stamped with
    /// <paramref name="stamp"/> and <paramref name="owner"/>; else null with the reason in <paramref name="problem"/>
    /// (null when there is no file). Never throws on file content or storage faults (the rows are then derived again).
    /// </summary>
    public static object? TryLoad(string path, VectorStorage storage, int dimension, int slotCount, int capacity, long stamp, ReadOnlySpan<byte> owner, out string? problem)
    {
        problem = null;
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
            if (!HeaderIntact(header))
            {
                problem = "has a damaged header or an unknown format";
                return null;
            }

            var kind = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            var expectedKind = storage switch
            {
                VectorStorage.Float16 => Float16,
                VectorStorage.Int8 => Int8,
                _ => 0,
            };
            if (kind != expectedKind)
            {
                problem = $"holds rows of another vector_storage (element type {kind})";
                return null;
            }

            if (kind == Int8 && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) == FormatWithoutErrorBounds)
            {
                problem = "was saved by an earlier version, whose int8 rows carry no error bound";
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

            var stride = kind == Float16 ? HalfRows.StrideFor(dimension) * 2 : ByteRows.StrideFor(dimension);
            var parameters = kind == Int8 ? 2L * dimension * sizeof(float) : 0;
            var length = BinaryPrimitives.ReadInt64LittleEndian(header[92..]);
            if (BinaryPrimitives.ReadInt32LittleEndian(header[32..]) != dimension || BinaryPrimitives.ReadInt32LittleEndian(header[36..]) != stride)
            {
                problem = "has another shape (dimension or row stride)";
                return null;
            }

            if (BinaryPrimitives.ReadInt64LittleEndian(header[24..]) != slotCount)
            {
                problem = $"holds {BinaryPrimitives.ReadInt64LittleEndian(header[24..])} rows; the arena holds {slotCount}";
                return null;
            }

            if (length != parameters + ((long)slotCount * stride) || file.Length != HeaderSize + length)
            {
                problem = "has the wrong length (truncated or extended)";
                return null;
            }

            var hash = BlockChecksum.Create();
            object rows;
            if (kind == Int8)
            {
                var ranges = new float[2 * dimension];
                file.ReadExactly(MemoryMarshal.AsBytes(ranges.AsSpan()));
                hash.Append(MemoryMarshal.AsBytes(ranges.AsSpan()));
                rows = ByteRows.WithRanges(dimension, capacity, ranges[..dimension], ranges[dimension..]);
            }
            else
            {
                rows = new HalfRows(dimension, capacity);
            }

            var memory = rows is HalfRows half ? half.Rows : ((ByteRows)rows).Rows;
            memory.SetSlotCount(slotCount);
            for (long at = 0; at < memory.UsedBytes; at += ChunkBytes)
            {
                var body = memory.LoadBytes(at, (int)Math.Min(ChunkBytes, memory.UsedBytes - at));
                file.ReadExactly(body);
                hash.Append(body);
            }
            if (hash.Finish() != BinaryPrimitives.ReadUInt64LittleEndian(header[BodyHashOffset..]))
            {
                problem = "fails its checksum";
                ((IDisposable)rows).Dispose();
                return null;
            }

            if (rows is HalfRows loadedHalf)
            {
                loadedHalf.SavedStamp = stamp;
            }
            else
            {
                ((ByteRows)rows).SavedStamp = stamp;
            }

            return rows;
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
            problem = "could not be read (" + ex.GetType().Name + ")";
            return null;
        }
    }

    /// <summary>Deletes the file at <paramref name="path"/> if there is one (best effort: a leftover is rejected by its stamp).</summary>
    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Rejected on the next open (stamp) and overwritten by the next save.
        }
    }

    private static bool HeaderIntact(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt64LittleEndian(header) == Magic
        && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) is FormatVersion or FormatWithoutErrorBounds
        && BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) == XxHash3.HashToUInt64(header[..HeaderHashOffset]);
}
