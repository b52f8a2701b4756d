using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmbeddedChroma.Security;

/// <summary>
/// One key in memory: its definition (immutable) and its state (changed under <c>lock(record)</c>, read
/// without a lock on the hot path through volatile fields). Never holds the key text, only its hash.
/// </summary>
internal sealed class KeyRecord
{
    public required string KeyId { get; init; }
    public required string Name { get; init; }
    public required byte[] Hash { get; init; }
    public required ResourcePattern[] Resources { get; init; }
    public required string[] Grants { get; init; }
    public required bool[] Granted { get; init; }
    public required bool AnyCollectionAction { get; init; }
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset? Expires { get; init; }
    public string? CreatedBy { get; init; }
    public bool IsAdmin { get; init; }
    public ApiKeyRateLimit? RateLimit { get; init; }
    /// <summary>This key's token bucket; a rotation's successor is given the rotated key's (see <see cref="RateBucket"/>).</summary>
    public TokenBucket? Bucket { get; set; }

    public volatile bool Disabled;
    public volatile bool Revoked;
    public long? RemainingUses;
    public DateTimeOffset? GraceUntil;
    public string? Successor;

    /// <summary>The key that disabled this one (enabling it again needs a key at or above that one).</summary>
    public string? DisabledBy;

    /// <summary>The key this one was issued under (its <see cref="CreatedBy"/>), resolved once so the per-call chain walk is field reads.</summary>
    public KeyRecord? Parent;

    /// <summary>The successor after rotation, resolved; a rotated key with a quota spends its successor's uses.</summary>
    public volatile KeyRecord? SuccessorRecord;

    /// <summary>Uses already subtracted on disk but not yet spent (a lease); under <c>lock(this)</c>.</summary>
    public long Leased;

    /// <summary>Size of the last lease: leases double from 1 up to <see cref="MaxLease"/>.</summary>
    public long LeaseSize;

    public const long MaxLease = 1024;

    /// <summary>
    /// The record whose counter this key's calls spend: itself, or — once rotated with a quota — its successor's
    /// (so the old and the new key share one budget during the grace period).
    /// </summary>
    public KeyRecord Budget()
    {
        var budget = this;
        while (budget.RemainingUses is not null && budget.SuccessorRecord is { } next)
        {
            budget = next;
        }

        return budget;
    }

    /// <summary>
    /// The token bucket this key's calls take from: that of the last key of its rotation line (itself when never
    /// rotated). A rotated key and its successors share one rate during the grace period (the successor takes over the
    /// rotated key's bucket, tokens spent included), so rotating a key again and again with a grace period neither
    /// multiplies nor refills its rate. Field reads only (hot path).
    /// </summary>
    public TokenBucket? RateBucket()
    {
        var line = this;
        while (line.SuccessorRecord is { } next)
        {
            line = next;
        }

        return line.Bucket ?? Bucket;
    }

    /// <summary>Counts by (action index, outcome); the last action index stands for "authenticate".</summary>
    public long[] Counts { get; } = new long[(ChromaActions.Index.Count + 1) * OutcomeCount];
    public long[] FlushedCounts { get; } = new long[(ChromaActions.Index.Count + 1) * OutcomeCount];
    public long LastUsedMs;
    public long FlushedLastUsedMs;

    public const int OutcomeCount = 5;

    public static KeyRecord Build(string keyId, byte[] hash, KeyBody body)
    {
        var resources = body.Resources.Select(ResourcePattern.Parse).ToArray();
        var granted = new bool[ChromaActions.Index.Count];
        foreach (var action in body.Actions.SelectMany(ChromaActions.Expand))
        {
            granted[ChromaActions.Index[action]] = true;
        }

        return new KeyRecord
        {
            KeyId = keyId,
            Name = body.Name,
            Hash = hash,
            Resources = resources,
            Grants = body.Actions,
            Granted = granted,
            AnyCollectionAction = ChromaActions.DataActions.Any(a => a.StartsWith("collection:", StringComparison.Ordinal) && granted[ChromaActions.Index[a]]),
            Created = DateTimeOffset.FromUnixTimeMilliseconds(body.CreatedMs),
            Expires = body.ExpiresMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            CreatedBy = body.CreatedBy,
            IsAdmin = body.Admin,
            RateLimit = body.RatePerSecond is { } rate ? new ApiKeyRateLimit(rate, body.RateBurst ?? 1) : null,
            Bucket = body.RatePerSecond is { } r ? new TokenBucket(r, body.RateBurst ?? 1) : null,
            Disabled = body.Disabled,
            Revoked = body.Revoked,
            RemainingUses = body.RemainingUses,
            GraceUntil = body.GraceUntilMs is { } g ? DateTimeOffset.FromUnixTimeMilliseconds(g) : null,
            Successor = body.Successor,
            DisabledBy = body.DisabledBy,
        };
    }

