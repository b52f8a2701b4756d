using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

/// <remarks>
/// <para><b>File layout, version 4</b> (little-endian): a whole save writes a base; later saves append a segment holding
/// only the nodes whose links changed since the previous save, then commit it by writing a new header.</para>
/// <code>
/// offset      size  part
///      0       512  header slot 0 ┐ two copies written alternately; the one with an intact checksum and the higher
///    512       512  header slot 1 ┘ generation is current (a torn header write leaves the other one in charge)
///   1024            base: n₀ level-0 records of (1 + MaxM0) int32 (NodeHeader + links), then, in slot order, the
///                   upper-level array of every node with level &gt; 0: level × (1 + M) int32 (version 2's body)
///   base end        segments, in order, up to the header's committed end; each is a 64-byte segment header and its
///                   records: int32 slot, the slot's level-0 record, its upper-level array (level × (1 + M) int32),
///                   which replace the node's earlier ones
///
/// header slot   size  field
///      0     8  magic "ECHNSW01"
///      8     4  format version (4; 3 checksummed the base and segment records with XxHash3, 2 had one 128-byte
///                   header and no segments, 1 no owner stamp)
///     12     4  distance space (DistanceSpace value)
///     16     4  M
///     20     4  dimension
///     24     4  slot count n after the last segment: records [0, n)
///     28     4  entry point (−1 when empty)
///     32     4  max level (−1 when empty)
///     36     4  node count (slots present, deleted included)
///     40     8  stamp: the collection's last write sequence number the graph covers
///     48     8  base length in bytes
///     56     8  checksum of the base (BlockChecksum: two CRC-32C lanes; XxHash3 in version 3)
///     64     4  owner stamp length (0-48)
///     68    48  owner stamp: opaque bytes from the caller (whose graph this is), zero-padded; a load must present the same
///    116     4  slot count n₀ of the base
///    120     8  generation: 1 + segment count
///    128     4  segment count
///    132     4  element type of the rows the graph was built over: 0 float32, 1 float16, 2 int8 (a collection's
///                   vector_storage; 0 in files written before it was recorded)
///    136     8  committed end: offset just past the last segment
///    144     8  segment chain: c = XxHash3(c ‖ segment header hash) over the segments in order (0 with none)
///    152     8  XxHash3 of bytes [0, 152)
///
/// segment header
///      0     8  magic "ECHNSWSG"
///      8     8  generation it commits
///     16     4  record count
///     20     4  reserved (0)
///     24     8  length of its records in bytes
///     32     8  checksum of its records (BlockChecksum; XxHash3 in version 3)
///     40    16  reserved (0)
///     56     8  XxHash3 of bytes [0, 56)
/// </code>
/// <para><b>Why segments of changed nodes rather than blocks rewritten in place.</b> An insert rewrites the lists of
/// its new neighbours, and those lie anywhere in slot order (slots are numbered by arrival, neighbours by place), so
/// 1,000 inserts into 100,000 nodes changed 12 % of the records, on 97 % of the 4 KiB pages of the level-0 block and in
/// every block of 256 nodes (benchmarks/results/graph-checkpoint-100k-384.jsonl): a block table would have had to
/// rewrite nearly all of it. A segment writes exactly the changed
/// records, sequentially, and never overwrites a byte that the current header covers, so a crash at any point leaves
/// the previous save intact (the next open loads it and replays newer writes from SQLite): write the segment past the
/// committed end, flush, write the header into the slot the current header does not occupy, flush.</para>
/// <para><b>When a save is whole.</b> The first save of a graph into a file, a file that is not the one this graph last
/// wrote or loaded (its current header differs from the one remembered), a version-2 file, and any save whose segments
/// would then exceed half the base: that bounds the file at 1.5× the graph and the load at one pass over it. Saving
/// after a large share of the graph changed (a bulk build: each checkpoint links a quarter of the graph, which changes
/// most records) therefore costs what it always did; a save after a small change costs the changed records.</para>
/// <para><b>How changes are found.</b> The graph keeps a 64-bit fingerprint of each node's records as last written or
/// loaded (8 bytes a node, <see cref="RecordHash"/>); a save fingerprints every node (in memory, while nothing changes the graph) and
/// writes those whose hash differs. This keeps the insert and search paths untouched (no dirty bit to set per link
/// write) and finds changes exactly whatever path made them.</para>
/// <para><b>Why version 4.</b> Only the two bulk checksums changed (the base, a segment's records): XxHash3 comes from a
/// package that ships as IL only, so a fresh process checksummed the base with tier-0 code (≈ 250 ms over a 41 MB base
/// at 300,000 nodes under load). <see cref="Internal.BlockChecksum"/> is our own code, compiled optimized at first call,
/// on the CRC-32C instruction. Version 3 files are still read; the next save rewrites them whole as version 4.</para>
/// </remarks>
internal sealed partial class HnswGraph<TKernel, TElement>
{
    private const int HeaderSlotSize = 512;
    private const int HeaderSize = 160;
    private const int HeaderHashOffset = 152;
    private const int BaseOffset = 2 * HeaderSlotSize;
    private const int SegmentHeaderSize = 64;
    private const int SegmentHashOffset = 56;
    private const int FormatVersion = 4;

