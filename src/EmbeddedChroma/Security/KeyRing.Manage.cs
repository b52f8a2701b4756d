namespace EmbeddedChroma.Security;

// Key lifecycle: create, list, disable/enable, revoke, rotate; bootstrap and recovery of admin keys.
//
// Delegation: every key but an admin key was issued under another (its CreatedBy, cached as KeyRecord.Parent).
//  - A new key (created or a rotation's successor) is within the issuing key: actions, resources, expiry, rate
//    limit and uses (Exceeds, the one rule). A child's uses are carved out of the issuer's budget when it is created.
//  - A non-admin key manages (sees, disables, enables, revokes, rotates, reads usage of) only itself and the keys
//    issued below it (Manages); an admin key manages all.
//  - A key is unusable when any key above it is revoked, disabled or expired (KeyRing.Unusable walks the chain).
//  - Enabling a key needs a key at or above the one that disabled it.
// Lock order: _manage → a record's lock → the file's lock.
internal sealed partial class KeyRing
{
    private static readonly string[] AdminGrants = [ChromaActions.AllData, ChromaActions.AllKeyRing];
    private readonly Lock _manage = new();

    /// <summary>Creates the store's first admin key (bootstrap); returns its text, shown once.</summary>
    public string CreateAdminKey(string name)
    {
        lock (_manage)
        {
            var (record, body, key) = Build(new ApiKeySpec { Name = name, Resources = ["*"], Actions = AdminGrants }, createdBy: null, admin: true);
            _file.Commit([(record.KeyId, body.ToJson())], [(Now(), "key.bootstrap", record.KeyId, null, Describe(body))]);
            _keys[record.KeyId] = record;
            return key;
        }
    }

    /// <summary>
    /// Recovery: revokes every admin key and creates a new one (returned, shown once), in one transaction. The new
    /// key succeeds each revoked admin line, so the keys issued under the old admin keys keep working (revoke them
    /// one by one with the new key if the old admin key was stolen).
    /// </summary>
    public string RecoverAdminKey(string name)
    {
        lock (_manage)
        {
            var (record, body, key) = Build(new ApiKeySpec { Name = name, Resources = ["*"], Actions = AdminGrants }, createdBy: null, admin: true);
            var now = Now();
            var rows = new List<(string, string)> { (record.KeyId, body.ToJson()) };
            var audit = new List<(DateTimeOffset, string, string?, string?, string?)> { (now, "key.bootstrap", record.KeyId, null, Describe(body)) };
            var old = _keys.Values.Where(k => k.IsAdmin && !k.Revoked).ToList();
            foreach (var admin in old)
            {
                lock (admin)
                {
                    admin.Revoked = true;
                    if (admin.SuccessorRecord is null)
                    {
                        admin.Successor = record.KeyId;
                    }

                    rows.Add((admin.KeyId, admin.ToBody().ToJson()));
                    audit.Add((now, "key.revoked", admin.KeyId, null, $"admin-key recovery; successor {record.KeyId}"));
                }
            }

            _file.Commit(rows, audit);
            _keys[record.KeyId] = record;
            foreach (var admin in old.Where(a => a.Successor == record.KeyId))
            {
                admin.SuccessorRecord = record;
            }

            return key;
        }
    }

    /// <summary>Creates a key within <paramref name="actor"/>'s (see <see cref="Exceeds"/>); its uses are carved out of the actor's.</summary>
    public CreatedApiKey CreateKey(ApiKeyContext actor, ApiKeySpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Authorize(actor, ChromaActions.CreateKey, default);
        Validate(spec);
        var parent = actor.Record;
        var resources = spec.Resources.Select(ResourcePattern.Parse).ToList();
        var actions = spec.Actions.SelectMany(ChromaActions.Expand).Distinct().ToList();
        lock (_manage)
        {
            var budget = parent.Budget();
            lock (budget)
            {
                var reasons = Exceeds(parent, budget.RemainingUses, actions, resources, spec.ExpiresAt, spec.RateLimit, spec.MaxUses);
                if (reasons.Count > 0)
                {
                    AuditDenial(parent.KeyId, "key.create_denied", "requested a key broader than the creating key");
                    throw new ChromaAuthorizationException($"The key {parent} cannot create a key broader than itself; {string.Join("; ", reasons)}.");
                }

                var (record, body, key) = Build(spec, parent.KeyId, admin: false);
                var rows = new List<(string, string)> { (record.KeyId, body.ToJson()) };
                var detail = Describe(body);
                var (remaining, leased) = (budget.RemainingUses, budget.Leased);
                if (remaining is { } left && spec.MaxUses is { } carved)
                {
                    // Quotas do not multiply: the child's uses are the issuer's, reserved now.
                    budget.RemainingUses = left - carved;
                    budget.Leased = Math.Min(leased, left - carved);
                    rows.Add((budget.KeyId, budget.ToBody().ToJson()));
                    detail += $"; {carved} uses reserved from {budget.KeyId}";
                }

                try
                {
                    _file.Commit(rows, [(Now(), "key.created", record.KeyId, parent.KeyId, detail)]);
                }
                catch
                {
                    (budget.RemainingUses, budget.Leased) = (remaining, leased);
                    throw;
                }

                record.Parent = parent;
                _keys[record.KeyId] = record;
                return new CreatedApiKey(record.ToInfo(Now()), key);
            }
        }
    }

