using System.Runtime.ConstrainedExecution;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Rows of a fixed stride in native memory that grow in place: the memory of the compact copies of a collection's
/// vectors (<c>Storage.ByteRows</c>, <c>Storage.HalfRows</c>) and of the filtered sketch (<c>Index.SignSketch</c>).
/// Address space for many times the rows is reserved up front (at least <see cref="MinimumReservation"/>, or what the
/// owner asks) and made readable and writable a step at a time as rows are written, and
/// the operating system backs a page with memory only when it is first written, so the memory held follows the rows
/// written (<see cref="ResidentBytes"/>) rather than the room made for them, and rows never move while they fit the
/// reservation: growing copies nothing. They were pinned managed arrays that grew by half, which held up to half again
/// the rows' memory (an int8 copy of 1,000,000 × 384 allocated 0.32× float32's rows for 0.29× written), copied every
/// row under the collection's write lock at each growth, and could not pass 2 GiB (an int8 copy of 1536-d rows stopped
/// at 1.34M rows). Past the reservation the rows move once to one four times the size (under the same lock).
/// </summary>
/// <remarks>
/// Not thread-safe: grown and written only under the collection's write lock (a build may write different rows at once,
/// before anyone reads them), read under its read lock (so no read
/// overlaps a move). Where address space cannot be reserved (another platform, or a limit on it), the rows live in one
/// allocation that moves when it grows, as the arrays did.
/// </remarks>
internal sealed unsafe partial class NativeRows : CriticalFinalizerObject, IDisposable
{
    /// <summary>The least address space reserved (a 384-d int8 copy fits 19M rows in it; reserved space that is never written costs no memory).</summary>
    internal const long MinimumReservation = 8L << 30;

    private byte* _base;
    private long _reserved;
    private long _committed;
    private bool _mapped;

    private readonly long _minimumReservation;
    private readonly bool _reserve;

    /// <summary>Room for at least <paramref name="capacity"/> rows of <paramref name="strideBytes"/> bytes each.</summary>
    public NativeRows(int strideBytes, int capacity)
        : this(strideBytes, capacity, MinimumReservation)
    {
    }

    /// <summary>
    /// As <see cref="NativeRows(int, int)"/> with another least reservation (tests: moving past it), or with none at all
    /// when <paramref name="reserve"/> is false (tests: the path of a platform where address space cannot be reserved).
    /// </summary>
    internal NativeRows(int strideBytes, int capacity, long minimumReservation, bool reserve = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(strideBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        StrideBytes = strideBytes;
        _minimumReservation = minimumReservation;
        _reserve = reserve;
        Allocate(Math.Max(1L, capacity) * strideBytes, 0);
    }

    ~NativeRows() => Release();

    /// <summary>Bytes from the start of one row to the start of the next.</summary>
    public int StrideBytes { get; }

    /// <summary>Rows [0, SlotCount) are present.</summary>
    public int SlotCount { get; private set; }

    /// <summary>Rows that fit in the memory made usable so far (more is made usable on the next write past them).</summary>
    public int Capacity => (int)Math.Min(int.MaxValue, _committed / StrideBytes);

    /// <summary>Bytes of rows [0, <see cref="SlotCount"/>).</summary>
    public long UsedBytes => (long)SlotCount * StrideBytes;

    /// <summary>
    /// Memory the rows hold: the pages rows [0, <see cref="SlotCount"/>) lie on. The room beyond them is never written,
    /// so it is never backed (where the rows could not reserve address space, the whole allocation counts).
    /// </summary>
    public long ResidentBytes => _mapped ? Math.Min(_committed, RoundUp(UsedBytes, Environment.SystemPageSize)) : _committed;

    /// <summary>The first byte of row 0 (64-byte aligned); valid until the next write that grows the rows past their reservation.</summary>
    public ref byte First
    {
        get
        {
            ObjectDisposedException.ThrowIf(_base is null, this);
            return ref *_base;
        }
    }

    /// <summary>Row <paramref name="slot"/>'s <see cref="StrideBytes"/> bytes (a present row).</summary>
    public Span<byte> Row(int slot)
    {
        ObjectDisposedException.ThrowIf(_base is null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)SlotCount, nameof(slot));
        return new Span<byte>(_base + ((long)slot * StrideBytes), StrideBytes);
    }

