using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Storage;

/// <summary>
/// A memory-mapped file of fixed-stride float rows, one per slot, derived from SQLite.
/// <code>
/// offset  size  field
///      0     8  magic "ECARENA1"
///      8     4  version (2)
///     12     4  dimension
///     16     4  stride in floats (dimension rounded up to 16: rows are 64-byte aligned)
///     20     4  flags: bit 0 = clean (rows match the stamp and checksum below)
///     24     8  capacity in slots (file length = HeaderSize + capacity * stride * 4)
///     32     8  stamp: the collection's last write sequence number the rows cover
///     40     8  high-water slot count (rows [0, count) are covered by the checksum)
///     48     8  RowChecksum of rows [0, count) (two CRC-32C lanes)
///     56    40  owner stamp: whose rows these are (<see cref="StoreIdentity.Owner"/>: store id, collection id, write chain at the stamp)
///     96     8  XxHash3 of bytes [0, 96)
///   4096        row 0, row 1, …
/// </code>
/// The clean flag is cleared (and flushed) before the first write after a checkpoint, so a crash always
/// leaves a file that the next open rejects and rebuilds from SQLite — never a silently stale row.
/// Not thread-safe: the owning collection serializes writers and excludes readers during writes.
/// </summary>
internal sealed unsafe class VectorArena : IVectorRows, IDisposable
{
    // Size: About 450 lines: the memory-mapped file format (header, owner stamp, growth and allocation, rows checksum,
    // copy). Kept in one type so the unsafe pointer code stays in one place.

    public const int HeaderSize = 4096;

    /// <summary>
    /// Slots a new arena holds at least (a new collection, a rebuild, a compaction's rewrite): small collections never
    /// grow their file, and its graph starts with the same capacity (<see cref="Index.Hnsw.HnswParameters.DefaultInitialCapacity"/>).
    /// </summary>
    public const int MinCapacity = Index.Hnsw.HnswParameters.DefaultInitialCapacity;
    private static readonly ulong Magic = BinaryPrimitives.ReadUInt64LittleEndian("ECARENA1"u8);
    private const int Version = 3; // 3: owner stamp; 2: rows checksum is RowChecksum (CRC-32C lanes); 1 used XxHash3
    private const int OwnerOffset = 56;
    private const int HeaderHashOffset = OwnerOffset + StoreIdentity.OwnerLength;
    private const int HeaderUsed = HeaderHashOffset + 8;
    private const int CleanFlag = 1;

    private readonly string _path;
    private FileStream _file;

    /// <summary>
    /// The file's handle, taken once: <see cref="FileStream.SafeFileHandle"/> flushes the stream and moves the OS file
    /// position to the stream's on every get (an <c>lseek</c> system call), so each positional read or write through it
    /// cost two system calls. Positional I/O (<see cref="RandomAccess"/>) does not use the file position.
    /// </summary>
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private MemoryMappedFile _map;
    private MemoryMappedViewAccessor _view;
    private byte* _base;
    private bool _dirty;

    /// <summary>
    /// Every byte of the file is known to be allocated on disk, so no write through the mapping can fault. True for a
    /// file this process created or grew (<see cref="FileAllocation.Reserve"/>); an opened file may be sparse (an older
    /// version extended it with SetLength) until the first write reserves it.
    /// </summary>
    private bool _allocated;

    /// <summary>The rows' checksum as read from the header at open (see <see cref="VerifyRows"/>).</summary>
    private ulong _headerRowsChecksum;

    /// <summary>The stamp the header holds while it is clean (opened clean or checkpointed); null otherwise.</summary>
    private long? _cleanStamp;

    /// <summary>The owner stamp the header holds while it is clean.</summary>
    private byte[] _cleanOwner = [];

    private VectorArena(string path, int dimension, FileStream file, long capacity)
    {
        _path = path;
        Dimension = dimension;
        Stride = (dimension + 15) & ~15;
        _file = file;
        _handle = file.SafeFileHandle;
        Capacity = capacity;
        nint p;
        (_map, _view, p) = Map(file);
        _base = (byte*)p;
    }