    /// <summary>
    /// The delegation rule, the one check for every key issued under another key (<see cref="CreateKey"/> and the
    /// successor of <see cref="Rotate"/>): the new key's actions, resources, expiry, rate limit and uses each lie
    /// within the issuing key's. <paramref name="issuerUses"/>: the uses the issuer has left (its budget), null for
    /// no quota. Returns what exceeds, empty when the new key is within. Admin keys (bootstrap, recovery) are issued
    /// under no key.
    /// </summary>
    private static List<string> Exceeds(KeyRecord issuer, long? issuerUses, IEnumerable<string> actions, IEnumerable<ResourcePattern> resources,
        DateTimeOffset? expires, ApiKeyRateLimit? rate, long? uses)
    {
        var reasons = new List<string>();
        var missing = actions.Where(a => !issuer.Granted[ChromaActions.Index[a]]).ToList();
        if (missing.Count > 0)
        {
            reasons.Add($"it lacks the actions {string.Join(", ", missing)}");
        }

        var outside = resources.Where(r => !issuer.Resources.Any(p => p.Contains(r))).Select(r => r.Text).ToList();
        if (outside.Count > 0)
        {
            reasons.Add($"resources outside its scope: {string.Join(", ", outside)}");
        }

        if (issuer.Expires is { } issuerExpires && (expires is null || expires > issuerExpires))
        {
            reasons.Add("the new key must expire no later than the creating key");
        }

        if (issuer.RateLimit is { } issuerRate && (rate is null || rate.PermitsPerSecond > issuerRate.PermitsPerSecond || rate.Burst > issuerRate.Burst))
        {
            reasons.Add("the new key needs a rate limit no looser than the creating key's");
        }

        if (issuerUses is { } left && (uses is null || uses > left))
        {
            reasons.Add($"the new key may have no more uses than the creating key has left ({left}); they are taken from its own");
        }

        return reasons;
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

    private (KeyRecord Record, KeyBody Body, string Key) Build(ApiKeySpec spec, string? createdBy, bool admin)
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
        return (KeyRecord.Build(keyId, hash, body), body, key);
    }

    private static string Describe(KeyBody body) =>
        $"name '{Internal.Echo.Text(body.Name, 256)}'; actions {string.Join(",", body.Actions)}; resources {string.Join(",", body.Resources)}";

    /// <summary>
    /// Keys the actor may see and manage: an admin key, all; any other key, itself and the keys issued below it
    /// (directly or further down; a rotated issuer's keys belong to its successor).
    /// </summary>
    private static bool Manages(KeyRecord actor, KeyRecord target)
    {
        if (actor.IsAdmin)
        {
            return true;
        }

        for (var node = target; node is not null; node = node.Parent)
        {
            for (var line = node; line is not null; line = line.SuccessorRecord)
            {
                if (ReferenceEquals(line, actor))
                {
                    return true;
                }
            }
        }

        return false;
    }

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

    /// <summary>
    /// Disables or enables a key. The key records who disabled it; enabling it needs a key that manages that
    /// disabler (at or above it), so a delegate cannot undo what a key above it did. A key disabled again by a
    /// key above the first disabler records the higher one.
    /// </summary>
    public void Disable(ApiKeyContext actor, string keyId, bool disabled)
    {
        var target = Target(actor, keyId, ChromaActions.DisableKey);
        lock (_manage)
        {
            if (target.Revoked)
            {
                throw new ChromaValidationException($"Key {target} is revoked; revoked keys cannot be {(disabled ? "disabled" : "enabled")}.");
            }

            var disabler = target.Disabled && target.DisabledBy is { } by ? _keys.GetValueOrDefault(by) : null;
            var outranked = disabler is not null && !Manages(actor.Record, disabler);
            if (!disabled && outranked)
            {
                AuditDenial(actor.Record.KeyId, "key.enable_denied", $"{target.KeyId} was disabled by {disabler!.KeyId}, which is not at or below the enabling key");
                throw new ChromaAuthorizationException($"The key {actor.Record} cannot enable {target}: it was disabled by {disabler}, a key above or beside the enabling key.");
            }

            SetState(target, actor.Record.KeyId, disabled ? "key.disabled" : "key.enabled", null, r =>
            {
                r.Disabled = disabled;
                r.DisabledBy = !disabled ? null : outranked ? r.DisabledBy : actor.Record.KeyId;
            });
        }
    }

