
namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>
/// A small ext4 file system in an image file, loop-mounted on a fresh temporary folder (root only; see
/// <see cref="RootFactAttribute"/>): a real disk file system where <c>chattr +i</c> makes a file or folder immutable.
/// On dispose every immutable flag is cleared, the file system unmounted (lazily, so open handles do not block it) and
/// the image and folder removed, whatever the test did.
/// </summary>
internal sealed class Ext4LoopMount : IDisposable
{
    private readonly string _image;

    public Ext4LoopMount(int sizeMiB)
    {
        var name = "ec-ext4-" + Guid.NewGuid().ToString("N");
        _image = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name + ".img");
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), name);
        Directory.CreateDirectory(Path);
        using (var image = new FileStream(_image, FileMode.CreateNew))
        {
            image.SetLength(sizeMiB * 1024L * 1024L);
        }

        try
        {
            MountCommands.Run("mkfs.ext4", "-q", "-F", _image);
            MountCommands.Run("mount", "-o", "loop", _image, Path);
        }
        catch
        {
            File.Delete(_image);
            Directory.Delete(Path);
            throw;
        }
    }

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Sets (<c>chattr +i</c>) or clears (<c>chattr -i</c>) the immutable flag of a file or folder.</summary>
    public static void SetImmutable(string path, bool immutable) => MountCommands.Run("chattr", immutable ? "+i" : "-i", path);

    public void Dispose()
    {
        try
        {
            MountCommands.Run("chattr", "-R", "-i", Path);
        }
        catch (InvalidOperationException)
        {
            // Best effort: the unmount below does not need it.
        }

        MountCommands.UnmountAndDelete(Path, () => File.Delete(_image));
    }
}
