using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Engine;

/// <summary>
/// A store folder held by this process: the OS lock on <c>chroma.lock</c> (exclusive for a writer, shared for a
/// read-only reader), the paths of everything in it (the SQLite database, the vectors folder with each collection's
/// arena and graph file, or a private scratch folder for a read-only open), and the owner-only permission checks.
/// </summary>
/// <remarks>
/// <code>
/// &lt;store&gt;/chroma.sqlite3 (+ -wal, -shm)   source of truth (SqliteDb)
/// &lt;store&gt;/chroma.lock                     the folder lock (this type)
/// &lt;store&gt;/chroma.seq                      acknowledged sequence number (AcknowledgedSeqFile, via WriteSession)
/// &lt;store&gt;/keyring.sqlite3, keyring.pepper  the key ring (KeyRing)
/// &lt;store&gt;/vectors/&lt;guid&gt;.vec / .hnsw      derived files (a scratch folder in the temp folder when read-only)
/// </code>
/// Disposing releases the lock (once); <see cref="DeleteScratch"/> removes a read-only open's scratch folder.
/// </remarks>
internal sealed class StoreFolder : IDisposable
{
    public const string DatabaseFileName = "chroma.sqlite3";
    public const string LockFileName = "chroma.lock";
    public const string VectorsFolder = "vectors";

    /// <summary>Suffix of a compaction's unfinished arena (discarded on the next load).</summary>
    public const string CompactionTempSuffix = ".compact";

    private readonly FileStream? _lock;

