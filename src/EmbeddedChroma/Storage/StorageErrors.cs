using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The one mapping from the errors of the file system and of SQLite to the <see cref="ChromaException"/> hierarchy,
/// used at the storage boundary (the write path, reads, open, close and the key ring). Each mapped exception keeps the
/// original as its inner exception and names the true cause:
/// <code>
/// cause                                      .NET / SQLite                                   → exception
/// disk or quota full                         IOException ENOSPC/EDQUOT, SQLITE_FULL (13)      → ChromaStorageFullException
/// read-only media, immutable or no-write     IOException EROFS, UnauthorizedAccessException,  → ChromaReadOnlyException
///   file                                       SQLITE_READONLY (8), SQLITE_PERM (3)
/// damaged file                               SQLITE_CORRUPT (11), SQLITE_NOTADB (26),         → ChromaCorruptStoreException
///                                              JsonException (a stored value that does not parse)
/// another process holds the database         SQLITE_BUSY (5), SQLITE_LOCKED (6)               → ChromaStoreLockedException
/// anything else (EIO, SQLITE_IOERR (10),     IOException, SqliteException                     → ChromaStorageIOException
///   SQLITE_CANTOPEN (14))
/// </code>
/// An I/O error (EIO, SQLITE_IOERR) on a file system with no free space left is reported as full: SQLite reports a
/// failed growth of its shared-memory file that way.
/// </summary>
internal static class StorageErrors
{
    private const int SqliteFull = 13;
    private const int SqliteReadOnly = 8;
    private const int SqlitePerm = 3;
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoErr = 10;
    private const int SqliteCantOpen = 14;

    /// <summary>Free bytes below which an unspecific I/O error is taken for a full disk.</summary>
    private const long NearlyFull = 256 * 1024;

    /// <summary>
    /// The <see cref="ChromaException"/> for <paramref name="ex"/>, raised while working on <paramref name="path"/>
    /// (a file or folder of the store). A <see cref="ChromaException"/> is returned unchanged.
    /// </summary>
    /// <param name="ex">The error.</param>
    /// <param name="path">The file or folder the failed operation worked on.</param>
    /// <param name="bytesNeeded">The bytes the operation needed, when known (reported by a full-disk error).</param>
    public static Exception Map(Exception ex, string path, long? bytesNeeded = null)
    {
        if (ex is ChromaException)
        {
            return ex;
        }

        var folder = FolderOf(path);
        if (IsOutOfSpace(ex, folder))
        {
            return StorageFull(folder, bytesNeeded, ex);
        }

        if (IsReadOnly(ex))
        {
            return new ChromaReadOnlyException(
                $"The store's file '{Internal.Echo.Path(path)}' cannot be written: the file system is read-only, or the file is immutable or not writable " +
                $"by this process ({Describe(ex)}). Nothing was changed. To read the store from read-only media, open it with ChromaStoreOptions.ReadOnly = true.", ex);
        }

        switch (ex)
        {
            case SqliteException sqlite when SqliteDb.IsCorruption(sqlite):
                return new ChromaCorruptStoreException(
                    $"The store is corrupt: the SQLite file '{Internal.Echo.Path(path)}' is damaged ({Describe(ex)}). Restore the store folder from a backup; the store cannot be used as it is.", ex);
            case SqliteException sqlite when Primary(sqlite) is SqliteBusy or SqliteLocked:
                return new ChromaStoreLockedException($"The SQLite file '{Internal.Echo.Path(path)}' is locked by another connection or process ({Describe(ex)}).", ex);
            case System.Text.Json.JsonException:
                return new ChromaCorruptStoreException($"The store is corrupt: a value stored in '{Internal.Echo.Path(path)}' does not parse ({Internal.Echo.Text(ex.Message, 256)}).", ex);
            case SqliteException or IOException or UnauthorizedAccessException:
                return new ChromaStorageIOException($"The store's file '{Internal.Echo.Path(path)}' could not be read or written ({Describe(ex)}); the file is not known to be damaged: check the device and retry.", path, ex);
            default:
                return ex;
        }
    }