    /// <summary>Row <paramref name="slot"/> to be written, made present (with every row before it) first.</summary>
    public Span<byte> WritableRow(int slot)
    {
        ObjectDisposedException.ThrowIf(_base is null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        if (slot >= SlotCount)
        {
            EnsureBytes((slot + 1L) * StrideBytes);
            SlotCount = slot + 1;
        }

        return new Span<byte>(_base + ((long)slot * StrideBytes), StrideBytes);
    }

    /// <summary>Makes rows [0, <paramref name="slotCount"/>) present, to be filled with <see cref="LoadBytes"/> (loading a saved copy).</summary>
    public void SetSlotCount(int slotCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slotCount);
        EnsureBytes((long)slotCount * StrideBytes);
        SlotCount = slotCount;
    }

    /// <summary><paramref name="length"/> bytes of the rows from <paramref name="offset"/> (within <see cref="UsedBytes"/>), for saving.</summary>
    public ReadOnlySpan<byte> Bytes(long offset, int length) => LoadBytes(offset, length);

    /// <summary><paramref name="length"/> bytes of the rows from <paramref name="offset"/> (within <see cref="UsedBytes"/>), to be filled when loading.</summary>
    public Span<byte> LoadBytes(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_base is null, this);
        if (offset < 0 || length < 0 || offset + length > UsedBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + length}) are outside the rows' {UsedBytes}");
        }

        return new Span<byte>(_base + offset, length);
    }

    /// <summary>True when both hold the same present rows, byte for byte.</summary>
    public bool SameBytes(NativeRows other)
    {
        if (other.UsedBytes != UsedBytes)
        {
            return false;
        }

        const int Chunk = 1 << 20;
        for (long at = 0; at < UsedBytes; at += Chunk)
        {
            var length = (int)Math.Min(Chunk, UsedBytes - at);
            if (!Bytes(at, length).SequenceEqual(other.Bytes(at, length)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Frees the memory. Only when no reader can still hold <see cref="First"/> (the rows' owner is being replaced under the write lock, or dropped).</summary>
    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        if (_base is null)
        {
            return;
        }

        Free(_base, _reserved, _mapped);
        _base = null;
        _reserved = _committed = 0;
    }

    private void EnsureBytes(long bytes)
    {
        ObjectDisposedException.ThrowIf(_base is null, this);
        if (bytes <= _committed)
        {
            return;
        }

        if (bytes <= _reserved)
        {
            // A step of an eighth (at least 1 MiB) at a time: a few calls to the OS as the rows grow, and since a page is
            // backed only when written, the room made ahead costs no memory.
            var target = Math.Min(_reserved, RoundUp(Math.Max(bytes, _committed + Math.Max(_committed / 8, 1L << 20)), Environment.SystemPageSize));
            if (Commit(_base + _committed, target - _committed))
            {
                _committed = target;
                return;
            }
        }

        // Past the reservation (or the OS refused more of it): move to a larger one.
        var oldBase = _base;
        var (oldReserved, oldMapped, used) = (_reserved, _mapped, UsedBytes);
        Allocate(Math.Max(bytes, _committed + (_committed / 2)), bytes);
        Buffer.MemoryCopy(oldBase, _base, _committed, used);
        Free(oldBase, oldReserved, oldMapped);
    }

    /// <summary>Sets up new memory with at least <paramref name="bytes"/> usable (the first <paramref name="bytes"/> when moving).</summary>
    private void Allocate(long bytes, long minimum)
    {
        bytes = RoundUp(Math.Max(bytes, minimum), Environment.SystemPageSize);
        // A 32-bit process has 2–4 GiB of address space in all: a quarter of it at most.
        var most = IntPtr.Size == 4 ? 1L << 30 : long.MaxValue;
        for (var reservation = RoundUp(Math.Min(most, Math.Max(_minimumReservation, 4 * bytes)), 1L << 16); _reserve && reservation >= bytes; reservation /= 2)
        {
            var size = RoundUp(reservation, Environment.SystemPageSize);
            var reserved = Reserve(size);
            if (reserved is null)
            {
                continue;
            }

            if (Commit(reserved, bytes))
            {
                _base = reserved;
                (_reserved, _committed, _mapped) = (size, bytes, true);
                return;
            }

            Free(reserved, size, mapped: true);
            break;
        }

        // No reservation: one allocation of the size needed, which a later growth replaces (moving the rows).
        var block = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        if (block is null)
        {
            throw new InsufficientMemoryException($"No memory for {bytes} bytes of rows.");
        }

        _base = block;
        (_reserved, _committed, _mapped) = (bytes, bytes, false);
    }

    private static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    private static byte* Reserve(long bytes)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                return (byte*)Windows.VirtualAlloc(null, (nuint)bytes, Windows.MemReserve, Windows.PageNoAccess);
            }

            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
            {
                var anonymous = OperatingSystem.IsLinux() ? Unix.MapAnonymousLinux : Unix.MapAnonymousBsd;
                var address = Unix.Map(null, (nuint)bytes, Unix.ProtNone, Unix.MapPrivate | anonymous, -1, 0);
                return address == Unix.MapFailed ? null : (byte*)address;
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No reservation on this platform: see Allocate.
        }

        return null;
    }

    private static bool Commit(byte* address, long bytes)
    {
        if (bytes == 0)
        {
            return true;
        }

        return OperatingSystem.IsWindows()
            ? Windows.VirtualAlloc(address, (nuint)bytes, Windows.MemCommit, Windows.PageReadWrite) is not null
            : Unix.Protect(address, (nuint)bytes, Unix.ProtRead | Unix.ProtWrite) == 0;
    }

    private static void Free(byte* address, long reserved, bool mapped)
    {
        if (!mapped)
        {
            NativeMemory.AlignedFree(address);
        }
        else if (OperatingSystem.IsWindows())
        {
            // A failed release leaves the address space reserved: nothing else can be done about it here.
            _ = Windows.VirtualFree(address, 0, Windows.MemRelease);
        }
        else
        {
            _ = Unix.Unmap(address, (nuint)reserved);
        }
    }

    private static partial class Unix
    {
        internal const int ProtNone = 0;
        internal const int ProtRead = 1;
        internal const int ProtWrite = 2;
        internal const int MapPrivate = 0x02;
        internal const int MapAnonymousLinux = 0x20;
        internal const int MapAnonymousBsd = 0x1000;
        internal static readonly void* MapFailed = (void*)-1;

        [LibraryImport("libc", EntryPoint = "mmap")]
        internal static partial void* Map(void* address, nuint length, int protection, int flags, int descriptor, nint offset);

        [LibraryImport("libc", EntryPoint = "mprotect")]
        internal static partial int Protect(void* address, nuint length, int protection);

        [LibraryImport("libc", EntryPoint = "munmap")]
        internal static partial int Unmap(void* address, nuint length);
    }

    private static partial class Windows
    {
        internal const uint MemCommit = 0x1000;
        internal const uint MemReserve = 0x2000;
        internal const uint MemRelease = 0x8000;
        internal const uint PageNoAccess = 0x01;
        internal const uint PageReadWrite = 0x04;

        [LibraryImport("kernel32", EntryPoint = "VirtualAlloc", SetLastError = true)]
        internal static partial void* VirtualAlloc(void* address, nuint size, uint type, uint protection);

        [LibraryImport("kernel32", EntryPoint = "VirtualFree", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        internal static partial bool VirtualFree(void* address, nuint size, uint type);
    }
}