    /// <summary>Version 3: as version 4, with XxHash3 as the base's and the segments' checksum. Still read; rewritten whole as version 4.</summary>
    private const int Version3 = 3;

    /// <summary>Level-0 records read (and checksummed while in cache) per piece of a load: about 4 MiB of whole records.</summary>
    private const int LoadPieceBytes = 4 << 20;

    /// <summary>Where the header records the element type of the rows (<see cref="ElementCode"/>).</summary>
    private const int ElementOffset = 132;

    /// <summary>
    /// The element type recorded in the header: a graph built over float16 or int8 rows is never loaded over rows of
    /// another type (a collection whose <c>vector_storage</c> changed rebuilds instead). float32 is 0, as in older files.
    /// </summary>
    private static int ElementCode => typeof(TElement) == typeof(Half) ? 1 : typeof(TElement) == typeof(byte) ? 2 : 0;
    private const int OwnerOffset = 68;

    /// <summary>Version 2: one 128-byte header (hash at 120), body at 128, no segments. Still read; rewritten as version 4.</summary>
    private const int Version2 = 2;
    private const int Version2HeaderSize = 128;
    private const int Version2HashOffset = 120;

    /// <summary>Bytes of level-0 records written between two cancellation checks of <see cref="Save"/>.</summary>
    private const int SaveBlockBytes = 4 << 20;

    /// <summary>Segments may total at most this fraction of the base before a save rewrites the whole file.</summary>
    private const double MaxSegmentShare = 0.5;

    /// <summary>Longest owner stamp a graph file holds.</summary>
    public const int MaxOwnerLength = 48;
    private static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ECHNSW01"u8);
    private static readonly ulong SegmentMagic = BinaryPrimitives.ReadUInt64LittleEndian("ECHNSWSG"u8);

    /// <summary>The file this graph last wrote or loaded, exactly as it stands (null: the next save is whole).</summary>
    private SavedFile? _saved;

    /// <summary>
    /// What this graph knows of its file: the full path, the current header (160 bytes: a save appends only while the
    /// file's current header is byte for byte this one), where the segments end, their total, and each node's record
    /// hash as the file holds it.
    /// </summary>
    private sealed class SavedFile
    {
        public required string Path { get; init; }

        public required byte[] Header { get; set; }

        public required ulong[] Hashes { get; set; }

        public required int SlotCount { get; set; }

        public required long BaseLength { get; init; }

        public required long SegmentBytes { get; set; }
    }

    public override long WholeSaveBytes
    {
        get
        {
            _resizeLock.EnterReadLock();
            try
            {
                int slotCount = Volatile.Read(ref _slotHighWater);
                long bytes = BaseOffset + ((long)slotCount * _stride0 * sizeof(int));
                for (int slot = 0; slot < slotCount; slot++)
                {
                    bytes += (long)(_upper[slot]?.Length ?? 0) * sizeof(int);
                }

                return bytes;
            }
            finally
            {
                _resizeLock.ExitReadLock();
            }
        }
    }

    public override void Save(string path, long stamp, ReadOnlySpan<byte> owner = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(owner.Length, MaxOwnerLength, nameof(owner));
        if (!BitConverter.IsLittleEndian)
        {
            // The body is the in-memory int block written as bytes.
            throw new PlatformNotSupportedException("Saving an HNSW graph requires a little-endian machine.");
        }

        string fullPath = System.IO.Path.GetFullPath(path);
        _resizeLock.EnterReadLock();
        try
        {
            if (_saved is { } saved && saved.Path == fullPath && TryAppend(saved, stamp, owner, cancellationToken))
            {
                return;
            }

            _saved = null;
            SaveWhole(fullPath, stamp, owner, cancellationToken);
        }
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }

