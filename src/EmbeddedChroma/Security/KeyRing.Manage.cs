namespace EmbeddedChroma.Security;

// Key lifecycle: create, list, disable/enable, revoke, rotate; bootstrap and recovery of admin keys.
internal sealed partial class KeyRing
{
    private static readonly string[] AdminGrants = [ChromaActions.AllData, ChromaActions.AllKeyRing];

    /// <summary>Creates an admin key (bootstrap or recovery); returns its text, shown once.</summary>
    public string CreateAdminKey(string name) =>
        Insert(new ApiKeySpec { Name = name, Resources = ["*"], Actions = AdminGrants }, createdBy: null, admin: true, "key.bootstrap").Key;

    /// <summary>Recovery: revokes every admin key (bootstrap or recovered).</summary>
    public void RevokeAllAdminKeys()
    {
        foreach (var record in _keys.Values.Where(k => k.IsAdmin && !k.Revoked))
        {
            SetState(record, actor: null, "key.revoked", "admin-key recovery", r => r.Revoked = true);
        }
    }

    /// <summary>Creates a key no broader than <paramref name="actor"/>'s.</summary>
    public CreatedApiKey CreateKey(ApiKeyContext actor, ApiKeySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Authorize(actor, ChromaActions.CreateKey, default);
        Validate(spec);
        var parent = actor.Record;
        var wanted = spec.Actions.SelectMany(ChromaActions.Expand).Distinct().ToList();
        var missing = wanted.Where(a => !parent.Granted[ChromaActions.Index[a]]).ToList();
        var resources = spec.Resources.Select(ResourcePattern.Parse).ToList();
        var outside = resources.Where(r => !parent.Resources.Any(p => p.Contains(r))).ToList();
        var looserRate = parent.RateLimit is { } pr
            && (spec.RateLimit is not { } cr || cr.PermitsPerSecond > pr.PermitsPerSecond || cr.Burst > pr.Burst);
        long? parentUses;
        lock (parent)
        {
            parentUses = parent.RemainingUses;
        }

        var moreUses = parentUses is { } pu && (spec.MaxUses is not { } cu || cu > pu);
        if (missing.Count > 0 || outside.Count > 0 || (parent.Expires is { } pe && (spec.ExpiresAt is null || spec.ExpiresAt > pe)) || looserRate || moreUses)
        {
            AuditDenial(parent.KeyId, "key.create_denied", "requested a key broader than the creating key");
            throw new ChromaAuthorizationException(
                $"The key {parent} cannot create a key broader than itself"
                + (missing.Count > 0 ? $"; it lacks the actions {string.Join(", ", missing)}" : "")
                + (outside.Count > 0 ? $"; resources outside its scope: {string.Join(", ", outside)}" : "")
                + (parent.Expires is not null && (spec.ExpiresAt is null || spec.ExpiresAt > parent.Expires) ? "; the new key must expire no later than the creating key" : "")
                + (looserRate ? "; the new key needs a rate limit no looser than the creating key's" : "")
                + (moreUses ? "; the new key may have no more uses than the creating key has left" : "")
                + ".");
        }

        return Insert(spec, parent.KeyId, admin: false, "key.created");
    }

    private void Validate(ApiKeySpec spec)
    {
        Internal.Names.ValidateKeyName(spec.Name);

        if (spec.Actions is null || spec.Actions.Count == 0)
        {
            throw new ChromaValidationException("Key actions must name at least one action (see ChromaActions).");
        }

        foreach (var action in spec.Actions)
        {
            if (action is null || !ChromaActions.Expand(action).Any())
            {
                throw new ChromaValidationException($"Unknown key action '{Internal.Echo.Text(action)}'; see ChromaActions for the vocabulary.");
            }
        }

        if (spec.Resources is null || spec.Resources.Count == 0)
        {
            throw new ChromaValidationException("Key resources must name at least one resource path ('*' for everything).");
        }

        if (spec.ExpiresAt is { } expires && expires <= Now())
        {
            throw new ChromaValidationException("Key expiry must be in the future.");
        }

        if (spec.RateLimit is { } rate && (!(rate.PermitsPerSecond > 0) || double.IsInfinity(rate.PermitsPerSecond) || rate.Burst < 1))
        {
            throw new ChromaValidationException("Key rate limit needs PermitsPerSecond > 0 (finite) and Burst ≥ 1.");
        }

        if (spec.MaxUses is <= 0)
        {
            throw new ChromaValidationException("Key MaxUses must be positive.");
        }
    }

