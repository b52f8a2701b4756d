using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Security;

/// <summary>
/// The key ring's files in the store folder, both created owner-only (0600 on Unix, set at creation — there
/// is no create-then-chmod window) and refused when group or others may read them:
/// <code>
/// keyring.pepper    32 random bytes: the HMAC key for secret hashes, row MACs and the audit chain
/// keyring.sqlite3   keys (one JSON body + HMAC per key), usage counters, the chained audit log
/// </code>
/// Every change is one SQLite transaction (atomic). A key row whose MAC does not match — edited without
/// the pepper — makes the ring refuse to load.
/// </summary>
internal sealed class KeyRingFile : IDisposable
{
    public const string PepperFileName = "keyring.pepper";
    public const string DatabaseFileName = "keyring.sqlite3";
    private const int PepperLength = 32;

    private readonly byte[] _pepper;
    private readonly SqliteConnection _connection;
    private byte[] _auditHead;
    private long _auditSeq;

    private KeyRingFile(byte[] pepper, SqliteConnection connection)
    {
        _pepper = pepper;
        _connection = connection;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        (_auditSeq, _auditHead) = reader.Read() ? (reader.GetInt64(0), (byte[])reader.GetValue(1)) : (0, new byte[32]);
    }

    public object Sync { get; } = new();

