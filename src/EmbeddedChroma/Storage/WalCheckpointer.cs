using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Copies the write-ahead log into the database file (a checkpoint) on a background thread with its own connection,
/// so no write call carries a checkpoint's copy and sync: the writer's automatic checkpoint is off
/// (<c>wal_autocheckpoint=0</c>) and <see cref="Committed"/> wakes this thread once <see cref="SqliteDb.CheckpointPages"/>
/// pages were written to the log since the last checkpoint began. Durability does not depend on it: every commit has
/// synced the log already; a checkpoint only moves committed pages, and SQLite makes it safe against a kill at any point.
/// </summary>
/// <remarks>
/// A pass runs in SQLite's PASSIVE mode beside the writer (commits go on meanwhile), then, holding the store's write
/// lock briefly (between two write calls), a second PASSIVE pass copies the pages committed during the first. With no
/// commit possible during it, that pass leaves the whole log copied, so the next write starts the log again from its
/// beginning (cut back to <see cref="SqliteDb.JournalSizeLimit"/>) and it stays bounded. A reader still reading an older
/// snapshot can keep pages from being copied; then the log grows until a later pass. If the log holds
/// <see cref="CapPages"/> pages not known to be copied (this thread starved of CPU), the writer checkpoints in its own
/// call, as SQLite's automatic checkpoint did (<see cref="Committed"/>). Errors of a background pass are ignored as
/// SQLite ignores those of its automatic checkpoint: the log is kept and copied later, or on close.
/// </remarks>
internal sealed class WalCheckpointer : IDisposable
{
    /// <summary>Pages written to the log without a complete checkpoint after which the writer checkpoints in its own call: four times <see cref="SqliteDb.CheckpointPages"/>.</summary>
    internal int CapPages => 4 * _db.CheckpointPages;

    private readonly SqliteDb _db;
    private readonly SqliteConnection _connection;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private long _sinceTrigger;
    private long _sinceComplete;
    private bool _due;
    private volatile bool _stopping;

    public WalCheckpointer(SqliteDb db, SqliteConnection connection)
    {
        _db = db;
        _connection = connection;
        _thread = new Thread(Loop) { IsBackground = true, Name = "EmbeddedChroma WAL checkpoint" };
        try
        {
            _thread.Start();
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Complete checkpoints made by the background thread (tests).</summary>
    public int CompletePasses { get; private set; }

    /// <summary>A background pass is under way (tests).</summary>
    public bool Busy => _busy;

    private volatile bool _busy;

    /// <summary>Checkpoints the writer made in its own call because the log reached <see cref="CapPages"/> (tests).</summary>
    public int WriterPasses { get; private set; }

    /// <summary>
    /// After a commit on the writer connection (store write lock held): counts the pages it wrote to the log, wakes the
    /// background pass when enough were written, and checkpoints right here if the log reached <see cref="CapPages"/>.
    /// </summary>
    public void Committed(SqliteConnection writer)
    {
        _ = raw.sqlite3_db_status(writer.Handle, raw.SQLITE_DBSTATUS_CACHE_WRITE, out var written, out _, 1);
        _sinceComplete += written;
        _sinceTrigger += written;
        if (_sinceComplete >= CapPages)
        {
            if (Checkpoint(writer))
            {
                WriterPasses++;
            }

            return;
        }

        if (_sinceTrigger >= _db.CheckpointPages)
        {
            _sinceTrigger = 0;
            lock (_gate)
            {
                _due = true;
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>One PASSIVE checkpoint on <paramref name="connection"/> (store write lock held): true when it copied the whole log.</summary>
    private bool Checkpoint(SqliteConnection connection)
    {
        var rc = raw.sqlite3_wal_checkpoint_v2(connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out var log, out var copied);
        if (rc != raw.SQLITE_OK || copied < log)
        {
            return false;
        }

        _sinceComplete = 0;
        _sinceTrigger = 0;
        return true;
    }

    private void Loop()
    {
        while (true)
        {
            lock (_gate)
            {
                while (!_due && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                _due = false;
                _busy = true;
            }

            // The bulk of the copy, beside the writer.
            _ = raw.sqlite3_wal_checkpoint_v2(_connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out _, out _);

            // The rest, between two write calls (a caller waiting longer than this for the lock keeps its turn).
            while (!_stopping)
            {
                if (_db.WriteLock.TryEnter(TimeSpan.FromMilliseconds(50)))
                {
                    try
                    {
                        if (!_stopping && Checkpoint(_connection))
                        {
                            CompletePasses++;
                        }
                    }
                    finally
                    {
                        _db.WriteLock.Exit();
                    }

                    break;
                }
            }

            _busy = false;
        }
    }

    /// <summary>Stops the thread after the pass under way; then closes its connection. Call without holding the store's write lock.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
        _connection.Dispose();
    }
}