    private CreatedApiKey Insert(ApiKeySpec spec, string? createdBy, bool admin, string @event)
    {
        var keyId = ApiKeyFormat.NewKeyId();
        var key = ApiKeyFormat.Create(keyId);
        var hash = ApiKeyFormat.HashSecret(ApiKeyFormat.SecretOf(key), _file.HashSecret);
        var body = new KeyBody
        {
            Name = spec.Name,
            Hash = Convert.ToBase64String(hash),
            Resources = spec.Resources.Select(r => ResourcePattern.Parse(r).Text).ToArray(),
            Actions = spec.Actions.ToArray(),
            CreatedMs = Now().ToUnixTimeMilliseconds(),
            ExpiresMs = spec.ExpiresAt?.ToUnixTimeMilliseconds(),
            CreatedBy = createdBy,
            Admin = admin,
            RatePerSecond = spec.RateLimit?.PermitsPerSecond,
            RateBurst = spec.RateLimit?.Burst,
            RemainingUses = spec.MaxUses,
        };
        var record = KeyRecord.Build(keyId, hash, body);
        _file.Commit([(keyId, body.ToJson())], [(Now(), @event, keyId, createdBy, $"name '{Internal.Echo.Text(spec.Name, 256)}'; actions {string.Join(",", body.Actions)}; resources {string.Join(",", body.Resources)}")]);
        _keys[keyId] = record;
        return new CreatedApiKey(record.ToInfo(Now()), key);
    }

    /// <summary>Keys the actor may see and manage: its own, and keys whose scope lies within its own.</summary>
    private static bool Manages(KeyRecord actor, KeyRecord target) =>
        ReferenceEquals(actor, target)
        || (target.Resources.All(r => actor.Resources.Any(p => p.Contains(r)))
            && target.Granted.Select((g, i) => !g || actor.Granted[i]).All(ok => ok));

    private KeyRecord Target(ApiKeyContext actor, string keyId, string action)
    {
        Authorize(actor, action, default);
        if (keyId is null || !_keys.TryGetValue(keyId, out var target) || !Manages(actor.Record, target))
        {
            throw new ChromaNotFoundException($"Key '{Names(keyId)}' does not exist.");
        }

        return target;
    }

    /// <summary>
    /// A key id as echoed in a message, through <see cref="Internal.Echo"/>: a whole key pasted where its id belongs shows as
    /// its display form, anything else key-shaped is masked, control characters and lone surrogates are escaped.
    /// </summary>
    private static string Names(string? keyId) => Internal.Echo.Text(keyId);

    public IReadOnlyList<ApiKeyInfo> List(ApiKeyContext actor)
    {
        Authorize(actor, ChromaActions.ListKeys, default);
        var now = Now();
        return _keys.Values.Where(k => Manages(actor.Record, k)).OrderBy(k => k.Created).ThenBy(k => k.KeyId, StringComparer.Ordinal).Select(k => k.ToInfo(now)).ToList();
    }

    public ApiKeyInfo Get(ApiKeyContext actor, string keyId) => Target(actor, keyId, ChromaActions.ListKeys).ToInfo(Now());

