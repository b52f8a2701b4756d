using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Every folder and file the store creates is its owner's alone (folders 0700, files 0600 on Unix), born that way:
/// the mode is given to the create call itself, so there is no moment in which another user could open the file.
/// SQLite gives its <c>-wal</c>/<c>-shm</c>/<c>-journal</c> files the mode of the database file, so a database is
/// created empty, owner-only, before SQLite first opens it. On Windows the folder's ACL applies (no change).
/// </summary>
internal static class OwnerOnly
{
    /// <summary>0600.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0700.</summary>
    public const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Group and other bits: any of them set means someone else may read or write the store's data.</summary>
    public const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) 0700; an existing folder is left as it is.</summary>
    public static void CreateFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, FolderMode);
        }
    }

    /// <summary>
    /// Options to open a file with <paramref name="mode"/>; a file this call creates is created 0600
    /// (an existing file keeps its mode).
    /// </summary>
    public static FileStreamOptions Options(System.IO.FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows() && mode is System.IO.FileMode.Create or System.IO.FileMode.CreateNew or System.IO.FileMode.OpenOrCreate)
        {
            options.UnixCreateMode = FileMode;
        }

        return options;
    }

    /// <summary>Opens (or creates 0600) <paramref name="path"/>.</summary>
    public static FileStream Open(string path, System.IO.FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096) =>
        new(path, Options(mode, access, share, bufferSize));

    /// <summary>
    /// Creates an empty database file 0600 unless it exists, so the SQLite file and the journal files SQLite derives
    /// from it are owner-only from the start.
    /// </summary>
    public static void PrepareDatabaseFile(string path)
    {
        try
        {
            Open(path, System.IO.FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite).Dispose();
        }
        catch (IOException) when (File.Exists(path))
        {
            // Already there: SQLite opens it as it is (its mode is checked on open, see WarnIfShared).
        }
    }

    /// <summary>Copies <paramref name="from"/> to a new 0600 file <paramref name="to"/> (replacing it); bytes copied.</summary>
    public static long Copy(string from, string to)
    {
        using var source = new FileStream(from, System.IO.FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        using var destination = Open(to, System.IO.FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        source.CopyTo(destination);
        destination.Flush(flushToDisk: true);
        return destination.Length;
    }

    /// <summary>
    /// Logs a warning (see <see cref="StoreLog.PermissionsTooWide"/>) for the store folder and each of its data files
    /// and folders that group or others may read, write or enter. Files are not changed: they belong to the user, who
    /// may share them on purpose; the key ring's own files are refused instead (KeyRingFile).
    /// </summary>
    public static void WarnIfShared(string storeFolder, ILogger logger, IEnumerable<string> names)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Check(storeFolder, folder: true);
        foreach (var name in names)
        {
            var path = Path.Combine(storeFolder, name);
            if (Directory.Exists(path))
            {
                Check(path, folder: true);
                foreach (var file in Directory.EnumerateFiles(path))
                {
                    Check(file, folder: false);
                }
            }
            else if (File.Exists(path))
            {
                Check(path, folder: false);
            }
        }

        void Check(string path, bool folder)
        {
            try
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & GroupOrOther) != 0)
                {
                    StoreLog.PermissionsTooWide(logger, path, mode, folder);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone between listing and checking (a graph replaced by a checkpoint): nothing to warn about.
            }
        }
    }
}
