using System.Diagnostics;
using EmbeddedChroma.Security;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma;

/// <summary>What <see cref="ChromaClient.Backup"/> wrote.</summary>
/// <param name="Path">The backup folder (absolute): a store that <see cref="ChromaStore.Open"/> opens.</param>
/// <param name="Bytes">Bytes written (the SQLite database and the key ring).</param>
/// <param name="Elapsed">How long the copy took.</param>
public sealed record BackupResult(string Path, long Bytes, TimeSpan Elapsed);

// Online backup: a consistent copy of the source of truth while the store stays open for reads and writes.
public sealed partial class ChromaStore
{
    private const string PartialSuffix = ".partial";

    /// <summary>
    /// Copies the store into <paramref name="destination"/> (a new or empty folder outside the store): SQLite's
    /// online backup of <c>chroma.sqlite3</c> taken in one read transaction, so the copy holds every write
    /// acknowledged before the backup began and no part of a later one, and the key ring. Writers are not blocked.
    /// The vector arenas and graphs are derived files and are not copied: opening the backup rebuilds them.
    /// The database file is written under a temporary name and renamed last, so an interrupted backup never
    /// looks like a store.
    /// </summary>
    internal BackupResult BackupTo(string destination)
    {
        var started = Stopwatch.GetTimestamp();
        var target = CheckBackupDestination(destination);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(target);
        }
        else
        {
            Directory.CreateDirectory(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var partial = System.IO.Path.Combine(target, DatabaseFileName + PartialSuffix);
        var source = Db.Rent();
        try
        {
            var bytes = Keys.BackupTo(target);
            using (var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = partial, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString()))
            {
                copy.Open();
                source.BackupDatabase(copy);
            }

            var final = System.IO.Path.Combine(target, DatabaseFileName);
            File.Move(partial, final);
            bytes += new FileInfo(final).Length;
            return new BackupResult(target, bytes, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new ChromaBackupException($"Backup to '{target}' failed ({ex.GetType().Name}: {ex.Message}); the folder does not hold a usable store.", ex);
        }
        finally
        {
            Db.Return(source);
        }
    }

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
            throw new ChromaValidationException($"backup: '{destination}' is not a valid folder path ({ex.Message}).");
        }

        var store = System.IO.Path.TrimEndingDirectorySeparator(Path);
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (string.Equals(full, store, comparison) || full.StartsWith(store + System.IO.Path.DirectorySeparatorChar, comparison))
        {
            throw new ChromaValidationException($"backup: the destination '{full}' lies inside the store folder; choose a folder outside it.");
        }

        if (File.Exists(full))
        {
            throw new ChromaValidationException($"backup: the destination '{full}' is a file; give a new or empty folder.");
        }

        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new ChromaValidationException($"backup: the destination folder '{full}' is not empty; give a new or empty folder.");
        }

        return full;
    }
}
