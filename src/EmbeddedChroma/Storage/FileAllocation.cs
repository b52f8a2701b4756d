using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Reserves disk space for a file region for real, so that a later write through a memory mapping cannot fault
/// (a mapped page of a sparse file that the file system cannot back raises SIGBUS and kills the process). A full disk
/// surfaces here, as an <see cref="IOException"/> whose <see cref="Exception.HResult"/> is the errno (ENOSPC = 28),
/// before anything is mapped or written.
/// <list type="bullet">
/// <item>Linux: <c>posix_fallocate</c>; a file system without it (EOPNOTSUPP, EINVAL) gets the fallback below.</item>
/// <item>Windows: <see cref="FileStream.SetLength"/> (NTFS allocates the extension; files are not sparse by default).</item>
/// <item>Elsewhere, and as the fallback: zeros written through the file API and flushed.</item>
/// </list>
/// </summary>
internal static partial class FileAllocation
{
    private const int ENOSPC = 28;

    /// <summary>
    /// Test seam: store folders whose file allocations fail. The function receives the file's path and the length the
    /// file must reach, and returns the errno to fail with (0: allocate normally). Empty outside fault-injection tests.
    /// </summary>
    internal static readonly ConcurrentDictionary<string, Func<string, long, int>> Faults = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of
    /// <paramref name="file"/> allocated on disk, extending the file when the range ends past it. The range must hold
    /// no data (the fallback writes zeros over it). On failure the file keeps its previous length.
    /// </summary>
    /// <exception cref="IOException">The space could not be reserved (HResult: the errno, ENOSPC = 28 for a full disk).</exception>
    public static void Reserve(FileStream file, string path, long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        var end = offset + length;
        if (!Faults.IsEmpty)
        {
            foreach (var (folder, fault) in Faults)
            {
                if (path.StartsWith(folder, StringComparison.Ordinal) && fault(path, end) is var errno and not 0)
                {
                    throw new IOException($"Could not reserve {length:N0} bytes for '{path}' (injected errno {errno}).", errno);
                }
            }
        }

        var before = file.Length;
        try
        {
            if (OperatingSystem.IsLinux())
            {
                var rc = PosixFallocate(file.SafeFileHandle, offset, length);
                if (rc == 0)
                {
                    return;
                }

                if (rc is not (95 or 22)) // EOPNOTSUPP, EINVAL: this file system cannot; write the zeros instead
                {
                    throw new IOException($"Could not reserve {length:N0} bytes for '{path}' ({(rc == ENOSPC ? "no space left on the device" : $"errno {rc}")}).", rc);
                }
            }
            else if (OperatingSystem.IsWindows())
            {
                if (file.Length < end)
                {
                    file.SetLength(end);
                }

                return;
            }

            WriteZeros(file, offset, end);
        }
        catch (IOException)
        {
            TryTruncate(file, before);
            throw;
        }
    }

    private static void WriteZeros(FileStream file, long offset, long end)
    {
        var zeros = new byte[Math.Min(1 << 20, end - offset)];
        file.Position = offset;
        for (var position = offset; position < end; position += zeros.Length)
        {
            file.Write(zeros, 0, (int)Math.Min(zeros.Length, end - position));
        }

        file.Flush(flushToDisk: true);
    }

    /// <summary>Gives back a partial extension (a failed allocation may have extended the file in part).</summary>
    private static void TryTruncate(FileStream file, long length)
    {
        try
        {
            if (file.Length != length)
            {
                file.SetLength(length);
            }
        }
        catch (IOException)
        {
            // Best effort: the region past the old length is not mapped, so an extension left behind is harmless.
        }
    }

    private static int PosixFallocate(SafeFileHandle handle, long offset, long length)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return PosixFallocate((int)handle.DangerousGetHandle(), offset, length);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary><c>int posix_fallocate(int fd, off_t offset, off_t len)</c>: returns 0 or an errno (it does not set errno).</summary>
    [LibraryImport("libc", EntryPoint = "posix_fallocate")]
    private static partial int PosixFallocate(int fd, long offset, long length);
}
