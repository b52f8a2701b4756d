using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedChroma.Storage;

/// <summary>
/// <c>chroma.seq</c>: the last write sequence number the store acknowledged, written after each SQLite commit is
/// durable (synchronous=FULL) and outside SQLite's files. SQLite keeps recent commits in its <c>-wal</c> file; an
/// operator who deletes it after a crash silently takes the database back to an older state. Comparing this number
/// with the database's on open turns that into a <see cref="ChromaCorruptStoreException"/>.
/// <code>
/// offset  size  field
///      0     8  sequence number
///      8    16  store id
///     24     8  XxHash3 of bytes [0, 24)
/// </code>
/// Written in place without an fsync (one pwrite per write transaction): after a process kill the page cache keeps it;
/// after a power loss it may lag behind the database (never run ahead of it, since it is written after the commit's
/// fsync), which only weakens the check, never trips it falsely. Not thread-safe: written under the store's write lock.
/// </summary>
internal sealed class AcknowledgedSeqFile : IDisposable
{
    public const string FileName = "chroma.seq";
    private const int Length = 32;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _buffer = new byte[Length];
    private readonly Guid _store;

    private AcknowledgedSeqFile(SafeFileHandle handle, Guid store)
    {
        _handle = handle;
        _store = store;
    }

    /// <summary>
    /// Opens (or creates) the file in <paramref name="folder"/>. <paramref name="recorded"/> is the sequence number it
    /// held for this store, or null when it is missing, damaged, empty or from another store.
    /// </summary>
    /// <remarks>
    /// Created owner-only (0600). With <paramref name="readOnly"/> the file is only read (null when it is missing, and
    /// nothing is created): a read-only open writes nothing, and <see cref="Write"/> is never called for it.
    /// </remarks>
    public static AcknowledgedSeqFile? Open(string folder, Guid store, bool readOnly, out long? recorded)
    {
        var path = Path.Combine(folder, FileName);
        recorded = null;
        if (readOnly && !File.Exists(path))
        {
            return null;
        }

        // chroma.lock already keeps other writers out.
        var handle = readOnly
            ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)
            : Internal.OwnerOnly.Open(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite).SafeFileHandle;
        try
        {
            Span<byte> data = stackalloc byte[Length];
            if (RandomAccess.Read(handle, data, 0) == Length
                && BinaryPrimitives.ReadUInt64LittleEndian(data[24..]) == XxHash3.HashToUInt64(data[..24])
                && new Guid(data.Slice(8, 16)) == store)
            {
                recorded = BinaryPrimitives.ReadInt64LittleEndian(data);
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new AcknowledgedSeqFile(handle, store);
    }

    /// <summary>Records <paramref name="seq"/> as acknowledged (no fsync; see the class remarks).</summary>
    public void Write(long seq)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer, seq);
        _store.TryWriteBytes(_buffer.AsSpan(8));
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(24), XxHash3.HashToUInt64(_buffer.AsSpan(0, 24)));
        RandomAccess.Write(_handle, _buffer, 0);
    }

    public void Dispose() => _handle.Dispose();
}