    private StoreFolder(string path, bool readOnly, FileStream? lockFile)
    {
        Path = path;
        ReadOnly = readOnly;
        _lock = lockFile;
        // Read-only: derived files are rebuilt into a private scratch folder, never written in the store folder.
        DerivedFolder = readOnly
            ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "EmbeddedChroma.ReadOnly", Guid.NewGuid().ToString("N"))
            : System.IO.Path.Combine(path, VectorsFolder);
    }

    /// <summary>The store folder (absolute).</summary>
    public string Path { get; }

    public bool ReadOnly { get; }

    /// <summary>Where the collections' arenas and graphs live: the vectors folder, or a read-only open's scratch folder.</summary>
    public string DerivedFolder { get; }

    public string DatabasePath => System.IO.Path.Combine(Path, DatabaseFileName);

    /// <summary>True when <paramref name="path"/> holds a store.</summary>
    public static bool Exists(string path) => File.Exists(System.IO.Path.Combine(path, DatabaseFileName));

    /// <summary>Creates the folder (owner-only) and takes its exclusive lock; refuses a folder that already holds a store.</summary>
    public static StoreFolder CreateNew(string path)
    {
        OwnerOnly.CreateFolder(path);
        var folder = new StoreFolder(path, readOnly: false, AcquireLock(path, readOnly: false));
        if (Exists(path))
        {
            folder.Dispose();
            throw new ChromaConflictException($"'{Echo.Path(path)}' already holds a store; open it with ChromaStore.Open.");
        }

        return folder;
    }

    /// <summary>Takes the lock of an existing store's folder: exclusive for a writer, shared for a reader.</summary>
    public static StoreFolder OpenExisting(string path, bool readOnly) => new(path, readOnly, AcquireLock(path, readOnly));

    public string ArenaPath(Guid collection) => System.IO.Path.Combine(DerivedFolder, collection.ToString("N") + ".vec");

    public string GraphPath(Guid collection) => System.IO.Path.Combine(DerivedFolder, collection.ToString("N") + ".hnsw");

    /// <summary>The saved compact rows of a float16 or int8 collection (<see cref="CompactRowsFile"/>).</summary>
    public string CompactRowsPath(Guid collection) => System.IO.Path.Combine(DerivedFolder, collection.ToString("N") + ".qvec");

    /// <summary>
    /// The collection's saved filter index (<see cref="FilterIndexFile"/>), always in the store's own vectors folder: a
    /// read-only open reads it there (it is checked like any derived file) but never writes it.
    /// </summary>
    public string FilterIndexPath(Guid collection) => System.IO.Path.Combine(Path, VectorsFolder, collection.ToString("N") + ".flt");

    public string CompactionTempPath(Guid collection) => ArenaPath(collection) + CompactionTempSuffix;

    /// <summary>Logs a warning when group or other users may read or write the store's files (see <see cref="OwnerOnly.WarnIfShared"/>).</summary>
    public void WarnIfShared(ILogger logger) =>
        OwnerOnly.WarnIfShared(Path, logger, [DatabaseFileName, DatabaseFileName + "-wal", DatabaseFileName + "-shm", LockFileName, AcknowledgedSeqFile.FileName, VectorsFolder]);

    /// <summary>
    /// Takes the folder's lock: exclusive for a writer (FileShare.None: flock LOCK_EX on Unix), shared for a
    /// read-only reader (read access with FileShare.Read: LOCK_SH), so readers exclude a writer but not each other.
    /// Null only for a reader on media where the lock file is missing and cannot exist.
    /// </summary>
    private static FileStream? AcquireLock(string path, bool readOnly)
    {
        var lockPath = System.IO.Path.Combine(path, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock LOCK_EX on Unix) held until disposal; FileShare.Read a shared one.
            return readOnly
                ? new FileStream(lockPath, FileMode.Open, FileAccess.Read, FileShare.Read)
                : OwnerOnly.Open(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (StorageErrors.IsLockConflict(ex))
        {
            throw new ChromaStoreLockedException(readOnly
                ? $"The store in '{Echo.Path(path)}' is open for writing by another process (or by this one)."
                : $"The store in '{Echo.Path(path)}' is in use by another process (or already open in this one).", ex);
        }
        catch (FileNotFoundException) when (readOnly)
        {
            // A store copied without its lock file onto media where none can be created: nobody can write there either.
            return null;
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            if (!readOnly && StorageErrors.IsReadOnly(ex))
            {
                throw new ChromaReadOnlyException(
                    $"The store in '{Echo.Path(path)}' cannot be opened for writing: its folder or lock file is on read-only media, immutable or not writable " +
                    $"by this process ({ex.GetType().Name}: {ex.Message}). To read it, open it with ChromaStoreOptions.ReadOnly = true.", ex);
            }

            throw StorageErrors.Map(ex, lockPath);
        }
    }

    /// <summary>A store that failed to be created must not look like one: removes what was written (the lock file stays).</summary>
    public void RemoveFailedCreate()
    {
        File.Delete(System.IO.Path.Combine(Path, AcknowledgedSeqFile.FileName));
        foreach (var file in (ReadOnlySpan<string>)[DatabaseFileName, KeyRingFile.DatabaseFileName])
        {
            foreach (var suffix in (ReadOnlySpan<string>)["", "-wal", "-shm", "-journal"])
            {
                File.Delete(System.IO.Path.Combine(Path, file + suffix));
            }
        }

        File.Delete(System.IO.Path.Combine(Path, KeyRingFile.PepperFileName));
    }

    /// <summary>
    /// Derived paths of the wrong kind — a folder where the collection's arena or graph file belongs, or a file where
    /// the vectors folder belongs — are damaged derived files: moved aside (renamed <c>&lt;name&gt;.damaged-&lt;UTC time&gt;</c>),
    /// logged, and rebuilt from SQLite like any other. Without this, every call would fail on them forever.
    /// </summary>
    public void EnsureDerivedPaths(Guid collection, TimeProvider clock, ILogger logger)
    {
        if (File.Exists(DerivedFolder))
        {
            MoveAside(DerivedFolder, "a file", isDirectory: false, clock, logger);
        }

        foreach (var path in (ReadOnlySpan<string>)[ArenaPath(collection), GraphPath(collection), FilterIndexPath(collection), CompactRowsPath(collection)])
        {
            if (Directory.Exists(path) && !(ReadOnly && path == FilterIndexPath(collection)))
            {
                MoveAside(path, "a folder", isDirectory: true, clock, logger);
            }
        }
    }

    private static void MoveAside(string path, string found, bool isDirectory, TimeProvider clock, ILogger logger)
    {
        var target = $"{path}.damaged-{clock.GetUtcNow():yyyyMMdd'T'HHmmssfff'Z'}";
        try
        {
            if (isDirectory)
            {
                Directory.Move(path, target);
            }
            else
            {
                File.Move(path, target);
            }
        }
        catch (Exception ex) when (StorageErrors.IsStorageFault(ex))
        {
            throw StorageErrors.Map(ex, path);
        }

        StoreLog.DerivedPathMovedAside(logger, path, found, target);
    }

    /// <summary>Bytes of every file in the store folder (compaction reports before and after).</summary>
    public long Bytes()
    {
        long total = 0;
        foreach (var file in new DirectoryInfo(Path).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            try
            {
                total += file.Length;
            }
            catch (IOException)
            {
                // Removed while listing.
            }
        }

        return total;
    }

    /// <summary>Deletes <paramref name="path"/> if it exists; a failure leaves it for the next load to discard.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Left for the next load to discard.
        }
    }

    /// <summary>Deletes a read-only open's scratch folder (a writer's vectors folder is never deleted).</summary>
    public void DeleteScratch()
    {
        if (ReadOnly && Directory.Exists(DerivedFolder))
        {
            Directory.Delete(DerivedFolder, recursive: true);
        }
    }

    /// <summary>Releases the folder lock.</summary>
    public void Dispose() => _lock?.Dispose();

    public override string ToString() => $"StoreFolder({Echo.Path(Path)})";
}