    /// <summary>A full disk, or an unspecific I/O error on a file system with (almost) no free space left.</summary>
    public static bool IsOutOfSpace(Exception ex, string folder) => IsDiskFull(ex) || (IsUnspecificIOError(ex) && FreeBytes(folder) is < NearlyFull);

    /// <summary>True for an exception <see cref="Map"/> turns into a <see cref="ChromaException"/>.</summary>
    public static bool IsStorageFault(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or SqliteException or System.Text.Json.JsonException;

    /// <summary>The full-disk exception for <paramref name="folder"/>.</summary>
    public static ChromaStorageFullException StorageFull(string folder, long? bytesNeeded, Exception? inner) => new(
        $"The disk holding '{Internal.Echo.Path(folder)}' is full{(bytesNeeded is { } n ? $": the write needed {n:N0} more bytes" : "")}" +
        $"{(FreeBytes(folder) is { } free ? $" and {free:N0} are free" : "")}. The batch was rolled back and nothing acknowledged was lost; " +
        "reads still work. Free space on that disk and retry.",
        folder, bytesNeeded, inner);

    /// <summary>No space left on the device or over the user's quota (ENOSPC, EDQUOT, ERROR_DISK_FULL, SQLITE_FULL).</summary>
    public static bool IsDiskFull(Exception ex) => ex switch
    {
        SqliteException sqlite => Primary(sqlite) == SqliteFull,
        IOException io => io.HResult switch
        {
            28 => true, // ENOSPC (Linux, macOS)
            122 when OperatingSystem.IsLinux() => true, // EDQUOT
            69 when OperatingSystem.IsMacOS() => true, // EDQUOT
            unchecked((int)0x80070070) or unchecked((int)0x80070027) => true, // ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL
            _ => false,
        },
        _ => false,
    };

    /// <summary>A write refused by the medium or the file: EROFS, EACCES/EPERM (also an immutable file), SQLITE_READONLY, SQLITE_PERM.</summary>
    public static bool IsReadOnly(Exception ex) => ex switch
    {
        SqliteException sqlite => Primary(sqlite) is SqliteReadOnly or SqlitePerm,
        UnauthorizedAccessException => true,
        IOException io => io.HResult is 30 // EROFS
            or unchecked((int)0x80070013), // ERROR_WRITE_PROTECT
        _ => false,
    };

    /// <summary>
    /// True when no file can be created in <paramref name="folder"/> because it is read-only (an immutable folder, read-only
    /// media, no permission): SQLite then reports only that it cannot open its log files. Probes with a file deleted on close.
    /// </summary>
    public static bool RefusesNewFiles(string folder)
    {
        try
        {
            using var probe = new FileStream(System.IO.Path.Combine(folder, ".probe-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return IsReadOnly(ex);
        }
    }

    /// <summary>The lock file is held by another process (EWOULDBLOCK on Unix, a sharing or lock violation on Windows).</summary>
    public static bool IsLockConflict(IOException ex) => ex.HResult is 11 /* EAGAIN (Linux) */ or 35 /* EAGAIN (macOS) */
        or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private static bool IsUnspecificIOError(Exception ex) => ex switch
    {
        SqliteException sqlite => Primary(sqlite) is SqliteIoErr or SqliteCantOpen,
        IOException io => io.HResult is 5, // EIO
        _ => false,
    };

    private static int Primary(SqliteException ex) => ex.SqliteErrorCode & 0xFF;

    /// <summary>The folder of <paramref name="path"/> (itself when it is one).</summary>
    public static string FolderOf(string path) => Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(path) ?? path;

    /// <summary>Free bytes on the file system of <paramref name="folder"/>, or null when they cannot be read.</summary>
    public static long? FreeBytes(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static string Describe(Exception ex) => ex is SqliteException sqlite
        ? $"SQLite error {sqlite.SqliteErrorCode}/{sqlite.SqliteExtendedErrorCode}: {sqlite.Message.Split('\n')[0].Trim()}"
        : $"{ex.GetType().Name}: {ex.Message}";
}