    /// <summary>
    /// The persisted form (MAC'd as a whole by the ring file). Caller holds <c>lock(this)</c> for a consistent snapshot.
    /// The uses written are those left after the current lease: a crash counts an unspent lease as spent.
    /// </summary>
    public KeyBody ToBody() => new()
    {
        Name = Name,
        Hash = Convert.ToBase64String(Hash),
        Resources = Resources.Select(r => r.Text).ToArray(),
        Actions = Grants,
        CreatedMs = Created.ToUnixTimeMilliseconds(),
        ExpiresMs = Expires?.ToUnixTimeMilliseconds(),
        CreatedBy = CreatedBy,
        Admin = IsAdmin,
        RatePerSecond = RateLimit?.PermitsPerSecond,
        RateBurst = RateLimit?.Burst,
        RemainingUses = RemainingUses - Leased,
        Disabled = Disabled,
        DisabledBy = DisabledBy,
        Revoked = Revoked,
        GraceUntilMs = GraceUntil?.ToUnixTimeMilliseconds(),
        Successor = Successor,
    };

    /// <summary>
    /// The first key above this one (along the issuing chain; a rotated issuer lives on in its successor) that is
    /// revoked, disabled or expired, which makes this key unusable too; null when there is none.
    /// </summary>
    public KeyRecord? BlockingIssuer(DateTimeOffset now)
    {
        for (var issuer = Parent; issuer is not null; issuer = issuer.Parent)
        {
            var live = issuer;
            while (live.SuccessorRecord is { } next)
            {
                live = next;
            }

            if (live.Revoked || live.Disabled || (live.Expires is { } expires && now >= expires))
            {
                return live;
            }
        }

        return null;
    }

    public ApiKeyInfo ToInfo(DateTimeOffset now)
    {
        lock (this)
        {
            var remaining = Budget().RemainingUses;
            var state = Revoked ? ApiKeyState.Revoked
                : Disabled ? ApiKeyState.Disabled
                : (Expires is { } e && now >= e) || (GraceUntil is { } g && now >= g) || remaining is <= 0 ? ApiKeyState.Expired
                : BlockingIssuer(now) is not null ? ApiKeyState.Suspended
                : GraceUntil is not null ? ApiKeyState.Rotating
                : ApiKeyState.Active;
            var lastUsed = Interlocked.Read(ref LastUsedMs);
            return new ApiKeyInfo(KeyId, Name, ApiKeyFormat.Display(KeyId), Resources.Select(r => r.Text).ToArray(), Grants, Created, Expires,
                lastUsed == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(lastUsed), state, CreatedBy, Successor, GraceUntil, remaining, RateLimit);
        }
    }

    /// <summary>Secrets never appear here: only the display form.</summary>
    public override string ToString() => ApiKeyFormat.Display(KeyId);
}

/// <summary>The JSON body of a key row.</summary>
internal sealed class KeyBody
{
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required string[] Resources { get; init; }
    public required string[] Actions { get; init; }
    public long CreatedMs { get; init; }
    public long? ExpiresMs { get; init; }
    public string? CreatedBy { get; init; }
    public bool Admin { get; init; }
    public double? RatePerSecond { get; init; }
    public int? RateBurst { get; init; }
    public long? RemainingUses { get; init; }
    public bool Disabled { get; init; }
    public bool Revoked { get; init; }
    public long? GraceUntilMs { get; init; }
    public string? Successor { get; init; }
    public string? DisabledBy { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, KeyBodyJson.Default.KeyBody);

    public static KeyBody FromJson(string json) =>
        JsonSerializer.Deserialize(json, KeyBodyJson.Default.KeyBody) ?? throw new ChromaKeyRingException("A key record of the key ring is empty.");
}

[JsonSerializable(typeof(KeyBody))]
internal sealed partial class KeyBodyJson : JsonSerializerContext;
