using System.Collections.Concurrent;
using System.Security.Cryptography;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Security;

/// <summary>What an operation touches, for the gate: a tenant, a database in it, a collection in that.</summary>
internal readonly record struct ResourceRef(string? Tenant, string? Database = null, Guid? Collection = null);

/// <summary>One stored key: never the key itself, only the SHA-256 of its secret.</summary>
internal sealed class KeyRecord
{
    public required string KeyId { get; init; }
    public required string Name { get; init; }
    public required byte[] Hash { get; init; }
    public required string Role { get; init; }
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset? Expires { get; init; }
    public volatile bool Revoked;
}

/// <summary>
/// The local key ring: keys persisted as hashes in the store's SQLite file, cached in memory so that the
/// per-call check is a dictionary lookup and two field reads. This ring knows one role, admin;
/// scoped keys, rotation, rate limits and the audit log build on this seam.
/// </summary>
internal sealed class KeyRing
{
    public const string AdminRole = "admin";

    // Verifying an unknown key id hashes against this, so timing does not reveal which ids exist.
    private static readonly byte[] DummyHash = SHA256.HashData(new byte[32]);

    private readonly SqliteDb _db;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, KeyRecord> _keys = new(StringComparer.Ordinal);

    public KeyRing(SqliteDb db, TimeProvider time)
    {
        _db = db;
        _time = time;
        using var command = db.Writer.CreateCommand();
        command.CommandText = "SELECT key_id, name, hash, role, created_utc, expires_utc, revoked_utc FROM api_keys";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var record = new KeyRecord
            {
                KeyId = reader.GetString(0),
                Name = reader.GetString(1),
                Hash = (byte[])reader.GetValue(2),
                Role = reader.GetString(3),
                Created = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                Expires = reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            };
            record.Revoked = !reader.IsDBNull(6);
            _keys[record.KeyId] = record;
        }
    }

    /// <summary>Creates an admin key inside the caller's write transaction; returns the key text (shown once).</summary>
    public string CreateAdminKey(string name)
    {
        var keyId = ApiKeyFormat.NewKeyId();
        var (key, hash) = ApiKeyFormat.Create(keyId);
        var now = _time.GetUtcNow();
        var command = _db.WriterCommand("INSERT INTO api_keys(key_id, name, hash, role, created_utc) VALUES ($id, $name, $hash, $role, $created)");
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$role", AdminRole);
        command.Parameters.AddWithValue("$created", now.ToUnixTimeMilliseconds());
        command.ExecuteNonQuery();
        _keys[keyId] = new KeyRecord { KeyId = keyId, Name = name, Hash = hash, Role = AdminRole, Created = now };
        return key;
    }

    /// <summary>Revokes every admin key inside the caller's write transaction (admin-key recovery).</summary>
    public void RevokeAllAdminKeys()
    {
        var command = _db.WriterCommand("UPDATE api_keys SET revoked_utc = $now WHERE role = $role AND revoked_utc IS NULL");
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$role", AdminRole);
        command.ExecuteNonQuery();
        foreach (var record in _keys.Values.Where(k => k.Role == AdminRole))
        {
            record.Revoked = true;
        }
    }

    /// <summary>Shape → checksum → lookup → hash → constant-time compare → state. One public failure for every reason.</summary>
    public KeyRecord Authenticate(ReadOnlySpan<char> key)
    {
        if (!ApiKeyFormat.TryParse(key, out var keyId, out var secretRange))
        {
            throw Unauthenticated();
        }

        var found = _keys.TryGetValue(keyId, out var record);
        var hash = ApiKeyFormat.HashSecret(key[secretRange]);
        var matches = CryptographicOperations.FixedTimeEquals(hash, found ? record!.Hash : DummyHash);
        if (!found || !matches || !IsUsable(record!))
        {
            throw Unauthenticated();
        }

        return record!;
    }

    /// <summary>The per-call gate: the key must still be usable and hold the permission.</summary>
    public void Authorize(ApiKeyContext context, string action, in ResourceRef resource)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!ReferenceEquals(context.Ring, this) || !IsUsable(context.Record))
        {
            throw Unauthenticated();
        }

        if (context.Record.Role != AdminRole)
        {
            throw new ChromaAuthorizationException($"The key {context} may not perform '{action}' on {Describe(resource)}.");
        }
    }

    private bool IsUsable(KeyRecord record) =>
        !record.Revoked && (record.Expires is not { } expires || _time.GetUtcNow() < expires);

    private static string Describe(in ResourceRef r) =>
        r.Collection is { } c ? $"collection {c}" : r.Database is { } d ? $"database '{r.Tenant}/{d}'" : r.Tenant is { } t ? $"tenant '{t}'" : "the store";

    private static ChromaAuthenticationException Unauthenticated() => new("Authentication failed: the API key is missing, malformed, unknown, expired or revoked.");
}
