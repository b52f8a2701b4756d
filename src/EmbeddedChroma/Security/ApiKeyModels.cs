using EmbeddedChroma.Security;

namespace EmbeddedChroma;

/// <summary>A token-bucket rate limit: <see cref="Burst"/> calls at once, refilled at <see cref="PermitsPerSecond"/>.</summary>
/// <param name="PermitsPerSecond">Sustained calls per second (&gt; 0).</param>
/// <param name="Burst">Bucket size (≥ 1).</param>
public sealed record ApiKeyRateLimit(double PermitsPerSecond, int Burst);

/// <summary>
/// What a new key may do. <see cref="Resources"/> are paths <c>tenant/database/collection</c> in which any
/// segment may be <c>*</c> and a shorter path covers everything below it (<c>acme</c> = all of tenant acme;
/// <c>*</c> = everything). Collections are matched by name.
/// </summary>
public sealed record ApiKeySpec
{
    /// <summary>A name for people (not secret, not unique).</summary>
    public required string Name { get; init; }

    /// <summary>Resource paths the key may touch (default: <c>*</c>, everything the creator may touch).</summary>
    public IReadOnlyList<string> Resources { get; init; } = ["*"];

    /// <summary>Actions granted (see <see cref="ChromaActions"/>; wildcards allowed).</summary>
    public required IReadOnlyList<string> Actions { get; init; }

    /// <summary>When the key stops working; <see langword="null"/> = never (or the creator's expiry, which bounds it).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Optional per-key rate limit.</summary>
    public ApiKeyRateLimit? RateLimit { get; init; }

    /// <summary>
    /// Optional number of allowed calls, after which the key stops working. When the creating key has a quota, these
    /// uses are taken from its remaining uses at creation (and are not given back).
    /// </summary>
    public long? MaxUses { get; init; }
}

/// <summary>The state of a key.</summary>
public enum ApiKeyState
{
    /// <summary>Usable.</summary>
    Active,
    /// <summary>Temporarily disabled; can be enabled again.</summary>
    Disabled,
    /// <summary>Revoked; never usable again.</summary>
    Revoked,
    /// <summary>Past its expiry, or its grace period after rotation, or out of uses.</summary>
    Expired,
    /// <summary>Rotated: still usable until its grace period ends.</summary>
    Rotating,
    /// <summary>
    /// Not usable because a key above it (the key that issued it, or one further up) is revoked, disabled or expired.
    /// It becomes <see cref="Active"/> again when that key is enabled; it is never usable again once that key is revoked.
    /// </summary>
    Suspended,
}

/// <summary>Everything about a key except its secret and its hash.</summary>
/// <param name="KeyId">The public key id.</param>
/// <param name="Name">The key's name.</param>
/// <param name="Display">Prefix and key id, as shown in logs (<c>eck_&lt;id&gt;_…</c>).</param>
/// <param name="Resources">Resource paths it may touch.</param>
/// <param name="Actions">Actions granted.</param>
/// <param name="Created">Creation time.</param>
/// <param name="ExpiresAt">Expiry, if any.</param>
/// <param name="LastUsed">Last allowed call, if any.</param>
/// <param name="State">Current state.</param>
/// <param name="CreatedBy">Key id of the key it was issued under: its creator, or for a rotation's successor the old key's issuer (<see langword="null"/> for bootstrap and recovery keys).</param>
/// <param name="SuccessorKeyId">Successor after rotation.</param>
/// <param name="GraceUntil">End of the grace period after rotation.</param>
/// <param name="RemainingUses">Calls left when a quota is set (for a rotated key: those of the budget it shares with its successor).</param>
/// <param name="RateLimit">Rate limit, if any.</param>
public sealed record ApiKeyInfo(
    string KeyId,
    string Name,
    string Display,
    IReadOnlyList<string> Resources,
    IReadOnlyList<string> Actions,
    DateTimeOffset Created,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? LastUsed,
    ApiKeyState State,
    string? CreatedBy,
    string? SuccessorKeyId,
    DateTimeOffset? GraceUntil,
    long? RemainingUses,
    ApiKeyRateLimit? RateLimit);

