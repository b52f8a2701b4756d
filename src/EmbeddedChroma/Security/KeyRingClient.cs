using EmbeddedChroma.Security;

namespace EmbeddedChroma;

/// <summary>
/// Key management for one caller: create (never broader than the caller's own key), list and inspect (never
/// a secret or hash), disable/enable, revoke, rotate with a grace period, usage counters, the audit log.
/// Each call needs its <c>keyring:</c> action; a caller sees and manages only its own key and keys within its
/// scope. Obtain one from <see cref="ChromaStore.GetKeyRing(ApiKeyContext)"/>.
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

    /// <summary>Creates a key; its text is in <see cref="CreatedApiKey.Key"/>, shown this once.</summary>
    /// <exception cref="ChromaAuthorizationException">The caller lacks <c>keyring:create_key</c>, or the new key would be broader than the caller's.</exception>
    /// <exception cref="ChromaValidationException">The spec is invalid.</exception>
    public CreatedApiKey CreateKey(ApiKeySpec spec) => Guard(ring => ring.CreateKey(Context, spec));

    /// <summary>The keys the caller may see.</summary>
    public IReadOnlyList<ApiKeyInfo> ListKeys() => Guard(ring => ring.List(Context));

    /// <summary>One key's description.</summary>
    /// <exception cref="ChromaNotFoundException">No such key within the caller's scope.</exception>
    public ApiKeyInfo GetKey(string keyId) => Guard(ring => ring.Get(Context, keyId));

    /// <summary>Disables a key (reversible with <see cref="EnableKey"/>).</summary>
    public void DisableKey(string keyId) => Guard(ring => ring.Disable(Context, keyId, disabled: true));

    /// <summary>Enables a disabled key.</summary>
    public void EnableKey(string keyId) => Guard(ring => ring.Disable(Context, keyId, disabled: false));

    /// <summary>Revokes a key, irreversibly; it fails from its very next call on.</summary>
    public void RevokeKey(string keyId) => Guard(ring => ring.Revoke(Context, keyId));

    /// <summary>
    /// Rotates ("rolls") a key: returns a successor with identical scope; the old key keeps working for
    /// <paramref name="gracePeriod"/> (<see cref="TimeSpan.Zero"/>: dead immediately, for a compromised key).
    /// </summary>
    public CreatedApiKey RotateKey(string keyId, TimeSpan gracePeriod) => Guard(ring => ring.Rotate(Context, keyId, gracePeriod));

    /// <summary>A key's last use and its call counts by action and outcome.</summary>
    public ApiKeyUsage GetUsage(string keyId) => Guard(ring => ring.Usage(Context, keyId));

    /// <summary>Audit entries after <paramref name="afterSequence"/>, oldest first.</summary>
    public IReadOnlyList<AuditEntry> ReadAudit(long afterSequence = 0, int limit = 1000) => Guard(ring => ring.ReadAudit(Context, afterSequence, limit));

    /// <summary>Checks the audit log's MAC chain: a modified or deleted entry makes it invalid.</summary>
    public AuditVerification VerifyAudit() => Guard(ring => ring.VerifyAudit(Context));

    /// <inheritdoc/>
    public override string ToString() => $"KeyRingClient(key {Context})";
}
