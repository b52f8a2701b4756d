using EmbeddedChroma.Security;

namespace EmbeddedChroma;

/// <summary>
/// Key management for one caller: create (never broader than the caller's own key), list and inspect (never
/// a secret or hash), disable/enable, revoke, rotate with a grace period, usage counters, the audit log.
/// Each call needs its <c>keyring:</c> action; a caller that is not an admin key sees and manages only its own
/// key and the keys issued below it (created by it, or by a key it created, and so on). A key is unusable while
/// any key above it is revoked, disabled or expired. Obtain one from <see cref="ChromaStore.GetKeyRing(ApiKeyContext)"/>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed class KeyRingClient
{
    private readonly ChromaStore _store;

    internal KeyRingClient(ChromaStore store, ApiKeyContext context)
    {
        _store = store;
        Context = context;
    }

    /// <summary>The caller.</summary>
    public ApiKeyContext Context { get; }

    private KeyRing Ring
    {
        get
        {
            _store.ThrowIfClosed();
            return _store.Keys;
        }
    }

    /// <summary>Runs a ring call, turning a storage fault of the ring's file (full disk, read-only, damage) into its <see cref="ChromaException"/>.</summary>
    private T Guard<T>(Func<KeyRing, T> call)
    {
        var ring = Ring;
        try
        {
            return call(ring);
        }
        catch (Exception ex) when (Storage.StorageErrors.IsStorageFault(ex))
        {
            throw Storage.StorageErrors.Map(ex, System.IO.Path.Combine(_store.Path, KeyRingFile.DatabaseFileName));
        }
    }

    private void Guard(Action<KeyRing> call) => Guard(ring =>
    {
        call(ring);
        return 0;
    });

    /// <summary>
    /// Creates a key; its text is in <see cref="CreatedApiKey.Key"/>, shown this once. The new key's actions,
    /// resources, expiry, rate limit and uses lie within the caller's; when the caller has a quota, the new key's
    /// <see cref="ApiKeySpec.MaxUses"/> are taken out of the caller's remaining uses.
    /// </summary>
    /// <exception cref="ChromaAuthorizationException">The caller lacks <c>keyring:create_key</c>, or the new key would be broader than the caller's.</exception>
    /// <exception cref="ChromaValidationException">The spec is invalid.</exception>
    public CreatedApiKey CreateKey(ApiKeySpec spec) => Guard(ring => ring.CreateKey(Context, spec));

    /// <summary>The keys the caller may see.</summary>
    public IReadOnlyList<ApiKeyInfo> ListKeys() => Guard(ring => ring.List(Context));

    /// <summary>One key's description.</summary>
    /// <exception cref="ChromaNotFoundException">No such key within the caller's scope.</exception>
    public ApiKeyInfo GetKey(string keyId) => Guard(ring => ring.Get(Context, keyId));

    /// <summary>Disables a key (reversible with <see cref="EnableKey"/>); the keys issued below it stop working too.</summary>
    public void DisableKey(string keyId) => Guard(ring => ring.Disable(Context, keyId, disabled: true));

    /// <summary>Enables a disabled key. Only a key at or above the key that disabled it may.</summary>
    /// <exception cref="ChromaAuthorizationException">The key was disabled by a key above or beside the caller.</exception>
    public void EnableKey(string keyId) => Guard(ring => ring.Disable(Context, keyId, disabled: false));

    /// <summary>Revokes a key, irreversibly; it, and every key issued below it, fails from its very next call on.</summary>
    public void RevokeKey(string keyId) => Guard(ring => ring.Revoke(Context, keyId));

    /// <summary>
    /// Rotates ("rolls") a key: returns a successor with identical scope; the old key keeps working for
    /// <paramref name="gracePeriod"/> (<see cref="TimeSpan.Zero"/>: dead immediately, for a compromised key).
    /// Only a key usable now and not rotated before can be rotated. The successor must lie within the caller's key
    /// (as for <see cref="CreateKey"/>), takes the old key's place below its issuer, and takes over its remaining
    /// uses: during the grace period both keys spend that one budget.
    /// </summary>
    /// <exception cref="ChromaValidationException">The grace period is negative or too long, or the key is revoked, disabled, expired, out of uses or rotated already; nothing is written.</exception>
    /// <exception cref="ChromaAuthorizationException">The successor would be broader than the caller's key.</exception>
    public CreatedApiKey RotateKey(string keyId, TimeSpan gracePeriod) => Guard(ring => ring.Rotate(Context, keyId, gracePeriod));

    /// <summary>
    /// After restoring a backup of the store: revokes every key that <paramref name="auditExport"/> — audit entries
    /// read with <see cref="ReadAudit"/> from the store before it was lost, kept outside it — shows revoked or rotated,
    /// so that revocations made after the backup hold again. Creations and disables are not re-applied. Needs
    /// <c>keyring:revoke_key</c> and an admin key. Returns how many keys it revoked (0 when run again).
    /// </summary>
    /// <exception cref="ChromaValidationException">The list or one of its entries is null.</exception>
    /// <exception cref="ChromaAuthorizationException">The caller is not an admin key.</exception>
    public int ReapplyRevocations(IReadOnlyList<AuditEntry> auditExport) => Guard(ring => ring.ReapplyRevocations(Context, auditExport));

    /// <summary>A key's last use and its call counts by action and outcome.</summary>
    public ApiKeyUsage GetUsage(string keyId) => Guard(ring => ring.Usage(Context, keyId));

    /// <summary>
    /// A key's calls per hour, action and outcome from <paramref name="since"/> on (the hour that holds it included),
    /// oldest first (by hour, then action and outcome); the key ring keeps 31 days. Needs <c>keyring:read_usage</c>, as <see cref="GetUsage"/>.
    /// </summary>
    /// <exception cref="ChromaNotFoundException">No such key within the caller's scope.</exception>
    public IReadOnlyList<ApiKeyUsageBucket> GetUsageHistory(string keyId, DateTimeOffset since) => Guard(ring => ring.UsageHistory(Context, keyId, since));

    /// <summary>
    /// Audit entries after <paramref name="afterSequence"/>, oldest first. An admin key reads every entry; any other
    /// key only the entries about keys it manages (itself and the keys issued below it), as for <see cref="ListKeys"/>.
    /// </summary>
    public IReadOnlyList<AuditEntry> ReadAudit(long afterSequence = 0, int limit = 1000) => Guard(ring => ring.ReadAudit(Context, afterSequence, limit));

    /// <summary>
    /// Checks the audit log's MAC chain (a modified or deleted entry makes it invalid) and the key rows against the
    /// ring's MAC'd version record (a row written back from an earlier copy makes it invalid; see <see cref="AuditVerification.RingProblem"/>).
    /// Needs <c>keyring:read_audit</c> and an admin key: it checks the whole ring, holding the ring's file lock meanwhile.
    /// </summary>
    /// <exception cref="ChromaAuthorizationException">The key lacks the action or is not an admin key.</exception>
    public AuditVerification VerifyAudit() => Guard(ring => ring.VerifyAudit(Context));

    /// <inheritdoc/>
    public override string ToString() => $"KeyRingClient(key {Context})";
}