/// <summary>
/// A newly created key: <see cref="Key"/> is its full text, shown this once. <see cref="ToString"/> never
/// shows it.
/// </summary>
public sealed class CreatedApiKey
{
    internal CreatedApiKey(ApiKeyInfo info, string key)
    {
        Info = info;
        Key = key;
    }

    /// <summary>The key's description.</summary>
    public ApiKeyInfo Info { get; }

    /// <summary>The key itself (the only time it is available). Store it in a secret store; never log or commit it.</summary>
    public string Key { get; }

    /// <inheritdoc/>
    public override string ToString() => $"CreatedApiKey({Info.Display})";
}

/// <summary>How a call ended for a key.</summary>
public enum ApiKeyOutcome
{
    /// <summary>Allowed.</summary>
    Allowed,
    /// <summary>The key was not valid (unknown, wrong, expired, disabled, revoked, out of uses).</summary>
    Unauthenticated,
    /// <summary>The key lacked the action.</summary>
    Forbidden,
    /// <summary>The resource was outside the key's scope (answered as not found).</summary>
    OutOfScope,
    /// <summary>The key's rate limit, or the failure throttle, refused the call.</summary>
    RateLimited,
}

/// <summary>Usage of one key: last use and counts by action and outcome.</summary>
/// <param name="KeyId">The key.</param>
/// <param name="LastUsed">Last allowed call.</param>
/// <param name="Counts">Counts by (action, outcome); authentication failures are counted under the action <c>authenticate</c>.</param>
public sealed record ApiKeyUsage(string KeyId, DateTimeOffset? LastUsed, IReadOnlyDictionary<(string Action, ApiKeyOutcome Outcome), long> Counts);

/// <summary>
/// The calls of one key in one hour with one action and outcome, from the key ring's per-hour usage record. Counts are
/// attributed to the hour in which they were written (every 10 seconds while calls are made, and before every usage
/// read), so a call made in the last seconds of an hour may count in the next one. Hours are kept for 31 days.
/// </summary>
/// <param name="Hour">The start of the hour (UTC).</param>
/// <param name="Action">The action (<c>authenticate</c> for authentication failures), as in <see cref="ApiKeyUsage.Counts"/>.</param>
/// <param name="Outcome">How the calls ended.</param>
/// <param name="Count">How many calls.</param>
public sealed record ApiKeyUsageBucket(DateTimeOffset Hour, string Action, ApiKeyOutcome Outcome, long Count);

/// <summary>One audit-log entry: a key lifecycle event or a denial. Never contains a secret.</summary>
/// <param name="Sequence">Position in the log, from 1.</param>
/// <param name="Time">When it happened.</param>
/// <param name="Event">What happened (<c>key.created</c>, <c>key.revoked</c>, <c>auth.denied</c> …).</param>
/// <param name="KeyId">The key concerned, when known.</param>
/// <param name="ActorKeyId">The key that acted, when it was a management call.</param>
/// <param name="Detail">The reason or details.</param>
public sealed record AuditEntry(long Sequence, DateTimeOffset Time, string Event, string? KeyId, string? ActorKeyId, string? Detail);

/// <summary>Result of verifying the audit log's chain.</summary>
/// <param name="IsValid">True when every entry's chained MAC matches and the key rows match the ring's version record (see <see cref="RingProblem"/>).</param>
/// <param name="Entries">Entries checked.</param>
/// <param name="FirstInvalidSequence">The first entry that fails (modified, or following a deleted one).</param>
/// <param name="HeadMac">The last entry's MAC (hex): record it elsewhere to detect a later truncation of the tail.</param>
public sealed record AuditVerification(bool IsValid, long Entries, long? FirstInvalidSequence, string? HeadMac)
{
    /// <summary>
    /// When the chain is intact but the key rows on disk no longer match the ring's MAC'd version record (a row
    /// written back from an earlier copy, removed or added, or the audit tail cut off): what was found.
    /// <see cref="IsValid"/> is then false. <see langword="null"/> when the rows match.
    /// </summary>
    public string? RingProblem { get; init; }
}
