
namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>
/// A small tmpfs mounted on a fresh temporary folder (root only; see <see cref="RootFactAttribute"/>): a file system
/// that fills up after <c>size</c> bytes, or that can be remounted read-only. Unmounted (lazily, so open handles do not
/// block it) and its folder removed on dispose, whatever the test did.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    public TmpfsMount(int sizeKiB)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ec-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        MountCommands.Run("mount", "-t", "tmpfs", "-o", $"size={sizeKiB}k,mode=0700", "tmpfs", Path);
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Remounts the file system read-only (EROFS on every write).</summary>
    public void RemountReadOnly() => MountCommands.Run("mount", "-o", "remount,ro", Path);

    /// <summary>Remounts the file system writable.</summary>
    public void RemountReadWrite() => MountCommands.Run("mount", "-o", "remount,rw", Path);

    /// <summary>Free bytes left on the file system.</summary>
    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    /// <summary>Writes real (non-sparse) data into the file <paramref name="name"/> of the mount until the file system is full; returns the bytes written.</summary>
    public long Fill(string name)
    {
        var file = System.IO.Path.Combine(Path, name);
        long written = 0;
        using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.None, 1);
        foreach (var chunk in (int[])[1 << 16, 4096, 512])
        {
            var bytes = new byte[chunk];
            Array.Fill(bytes, (byte)0x5A);
            while (true)
            {
                try
                {
                    stream.Write(bytes);
                    stream.Flush();
                    written += chunk;
                }
                catch (IOException)
                {
                    break;
                }
            }
        }

        return written;
    }

    public void Dispose()
    {
        MountCommands.UnmountAndDelete(Path);
    }
}
