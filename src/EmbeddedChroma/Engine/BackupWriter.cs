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
    /// <para>Progress and cancellation: <paramref name="progress"/> counts the database's pages copied (the total is
    /// the page count of the pinned snapshot, reported once it is pinned), copied a step of pages at a time; its token
    /// is checked before each step and before the final rename. A backup that fails or is cancelled removes what it
    /// wrote: a folder it created is deleted, an empty folder it was given is emptied again.</para>
    /// </remarks>
    public BackupStats BackupTo(string destination, ProgressReporter? progress = null)
    {
        var started = Stopwatch.GetTimestamp();
        var target = CheckBackupDestination(destination);
        progress?.ThrowIfCancellationRequested();
        var created = !Directory.Exists(target);
        OwnerOnly.CreateFolder(target);

        var partial = System.IO.Path.Combine(target, StoreFolder.DatabaseFileName + PartialSuffix);
        var source = Db.Rent();
        SqliteTransaction? snapshot = null;
        var done = false;
        try
        {
            var bytes = _keys.BackupTo(target);
            progress?.ThrowIfCancellationRequested();
            lock (Db.WriteLock)
            {
                _store.Session.ThrowIfClosed();
                snapshot = source.BeginTransaction(deferred: true);
                long pages;
                using (var pin = source.CreateCommand())
                {
                    // A deferred transaction takes its snapshot at its first read.
                    pin.Transaction = snapshot;
                    pin.CommandText = "SELECT value FROM store_meta WHERE key = 'seq'";
                    pin.ExecuteScalar();
                    pin.CommandText = "PRAGMA page_count";
                    pages = Convert.ToInt64(pin.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                }

                progress?.Start(pages);
                var vectors = System.IO.Path.Combine(target, StoreFolder.VectorsFolder);
                foreach (var collection in _collections())
                {
                    progress?.ThrowIfCancellationRequested();
                    bytes += collection.CopyDerivedTo(vectors);
                }
            }

            AfterSnapshot?.Invoke();

            OwnerOnly.PrepareDatabaseFile(partial);
            using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
            {
                copy.Open();
                CopyDatabase(source, copy, progress);
            }

            snapshot.Rollback();

            // The last point where a cancellation removes the copy; past it the rename makes it a store.
            progress?.ThrowIfCancellationRequested();
            var final = System.IO.Path.Combine(target, StoreFolder.DatabaseFileName);
            File.Move(partial, final);
            bytes += new FileInfo(final).Length;
            done = true;
            progress?.Finish();
            return new BackupStats(target, bytes, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new ChromaBackupException($"Backup to '{Echo.Path(target)}' failed ({ex.GetType().Name}: {Echo.Text(ex.Message, 512)}); what it had written was removed.", ex);
        }
        finally
        {
            snapshot?.Dispose();
            Db.Return(source);
            if (!done)
            {
                RemovePartial(target, created);
            }
        }
    }

    /// <summary>Pages copied per step of the online backup: progress and cancellation are looked at between steps.</summary>
    private const int PagesPerStep = 256;

    /// <summary>
    /// SQLite's online backup from the pinned snapshot of <paramref name="source"/> (its open read transaction holds
    /// it across steps) into <paramref name="copy"/>, a step of pages at a time.
    /// </summary>
    private static void CopyDatabase(SqliteConnection source, SqliteConnection copy, ProgressReporter? progress)
    {
        if (progress is null)
        {
            source.BackupDatabase(copy);
            return;
        }

        var backup = SQLitePCL.raw.sqlite3_backup_init(copy.Handle, "main", source.Handle, "main");
        if (backup is null || backup.IsInvalid)
        {
            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_errcode(copy.Handle), copy.Handle);
        }

        using (backup)
        {
            int rc;
            do
            {
                progress.ThrowIfCancellationRequested();
                rc = SQLitePCL.raw.sqlite3_backup_step(backup, PagesPerStep);
                if (rc is not (SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_DONE))
                {
                    SqliteException.ThrowExceptionForRC(rc, copy.Handle);
                }

                progress.Advance(SQLitePCL.raw.sqlite3_backup_pagecount(backup) - SQLitePCL.raw.sqlite3_backup_remaining(backup));
            }
            while (rc != SQLitePCL.raw.SQLITE_DONE);

            rc = SQLitePCL.raw.sqlite3_backup_finish(backup);
            if (rc != SQLitePCL.raw.SQLITE_OK)
            {
                SqliteException.ThrowExceptionForRC(rc, copy.Handle);
            }
        }
    }

    /// <summary>A failed or cancelled backup leaves nothing behind: the folder it created goes, an empty one it was given is emptied.</summary>
    private void RemovePartial(string target, bool created)
    {
        try
        {
            if (created)
            {
                Directory.Delete(target, recursive: true);
                return;
            }

            foreach (var entry in new DirectoryInfo(target).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo folder)
                {
                    folder.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            StoreLog.BackgroundFailed(_store.Limits.Logger, ex, System.IO.Path.GetFileName(target), "removing a failed backup");
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