    /// <summary>Opens the ring of <paramref name="folder"/>, creating it when <paramref name="create"/>.</summary>
    /// <remarks>With <paramref name="readOnly"/> the database is opened read-only (immutable on read-only media) and every write is refused.</remarks>
    public static KeyRingFile Open(string folder, bool create, bool readOnly = false)
    {
        var pepperPath = Path.Combine(folder, PepperFileName);
        var databasePath = Path.Combine(folder, DatabaseFileName);
        byte[] pepper;
        if (create)
        {
            pepper = RandomNumberGenerator.GetBytes(PepperLength);
            using (var stream = CreateOwnerOnly(pepperPath))
            {
                stream.Write(pepper);
                stream.Flush(flushToDisk: true);
            }

            // SQLite gives its -wal/-shm/-journal files the permissions of the database file, so creating
            // this empty file owner-only first keeps every file of the ring private.
            CreateOwnerOnly(databasePath).Dispose();
        }
        else
        {
            CheckPermissions(pepperPath);
            CheckPermissions(databasePath);
            pepper = File.ReadAllBytes(pepperPath);
            if (pepper.Length != PepperLength)
            {
                throw new ChromaKeyRingException($"The key ring's pepper file '{pepperPath}' is damaged (expected {PepperLength} bytes).");
            }
        }

        if (readOnly)
        {
            return OpenReadOnly(pepper, databasePath, immutable: Storage.SqliteDb.CanOpenImmutable(databasePath));
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Exec(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;");
            if (create)
            {
                Exec(connection, """
                    CREATE TABLE keys(key_id TEXT PRIMARY KEY, body TEXT NOT NULL, mac BLOB NOT NULL);
                    CREATE TABLE usage(key_id TEXT NOT NULL, action TEXT NOT NULL, outcome INTEGER NOT NULL, count INTEGER NOT NULL,
                                       PRIMARY KEY(key_id, action, outcome));
                    CREATE TABLE last_used(key_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
                    CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, event TEXT NOT NULL, key_id TEXT,
                                       actor TEXT, detail TEXT, mac BLOB NOT NULL);
                    """);
            }

            return new KeyRingFile(pepper, connection) { DatabasePath = databasePath };
        }
        catch (SqliteException ex) when (!create && Storage.StorageErrors.IsOutOfSpace(ex, folder) && Storage.SqliteDb.CanOpenImmutable(databasePath))
        {
            // A full disk: opened for reads (the store is then read-only until reopened with space; usage stays in memory).
            connection.Dispose();
            return OpenReadOnly(pepper, databasePath, immutable: true);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ChromaKeyRingException($"The key ring '{databasePath}' cannot be read ({ex.SqliteErrorCode}).", ex);
        }
    }

    /// <summary>
    /// The ring opened read-only: as immutable when <paramref name="immutable"/> (no write-ahead log left to replay;
    /// nothing is created beside the file, so it works on read-only media), else read-only replaying the log.
    /// </summary>
    private static KeyRingFile OpenReadOnly(byte[] pepper, string databasePath, bool immutable)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = immutable ? new Uri(databasePath).AbsoluteUri + "?immutable=1" : databasePath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Exec(connection, "PRAGMA busy_timeout=30000;");
            return new KeyRingFile(pepper, connection) { ReadOnly = true, DatabasePath = databasePath };
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ChromaKeyRingException($"The key ring '{databasePath}' cannot be read ({ex.SqliteErrorCode}).", ex);
        }
    }

    /// <summary>The ring's SQLite file (named by storage errors).</summary>
    public string DatabasePath { get; private init; } = DatabaseFileName;

    /// <summary>Opened read-only: <see cref="Commit"/> and <see cref="AddUsage"/> throw <see cref="ChromaReadOnlyException"/>.</summary>
    public bool ReadOnly { get; private init; }

    private void ThrowIfReadOnly()
    {
        if (ReadOnly)
        {
            throw new ChromaReadOnlyException("The store was opened read-only (ChromaStoreOptions.ReadOnly, or its disk was full when it was opened); its key ring cannot be changed.");
        }
    }

    /// <summary>
    /// Writes a consistent copy of the ring (pepper and database) into <paramref name="folder"/>, owner-only
    /// like the originals. Serialized with the ring's own writes.
    /// </summary>
    public long BackupTo(string folder)
    {
        lock (Sync)
        {
            var pepperPath = Path.Combine(folder, PepperFileName);
            using (var stream = CreateOwnerOnly(pepperPath))
            {
                stream.Write(_pepper);
                stream.Flush(flushToDisk: true);
            }

            var databasePath = Path.Combine(folder, DatabaseFileName);
            CreateOwnerOnly(databasePath).Dispose();
            using (var destination = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString()))
            {
                destination.Open();
                _connection.BackupDatabase(destination);
            }

            return new FileInfo(pepperPath).Length + new FileInfo(databasePath).Length;
        }
    }

    private static FileStream CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new FileStream(path, options);
    }

    private static void CheckPermissions(string path)
    {
        if (!File.Exists(path))
        {
            throw new ChromaKeyRingException($"The key ring file '{path}' is missing.");
        }

        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            var mode = File.GetUnixFileMode(path);
            if ((mode & others) != 0)
            {
                throw new ChromaKeyRingException($"The key ring file '{path}' may be read or written by group or others (mode {Convert.ToString((int)mode, 8)}); restrict it to its owner (chmod 600).");
            }
        }
    }

    private static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>HMAC-SHA-256 of a secret under the ring's pepper.</summary>
    public byte[] HashSecret(byte[] secret) => HMACSHA256.HashData(_pepper, secret);

    private byte[] Mac(string text) => HMACSHA256.HashData(_pepper, Encoding.UTF8.GetBytes(text));

    /// <summary>Every key body, each checked against its MAC.</summary>
    public List<(string KeyId, string Body)> LoadKeys()
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT key_id, body, mac FROM keys";
            using var reader = command.ExecuteReader();
            var keys = new List<(string, string)>();
            while (reader.Read())
            {
                var keyId = reader.GetString(0);
                var body = reader.GetString(1);
                if (!CryptographicOperations.FixedTimeEquals(Mac(keyId + "\n" + body), (byte[])reader.GetValue(2)))
                {
                    throw new ChromaKeyRingException($"The key ring failed its integrity check: the record of key {ApiKeyFormat.Display(keyId)} was altered.");
                }

                keys.Add((keyId, body));
            }

            return keys;
        }
    }

    /// <summary>Writes key bodies and audit entries in one transaction.</summary>
    public void Commit(IEnumerable<(string KeyId, string Body)> keys, IEnumerable<(DateTimeOffset At, string Event, string? KeyId, string? Actor, string? Detail)> audit)
    {
        ThrowIfReadOnly();
        lock (Sync)
        {
            var head = _auditHead;
            var seq = _auditSeq;
            using var tx = _connection.BeginTransaction();
            using (var command = _connection.CreateCommand())
            {
                command.Transaction = tx;
                command.CommandText = "INSERT INTO keys(key_id, body, mac) VALUES ($id, $body, $mac) ON CONFLICT(key_id) DO UPDATE SET body = excluded.body, mac = excluded.mac";
                foreach (var (keyId, body) in keys)
                {
                    command.Parameters.Clear();
                    command.Parameters.AddWithValue("$id", keyId);
                    command.Parameters.AddWithValue("$body", body);
                    command.Parameters.AddWithValue("$mac", Mac(keyId + "\n" + body));
                    command.ExecuteNonQuery();
                }

                command.CommandText = "INSERT INTO audit(seq, at, event, key_id, actor, detail, mac) VALUES ($seq, $at, $event, $key, $actor, $detail, $mac)";
                foreach (var entry in audit)
                {
                    seq++;
                    head = ChainMac(head, seq, entry.At.ToUnixTimeMilliseconds(), entry.Event, entry.KeyId, entry.Actor, entry.Detail);
                    command.Parameters.Clear();
                    command.Parameters.AddWithValue("$seq", seq);
                    command.Parameters.AddWithValue("$at", entry.At.ToUnixTimeMilliseconds());
                    command.Parameters.AddWithValue("$event", entry.Event);
                    command.Parameters.AddWithValue("$key", (object?)entry.KeyId ?? DBNull.Value);
                    command.Parameters.AddWithValue("$actor", (object?)entry.Actor ?? DBNull.Value);
                    command.Parameters.AddWithValue("$detail", (object?)entry.Detail ?? DBNull.Value);
                    command.Parameters.AddWithValue("$mac", head);
                    command.ExecuteNonQuery();
                }
            }

            tx.Commit();
            (_auditHead, _auditSeq) = (head, seq);
        }
    }

    /// <summary>Each entry's MAC covers the previous entry's MAC, so a changed or deleted entry breaks the chain.</summary>
    private byte[] ChainMac(byte[] previous, long seq, long at, string @event, string? keyId, string? actor, string? detail) =>
        Mac(string.Create(CultureInfo.InvariantCulture, $"{Convert.ToHexString(previous)}\n{seq}\n{at}\n{@event}\n{keyId}\n{actor}\n{detail}"));

    public List<AuditEntry> ReadAudit(long afterSequence, int limit)
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq, at, event, key_id, actor, detail FROM audit WHERE seq > $after ORDER BY seq LIMIT $limit";
            command.Parameters.AddWithValue("$after", afterSequence);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var entries = new List<AuditEntry>();
            while (reader.Read())
            {
                entries.Add(new AuditEntry(
                    reader.GetInt64(0),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                    reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
            }

            return entries;
        }
    }

    public AuditVerification VerifyAudit()
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT seq, at, event, key_id, actor, detail, mac FROM audit ORDER BY seq";
            using var reader = command.ExecuteReader();
            var head = new byte[32];
            long expected = 0;
            while (reader.Read())
            {
                expected++;
                var seq = reader.GetInt64(0);
                var mac = ChainMac(head, expected, reader.GetInt64(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5));
                if (seq != expected || !CryptographicOperations.FixedTimeEquals(mac, (byte[])reader.GetValue(6)))
                {
                    // The first entry that fails: this one, whether it was modified or follows a deleted one.
                    return new AuditVerification(false, expected - 1, seq, null);
                }

                head = mac;
            }

            return new AuditVerification(true, expected, null, expected == 0 ? null : Convert.ToHexString(head));
        }
    }

    /// <summary>Adds usage counts and last-used times (not security-relevant, so not MAC'd).</summary>
    public void AddUsage(IEnumerable<(string KeyId, string Action, int Outcome, long Count)> counts, IEnumerable<(string KeyId, long At)> lastUsed)
    {
        ThrowIfReadOnly();
        lock (Sync)
        {
            using var tx = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO usage(key_id, action, outcome, count) VALUES ($k, $a, $o, $c) ON CONFLICT(key_id, action, outcome) DO UPDATE SET count = count + excluded.count";
            foreach (var (keyId, action, outcome, count) in counts)
            {
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$k", keyId);
                command.Parameters.AddWithValue("$a", action);
                command.Parameters.AddWithValue("$o", outcome);
                command.Parameters.AddWithValue("$c", count);
                command.ExecuteNonQuery();
            }

            command.CommandText = "INSERT INTO last_used(key_id, at) VALUES ($k, $t) ON CONFLICT(key_id) DO UPDATE SET at = max(at, excluded.at)";
            foreach (var (keyId, at) in lastUsed)
            {
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$k", keyId);
                command.Parameters.AddWithValue("$t", at);
                command.ExecuteNonQuery();
            }

            tx.Commit();
        }
    }

    public (Dictionary<(string Action, ApiKeyOutcome Outcome), long> Counts, long? LastUsed) ReadUsage(string keyId)
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT action, outcome, count FROM usage WHERE key_id = $k";
            command.Parameters.AddWithValue("$k", keyId);
            var counts = new Dictionary<(string, ApiKeyOutcome), long>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    counts[(reader.GetString(0), (ApiKeyOutcome)reader.GetInt32(1))] = reader.GetInt64(2);
                }
            }

            command.CommandText = "SELECT at FROM last_used WHERE key_id = $k";
            return (counts, command.ExecuteScalar() is long at ? at : null);
        }
    }

    public Dictionary<string, long> ReadLastUsed()
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT key_id, at FROM last_used";
            using var reader = command.ExecuteReader();
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            while (reader.Read())
            {
                result[reader.GetString(0)] = reader.GetInt64(1);
            }

            return result;
        }
    }

    public void Dispose()
    {
        lock (Sync)
        {
            _connection.Dispose();
            CryptographicOperations.ZeroMemory(_pepper);
        }
    }
}
