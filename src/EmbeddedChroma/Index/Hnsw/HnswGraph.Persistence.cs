using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

/// <remarks>
/// File layout (little-endian):
/// <code>
/// offset  size  field
///      0     8  magic "ECHNSW01"
///      8     4  format version (2; 1 had no owner stamp)
///     12     4  distance space (DistanceSpace value)
///     16     4  M
///     20     4  dimension
///     24     4  slot count n: level-0 records [0, n) follow
///     28     4  entry point (−1 when empty)
///     32     4  max level (−1 when empty)
///     36     4  node count (slots present, deleted included)
///     40     8  stamp: the collection's last write sequence number the graph covers
///     48     8  body length in bytes
///     56     8  XxHash3 of the body
///     64     4  owner stamp length (0-48)
///     68    48  owner stamp: opaque bytes from the caller (whose graph this is), zero-padded; a load must present the same
///    116     4  reserved (0)
///    120     8  XxHash3 of bytes [0, 120)
///    128        body: n level-0 records of (1 + MaxM0) int32 (NodeHeader + links), then, in slot order, the
///               upper-level array of every node with level &gt; 0: level × (1 + M) int32
/// </code>
/// </remarks>
internal sealed partial class HnswGraph<TKernel, TElement>
{
    private const int HeaderSize = 128;
    private const int FormatVersion = 2;
    private const int OwnerOffset = 68;
    private const int HeaderHashOffset = 120;

    /// <summary>Bytes of level-0 records written between two cancellation checks of <see cref="Save"/>.</summary>
    private const int SaveBlockBytes = 4 << 20;

    /// <summary>Longest owner stamp a graph file holds.</summary>
    public const int MaxOwnerLength = 48;
    private static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ECHNSW01"u8);

    public override void Save(string path, long stamp, ReadOnlySpan<byte> owner = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(owner.Length, MaxOwnerLength, nameof(owner));
        if (!BitConverter.IsLittleEndian)
        {
            // The body is the in-memory int block written as bytes.
            throw new PlatformNotSupportedException("Saving an HNSW graph requires a little-endian machine.");
        }

        string temporary = path + ".tmp";
        _resizeLock.EnterReadLock();
        try
        {
            int slotCount = Volatile.Read(ref _slotHighWater);
            long entry = Volatile.Read(ref _entry);
            var hash = new XxHash3();
            long bodyLength = 0;
            using (var file = Internal.OwnerOnly.Open(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                file.Write(new byte[HeaderSize]);
                ReadOnlySpan<byte> level0 = MemoryMarshal.AsBytes(_level0.AsSpan(0, slotCount * _stride0));
                for (int offset = 0; offset < level0.Length; offset += SaveBlockBytes)
                {
                    // A close or compaction waits for a background save: let it cut a long one short.
                    cancellationToken.ThrowIfCancellationRequested();
                    ReadOnlySpan<byte> block = level0.Slice(offset, Math.Min(SaveBlockBytes, level0.Length - offset));
                    file.Write(block);
                    hash.Append(block);
                }

                bodyLength += level0.Length;
                cancellationToken.ThrowIfCancellationRequested();
                for (int slot = 0; slot < slotCount; slot++)
                {
                    if (_upper[slot] is { } upper)
                    {
                        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(upper.AsSpan());
                        file.Write(bytes);
                        hash.Append(bytes);
                        bodyLength += bytes.Length;
                    }
                }

                Span<byte> header = stackalloc byte[HeaderSize];
                BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header[8..], FormatVersion);
                BinaryPrimitives.WriteInt32LittleEndian(header[12..], (int)Space);
                BinaryPrimitives.WriteInt32LittleEndian(header[16..], _m);
                BinaryPrimitives.WriteInt32LittleEndian(header[20..], _rows.Dimension);
                BinaryPrimitives.WriteInt32LittleEndian(header[24..], slotCount);
                BinaryPrimitives.WriteInt32LittleEndian(header[28..], EntryNode(entry));
                BinaryPrimitives.WriteInt32LittleEndian(header[32..], EntryNode(entry) < 0 ? -1 : EntryLevel(entry));
                BinaryPrimitives.WriteInt32LittleEndian(header[36..], Count);
                BinaryPrimitives.WriteInt64LittleEndian(header[40..], stamp);
                BinaryPrimitives.WriteInt64LittleEndian(header[48..], bodyLength);
                BinaryPrimitives.WriteUInt64LittleEndian(header[56..], hash.GetCurrentHashAsUInt64());
                BinaryPrimitives.WriteInt32LittleEndian(header[64..], owner.Length);
                header[OwnerOffset..HeaderHashOffset].Clear();
                owner.CopyTo(header[OwnerOffset..]);
                BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderHashOffset..], XxHash3.HashToUInt64(header[..HeaderHashOffset]));
                file.Position = 0;
                file.Write(header);
                cancellationToken.ThrowIfCancellationRequested();
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            // A full disk, read-only media or a cancelled save: leave no partial .tmp behind (it would hold the space the
            // disk lacks).
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
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }

