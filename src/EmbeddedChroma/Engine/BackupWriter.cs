using System.Diagnostics;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Security;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>What a backup wrote (the public API turns it into its <c>BackupResult</c>).</summary>
internal readonly record struct BackupStats(string Path, long Bytes, TimeSpan Elapsed);

/// <summary>Online backup: a consistent copy of the source of truth while the store stays open for reads and writes.</summary>
internal sealed class BackupWriter(StoreContext store, KeyRing keys, Func<IEnumerable<CollectionEngine>> collections)
{
    private readonly StoreContext _store = store;
    private readonly KeyRing _keys = keys;
    private readonly Func<IEnumerable<CollectionEngine>> _collections = collections;

    private SqliteDb Db => _store.Db;

    private const string PartialSuffix = ".partial";

    /// <summary>
    /// Copies the store into <paramref name="destination"/> (a new or empty folder outside the store): SQLite's
    /// online backup of <c>chroma.sqlite3</c>, the key ring, and each collection's vector arena and saved HNSW graph,
    /// so the backup opens without rebuilding them.
    /// </summary>
    /// <remarks>
    /// <para>Consistency: under the store's write lock (no write can commit meanwhile) a read transaction pins the
    /// database snapshot the copy will hold, and every collection's vectors are copied at exactly that point: a loaded
    /// collection's arena is written out clean, stamped with the collection's last write and checksummed (its open
    /// file may be mid-write); an unloaded one's files are copied as they are. The write lock is then released and
    /// the database is copied from the pinned snapshot while writers go on. So the copy holds every write acknowledged
    /// before the backup began and no part of a later one, and writers wait only for the vector copies.</para>
    /// <para>The graph file copied is the last one saved (at a checkpoint or a close); opening the backup replays the
    /// writes after it. A derived file that does not match is rebuilt on open, as in the store itself, so a backup is
    /// never wrong, at worst slower to open. The database file is written under a temporary name and renamed last, so
    /// an interrupted backup never looks like a store.</para>
    /// </remarks>
    public BackupStats BackupTo(string destination)
    {
        var started = Stopwatch.GetTimestamp();
        var target = CheckBackupDestination(destination);
        OwnerOnly.CreateFolder(target);

        var partial = System.IO.Path.Combine(target, StoreFolder.DatabaseFileName + PartialSuffix);
        var source = Db.Rent();
        SqliteTransaction? snapshot = null;
        try
        {
            var bytes = _keys.BackupTo(target);
            lock (Db.WriteLock)
            {
                _store.Session.ThrowIfClosed();
                snapshot = source.BeginTransaction(deferred: true);
                using (var pin = source.CreateCommand())
                {
                    // A deferred transaction takes its snapshot at its first read.
                    pin.Transaction = snapshot;
                    pin.CommandText = "SELECT value FROM store_meta WHERE key = 'seq'";
                    pin.ExecuteScalar();
                }

                var vectors = System.IO.Path.Combine(target, StoreFolder.VectorsFolder);
                foreach (var collection in _collections())
                {
                    bytes += collection.CopyDerivedTo(vectors);
                }
            }

            AfterSnapshot?.Invoke();

            OwnerOnly.PrepareDatabaseFile(partial);
            using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
            {
                copy.Open();
                source.BackupDatabase(copy);
            }

            snapshot.Rollback();
            var final = System.IO.Path.Combine(target, StoreFolder.DatabaseFileName);
            File.Move(partial, final);
            bytes += new FileInfo(final).Length;
            return new BackupStats(target, bytes, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new ChromaBackupException($"Backup to '{Echo.Path(target)}' failed ({ex.GetType().Name}: {Echo.Text(ex.Message, 512)}); the folder does not hold a usable store.", ex);
        }
        finally
        {
            snapshot?.Dispose();
            Db.Return(source);
        }
    }

    /// <summary>Test hook: runs after the snapshot is pinned and the vectors are copied, before the database is copied.</summary>
    public Action? AfterSnapshot { get; set; }

    private string CheckBackupDestination(string destination)
    {
        if (string.IsNullOrWhiteSpace(destination))
        {
            throw new ChromaValidationException("backup: the destination folder must be a non-empty path.");
        }

        string full;
        try
        {
            full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(destination));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ChromaValidationException($"backup: '{Echo.Path(destination)}' is not a valid folder path ({Echo.Text(ex.Message, 512)}).");
        }

        var store = System.IO.Path.TrimEndingDirectorySeparator(_store.Folder.Path);
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (string.Equals(full, store, comparison) || full.StartsWith(store + System.IO.Path.DirectorySeparatorChar, comparison))
        {
            throw new ChromaValidationException($"backup: the destination '{Echo.Path(full)}' lies inside the store folder; choose a folder outside it.");
        }

        if (File.Exists(full))
        {
            throw new ChromaValidationException($"backup: the destination '{Echo.Path(full)}' is a file; give a new or empty folder.");
        }

        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new ChromaValidationException($"backup: the destination folder '{Echo.Path(full)}' is not empty; give a new or empty folder.");
        }

        return full;
    }
}