    public int Dimension { get; }

    /// <summary>
    /// Rows are read and written with positional I/O (<see cref="RandomAccess"/>) instead of through the mapping, so
    /// they do not enter the process's resident memory: set for a quantized collection, whose graph walks its
    /// <see cref="Compact"/> rows and reads float32 rows only to re-rank (<see cref="ReadRow"/>), and before the rows'
    /// checksum is verified. The exact scans (small collections, records not yet linked) and the sketch scan's re-ranked
    /// rows still read the mapping.
    /// </summary>
    public bool Cold { get; set; }

    /// <summary>The float16 copy of the rows the graph of a <c>float16</c> collection walks (<see cref="EnsureCompact"/>); kept in step with every write.</summary>
    public HalfRows? Compact { get; private set; }

    /// <summary>The 8-bit copy of the rows the graph of an <c>int8</c> collection walks (<see cref="EnsureCodes"/>); kept in step with every write.</summary>
    public ByteRows? Codes { get; private set; }

    /// <summary>
    /// The sign sketch of the rows, ready or being filled in the background (see <see cref="SignSketch.Ready"/>); null
    /// until a filtered query first needs it. Kept in step with every write.
    /// </summary>
    public SignSketch? Sketch => Volatile.Read(ref _sketch);

    private SignSketch? _sketch;
    private readonly Lock _sketchBuild = new();

    /// <summary>
    /// A ready <see cref="SignSketch"/> of rows [0, <see cref="SlotCount"/>): the current one if ready, else built now
    /// (through the mapping, in parallel; or with positional I/O when <see cref="Cold"/>), replacing one still being
    /// filled. Kept in step with every later write. Called by queries under the collection's read lock (no write
    /// meanwhile); concurrent callers build it once.
    /// </summary>
    public SignSketch EnsureSketch()
    {
        if (Sketch is { Ready: true } built)
        {
            return built;
        }

        lock (_sketchBuild)
        {
            if (Sketch is { Ready: true } raced)
            {
                return raced;
            }

            var sketch = Cold ? SignSketch.Build(Dimension, SlotCount, CompactCapacity, ReadRow, VisitRows) : SignSketch.Build(this, CompactCapacity);
            Volatile.Write(ref _sketch, sketch);
            return sketch;
        }
    }

    /// <summary>
    /// Installs an empty sketch of rows [0, <see cref="SlotCount"/>) to be filled in the background (<see cref="FillSketch"/>);
    /// returns one installed before and left unready (its fill stopped by an error: filling it again from the start is
    /// harmless, rows being coded from what is stored), or null when the sketch is ready. Every later write is coded
    /// into it. Caller holds the collection's read lock and is the collection's only filler.
    /// </summary>
    public SignSketch? BeginSketch()
    {
        lock (_sketchBuild)
        {
            if (Sketch is { } existing)
            {
                return existing.Ready ? null : existing;
            }

            var sketch = SignSketch.Begin(Dimension, SlotCount, CompactCapacity, Cold ? ReadRow : (slot, row) => GetRow(slot).CopyTo(row));
            Volatile.Write(ref _sketch, sketch);
            return sketch;
        }
    }

    /// <summary>Codes rows [<paramref name="from"/>, <paramref name="to"/>) into a sketch begun by <see cref="BeginSketch"/>. Caller holds the collection's read lock.</summary>
    public void FillSketch(SignSketch sketch, int from, int to)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        if (!Cold)
        {
            for (var slot = from; slot < to; slot++)
            {
                sketch.Fill(slot, GetRow(slot));
            }

            return;
        }

