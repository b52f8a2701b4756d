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
/// <para>
/// Replay: every commit raises a ring-wide version. Each key row stores the version at which it was written and
/// its MAC covers <c>key id + version + body</c>; the one <c>ring_meta</c> row holds the version, a digest of every
/// (key id, row version) pair (XOR of their HMACs, so it is updated per row in O(1)), the audit chain's head
/// (sequence and MAC) at that commit and the clock's high-water mark, all under one MAC. On open a row written back
/// from an earlier copy (older version), a deleted or added row, a row newer than the ring, or a truncated audit tail
/// no longer matches the meta row, and the ring refuses to load. Replacing the whole file with an earlier copy
/// (rows, meta and audit together) cannot be told from the real thing.
/// </para>
/// </summary>
internal sealed class KeyRingFile : IDisposable
{
    // Size: About 700 lines: the key ring's own SQLite file (schema and its upgrades, the pepper file, the rows' MACs,
    // the audit chain) in one place, so nothing else touches the ring's bytes. Left as the key-ring hardening work
    // shaped it.

    public const string PepperFileName = "keyring.pepper";
    public const string DatabaseFileName = "keyring.sqlite3";
    private const int PepperLength = 32;

    private const string MigratedEvent = "ring.migrated";

    private readonly byte[] _pepper;
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, long> _rowVersions = new(StringComparer.Ordinal);
    private byte[] _auditHead;
    private long _auditSeq;
    private long _version;
    private byte[] _digest = new byte[32];
    private List<(string KeyId, string Body)>? _loaded;

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

    /// <summary>The clock's high-water mark (UTC ticks) as last persisted; never decreases.</summary>
    public long StoredHighWaterTicks { get; private set; }

    /// <summary>The ring's current clock mark, read on every commit so that the stored mark follows it.</summary>
    public Func<long>? HighWater { get; set; }