    /// <summary>Writes the whole graph as a new file (temporary file, flush, rename). Caller holds the resize lock for reading.</summary>
    private void SaveWhole(string path, long stamp, ReadOnlySpan<byte> owner, CancellationToken cancellationToken)
    {
        string temporary = path + ".tmp";
        try
        {
            int slotCount = Volatile.Read(ref _slotHighWater);
            var hash = Internal.BlockChecksum.Create();
            long baseLength = 0;
            byte[] header;
            using (var file = Internal.OwnerOnly.Open(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                file.Write(new byte[BaseOffset]);
                ReadOnlySpan<byte> level0 = MemoryMarshal.AsBytes(_level0.AsSpan(0, slotCount * _stride0));
                for (int offset = 0; offset < level0.Length; offset += SaveBlockBytes)
                {
                    // A close or compaction waits for a background save: let it cut a long one short.
                    cancellationToken.ThrowIfCancellationRequested();
                    ReadOnlySpan<byte> block = level0.Slice(offset, Math.Min(SaveBlockBytes, level0.Length - offset));
                    file.Write(block);
                    hash.Append(block);
                }

                baseLength += level0.Length;
                cancellationToken.ThrowIfCancellationRequested();
                for (int slot = 0; slot < slotCount; slot++)
                {
                    if (_upper[slot] is { } upper)
                    {
                        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(upper.AsSpan());
                        file.Write(bytes);
                        hash.Append(bytes);
                        baseLength += bytes.Length;
                    }
                }

                header = new byte[HeaderSize];
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(116), slotCount);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(48), baseLength);
                BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(56), hash.Finish());
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(120), 1);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(136), BaseOffset + baseLength);
                FillHeader(header, stamp, owner, slotCount);
                file.Position = 0;
                file.Write(header);
                cancellationToken.ThrowIfCancellationRequested();
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            ulong[] hashes = new ulong[Math.Max(slotCount, 1)];
            for (int slot = 0; slot < slotCount; slot++)
            {
                hashes[slot] = RecordHash(slot);
            }

            _saved = new SavedFile { Path = path, Header = header, Hashes = hashes, SlotCount = slotCount, BaseLength = baseLength, SegmentBytes = 0 };
            LastSaveBytes = BaseOffset + baseLength;
            LastSaveNodes = Count;
            LastSaveAppended = false;
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
    }

    /// <summary>
    /// Appends the nodes changed since the file was written or loaded as one segment and commits it with a new header.
    /// False when a whole save is due instead (the segments would grow past their share, or the file is not the one
    /// <paramref name="saved"/> describes); nothing has been written then. Caller holds the resize lock for reading.
    /// </summary>
    private bool TryAppend(SavedFile saved, long stamp, ReadOnlySpan<byte> owner, CancellationToken cancellationToken)
    {
        int slotCount = Volatile.Read(ref _slotHighWater);
        if (slotCount < saved.SlotCount)
        {
            return false;
        }

        var changed = new List<(int Slot, ulong Hash)>();
        long recordBytes = 0;
        for (int slot = 0; slot < slotCount; slot++)
        {
            if ((slot & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            ulong recordHash = RecordHash(slot);
            if (slot >= saved.SlotCount || saved.Hashes[slot] != recordHash)
            {
                changed.Add((slot, recordHash));
                recordBytes += sizeof(int) + ((_stride0 + (_upper[slot]?.Length ?? 0)) * sizeof(int));
            }
        }

        if (saved.SegmentBytes + SegmentHeaderSize + recordBytes > saved.BaseLength * MaxSegmentShare)
        {
            return false;
        }

        if (!File.Exists(saved.Path))
        {
            return false;
        }

        using var file = new FileStream(saved.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        long committedEnd = BinaryPrimitives.ReadInt64LittleEndian(saved.Header.AsSpan(136));
        byte[] slots = new byte[BaseOffset];
        if (file.Length < committedEnd || file.ReadAtLeast(slots, BaseOffset, throwOnEndOfStream: false) != BaseOffset
            || CurrentHeader(slots) is not { } current || !slots.AsSpan(current * HeaderSlotSize, HeaderSize).SequenceEqual(saved.Header))
        {
            // Replaced or damaged since: write it whole.
            return false;
        }

        long generation = BinaryPrimitives.ReadInt64LittleEndian(saved.Header.AsSpan(120)) + 1;
        try
        {
            // 1. The segment, past everything the current header covers.
            var hash = Internal.BlockChecksum.Create();
            file.Position = committedEnd + SegmentHeaderSize;
            Span<byte> slotBytes = stackalloc byte[sizeof(int)];
            foreach ((int slot, _) in changed)
            {
                BinaryPrimitives.WriteInt32LittleEndian(slotBytes, slot);
                ReadOnlySpan<byte> level0 = MemoryMarshal.AsBytes(_level0.AsSpan(slot * _stride0, _stride0));
                ReadOnlySpan<byte> upper = MemoryMarshal.AsBytes(_upper[slot].AsSpan());
                file.Write(slotBytes);
                file.Write(level0);
                file.Write(upper);
                hash.Append(slotBytes);
                hash.Append(level0);
                hash.Append(upper);
            }

            Span<byte> segment = stackalloc byte[SegmentHeaderSize];
            segment.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(segment, SegmentMagic);
            BinaryPrimitives.WriteInt64LittleEndian(segment[8..], generation);
            BinaryPrimitives.WriteInt32LittleEndian(segment[16..], changed.Count);
            BinaryPrimitives.WriteInt64LittleEndian(segment[24..], recordBytes);
            BinaryPrimitives.WriteUInt64LittleEndian(segment[32..], hash.Finish());
            ulong segmentHash = XxHash3.HashToUInt64(segment[..SegmentHashOffset]);
            BinaryPrimitives.WriteUInt64LittleEndian(segment[SegmentHashOffset..], segmentHash);
            file.Position = committedEnd;
            file.Write(segment);
            long end = committedEnd + SegmentHeaderSize + recordBytes;
            file.SetLength(end); // drops the tail of a save that never committed
            cancellationToken.ThrowIfCancellationRequested();
            file.Flush(flushToDisk: true);
            SegmentWritten?.Invoke();

            // 2. The header that commits it, into the slot the current header does not occupy.
            byte[] header = (byte[])saved.Header.Clone();
            Span<byte> chain = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(chain, BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(144)));
            BinaryPrimitives.WriteUInt64LittleEndian(chain[8..], segmentHash);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(120), generation);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(128), BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(128)) + 1);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(136), end);
            BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(144), XxHash3.HashToUInt64(chain));
            FillHeader(header, stamp, owner, slotCount);
            file.Position = ((generation - 1) & 1) * HeaderSlotSize; // generation g lives in slot (g − 1) mod 2
            file.Write(header);
            file.Flush(flushToDisk: true);

            ulong[] hashes = saved.Hashes;
            if (hashes.Length < slotCount)
            {
                Array.Resize(ref hashes, Math.Max(slotCount, hashes.Length * 2));
            }

            foreach ((int slot, ulong recordHash) in changed)
            {
                hashes[slot] = recordHash;
            }

            saved.Hashes = hashes;
            saved.Header = header;
            saved.SlotCount = slotCount;
            saved.SegmentBytes += SegmentHeaderSize + recordBytes;
            LastSaveBytes = SegmentHeaderSize + recordBytes + HeaderSize;
            LastSaveNodes = changed.Count;
            LastSaveAppended = true;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            // Nothing committed (or, if the header write itself failed, the file's current header no longer matches the
            // remembered one and the next save is whole). Trim the uncommitted tail so it holds no space.
            try
            {
                file.SetLength(committedEnd);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Overwritten by the next save.
            }

            throw;
        }
    }

    /// <summary>Sets the fields every save writes and the header checksum; the base and segment fields are already set.</summary>
    private void FillHeader(Span<byte> header, long stamp, ReadOnlySpan<byte> owner, int slotCount)
    {
        long entry = Volatile.Read(ref _entry);
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
        BinaryPrimitives.WriteInt32LittleEndian(header[ElementOffset..], ElementCode);
        BinaryPrimitives.WriteInt32LittleEndian(header[64..], owner.Length);
        header[OwnerOffset..116].Clear();
        owner.CopyTo(header[OwnerOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderHashOffset..], XxHash3.HashToUInt64(header[..HeaderHashOffset]));
    }

    /// <summary>
    /// A 64-bit fingerprint of <paramref name="slot"/>'s level-0 record and upper-level array (what a segment would carry
    /// for it), compared with the fingerprint of the file's copy to find the records a save must write. Held in memory
    /// only (<see cref="SavedFile.Hashes"/>), never written.
    /// </summary>
    /// <remarks>
    /// Our own mix, inlined into the loops over every node, rather than System.IO.Hashing's XxHash3: that package ships as
    /// IL only, so a process that loads a graph cold ran it as tier-0 code once per node. Two lanes (even and odd 64-bit
    /// words); each step is a bijection of the lane for a given word and injective in the word, and the lanes join as
    /// <c>g(a) + b</c> with <c>g</c> a bijection, so two records differing in one word always differ here.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong RecordHash(int slot)
    {
        ulong hash = Fingerprint(_level0.AsSpan(slot * _stride0, _stride0), 0x9E3779B97F4A7C15UL);
        return _upper[slot] is { } upper ? Fingerprint(upper, hash) : hash;
    }

    /// <summary>See <see cref="RecordHash"/>: <paramref name="values"/> folded into <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Fingerprint(ReadOnlySpan<int> values, ulong seed)
    {
        const ulong Even = 0x9FB21C651E98DF25UL;
        const ulong Odd = 0xC2B2AE3D27D4EB4FUL;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<int, ulong>(values);
        ulong a = seed ^ (ulong)values.Length;
        ulong b = ~seed;
        int i = 0;
        for (; i + 1 < words.Length; i += 2)
        {
            a = (System.Numerics.BitOperations.RotateLeft(a, 29) ^ words[i]) * Even;
            b = (System.Numerics.BitOperations.RotateLeft(b, 31) ^ words[i + 1]) * Odd;
        }

        if (i < words.Length)
        {
            a = (System.Numerics.BitOperations.RotateLeft(a, 29) ^ words[i]) * Even;
        }

        if ((values.Length & 1) != 0)
        {
            b = (System.Numerics.BitOperations.RotateLeft(b, 31) ^ (uint)values[^1]) * Odd;
        }

        return ((a ^ (a >> 29)) * Odd) + b;
    }

    /// <summary>
    /// Which header slot (0 or 1) of a version-3 or version-4 file is current: intact, and of the higher generation; null
    /// when neither is. <paramref name="slots"/> holds the file's first 1,024 bytes.
    /// </summary>
    private static int? CurrentHeader(ReadOnlySpan<byte> slots)
    {
        int? best = null;
        long bestGeneration = 0;
        for (int i = 0; i < 2; i++)
        {
            ReadOnlySpan<byte> header = slots.Slice(i * HeaderSlotSize, HeaderSize);
            if (BinaryPrimitives.ReadUInt64LittleEndian(header) == Magic
                && BinaryPrimitives.ReadInt32LittleEndian(header[8..]) is Version3 or FormatVersion
                && BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) == XxHash3.HashToUInt64(header[..HeaderHashOffset])
                && BinaryPrimitives.ReadInt64LittleEndian(header[120..]) is var generation and > 0
                && generation > bestGeneration)
            {
                best = i;
                bestGeneration = generation;
            }
        }

        return best;
    }

    /// <summary>
    /// The current header of the file (versions 3 and 4: the current slot's 160 bytes; version 2: its 128 bytes), its
    /// version in <paramref name="version"/>, or null when no header is intact.
    /// </summary>
    private static byte[]? ReadCurrentHeader(FileStream file, out int version)
    {
        version = 0;
        byte[] slots = new byte[BaseOffset];
        int read = file.ReadAtLeast(slots, BaseOffset, throwOnEndOfStream: false);
        ReadOnlySpan<byte> first = slots.AsSpan(0, read);
        if (read >= Version2HeaderSize
            && BinaryPrimitives.ReadUInt64LittleEndian(first) == Magic
            && BinaryPrimitives.ReadInt32LittleEndian(first[8..]) == Version2
            && BinaryPrimitives.ReadUInt64LittleEndian(first[Version2HashOffset..]) == XxHash3.HashToUInt64(first[..Version2HashOffset]))
        {
            version = Version2;
            return first[..Version2HeaderSize].ToArray();
        }

        if (read < BaseOffset || CurrentHeader(slots) is not { } current)
        {
            return null;
        }

        version = BinaryPrimitives.ReadInt32LittleEndian(slots.AsSpan(current * HeaderSlotSize + 8));
        return slots.AsSpan(current * HeaderSlotSize, HeaderSize).ToArray();
    }

    /// <summary>The stamp of a graph file whose current header is intact (magic, version, header checksum), or null.</summary>
    public static long? ReadHeaderStamp(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return ReadCurrentHeader(file, out _) is { } header ? BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
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

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            string fullPath = System.IO.Path.GetFullPath(path);
            using var file = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            if (ReadCurrentHeader(file, out int version) is not { } header)
            {
                return null;
            }

            bool segmented = version >= Version3;
            int m = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(16));
            int slotCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(24));
            int entryNode = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(28));
            int maxLevel = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(32));
            int nodeCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(36));
            long baseLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(48));
            long baseOffset = segmented ? BaseOffset : Version2HeaderSize;
            int baseSlots = segmented ? BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(116)) : slotCount;
            long committedEnd = segmented ? BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(136)) : file.Length;
            int segmentCount = segmented ? BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(128)) : 0;
            int stride0 = 1 + parameters.MaxM0;
            if (BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(64)) != expectedOwner.Length
                || !header.AsSpan(OwnerOffset, expectedOwner.Length).SequenceEqual(expectedOwner)
                || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12)) != (int)space
                || m != parameters.M
                || BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20)) != rows.Dimension
                || (segmented ? BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(ElementOffset)) : 0) != ElementCode
                || BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40)) != expectedStamp
                || slotCount < 0 || slotCount > rows.SlotCount || slotCount > int.MaxValue / stride0
                || baseSlots < 0 || baseSlots > slotCount
                || baseLength < (long)baseSlots * stride0 * sizeof(int)
                || committedEnd > file.Length
                || (segmented && (segmentCount < 0 || BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(120)) != segmentCount + 1L))
                || baseOffset + baseLength > committedEnd
                || (!segmented && baseOffset + baseLength != file.Length))
            {
                return null;
            }

            long step = Internal.OpenTrace.Step("graph.header", started);
            var graph = new HnswGraph<TKernel, TElement>(rows, space, parameters, Math.Max(Math.Max(slotCount, parameters.InitialCapacity), 1));
            step = Internal.OpenTrace.Step("graph.allocate", step);

            // Each slot's level + 1 (0: absent) in one byte, noted while its record is in cache: the link checks
            // (ValidateLoaded, one per edge) look there instead of at the linked node's record, a cache miss each.
            byte[] levels = ArrayPool<byte>.Shared.Rent(Math.Max(slotCount, 1));
            try
            {
                levels.AsSpan(0, slotCount).Clear();
                file.Position = baseOffset;
                if (!graph.ReadBase(file, baseSlots, baseLength, BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(56)), version, levels))
                {
                    return null;
                }

                step = Internal.OpenTrace.Step("graph.base", step);
                ulong chain = 0;
                for (int segment = 0; segment < segmentCount; segment++)
                {
                    if (!graph.ReadSegment(file, committedEnd, segment + 2L, slotCount, version, levels, ref chain))
                    {
                        return null;
                    }
                }

                if (file.Position != committedEnd || (segmented && chain != BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(144))))
                {
                    return null;
                }

                step = Internal.OpenTrace.Step("graph.segments", step);

                // A version-4 file as it stands: the next save appends to it (older versions are rewritten whole), so each
                // node's fingerprint is taken in the same pass as its checks.
                bool appendable = version == FormatVersion;
                ulong[]? hashes = appendable ? new ulong[Math.Max(slotCount, 1)] : null;
                if (!graph.ValidateLoaded(slotCount, entryNode, maxLevel, nodeCount, levels, hashes))
                {
                    return null;
                }

                step = Internal.OpenTrace.Step("graph.validate", step);
                graph.LoadedFromOlderFormat = version < FormatVersion;
                if (appendable)
                {
                    graph._saved = new SavedFile
                    {
                        Path = fullPath,
                        Header = header,
                        Hashes = hashes!,
                        SlotCount = slotCount,
                        BaseLength = baseLength,
                        SegmentBytes = committedEnd - BaseOffset - baseLength,
                    };
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(levels);
            }

            return graph;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads the base (level-0 records of <paramref name="slotCount"/> slots, then upper arrays) and checks its checksum
    /// (by <paramref name="version"/>). The level-0 records go straight into the level-0 block in pieces of whole records,
    /// each checksummed and its nodes' levels noted in <paramref name="levels"/> while it is in cache; the upper arrays are
    /// read as one block and checksummed before a level read from the records decides how to cut it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per load, over every node: never as tier-0 code
    private bool ReadBase(FileStream file, int slotCount, long length, ulong expectedHash, int version, byte[] levels)
    {
        var hash = new BodyChecksum(version);
        int recordBytes = _stride0 * sizeof(int);
        Span<byte> level0 = MemoryMarshal.AsBytes(_level0.AsSpan(0, slotCount * _stride0));
        int piece = Math.Max(1, LoadPieceBytes / recordBytes) * recordBytes;
        int slot = 0;
        for (int offset = 0; offset < level0.Length; offset += piece)
        {
            Span<byte> part = level0.Slice(offset, Math.Min(piece, level0.Length - offset));
            long before = System.Diagnostics.Stopwatch.GetTimestamp();
            file.ReadExactly(part);
            before = Internal.OpenTrace.Step("graph.base_read0", before);
            hash.Append(part);
            for (int end = slot + (part.Length / recordBytes); slot < end; slot++)
            {
                int header = _level0[slot * _stride0];
                levels[slot] = NodeHeader.IsPresent(header) ? (byte)Math.Min(NodeHeader.Level(header) + 1, byte.MaxValue) : (byte)0;
            }

            Internal.OpenTrace.Step("graph.base_hash0", before);
        }

        long upperLength = length - level0.Length;
        if (upperLength < 0 || upperLength > int.MaxValue || upperLength % (_strideUpper * sizeof(int)) != 0)
        {
            return false;
        }

        byte[] upperBlock = ArrayPool<byte>.Shared.Rent((int)upperLength);
        try
        {
            Span<byte> upperBytes = upperBlock.AsSpan(0, (int)upperLength);
            file.ReadExactly(upperBytes);
            hash.Append(upperBytes);
            if (hash.Finish() != expectedHash)
            {
                return false;
            }

            ReadOnlySpan<int> rest = MemoryMarshal.Cast<byte, int>(upperBytes);
            for (slot = 0; slot < slotCount; slot++)
            {
                int level = NodeHeader.Level(_level0[slot * _stride0]);
                if (level == 0)
                {
                    continue;
                }

                // A corrupt level must not make us allocate or read past the base.
                int count = level * _strideUpper;
                if (level > NodeHeader.MaxLevel || count > rest.Length)
                {
                    return false;
                }

                _upper[slot] = rest[..count].ToArray();
                rest = rest[count..];
            }

            return rest.IsEmpty;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(upperBlock);
        }
    }

    /// <summary>The checksum of a base or of a segment's records: <see cref="Internal.BlockChecksum"/> from version 4, XxHash3 before.</summary>
    private sealed class BodyChecksum
    {
        private readonly XxHash3? _older;
        private Internal.BlockChecksum _block = Internal.BlockChecksum.Create();

        public BodyChecksum(int version) => _older = version < FormatVersion ? new XxHash3() : null;

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_older is not null)
            {
                _older.Append(data);
            }
            else
            {
                _block.Append(data);
            }
        }

        public ulong Finish() => _older?.GetCurrentHashAsUInt64() ?? _block.Finish();
    }

    /// <summary>
    /// Reads one segment at the file's position (it must end by <paramref name="committedEnd"/>, commit
    /// <paramref name="generation"/> and pass its checksums) and applies its records, whose slots must lie below
    /// <paramref name="slotCount"/>, noting their levels in <paramref name="levels"/>. Folds its header hash into
    /// <paramref name="chain"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ReadSegment(FileStream file, long committedEnd, long generation, int slotCount, int version, byte[] levels, ref ulong chain)
    {
        Span<byte> segment = stackalloc byte[SegmentHeaderSize];
        if (committedEnd - file.Position < SegmentHeaderSize)
        {
            return false;
        }

        file.ReadExactly(segment);
        ulong segmentHash = BinaryPrimitives.ReadUInt64LittleEndian(segment[SegmentHashOffset..]);
        long length = BinaryPrimitives.ReadInt64LittleEndian(segment[24..]);
        int records = BinaryPrimitives.ReadInt32LittleEndian(segment[16..]);
        if (BinaryPrimitives.ReadUInt64LittleEndian(segment) != SegmentMagic
            || segmentHash != XxHash3.HashToUInt64(segment[..SegmentHashOffset])
            || BinaryPrimitives.ReadInt64LittleEndian(segment[8..]) != generation
            || records < 0 || length < 0 || length > committedEnd - file.Position || length > int.MaxValue)
        {
            return false;
        }

        byte[] body = GC.AllocateUninitializedArray<byte>((int)length);
        file.ReadExactly(body);
        var hash = new BodyChecksum(version);
        hash.Append(body);
        if (hash.Finish() != BinaryPrimitives.ReadUInt64LittleEndian(segment[32..]))
        {
            return false;
        }

        ReadOnlySpan<byte> rest = body;
        int recordBytes = (1 + _stride0) * sizeof(int);
        for (int i = 0; i < records; i++)
        {
            if (rest.Length < recordBytes)
            {
                return false;
            }

            int slot = BinaryPrimitives.ReadInt32LittleEndian(rest);
            if ((uint)slot >= (uint)slotCount)
            {
                return false;
            }

            MemoryMarshal.Cast<byte, int>(rest.Slice(sizeof(int), _stride0 * sizeof(int))).CopyTo(_level0.AsSpan(slot * _stride0, _stride0));
            rest = rest[recordBytes..];
            int header = _level0[slot * _stride0];
            int level = NodeHeader.Level(header);
            int upperBytes = level * _strideUpper * sizeof(int);
            if (level > NodeHeader.MaxLevel || rest.Length < upperBytes)
            {
                return false;
            }

            levels[slot] = NodeHeader.IsPresent(header) ? (byte)Math.Min(level + 1, byte.MaxValue) : (byte)0;

            _upper[slot] = level == 0 ? null : MemoryMarshal.Cast<byte, int>(rest[..upperBytes]).ToArray();
            rest = rest[upperBytes..];
        }

        if (!rest.IsEmpty)
        {
            return false;
        }

        Span<byte> link = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(link, chain);
        BinaryPrimitives.WriteUInt64LittleEndian(link[8..], segmentHash);
        chain = XxHash3.HashToUInt64(link);
        return true;
    }

    /// <summary>
    /// See <see cref="HnswIndex.VerifyFile"/>: every checksum of the current header's base and segments, without loading.
    /// </summary>
    public static GraphFileCheck Verify(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            if (ReadCurrentHeader(file, out int version) is not { } header)
            {
                return new GraphFileCheck(null, 0, "no intact header (damaged, truncated, or not a graph file of a known version)");
            }

            long stamp = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(40));
            bool segmented = version >= Version3;
            long baseLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(48));
            long baseOffset = segmented ? BaseOffset : Version2HeaderSize;
            long committedEnd = segmented ? BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(136)) : file.Length;
            int segmentCount = segmented ? BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(128)) : 0;
            if (baseLength < 0 || committedEnd > file.Length || baseOffset + baseLength > committedEnd || (!segmented && baseOffset + baseLength != file.Length))
            {
                return new GraphFileCheck(stamp, 0, "the header describes more bytes than the file holds");
            }

            file.Position = baseOffset;
            var hash = new BodyChecksum(version);
            byte[] buffer = new byte[1 << 20];
            for (long left = baseLength; left > 0;)
            {
                int n = (int)Math.Min(buffer.Length, left);
                file.ReadExactly(buffer, 0, n);
                hash.Append(buffer.AsSpan(0, n));
                left -= n;
            }

            if (hash.Finish() != BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(56)))
            {
                return new GraphFileCheck(stamp, 0, "the base fails its checksum");
            }

            ulong chain = 0;
            Span<byte> segment = stackalloc byte[SegmentHeaderSize];
            Span<byte> link = stackalloc byte[16];
            for (int i = 0; i < segmentCount; i++)
            {
                if (committedEnd - file.Position < SegmentHeaderSize)
                {
                    return new GraphFileCheck(stamp, i, $"segment {i + 1} of {segmentCount} is missing");
                }

                file.ReadExactly(segment);
                long length = BinaryPrimitives.ReadInt64LittleEndian(segment[24..]);
                if (BinaryPrimitives.ReadUInt64LittleEndian(segment) != SegmentMagic
                    || BinaryPrimitives.ReadUInt64LittleEndian(segment[SegmentHashOffset..]) != XxHash3.HashToUInt64(segment[..SegmentHashOffset])
                    || BinaryPrimitives.ReadInt64LittleEndian(segment[8..]) != i + 2L
                    || length < 0 || length > committedEnd - file.Position)
                {
                    return new GraphFileCheck(stamp, i, $"segment {i + 1} of {segmentCount} has a damaged header");
                }

                hash = new BodyChecksum(version);
                for (long left = length; left > 0;)
                {
                    int n = (int)Math.Min(buffer.Length, left);
                    file.ReadExactly(buffer, 0, n);
                    hash.Append(buffer.AsSpan(0, n));
                    left -= n;
                }

                if (hash.Finish() != BinaryPrimitives.ReadUInt64LittleEndian(segment[32..]))
                {
                    return new GraphFileCheck(stamp, i, $"segment {i + 1} of {segmentCount} fails its checksum");
                }

                BinaryPrimitives.WriteUInt64LittleEndian(link, chain);
                segment[SegmentHashOffset..].CopyTo(link[8..]);
                chain = XxHash3.HashToUInt64(link);
            }

            return file.Position != committedEnd || (segmented && chain != BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(144)))
                ? new GraphFileCheck(stamp, segmentCount, "the segments do not match the header")
                : new GraphFileCheck(stamp, segmentCount, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new GraphFileCheck(null, 0, "the file could not be read: " + ex.Message);
        }
    }

    /// <summary>
    /// Structural check of a loaded graph (the checksum guards against damage, this against a well-formed file that
    /// would still send a walk out of bounds): header bits, counts within Mmax, links to present nodes of sufficient
    /// level, and an entry point on the top level. <paramref name="levels"/> holds each slot's level + 1 (0: absent) as
    /// the records read say. Fills <paramref name="hashes"/> (when given) with each slot's <see cref="RecordHash"/> in the
    /// same pass, while its records are in cache. Sets the counters when it passes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool ValidateLoaded(int slotCount, int entryNode, int maxLevel, int nodeCount, byte[] levels, ulong[]? hashes)
    {
        const int KnownBits = NodeHeader.PresentBit | NodeHeader.DeletedBit | (NodeHeader.LevelMask << NodeHeader.LevelShift) | NodeHeader.CountMask;
        int present = 0;
        int deleted = 0;
        for (int slot = 0; slot < slotCount; slot++)
        {
            int header = _level0[slot * _stride0];
            if (hashes is not null)
            {
                hashes[slot] = RecordHash(slot);
            }

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
                    // levels[link] ≤ lc: the linked node is absent (0) or its level is below lc.
                    if ((uint)link >= (uint)slotCount || link == slot || levels[link] <= lc)
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