    public void Disable(ApiKeyContext actor, string keyId, bool disabled)
    {
        var target = Target(actor, keyId, ChromaActions.DisableKey);
        if (target.Revoked)
        {
            throw new ChromaValidationException($"Key {target} is revoked; revoked keys cannot be {(disabled ? "disabled" : "enabled")}.");
        }

        SetState(target, actor.Record.KeyId, disabled ? "key.disabled" : "key.enabled", null, r => r.Disabled = disabled);
    }

    public void Revoke(ApiKeyContext actor, string keyId)
    {
        var target = Target(actor, keyId, ChromaActions.RevokeKey);
        SetState(target, actor.Record.KeyId, "key.revoked", null, r => r.Revoked = true);
    }

    /// <summary>Rolls a key: a successor with identical scope; the old key works until <paramref name="grace"/> has passed (zero: dead now).</summary>
    public CreatedApiKey Rotate(ApiKeyContext actor, string keyId, TimeSpan grace)
    {
        if (grace < TimeSpan.Zero)
        {
            throw new ChromaValidationException("Rotation grace period must be zero or positive.");
        }

        var target = Target(actor, keyId, ChromaActions.RotateKey);
        if (target.Revoked)
        {
            throw new ChromaValidationException($"Key {target} is revoked; revoked keys cannot be rotated.");
        }

        if (target.Disabled)
        {
            // Rotating would hand out an active successor and so undo the disable: enable it first (a separate grant).
            throw new ChromaValidationException($"Key {target} is disabled; enable it before rotating it.");
        }

        // The successor goes to the actor, so it may not outlive the actor (the rule of CreateKey).
        if (actor.Record.Expires is { } actorExpires && (target.Expires is null || target.Expires > actorExpires))
        {
            AuditDenial(actor.Record.KeyId, "key.rotate_denied", $"successor of {target.KeyId} would outlive the rotating key");
            throw new ChromaAuthorizationException($"The key {actor.Record} cannot rotate {target}: the successor would expire later than the rotating key.");
        }

        var successor = Insert(
            new ApiKeySpec
            {
                Name = target.Name,
                Resources = target.Resources.Select(r => r.Text).ToArray(),
                Actions = target.Grants,
                ExpiresAt = target.Expires,
                RateLimit = target.RateLimit,
                MaxUses = target.RemainingUses,
            },
            actor.Record.KeyId,
            target.IsAdmin,
            "key.created");
        var until = Now() + grace;
        SetState(target, actor.Record.KeyId, "key.rotated", $"successor {successor.Info.KeyId}; grace until {until:O}", r =>
        {
            r.Successor = successor.Info.KeyId;
            r.GraceUntil = until;
            if (grace == TimeSpan.Zero)
            {
                r.Revoked = true;
            }
        });
        return successor;
    }

    private void SetState(KeyRecord record, string? actor, string @event, string? detail, Action<KeyRecord> change)
    {
        lock (record)
        {
            change(record);
            _file.Commit([(record.KeyId, record.ToBody().ToJson())], [(Now(), @event, record.KeyId, actor, detail)]);
        }
    }

    public ApiKeyUsage Usage(ApiKeyContext actor, string keyId)
    {
        var target = Target(actor, keyId, ChromaActions.ReadUsage);
        FlushUsage();
        var (counts, lastUsed) = _file.ReadUsage(target.KeyId);
        return new ApiKeyUsage(target.KeyId, lastUsed is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null, counts);
    }

    public IReadOnlyList<AuditEntry> ReadAudit(ApiKeyContext actor, long afterSequence, int limit)
    {
        Authorize(actor, ChromaActions.ReadAudit, default);
        if (limit is < 1 or > 100_000 || afterSequence < 0)
        {
            throw new ChromaValidationException("ReadAudit: limit must be 1 to 100,000 and afterSequence zero or positive.");
        }

        return _file.ReadAudit(afterSequence, limit);
    }

    public AuditVerification VerifyAudit(ApiKeyContext actor)
    {
        Authorize(actor, ChromaActions.ReadAudit, default);
        return _file.VerifyAudit();
    }
}