    public void Revoke(ApiKeyContext actor, string keyId)
    {
        var target = Target(actor, keyId, ChromaActions.RevokeKey);
        lock (_manage)
        {
            SetState(target, actor.Record.KeyId, "key.revoked", null, r => r.Revoked = true);
        }
    }

    /// <summary>
    /// Rolls a key: a successor with identical scope; the old key works until <paramref name="grace"/> has passed
    /// (zero: dead now). Only a key usable now and never rotated before may be rotated, so a grace end is never
    /// extended and a dead key never comes back. The successor takes the old key's place below its issuer, must lie
    /// within the rotating key (<see cref="Exceeds"/>), and takes over the old key's remaining uses: during the grace
    /// period both spend that one budget. Successor and old key are written in one transaction.
    /// </summary>
    public CreatedApiKey Rotate(ApiKeyContext actor, string keyId, TimeSpan grace)
    {
        if (grace < TimeSpan.Zero || grace > DateTimeOffset.MaxValue - Now() - TimeSpan.FromDays(1))
        {
            throw new ChromaValidationException("Rotation grace period must be zero or positive and end before the year 9999.");
        }

        var target = Target(actor, keyId, ChromaActions.RotateKey);
        lock (_manage)
        {
            var now = Now();
            if (target.Revoked)
            {
                throw new ChromaValidationException($"Key {target} is revoked; revoked keys cannot be rotated.");
            }

            if (target.Disabled)
            {
                // Rotating would hand out an active successor and so undo the disable: enable it first (a separate grant).
                throw new ChromaValidationException($"Key {target} is disabled; enable it before rotating it.");
            }

            if (target.SuccessorRecord is { } existing)
            {
                throw new ChromaValidationException($"Key {target} was rotated already (successor {existing}); rotate the successor instead.");
            }

            if (Unusable(target, now) is { } reason)
            {
                throw new ChromaValidationException($"Key {target} cannot be rotated: it is {reason}.");
            }

            var issuer = actor.Record;
            long? issuerUses;
            var issuerBudget = issuer.Budget();
            lock (issuerBudget)
            {
                issuerUses = issuerBudget.RemainingUses;
            }

            lock (target)
            {
                // Uses are moved from the old key, not issued: the rule's uses clause only asks that a rotating key
                // with a quota receives no successor without one (the amount is the old key's, carved earlier).
                var reasons = Exceeds(issuer, issuerUses is null ? null : long.MaxValue, target.Grants.SelectMany(ChromaActions.Expand).Distinct(), target.Resources, target.Expires, target.RateLimit, target.RemainingUses);
                if (reasons.Count > 0)
                {
                    AuditDenial(issuer.KeyId, "key.rotate_denied", $"successor of {target.KeyId} would be broader than the rotating key");
                    throw new ChromaAuthorizationException($"The key {issuer} cannot rotate {target}: the successor would be broader than the rotating key; {string.Join("; ", reasons)}.");
                }

                var (successor, body, key) = Build(
                    new ApiKeySpec
                    {
                        Name = target.Name,
                        Resources = target.Resources.Select(r => r.Text).ToArray(),
                        Actions = target.Grants,
                        ExpiresAt = target.Expires,
                        RateLimit = target.RateLimit,
                        MaxUses = target.RemainingUses,
                    },
                    target.CreatedBy,
                    target.IsAdmin);
                var until = now + grace;
                var saved = (target.Successor, target.GraceUntil, target.Revoked, target.RemainingUses, target.Leased);
                target.Successor = successor.KeyId;
                target.GraceUntil = until;
                target.Revoked = grace == TimeSpan.Zero;
                if (target.RemainingUses is not null)
                {
                    (target.RemainingUses, target.Leased) = (0, 0);
                }

                try
                {
                    _file.Commit(
                        [(successor.KeyId, body.ToJson()), (target.KeyId, target.ToBody().ToJson())],
                        [
                            (now, "key.created", successor.KeyId, issuer.KeyId, Describe(body) + $"; successor of {target.KeyId}"),
                            (now, "key.rotated", target.KeyId, issuer.KeyId, $"successor {successor.KeyId}; grace until {until:O}"),
                        ]);
                }
                catch
                {
                    (target.Successor, target.GraceUntil, target.Revoked, target.RemainingUses, target.Leased) = saved;
                    throw;
                }

                successor.Parent = target.Parent;
                successor.Bucket = target.RateBucket() ?? successor.Bucket; // one rate for the whole line: no refill by rotating
                _keys[successor.KeyId] = successor;
                target.SuccessorRecord = successor;
                return new CreatedApiKey(successor.ToInfo(now), key);
            }
        }
    }