        var row = new float[Dimension];
        for (var slot = from; slot < to; slot++)
        {
            ReadRow(slot, row);
            sketch.Fill(slot, row);
        }
    }

    /// <summary>Calls <paramref name="visitor"/> with rows [0, <see cref="SlotCount"/>) in slot order, read with positional I/O (a <see cref="Cold"/> arena's rows stay out of memory).</summary>
    private void VisitRows(SignSketch.RowVisitor visitor)
    {
        var next = 0;
        foreach (var row in ReadRows())
        {
            visitor(next++, row.Span);
        }
    }

    /// <summary>
    /// The 8-bit copy of rows [0, <see cref="SlotCount"/>), its ranges trained on those rows, built on first use (read
    /// with positional I/O) and kept in step with every later write; makes the arena <see cref="Cold"/>.
    /// </summary>
    public ByteRows EnsureCodes()
    {
        Cold = true;
        if (Codes is not null)
        {
            return Codes;
        }

        var codes = ByteRows.Train(Dimension, CompactCapacity, ReadRows());
        foreach (var (slot, row) in ReadRows().Select((row, slot) => (slot, row)))
        {
            codes.Write(slot, row.Span);
        }

        Codes = codes;
        return codes;
    }

    /// <summary>
    /// Switches the arena to serve <paramref name="storage"/> (a changed <c>vector_storage</c>): drops the compact copy of
    /// another storage (its graph is gone; the new one is built by <see cref="EnsureCompact"/> / <see cref="EnsureCodes"/>)
    /// and reads float32 rows through the mapping again for <c>float32</c>. Caller holds the collection write lock.
    /// </summary>
    public void UseStorage(VectorStorage storage, object? prepared = null)
    {
        var (oldCompact, oldCodes) = (Compact, Codes);
        Compact = storage == VectorStorage.Float16 ? prepared as HalfRows : null;
        Codes = storage == VectorStorage.Int8 ? prepared as ByteRows : null;
        Cold = storage != VectorStorage.Float32;

        // Under the write lock: no walk of the old graph is under way, and the next one starts over the new rows.
        if (!ReferenceEquals(oldCompact, Compact))
        {
            oldCompact?.Dispose();
        }

        if (!ReferenceEquals(oldCodes, Codes))
        {
            oldCodes?.Dispose();
        }
    }

    /// <summary>
    /// The compact copy <paramref name="storage"/> needs (a <see cref="HalfRows"/> or a trained <see cref="ByteRows"/>),
    /// built from rows [0, <see cref="SlotCount"/>) with positional I/O without installing it, or null for float32: lets
    /// a storage change build it while queries still walk the old graph. The caller keeps writes out until
    /// <see cref="UseStorage"/> installs it (they would not be mirrored into it).
    /// </summary>
    public object? BuildCompact(VectorStorage storage)
    {
        switch (storage)
        {
            case VectorStorage.Int8:
                var codes = ByteRows.Train(Dimension, CompactCapacity, ReadRows());
                foreach (var (slot, row) in ReadRows().Select((row, slot) => (slot, row)))
                {
                    codes.Write(slot, row.Span);
                }

                return codes;
            case VectorStorage.Float16:
                var compact = new HalfRows(Dimension, CompactCapacity);
                foreach (var (slot, row) in ReadRows().Select((row, slot) => (slot, row)))
                {
                    compact.Write(slot, row.Span);
                }

                return compact;
            default:
                return null;
        }
    }

    /// <summary>
    /// The first capacity of a compact copy (built, or loaded at open): the rows there are plus a 64th (not the file's
    /// capacity, which grows ahead by doubling). Was an eighth: that headroom is memory the storage exists to save (an
    /// int8 collection of 1,000,000 × 384 held 480.7 MiB of rows for 427 MiB used, 0.33× float32's instead of 0.29×); the
    /// first writes past it grow the rows by half, as any growing collection does.
    /// </summary>
    public int CompactCapacity => (int)Math.Min(int.MaxValue / 2, SlotCount + Math.Max(64L, SlotCount / 64L));

    /// <summary>Rows [0, <see cref="SlotCount"/>) in slot order, read with positional I/O a chunk at a time (each row valid until the next).</summary>
    private IEnumerable<ReadOnlyMemory<float>> ReadRows()
    {
        var rowBytes = Stride * sizeof(float);
        var rowsPerChunk = Math.Max(1, (1 << 20) / rowBytes);
        var buffer = new float[rowsPerChunk * Stride];
        for (var first = 0; first < SlotCount; first += rowsPerChunk)
        {
            var rows = Math.Min(rowsPerChunk, SlotCount - first);
            ReadExactly(HeaderSize + ((long)first * rowBytes), System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, rows * Stride)));
            for (var r = 0; r < rows; r++)
            {
                yield return buffer.AsMemory(r * Stride, Dimension);
            }
        }
    }

    /// <summary>
    /// The float16 copy of rows [0, <see cref="SlotCount"/>), built on first use (read with positional I/O) and kept
    /// in step with every later write; makes the arena <see cref="Cold"/>.
    /// </summary>
    public HalfRows EnsureCompact()
    {
        Cold = true;
        if (Compact is not null)
        {
            return Compact;
        }

        var compact = new HalfRows(Dimension, CompactCapacity);
        var rowBytes = Stride * sizeof(float);
        var rowsPerChunk = Math.Max(1, (1 << 20) / rowBytes);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(rowsPerChunk * rowBytes);
        try
        {
            for (var first = 0; first < SlotCount; first += rowsPerChunk)
            {
                var rows = Math.Min(rowsPerChunk, SlotCount - first);
                var bytes = buffer.AsSpan(0, rows * rowBytes);
                ReadExactly(HeaderSize + ((long)first * rowBytes), bytes);
                var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
                for (var r = 0; r < rows; r++)
                {
                    compact.Write(first + r, floats.Slice(r * Stride, Dimension));
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        Compact = compact;
        return compact;
    }

    /// <summary>Copies the float32 row of <paramref name="slot"/> into <paramref name="destination"/> with positional I/O (re-ranking; thread-safe with other reads).</summary>
    public void ReadRow(int slot, Span<float> destination)
    {
        Debug.Assert(slot >= 0 && slot < SlotCount, $"slot {slot} is outside the arena's rows {SlotCount}");
        ReadExactly(HeaderSize + ((long)slot * Stride * sizeof(float)), System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination[..Dimension]));
    }

    private void ReadExactly(long offset, Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            var read = RandomAccess.Read(_handle, destination, offset);
            if (read <= 0)
            {
                throw new IOException($"The vector arena {_path} ended early at byte {offset}.");
            }

            destination = destination[read..];
            offset += read;
        }
    }

    /// <summary>
    /// A stand-in outside the store folder (built there because the store's disk was full): its file is deleted on
    /// <see cref="Dispose"/>, and the store's own arena file is rebuilt by a later open.
    /// </summary>
    public bool IsScratch { get; private set; }

    /// <summary>Floats per row, a multiple of 16.</summary>
    public int Stride { get; }

    public long Capacity { get; private set; }

    /// <summary>One past the highest slot ever written.</summary>
    public int SlotCount { get; private set; }

    /// <summary>
    /// Opens the arena if its header is intact, clean, stamped with <paramref name="expectedStamp"/> and its
    /// rows match their checksum; otherwise returns <see langword="null"/> (the caller rebuilds).
    /// </summary>
    public static VectorArena? TryOpen(string path, int dimension, long expectedStamp, byte[] expectedOwner) => TryOpen(path, dimension, expectedStamp, expectedOwner, verifyRows: true, out _);

    /// <summary>
    /// Like <see cref="TryOpen(string, int, long, byte[])"/>, saying in <paramref name="problem"/> why the file could not be
    /// used (null when it was opened). With <paramref name="verifyRows"/> false the rows' checksum is left for
    /// <see cref="VerifyRows"/>, which the caller must run (and act on) before trusting a row.
    /// </summary>
    public static VectorArena? TryOpen(string path, int dimension, long expectedStamp, byte[] expectedOwner, bool verifyRows, out string? problem)
    {
        problem = null;
        if (!File.Exists(path))
        {
            problem = "is missing";
            return null;
        }

        FileStream? file = null;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            Span<byte> header = stackalloc byte[HeaderUsed];
            if (file.Length < HeaderSize || file.Read(header) != HeaderUsed)
            {
                file.Dispose();
                problem = "is truncated";
                return null;
            }

            var stride = (dimension + 15) & ~15;
            var capacity = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
            var count = BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
            var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            var stamp = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
            problem = BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic
                    ? "has a damaged header"
                : version is > 0 and < Version
                    ? $"has an older format (version {version}, now {Version})"
                : BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) != XxHash3.HashToUInt64(header[..HeaderHashOffset])
                    ? "has a damaged header"
                : version != Version
                || BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != dimension
                || BinaryPrimitives.ReadInt32LittleEndian(header[16..]) != stride
                    ? "has another version or shape"
                : (BinaryPrimitives.ReadInt32LittleEndian(header[20..]) & CleanFlag) == 0
                    ? "was not closed cleanly (the process stopped while it was open)"
                : stamp > expectedStamp
                    ? $"is newer than the database (stamped at write {stamp}, the database's last write for the collection is {expectedStamp})"
                : stamp != expectedStamp
                    ? $"is stamped for an older write ({stamp}) than the database's last one ({expectedStamp})"
                : !header.Slice(OwnerOffset, StoreIdentity.OwnerLength).SequenceEqual(expectedOwner)
                    ? "belongs to another collection or another copy of the store (its owner stamp differs)"
                : capacity < 0 || count < 0 || count > capacity || count > int.MaxValue
                || file.Length != HeaderSize + (capacity * stride * sizeof(float))
                    ? "has the wrong length"
                : null;
            if (problem is not null)
            {
                file.Dispose();
                return null;
            }

            var arena = new VectorArena(path, dimension, file, capacity)
            {
                SlotCount = (int)count,
                _cleanStamp = expectedStamp,
                _cleanOwner = expectedOwner,
                _headerRowsChecksum = BinaryPrimitives.ReadUInt64LittleEndian(header[48..]),
            };
            file = null;
            if (verifyRows && (problem = arena.VerifyRows()) is not null)
            {
                arena.Dispose();
                return null;
            }

            return arena;
        }
        catch (IOException ex)
        {
            file?.Dispose();
            problem = $"could not be read ({ex.GetType().Name})";
            return null;
        }
    }

    /// <summary>
    /// Checks the rows against the checksum the header held when the file was opened: null when they match, else why
    /// not. Reads every row once (about 150 MB at 100,000 × 384); safe on another thread while nothing writes.
    /// </summary>
    public string? VerifyRows() => RowsChecksum() == _headerRowsChecksum ? null : "fails its checksum (damaged rows)";

    /// <summary>
    /// Checks the header as the file holds it now (read through the mapping, so damage done to the file while it is open
    /// shows): magic, version, shape, capacity and length, the header's checksum; and when it is marked clean, its stamp
    /// (at most <paramref name="lastStamp"/>), its owner stamp (<paramref name="ownerAt"/> of that stamp) and the rows'
    /// checksum. Null when sound, else why not. Reads every row when clean; caller keeps writers out
    /// (<c>ChromaClient.VerifyIntegrity</c>).
    /// </summary>
    public string? VerifyHeader(long lastStamp, Func<long, byte[]> ownerAt)
    {
        var header = new ReadOnlySpan<byte>(_base, HeaderUsed);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != Version)
        {
            return "has a damaged header (magic or version)";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderHashOffset..]) != XxHash3.HashToUInt64(header[..HeaderHashOffset]))
        {
            return "has a damaged header (it fails its checksum)";
        }

        if (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != Dimension
            || BinaryPrimitives.ReadInt32LittleEndian(header[16..]) != Stride
            || BinaryPrimitives.ReadInt64LittleEndian(header[24..]) != Capacity
            || _file.Length != HeaderSize + (Capacity * Stride * sizeof(float)))
        {
            return "has another shape or length than the open arena";
        }

        if ((BinaryPrimitives.ReadInt32LittleEndian(header[20..]) & CleanFlag) == 0)
        {
            return null; // Written since its last checkpoint: the close stamps it clean again.
        }

        var stamp = BinaryPrimitives.ReadInt64LittleEndian(header[32..]);
        if (stamp > lastStamp)
        {
            return $"is stamped clean for a write ({stamp}) newer than the collection's last ({lastStamp})";
        }

        if (!header.Slice(OwnerOffset, StoreIdentity.OwnerLength).SequenceEqual(ownerAt(stamp)))
        {
            return "belongs to another collection or another copy of the store (its owner stamp differs)";
        }

        if (BinaryPrimitives.ReadInt64LittleEndian(header[40..]) != SlotCount)
        {
            return "is marked clean with another row count than the open arena";
        }

        return RowsChecksum() == BinaryPrimitives.ReadUInt64LittleEndian(header[48..]) ? null : "is marked clean but fails its rows checksum (damaged rows)";
    }

    /// <summary>Creates (or replaces) an empty arena file.</summary>
    public static VectorArena Create(string path, int dimension, long capacity)
    {
        capacity = Math.Max(capacity, 64);
        var stride = (dimension + 15) & ~15;
        var file = Internal.OwnerOnly.Open(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        try
        {
            // Reserved for real before it is mapped: a full disk fails here, never as a fault on a mapped page.
            FileAllocation.Reserve(file, path, 0, HeaderSize + (capacity * stride * sizeof(float)));
        }
        catch
        {
            file.Dispose();
            TryDeleteFile(path);
            throw;
        }

        var arena = new VectorArena(path, dimension, file, capacity) { _allocated = true };
        arena.WriteHeader(clean: false, stamp: -1);
        return arena;
    }

    private static (MemoryMappedFile, MemoryMappedViewAccessor, nint) Map(FileStream file)
    {
        var map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        return (map, view, (nint)(p + view.PointerOffset));
    }

    public ReadOnlySpan<float> GetRow(int slot)
    {
        // Debug only: the hot paths (exact scan, graph walk) read rows through FirstRow/RowStride; this one serves
        // compaction and tests, and a slot past the capacity would read outside the mapping.
        Debug.Assert(slot >= 0 && slot < Capacity, $"slot {slot} is outside the arena's capacity {Capacity}");
        return new((float*)(_base + HeaderSize) + ((long)slot * Stride), Dimension);
    }

    /// <inheritdoc />
    public ref readonly float FirstRow => ref *(float*)(_base + HeaderSize);

    /// <inheritdoc />
    public int RowStride => Stride;

    /// <summary>
    /// Makes room for slots [0, <paramref name="slots"/>) with every byte of the file allocated on disk, growing the
    /// file when needed (to twice its capacity, or exactly what is needed when the disk has no room for that). Call it
    /// before the SQLite transaction that writes the rows commits: a full disk then fails the batch, which rolls back.
    /// </summary>
    /// <exception cref="IOException">The disk has no room (HResult 28, ENOSPC) or another I/O error.</exception>
    public void Reserve(long slots)
    {
        EnsureAllocated();
        if (slots <= Capacity)
        {
            return;
        }

        try
        {
            Grow(Math.Max(slots, Capacity * 2));
        }
        catch (IOException) when (Capacity * 2 > slots)
        {
            Grow(slots);
        }
    }

    /// <summary>The bytes the file must grow by to hold <paramref name="slots"/> slots (0 when it already does).</summary>
    public long BytesToHold(long slots) => Math.Max(0, (slots - Capacity) * Stride * sizeof(float));

    /// <summary>Allocates the holes of a sparse file opened from disk (rows past the high-water count hold no data).</summary>
    private void EnsureAllocated()
    {
        if (_allocated)
        {
            return;
        }

        long used = HeaderSize + ((long)SlotCount * Stride * sizeof(float));
        FileAllocation.Reserve(_file, _path, used, _file.Length - used);
        _allocated = true;
    }

    /// <summary>Writes a row (the caller has already normalized it for cosine). Grows the file when needed.</summary>
    public void Write(int slot, ReadOnlySpan<float> row)
    {
        EnsureAllocated();
        MarkDirty();
        if (slot >= Capacity)
        {
            Grow(Math.Max(slot + 1L, Capacity * 2));
        }

        if (Cold)
        {
            RandomAccess.Write(_handle, System.Runtime.InteropServices.MemoryMarshal.AsBytes(row), HeaderSize + ((long)slot * Stride * sizeof(float)));
        }
        else
        {
            var destination = new Span<float>((float*)(_base + HeaderSize) + ((long)slot * Stride), Stride);
            row.CopyTo(destination);
            destination[row.Length..].Clear();
        }

        if (slot >= SlotCount)
        {
            SlotCount = slot + 1;
        }

        Compact?.Write(slot, row);
        Codes?.Write(slot, row);
        _sketch?.Write(slot, row);
    }

    /// <summary>Writes one vector into its slot, normalized for cosine so cosine distance is 1 − dot.</summary>
    public void WriteVector(int slot, ReadOnlySpan<float> vector, DistanceSpace space)
    {
        if (Cold)
        {
            // Through positional I/O, not the mapping (see Cold); Write mirrors it into the compact rows.
            var buffer = System.Buffers.ArrayPool<float>.Shared.Rent(Dimension);
            try
            {
                var normalized = buffer.AsSpan(0, Dimension);
                if (space == DistanceSpace.Cosine)
                {
                    Distance.VectorMath.Normalize(vector, normalized);
                }
                else
                {
                    vector.CopyTo(normalized);
                }

                Write(slot, normalized);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(buffer);
            }

            return;
        }

        var row = WritableRow(slot);
        if (space == DistanceSpace.Cosine)
        {
            Distance.VectorMath.Normalize(vector, row);
        }
        else
        {
            vector.CopyTo(row);
        }

        Compact?.Write(slot, row);
        Codes?.Write(slot, row);
        _sketch?.Write(slot, row);
    }

    /// <summary>Writes a row and returns a span over it, for normalizing in place.</summary>
    public Span<float> WritableRow(int slot)
    {
        Debug.Assert(slot >= 0, $"slot {slot} is negative");
        EnsureAllocated();
        MarkDirty();
        if (slot >= Capacity)
        {
            Grow(Math.Max(slot + 1L, Capacity * 2));
        }

        if (slot >= SlotCount)
        {
            SlotCount = slot + 1;
        }

        Debug.Assert(slot < Capacity, $"slot {slot} is outside the arena's capacity {Capacity} after growing");
        return new Span<float>((float*)(_base + HeaderSize) + ((long)slot * Stride), Dimension);
    }

    private void MarkDirty()
    {
        if (_dirty)
        {
            return;
        }

        WriteHeader(clean: false, stamp: -1);
        _view.Flush();
        _dirty = true;
        _cleanStamp = null;
    }

    private void Grow(long capacity)
    {
        // Allocate the extension while the old mapping still stands: on a full disk nothing has changed.
        var length = HeaderSize + (capacity * Stride * sizeof(float));
        FileAllocation.Reserve(_file, _path, _file.Length, length - _file.Length);
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        // Unmapped without the accessor's flush: disposing a MemoryMappedViewAccessor msyncs the whole old mapping
        // (MS_SYNC), which made every growth of the arena write and wait for all its rows, under the collection's write
        // lock (tens of milliseconds at 10,000 rows, more the bigger the arena). Not needed: the rows are the file's
        // pages in the page cache, which the new mapping sees and the kernel writes back as usual (a killed process
        // keeps them), the header already says dirty (MarkDirty flushed that), and the rows are rebuilt from SQLite
        // after a power loss. Checkpoint flushes explicitly, as before.
        _view.SafeMemoryMappedViewHandle.Dispose();
        _view.Dispose();
        _map.Dispose();
        Capacity = capacity;
        nint p;
        (_map, _view, p) = Map(_file);
        _base = (byte*)p;
        WriteHeader(clean: false, stamp: -1);
    }

    private ulong RowsChecksum()
    {
        var state = RowChecksum.Begin();
        long length = (long)SlotCount * Stride * sizeof(float);
        if (Cold)
        {
            // Read with positional I/O: the rows stay out of the process's resident memory (see Cold).
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                for (long offset = 0; offset < length; offset += 1 << 20)
                {
                    var chunk = buffer.AsSpan(0, (int)Math.Min(1 << 20, length - offset));
                    ReadExactly(HeaderSize + offset, chunk);
                    RowChecksum.Append(ref state, chunk);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            return RowChecksum.Finish(state);
        }

        for (long offset = 0; offset < length; offset += 1 << 30)
        {
            RowChecksum.Append(ref state, new ReadOnlySpan<byte>(_base + HeaderSize + offset, (int)Math.Min(1 << 30, length - offset)));
        }

        return RowChecksum.Finish(state);
    }

    /// <summary>
    /// Writes a clean copy of rows [0, <see cref="SlotCount"/>) to <paramref name="path"/>, stamped with
    /// <paramref name="stamp"/> and checksummed, as <see cref="Checkpoint"/> would leave this file (a backup of a
    /// collection whose arena is open and may be dirty). Caller keeps writers out. Returns the bytes written.
    /// </summary>
    public long CopyTo(string path, long stamp, byte[] owner)
    {
        using var copy = Create(path, Dimension, Math.Max(SlotCount, 1));
        if (SlotCount > 0)
        {
            long bytes = (long)SlotCount * Stride * sizeof(float);
            Buffer.MemoryCopy(_base + HeaderSize, copy._base + HeaderSize, bytes, bytes);
            copy.SlotCount = SlotCount;
            copy._dirty = true;
        }

        copy.Checkpoint(stamp, owner);
        return copy._file.Length;
    }

    /// <summary>Flushes the rows, then stamps the header clean with <paramref name="stamp"/> and <paramref name="owner"/>.</summary>
    public void Checkpoint(long stamp, byte[] owner)
    {
        if (!_dirty && _cleanStamp == stamp && _cleanOwner.AsSpan().SequenceEqual(owner))
        {
            // Nothing changed since the header was stamped clean: leave the file untouched.
            return;
        }

        _view.Flush();
        WriteHeader(clean: true, stamp: stamp, owner);
        _view.Flush();
        _file.Flush(flushToDisk: true);
        _dirty = false;
        _cleanStamp = stamp;
        _cleanOwner = owner;
    }

    private void WriteHeader(bool clean, long stamp, ReadOnlySpan<byte> owner = default)
    {
        var header = new Span<byte>(_base, HeaderUsed);
        BinaryPrimitives.WriteUInt64LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], Stride);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], clean ? CleanFlag : 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], Capacity);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], stamp);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], SlotCount);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], clean ? RowsChecksum() : 0);
        header.Slice(OwnerOffset, StoreIdentity.OwnerLength).Clear();
        owner.CopyTo(header[OwnerOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderHashOffset..], XxHash3.HashToUInt64(header[..HeaderHashOffset]));
    }

    public void Dispose()
    {
        if (_base is null)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
        _file.Dispose();
        _base = null;
        Compact?.Dispose();
        Codes?.Dispose();
        _sketch?.Dispose();
        if (IsScratch)
        {
            TryDeleteFile(_path);
        }
    }

    /// <summary>
    /// Creates an empty arena in <paramref name="folder"/> (outside the store folder) whose file is deleted on dispose: the
    /// stand-in for a collection whose arena cannot be rebuilt on the store's full disk (see <see cref="IsScratch"/>).
    /// </summary>
    public static VectorArena CreateScratch(string folder, Guid collection, int dimension, long capacity)
    {
        var path = System.IO.Path.Combine(folder, $"ec-arena-{collection:N}-{Guid.NewGuid():N}.vec");
        var arena = Create(path, dimension, capacity);
        arena.IsScratch = true;
        return arena;
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An empty leftover is rejected (truncated) and replaced on the next load.
        }
    }

    /// <summary>Deletes the arena file of a dropped collection.</summary>
    public static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    public override string ToString() => $"VectorArena({_path}, dim {Dimension}, {SlotCount} slots)";
}