    /// <summary>The ring-wide version of the last commit.</summary>
    public long Version => _version;

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
                throw new ChromaKeyRingException($"The key ring's pepper file '{Internal.Echo.Path(pepperPath)}' is damaged (expected {PepperLength} bytes).");
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
            if (SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") == 1)
            {
                // SQLite falls back to reading a file it cannot open for writing (immutable, read-only media, no permission).
                throw new ChromaReadOnlyException(
                    $"The key ring '{Internal.Echo.Path(databasePath)}' cannot be opened for writing: it is on read-only media, immutable or not " +
                    "writable by this process. To read the store, open it with ChromaStoreOptions.ReadOnly = true.");
            }

            Exec(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;");
            if (create)
            {
                Exec(connection, """
                    CREATE TABLE keys(key_id TEXT PRIMARY KEY, body TEXT NOT NULL, mac BLOB NOT NULL, version INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE usage(key_id TEXT NOT NULL, action TEXT NOT NULL, outcome INTEGER NOT NULL, count INTEGER NOT NULL,
                                       PRIMARY KEY(key_id, action, outcome));
                    CREATE TABLE last_used(key_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
                    CREATE TABLE audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, event TEXT NOT NULL, key_id TEXT,
                                       actor TEXT, detail TEXT, mac BLOB NOT NULL);
                    """);
            }

            // Usage by hour (added after the first rings were written, so created on open when missing; not MAC'd).
            Exec(connection, UsageHourlySchema);

            return Verified(new KeyRingFile(pepper, connection) { DatabasePath = databasePath }, create);
        }
        catch (SqliteException ex) when (!create && Storage.StorageErrors.IsOutOfSpace(ex, folder))
        {
            // A full disk: opened for reads (the store is then read-only until reopened with space; usage stays in memory).
            // With a log left by a close on a full disk, its index is kept in memory (exclusive locking mode, one connection).
            connection.Dispose();
            return Storage.SqliteDb.CanOpenImmutable(databasePath)
                ? OpenReadOnly(pepper, databasePath, immutable: true)
                : OpenReadOnly(pepper, databasePath, immutable: false, walInMemory: true);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ChromaKeyRingException($"The key ring '{Internal.Echo.Path(databasePath)}' cannot be read ({ex.SqliteErrorCode}).", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private readonly record struct Meta(long Version, byte[] Digest, long AuditSeq, byte[] AuditHead, long HighWater);

    private bool HasMeta()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ring_meta'";
        return command.ExecuteScalar() is not null;
    }

    private const string MetaSchema = """
        CREATE TABLE ring_meta(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, digest BLOB NOT NULL,
                               audit_seq INTEGER NOT NULL, audit_head BLOB NOT NULL, high_water INTEGER NOT NULL, mac BLOB NOT NULL);
        """;

    private void CreateMeta()
    {
        using var tx = _connection.BeginTransaction();
        using var command = _connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = MetaSchema;
        command.ExecuteNonQuery();
        WriteMeta(command, new Meta(0, new byte[32], _auditSeq, _auditHead, 0), insert: true);
        tx.Commit();
    }

    /// <summary>
    /// A ring written before versions existed: its rows (checked against their old MACs) get version 1, in one
    /// transaction with an audit entry. A ring whose audit log says it was migrated already but has no meta row
    /// had its meta row removed: refused.
    /// </summary>
    private void Migrate()
    {
        using (var probe = _connection.CreateCommand())
        {
            probe.CommandText = "SELECT 1 FROM audit WHERE event = $e LIMIT 1";
            probe.Parameters.AddWithValue("$e", MigratedEvent);
            if (probe.ExecuteScalar() is not null)
            {
                throw new ChromaKeyRingException("The key ring failed its integrity check: its version record (ring_meta) was removed. Restore keyring.sqlite3 from a backup.");
            }
        }

        var rows = new List<(string, string)>();
        using (var read = _connection.CreateCommand())
        {
            read.CommandText = "SELECT key_id, body, mac FROM keys";
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                var keyId = reader.GetString(0);
                var body = reader.GetString(1);
                if (!CryptographicOperations.FixedTimeEquals(Mac(keyId + "\n" + body), (byte[])reader.GetValue(2)))
                {
                    throw new ChromaKeyRingException($"The key ring failed its integrity check: the record of key {ApiKeyFormat.Display(keyId)} was altered.");
                }

                rows.Add((keyId, body));
            }
        }

        using var tx = _connection.BeginTransaction();
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = "ALTER TABLE keys ADD COLUMN version INTEGER NOT NULL DEFAULT 0;" + MetaSchema;
            command.ExecuteNonQuery();
            WriteMeta(command, new Meta(0, new byte[32], _auditSeq, _auditHead, 0), insert: true);
        }

        _version = 0;
        _digest = new byte[32];
        CommitCore(tx, rows, [(DateTimeOffset.UtcNow, MigratedEvent, null, null, $"{rows.Count} key rows bound to ring version 1")]);
    }

    private byte[] RowDigest(string keyId, long version) => Mac(string.Create(CultureInfo.InvariantCulture, $"row\n{keyId}\n{version}"));

    private static void Xor(byte[] into, byte[] value)
    {
        for (var i = 0; i < into.Length; i++)
        {
            into[i] ^= value[i];
        }
    }

    private byte[] MetaMac(in Meta meta) => Mac(string.Create(CultureInfo.InvariantCulture,
        $"meta\n{meta.Version}\n{Convert.ToHexString(meta.Digest)}\n{meta.AuditSeq}\n{Convert.ToHexString(meta.AuditHead)}\n{meta.HighWater}"));

    private void WriteMeta(SqliteCommand command, in Meta meta, bool insert = false)
    {
        command.Parameters.Clear();
        command.CommandText = insert
            ? "INSERT INTO ring_meta(id, version, digest, audit_seq, audit_head, high_water, mac) VALUES (1, $v, $d, $s, $h, $w, $m)"
            : "UPDATE ring_meta SET version = $v, digest = $d, audit_seq = $s, audit_head = $h, high_water = $w, mac = $m WHERE id = 1";
        command.Parameters.AddWithValue("$v", meta.Version);
        command.Parameters.AddWithValue("$d", meta.Digest);
        command.Parameters.AddWithValue("$s", meta.AuditSeq);
        command.Parameters.AddWithValue("$h", meta.AuditHead);
        command.Parameters.AddWithValue("$w", meta.HighWater);
        command.Parameters.AddWithValue("$m", MetaMac(meta));
        if (command.ExecuteNonQuery() != 1)
        {
            throw new ChromaKeyRingException("The key ring's version record (ring_meta) is missing.");
        }
    }