    /// <summary>
    /// After restoring a backup: revokes every key of this ring that <paramref name="export"/> (audit entries read from
    /// the store before it was lost, e.g. with <see cref="ReadAudit"/>) shows revoked or rotated. Entries can only make
    /// keys stricter, so they need no MAC; other events (creations, disables) are not re-applied. Admin keys only.
    /// </summary>
    public int ReapplyRevocations(ApiKeyContext actor, IReadOnlyList<AuditEntry> export)
    {
        Authorize(actor, ChromaActions.RevokeKey, default);
        if (!actor.Record.IsAdmin)
        {
            throw new ChromaAuthorizationException($"The key {actor.Record} may not re-apply revocations: it needs an admin key.");
        }

        if (export is null || export.Any(e => e is null))
        {
            throw new ChromaValidationException("ReapplyRevocations needs a list of audit entries (from ReadAudit), none of them null.");
        }

        var revoked = 0;
        lock (_manage)
        {
            foreach (var entry in export.Where(e => e.Event is "key.revoked" or "key.rotated"))
            {
                if (entry.KeyId is { } id && _keys.TryGetValue(id, out var record) && !record.Revoked)
                {
                    SetState(record, actor.Record.KeyId, "key.revoked", $"re-applied from an audit export ({entry.Event}, entry {entry.Sequence})", r => r.Revoked = true);
                    revoked++;
                }
            }
        }

        return revoked;
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

    public IReadOnlyList<ApiKeyUsageBucket> UsageHistory(ApiKeyContext actor, string keyId, DateTimeOffset since)
    {
        var target = Target(actor, keyId, ChromaActions.ReadUsage);
        FlushUsage();
        var fromHour = Math.Max(0, (since.UtcTicks / TimeSpan.TicksPerHour) - UnixEpochHours);
        return _file.ReadUsageHistory(target.KeyId, fromHour)
            .Select(r => new ApiKeyUsageBucket(new DateTimeOffset((r.Hour + UnixEpochHours) * TimeSpan.TicksPerHour, TimeSpan.Zero), r.Action, r.Outcome, r.Count))
            .ToList();
    }

    public IReadOnlyList<AuditEntry> ReadAudit(ApiKeyContext actor, long afterSequence, int limit)
    {
        Authorize(actor, ChromaActions.ReadAudit, default);
        if (limit is < 1 or > 100_000 || afterSequence < 0)
        {
            throw new ChromaValidationException("ReadAudit: limit must be 1 to 100,000 and afterSequence zero or positive.");
        }

        if (actor.Record.IsAdmin)
        {
            return _file.ReadAudit(afterSequence, limit);
        }

        // Authority flows down: a key that is not an admin key reads only the entries about keys it manages (itself
        // and the keys issued below it), paging past the others so that a page is full unless the log ends.
        var visible = new List<AuditEntry>();
        var pageSize = Math.Max(limit, 1000);
        while (visible.Count < limit)
        {
            var page = _file.ReadAudit(afterSequence, pageSize);
            foreach (var entry in page)
            {
                if (entry.KeyId is { } id && _keys.TryGetValue(id, out var about) && Manages(actor.Record, about))
                {
                    visible.Add(entry);
                    if (visible.Count == limit)
                    {
                        break;
                    }
                }
            }

            if (page.Count < pageSize)
            {
                break;
            }

            afterSequence = page[^1].Sequence;
        }

        return visible;
    }

    public AuditVerification VerifyAudit(ApiKeyContext actor)
    {
        Authorize(actor, ChromaActions.ReadAudit, default);
        if (!actor.Record.IsAdmin)
        {
            // A ring-wide check: it reads every entry and key row (also of keys the caller does not manage) and holds
            // the ring's file lock meanwhile, so quota leases and audit writes of every key wait. Admin keys only.
            throw new ChromaAuthorizationException($"The key {actor.Record} may not verify the whole key ring: it needs an admin key.");
        }

        return _file.VerifyAudit();
    }
}