    /// <summary>The stamp of a graph file whose header is intact (magic, version, header checksum), or null.</summary>
    public static long? ReadHeaderStamp(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (file.Length < HeaderSize)
            {
                return null;
            }

            file.ReadExactly(header);
            return BinaryPrimitives.ReadUInt64LittleEndian(header) == Magic
                && BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) == XxHash3.HashToUInt64(header[..HeaderHashOffset])
                && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) == FormatVersion
                ? BinaryPrimitives.ReadInt64LittleEndian(header[40..])
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>See <see cref="HnswIndex.TryLoad(string, IVectorRows, DistanceSpace, HnswParameters, long, ReadOnlySpan{byte})"/>. Every count, level and link is checked before it is trusted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs once per open, over every node: never as tier-0 code
    public static HnswGraph<TKernel, TElement>? Load(string path, IRowBlock<TElement> rows, DistanceSpace space, HnswParameters parameters, long expectedStamp, ReadOnlySpan<byte> expectedOwner = default)
    {
        if (!BitConverter.IsLittleEndian || !File.Exists(path))
        {
            return null;
        }

        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (file.Length < HeaderSize)
            {
                return null;
            }

            file.ReadExactly(header);
            int m = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
            int slotCount = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
            int entryNode = BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
            int maxLevel = BinaryPrimitives.ReadInt32LittleEndian(header[32..]);
            int nodeCount = BinaryPrimitives.ReadInt32LittleEndian(header[36..]);
            long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(header[48..]);
            int stride0 = 1 + parameters.MaxM0;
            if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic
                || BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) != XxHash3.HashToUInt64(header[..HeaderHashOffset])
                || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != FormatVersion
                || BinaryPrimitives.ReadInt32LittleEndian(header[64..]) != expectedOwner.Length
                || !header.Slice(OwnerOffset, expectedOwner.Length).SequenceEqual(expectedOwner)
                || BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != (int)space
                || m != parameters.M
                || BinaryPrimitives.ReadInt32LittleEndian(header[20..]) != rows.Dimension
                || BinaryPrimitives.ReadInt64LittleEndian(header[40..]) != expectedStamp
                || slotCount < 0 || slotCount > rows.SlotCount || slotCount > int.MaxValue / stride0
                || bodyLength != file.Length - HeaderSize
                || bodyLength < (long)slotCount * stride0 * sizeof(int))
            {
                return null;
            }

            var graph = new HnswGraph<TKernel, TElement>(rows, space, parameters, Math.Max(Math.Max(slotCount, parameters.InitialCapacity), 1));
            var hash = new XxHash3();
            Span<byte> level0 = MemoryMarshal.AsBytes(graph._level0.AsSpan(0, slotCount * stride0));
            file.ReadExactly(level0);
            hash.Append(level0);
            long remaining = bodyLength - level0.Length;
            for (int slot = 0; slot < slotCount; slot++)
            {
                int level = NodeHeader.Level(graph._level0[slot * stride0]);
                if (level == 0)
                {
                    continue;
                }

                // A corrupt level must not make us allocate or read past the body.
                long bytes = (long)level * graph._strideUpper * sizeof(int);
                if (level > NodeHeader.MaxLevel || bytes > remaining)
                {
                    return null;
                }

                int[] upper = new int[level * graph._strideUpper];
                Span<byte> upperBytes = MemoryMarshal.AsBytes(upper.AsSpan());
                file.ReadExactly(upperBytes);
                hash.Append(upperBytes);
                graph._upper[slot] = upper;
                remaining -= bytes;
            }

            if (remaining != 0 || hash.GetCurrentHashAsUInt64() != BinaryPrimitives.ReadUInt64LittleEndian(header[56..]))
            {
                return null;
            }

            return graph.ValidateLoaded(slotCount, entryNode, maxLevel, nodeCount) ? graph : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Structural check of a loaded graph (the checksum guards against damage, this against a well-formed file that
    /// would still send a walk out of bounds): header bits, counts within Mmax, links to present nodes of sufficient
    /// level, and an entry point on the top level. Sets the counters when it passes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ValidateLoaded(int slotCount, int entryNode, int maxLevel, int nodeCount)
    {
        const int KnownBits = NodeHeader.PresentBit | NodeHeader.DeletedBit | (NodeHeader.LevelMask << NodeHeader.LevelShift) | NodeHeader.CountMask;
        int present = 0;
        int deleted = 0;
        for (int slot = 0; slot < slotCount; slot++)
        {
            int header = _level0[slot * _stride0];
            if (!NodeHeader.IsPresent(header))
            {
                if (header != 0 || _upper[slot] is not null)
                {
                    return false;
                }

                continue;
            }

            int level = NodeHeader.Level(header);
            if ((header & ~KnownBits) != 0 || level > maxLevel || (level > 0) != (_upper[slot] is not null))
            {
                return false;
            }

            present++;
            deleted += NodeHeader.IsDeleted(header) ? 1 : 0;
            if (IsMips)
            {
                SetSquaredNorm(slot);
            }

            for (int lc = 0; lc <= level; lc++)
            {
                Span<int> record = Record(slot, lc);
                int count = lc == 0 ? NodeHeader.Count(record[0]) : record[0];
                if ((uint)count > (uint)MaxLinks(lc))
                {
                    return false;
                }

                foreach (int link in record.Slice(1, count))
                {
                    if ((uint)link >= (uint)slotCount || link == slot)
                    {
                        return false;
                    }

                    int linkHeader = _level0[link * _stride0];
                    if (!NodeHeader.IsPresent(linkHeader) || NodeHeader.Level(linkHeader) < lc)
                    {
                        return false;
                    }
                }
            }
        }

        if (present != nodeCount)
        {
            return false;
        }

        if (present == 0)
        {
            if (entryNode != -1 || maxLevel != -1)
            {
                return false;
            }
        }
        else if ((uint)entryNode >= (uint)slotCount
            || !NodeHeader.IsPresent(_level0[entryNode * _stride0])
            || NodeHeader.Level(_level0[entryNode * _stride0]) != maxLevel)
        {
            return false;
        }

        _count = present;
        _deletedCount = deleted;
        _slotHighWater = slotCount;
        _entry = present == 0 ? EmptyEntry : PackEntry(entryNode, maxLevel);
        return true;
    }
}