    /// <summary>
    /// Reads the meta row, every key row and the audit tail from disk and returns the first inconsistency, or null.
    /// </summary>
    private string? Check(out List<(string KeyId, string Body)> keys, out Dictionary<string, long> rowVersions, out Meta meta)
    {
        keys = [];
        rowVersions = new(StringComparer.Ordinal);
        meta = default;
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT version, digest, audit_seq, audit_head, high_water, mac FROM ring_meta WHERE id = 1";
        using (var reader = command.ExecuteReader())
        {
            if (!reader.Read())
            {
                return "its version record (ring_meta) is missing";
            }

            meta = new Meta(reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetInt64(2), (byte[])reader.GetValue(3), reader.GetInt64(4));
            if (!CryptographicOperations.FixedTimeEquals(MetaMac(meta), (byte[])reader.GetValue(5)))
            {
                return "its version record (ring_meta) was altered";
            }
        }

        command.CommandText = "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1";
        using (var reader = command.ExecuteReader())
        {
            var (seq, head) = reader.Read() ? (reader.GetInt64(0), (byte[])reader.GetValue(1)) : (0L, new byte[32]);
            if (seq != meta.AuditSeq || !CryptographicOperations.FixedTimeEquals(head, meta.AuditHead))
            {
                return $"the audit log ends at entry {seq} but the ring was last written with entry {meta.AuditSeq} (entries removed or replayed)";
            }
        }

        var digest = new byte[32];
        command.CommandText = "SELECT key_id, body, mac, version FROM keys";
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var keyId = reader.GetString(0);
                var body = reader.GetString(1);
                var version = reader.GetInt64(3);
                if (!CryptographicOperations.FixedTimeEquals(RowMac(keyId, version, body), (byte[])reader.GetValue(2)))
                {
                    return $"the record of key {ApiKeyFormat.Display(keyId)} was altered";
                }

                if (version > meta.Version)
                {
                    return $"the record of key {ApiKeyFormat.Display(keyId)} is newer (version {version}) than the ring (version {meta.Version})";
                }

                Xor(digest, RowDigest(keyId, version));
                keys.Add((keyId, body));
                rowVersions[keyId] = version;
            }
        }

        return CryptographicOperations.FixedTimeEquals(digest, meta.Digest)
            ? null
            : "a key record was replaced by an earlier copy of itself, removed or added (the rows do not match the ring's version record)";
    }

    private byte[] RowMac(string keyId, long version, string body) => Mac(string.Create(CultureInfo.InvariantCulture, $"{keyId}\n{version}\n{body}"));

    /// <summary>The ring as it is on disk now checked again (rows, versions, audit head); the first problem or null.</summary>
    public string? CheckOnDisk()
    {
        lock (Sync)
        {
            return Check(out _, out _, out _);
        }
    }

    /// <summary>Persists the clock's high-water mark when it moved past the stored one.</summary>
    public void PersistHighWater(long ticks)
    {
        lock (Sync)
        {
            if (ReadOnly || ticks <= StoredHighWaterTicks)
            {
                return;
            }

            using var tx = _connection.BeginTransaction();
            using var command = _connection.CreateCommand();
            command.Transaction = tx;
            WriteMeta(command, new Meta(_version, _digest, _auditSeq, _auditHead, ticks));
            tx.Commit();
            StoredHighWaterTicks = ticks;
        }
    }

    /// <summary>
    /// Checks a just-opened ring against its MAC'd version record (creating the record for a new ring, or adding it
    /// once to a ring written by an earlier version) and loads its rows; closes the connection when the check fails.
    /// </summary>
    private static KeyRingFile Verified(KeyRingFile file, bool create)
    {
        try
        {
            if (create)
            {
                file.CreateMeta();
            }
            else if (!file.HasMeta())
            {
                if (file.ReadOnly)
                {
                    throw new ChromaReadOnlyException($"The key ring '{Internal.Echo.Path(file.DatabasePath)}' was written by an earlier version and is upgraded on its first writable open; open the store once without ChromaStoreOptions.ReadOnly.");
                }

                file.Migrate();
            }

            var problem = file.Check(out var keys, out var rowVersions, out var meta);
            if (problem is not null)
            {
                throw new ChromaKeyRingException($"The key ring failed its integrity check: {problem}. Restore keyring.sqlite3 from a backup (revocations made after that backup are lost), then re-check every key.");
            }

            file._loaded = keys;
            foreach (var (id, version) in rowVersions)
            {
                file._rowVersions[id] = version;
            }

            (file._version, file._digest, file.StoredHighWaterTicks) = (meta.Version, meta.Digest, meta.HighWater);
            return file;
        }
        catch
        {
            // The connection only: the pepper array is the caller's, which may still open the ring read-only.
            file._connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The ring opened read-only: as immutable when <paramref name="immutable"/> (no write-ahead log left to replay;
    /// nothing is created beside the file, so it works on read-only media), else read-only replaying the log.
    /// </summary>
    private static KeyRingFile OpenReadOnly(byte[] pepper, string databasePath, bool immutable, bool walInMemory = false)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = immutable ? new Uri(databasePath).AbsoluteUri + "?immutable=1" : databasePath,
            Mode = walInMemory ? SqliteOpenMode.ReadWrite : SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Exec(connection, walInMemory ? "PRAGMA busy_timeout=30000; PRAGMA locking_mode=EXCLUSIVE; PRAGMA query_only=1;" : "PRAGMA busy_timeout=30000;");
            return Verified(new KeyRingFile(pepper, connection) { ReadOnly = true, DatabasePath = databasePath }, create: false);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new ChromaKeyRingException($"The key ring '{Internal.Echo.Path(databasePath)}' cannot be read ({ex.SqliteErrorCode}).", ex);
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
            throw new ChromaKeyRingException($"The key ring file '{Internal.Echo.Path(path)}' is missing.");
        }

        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            var mode = File.GetUnixFileMode(path);
            if ((mode & others) != 0)
            {
                throw new ChromaKeyRingException($"The key ring file '{Internal.Echo.Path(path)}' may be read or written by group or others (mode {Convert.ToString((int)mode, 8)}); restrict it to its owner (chmod 600).");
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

    /// <summary>Every key body, checked on open against its MAC and the ring's version record.</summary>
    public List<(string KeyId, string Body)> LoadKeys()
    {
        lock (Sync)
        {
            var keys = _loaded ?? throw new InvalidOperationException("The key rows were loaded already.");
            _loaded = null;
            return keys;
        }
    }

    /// <summary>Writes key bodies and audit entries in one transaction, under a new ring version.</summary>
    public void Commit(IEnumerable<(string KeyId, string Body)> keys, IEnumerable<(DateTimeOffset At, string Event, string? KeyId, string? Actor, string? Detail)> audit)
    {
        ThrowIfReadOnly();
        lock (Sync)
        {
            using var tx = _connection.BeginTransaction();
            CommitCore(tx, keys, audit);
        }
    }

    private void CommitCore(SqliteTransaction tx, IEnumerable<(string KeyId, string Body)> keys, IEnumerable<(DateTimeOffset At, string Event, string? KeyId, string? Actor, string? Detail)> audit)
    {
        var head = _auditHead;
        var seq = _auditSeq;
        var version = _version + 1;
        var digest = (byte[])_digest.Clone();
        var written = new List<(string, long)>();
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = tx;
            command.CommandText = "INSERT INTO keys(key_id, body, mac, version) VALUES ($id, $body, $mac, $v) ON CONFLICT(key_id) DO UPDATE SET body = excluded.body, mac = excluded.mac, version = excluded.version";
            foreach (var (keyId, body) in keys)
            {
                if (_rowVersions.TryGetValue(keyId, out var previous))
                {
                    Xor(digest, RowDigest(keyId, previous));
                }

                Xor(digest, RowDigest(keyId, version));
                written.Add((keyId, version));
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$id", keyId);
                command.Parameters.AddWithValue("$body", body);
                command.Parameters.AddWithValue("$mac", RowMac(keyId, version, body));
                command.Parameters.AddWithValue("$v", version);
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

            var highWater = Math.Max(StoredHighWaterTicks, HighWater?.Invoke() ?? 0);
            WriteMeta(command, new Meta(version, digest, seq, head, highWater));
            tx.Commit();
            StoredHighWaterTicks = highWater;
        }

        (_auditHead, _auditSeq, _version, _digest) = (head, seq, version, digest);
        foreach (var (keyId, v) in written)
        {
            _rowVersions[keyId] = v;
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

            reader.Close();
            var ringProblem = Check(out _, out _, out _);
            return new AuditVerification(ringProblem is null, expected, null, expected == 0 ? null : Convert.ToHexString(head)) { RingProblem = ringProblem };
        }
    }

    private const string UsageHourlySchema = """
        CREATE TABLE IF NOT EXISTS usage_hourly(key_id TEXT NOT NULL, hour INTEGER NOT NULL, action TEXT NOT NULL, outcome INTEGER NOT NULL,
                                                count INTEGER NOT NULL, PRIMARY KEY(key_id, hour, action, outcome));
        """;

    /// <summary>How long per-hour usage rows are kept: older hours are removed when a flush starts a new hour.</summary>
    public static readonly TimeSpan UsageHistoryRetention = TimeSpan.FromDays(31);

    private long _prunedBeforeHour;

    /// <summary>
    /// Adds usage counts and last-used times (not security-relevant, so not MAC'd). The counts are also added to the
    /// hour <paramref name="hour"/> (hours since the Unix epoch, UTC) of the per-hour record, whose rows older than
    /// <see cref="UsageHistoryRetention"/> are removed once per hour.
    /// </summary>
    public void AddUsage(IEnumerable<(string KeyId, string Action, int Outcome, long Count)> counts, IEnumerable<(string KeyId, long At)> lastUsed, long hour)
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
                command.CommandText = "INSERT INTO usage_hourly(key_id, hour, action, outcome, count) VALUES ($k, $h, $a, $o, $c) ON CONFLICT(key_id, hour, action, outcome) DO UPDATE SET count = count + excluded.count";
                command.Parameters.AddWithValue("$h", hour);
                command.ExecuteNonQuery();
                command.CommandText = "INSERT INTO usage(key_id, action, outcome, count) VALUES ($k, $a, $o, $c) ON CONFLICT(key_id, action, outcome) DO UPDATE SET count = count + excluded.count";
            }

            var cutoff = hour - (long)UsageHistoryRetention.TotalHours;
            if (cutoff > _prunedBeforeHour)
            {
                command.Parameters.Clear();
                command.CommandText = "DELETE FROM usage_hourly WHERE hour < $h";
                command.Parameters.AddWithValue("$h", cutoff);
                command.ExecuteNonQuery();
                _prunedBeforeHour = cutoff;
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

    /// <summary>The per-hour usage rows of <paramref name="keyId"/> from hour <paramref name="fromHour"/> on, oldest first (none when the ring predates the record and is open read-only).</summary>
    public List<(long Hour, string Action, ApiKeyOutcome Outcome, long Count)> ReadUsageHistory(string keyId, long fromHour)
    {
        lock (Sync)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage_hourly'";
            var result = new List<(long, string, ApiKeyOutcome, long)>();
            if (command.ExecuteScalar() is null)
            {
                return result;
            }

            command.CommandText = "SELECT hour, action, outcome, count FROM usage_hourly WHERE key_id = $k AND hour >= $h ORDER BY hour, action, outcome";
            command.Parameters.AddWithValue("$k", keyId);
            command.Parameters.AddWithValue("$h", fromHour);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result.Add((reader.GetInt64(0), reader.GetString(1), (ApiKeyOutcome)reader.GetInt32(2), reader.GetInt64(3)));
            }

            return result;
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
