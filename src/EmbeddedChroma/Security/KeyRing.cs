using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Security;

/// <summary>
/// The local key ring: keys (as HMAC hashes), their scopes and state, cached in memory so that the per-call
/// check is lookups and a few field reads; usage counters; the audit log. Persisted in <see cref="KeyRingFile"/>.
/// <code>
///  Authenticate(key):  shape → checksum → key id lookup → HMAC → FixedTimeEquals → state
///  Authorize(ctx, action, resource):  state (revoked? expired? …) → scope (else "not found")
///                                     → action (else "forbidden") → rate limit → quota → count
/// </code>
/// </summary>
/// <remarks>Thread-safe. State changes take <c>lock(record)</c>; file writes take the file's lock.</remarks>
internal sealed partial class KeyRing : IDisposable
{
    // Size: About 1,100 lines over two partial files (this one: authentication, authorization, quotas, usage; .Manage:
    // create/revoke/rotate/list). One type: every path shares the ring's lock and in-memory key table, and each change
    // must be audited under it. Left as the key-ring hardening work shaped it.

    internal const string AuthenticateAction = "authenticate";
    /// <summary>The Unix epoch in hours since 0001-01-01 (the per-hour usage record counts hours from the epoch).</summary>
    internal const long UnixEpochHours = 621355968000000000L / TimeSpan.TicksPerHour;
    private const int MaxFailureBuckets = 10_000;
    /// <summary>The store's meter's key-ring counter (see <see cref="Telemetry"/>): key id (public), action, outcome; never the secret.</summary>
    private static Counter<long> Calls => Telemetry.KeyRingCalls;

    private readonly KeyRingFile _file;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, KeyRecord> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TokenBucket> _failures = new(StringComparer.Ordinal);
    private readonly TokenBucket _overflowFailures = new(permitsPerSecond: 1, burst: 10);
    private readonly TokenBucket _auditDenials = new(permitsPerSecond: 20, burst: 100);
    private readonly byte[] _dummyHash;
    private long _highWaterTicks;
    private long _suppressedDenials;
    private long _lastFlushTicks;
    private long _lastHighWaterFlushTicks;
    private int _flushing;
    private int _disposed;

    /// <summary>The last usage flush or audit write failed (a full disk): warned once, retried with the next flush.</summary>
    private int _writeFailing;

    /// <summary>Receives the ring's warnings (usage counters or audit entries that could not be written).</summary>
    internal Microsoft.Extensions.Logging.ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private KeyRing(KeyRingFile file, TimeProvider time)
    {
        _file = file;
        _time = time;
        _dummyHash = file.HashSecret(new byte[ApiKeyFormat.SecretLength]);
        var lastUsed = file.ReadLastUsed();
        foreach (var (keyId, json) in file.LoadKeys())
        {
            var body = KeyBody.FromJson(json);
            var record = KeyRecord.Build(keyId, Convert.FromBase64String(body.Hash), body);
            record.LastUsedMs = record.FlushedLastUsedMs = lastUsed.GetValueOrDefault(keyId);
            _keys[keyId] = record;
        }

        foreach (var record in _keys.Values)
        {
            record.Parent = record.CreatedBy is { } parent ? _keys.GetValueOrDefault(parent) ?? throw MissingKey(record, parent) : null;
            record.SuccessorRecord = record.Successor is { } next ? _keys.GetValueOrDefault(next) ?? throw MissingKey(record, next) : null;
        }

        _highWaterTicks = file.StoredHighWaterTicks;
        _lastHighWaterFlushTicks = file.StoredHighWaterTicks;
        file.HighWater = () => Interlocked.Read(ref _highWaterTicks);
    }

    private static ChromaKeyRingException MissingKey(KeyRecord record, string missing) =>
        new($"The key ring failed its integrity check: key {record} refers to key {ApiKeyFormat.Display(missing)}, which is not in the ring.");

    public static KeyRing Open(string folder, TimeProvider time, bool create, bool readOnly = false) => new(KeyRingFile.Open(folder, create, readOnly), time);

    /// <summary>Writes a consistent copy of the ring's files into <paramref name="folder"/>; returns the bytes written.</summary>
    public long BackupTo(string folder) => _file.BackupTo(folder);

    /// <summary>
    /// The clock, never moving backwards: a clock set back cannot revive an expired key. Its high-water mark is
    /// persisted (in the ring's MAC'd version record) on every ring write, at most a second behind while calls are
    /// made, and on close; it is loaded on open, so a reopen with the clock set back does not revive a key either.
    /// </summary>
    internal DateTimeOffset Now()
    {
        var ticks = _time.GetUtcNow().UtcTicks;
        var seen = Interlocked.Read(ref _highWaterTicks);
        while (ticks > seen)
        {
            var previous = Interlocked.CompareExchange(ref _highWaterTicks, ticks, seen);
            if (previous == seen)
            {
                return new DateTimeOffset(ticks, TimeSpan.Zero);
            }

            seen = previous;
        }

        return new DateTimeOffset(seen, TimeSpan.Zero);
    }

    // ---------------- authentication ----------------

    /// <summary>Verifies a key's text; one public failure for every reason, the reason goes to the audit log.</summary>
    public KeyRecord Authenticate(ReadOnlySpan<char> key)
    {
        if (!ApiKeyFormat.TryParse(key, out var keyId, out var secretRange))
        {
            AuditDenial(null, "auth.denied", "malformed key (shape or checksum)");
            throw Unauthenticated();
        }

        var found = _keys.TryGetValue(keyId, out var record);
        var hash = ApiKeyFormat.HashSecret(key[secretRange], _file.HashSecret);
        var matches = CryptographicOperations.FixedTimeEquals(hash, found ? record!.Hash : _dummyHash);
        CryptographicOperations.ZeroMemory(hash);
        if (found && matches)
        {
            var reason = Unusable(record!, Now());
            if (reason is null)
            {
                return record!;
            }

            Count(record!, ChromaActions.Index.Count, ApiKeyOutcome.Unauthenticated);
            AuditDenial(keyId, "auth.denied", reason);
            throw Unauthenticated();
        }

        // A wrong secret (or an unknown id: same path, so existence does not show). After a burst, further
        // failures for this id are refused as throttled — but a correct secret above still succeeds, so the
        // key's owner is never locked out by someone guessing at their key id.
        // The table is bounded but never cleared: clearing it would reset the throttle of the very key id under
        // attack after a flood of other ids. Ids that find it full share one bucket (known or not, so existence does not show).
        var bucket = _failures.TryGetValue(keyId, out var own) ? own
            : _failures.Count >= MaxFailureBuckets ? _overflowFailures
            : _failures.GetOrAdd(keyId, static _ => new TokenBucket(permitsPerSecond: 1, burst: 10));
        var throttled = !bucket.TryTake(Now().UtcTicks, out var retryAfter);
        if (found)
        {
            Count(record!, ChromaActions.Index.Count, throttled ? ApiKeyOutcome.RateLimited : ApiKeyOutcome.Unauthenticated);
        }

        if (throttled)
        {
            Interlocked.Increment(ref _suppressedDenials);
            throw new ChromaRateLimitedException("Authentication failed too often for this key id; retry later.", retryAfter);
        }

        AuditDenial(found ? keyId : null, "auth.denied", found ? "wrong secret" : "unknown key id");
        throw Unauthenticated();
    }

    /// <summary>Why the key cannot be used now, or null when it can.</summary>
    private static string? Unusable(KeyRecord record, DateTimeOffset now)
    {
        if (record.Revoked)
        {
            return "revoked";
        }

        if (record.Disabled)
        {
            return "disabled";
        }

        if (record.Expires is { } expires && now >= expires)
        {
            return "expired";
        }

        if (record.GraceUntil is { } grace && now >= grace)
        {
            return "rotated (grace period over)";
        }

        if (record.Budget().RemainingUses is <= 0)
        {
            return "out of uses";
        }

        // Authority flows down: a key whose issuing key (or any key above it) is revoked, disabled or expired is
        // unusable too. A rotated issuer lives on in its successor, so its keys follow the successor's state.
        return record.BlockingIssuer(now) is { } live
            ? $"issued under {live}, which is {(live.Revoked ? "revoked" : live.Disabled ? "disabled" : "expired")}"
            : null;
    }

    // ---------------- authorization ----------------

    /// <summary>
    /// The per-call gate. <paramref name="navigate"/>: the call only needs to see the resource (list, open a
    /// client), so an ancestor of the key's scope is enough.
    /// </summary>
    /// <remarks><paramref name="implied"/>: no action is needed, only a valid key that may see the resource (opening a client).</remarks>
    public void Authorize(ApiKeyContext context, string action, in ResourceRef resource, bool navigate = false, bool implied = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        var record = context.Record;
        var actionIndex = ChromaActions.Index[action];
        var now = Now();
        var reason = ReferenceEquals(context.Ring, this) ? Unusable(record, now) : "context of another store";
        if (reason is not null)
        {
            Count(record, actionIndex, ApiKeyOutcome.Unauthenticated);
            AuditDenial(record.KeyId, "auth.denied", $"{reason} ({action})");
            throw Unauthenticated();
        }

        if (resource.Depth > 0 && !(navigate ? Touches(record, resource) : Covers(record, resource)))
        {
            Count(record, actionIndex, ApiKeyOutcome.OutOfScope);
            AuditDenial(record.KeyId, "access.out_of_scope", $"{action} on {resource}");
            throw NotFound(resource);
        }

        if (implied)
        {
            return;
        }

        if (!record.Granted[actionIndex] && !(action == ChromaActions.GetCollection && record.AnyCollectionAction))
        {
            Count(record, actionIndex, ApiKeyOutcome.Forbidden);
            AuditDenial(record.KeyId, "access.forbidden", $"{action} on {resource}");
            throw new ChromaAuthorizationException($"The key {record} is not allowed '{action}' on {resource}.");
        }

        if (record.Bucket is not null && record.RateBucket() is { } bucket && !bucket.TryTake(now.UtcTicks, out var retryAfter))
        {
            Count(record, actionIndex, ApiKeyOutcome.RateLimited);
            AuditDenial(record.KeyId, "access.rate_limited", action);
            throw new ChromaRateLimitedException($"The key {record} exceeded its rate limit; retry after {retryAfter.TotalMilliseconds:F0} ms.", retryAfter);
        }

        if (record.RemainingUses is not null)
        {
            TakeUse(record, actionIndex, action);
        }

        Count(record, actionIndex, ApiKeyOutcome.Allowed);
        Interlocked.Exchange(ref record.LastUsedMs, now.ToUnixTimeMilliseconds());
        MaybeFlushUsage(now.UtcTicks);
    }

    /// <summary>
    /// Quota: exactly as many calls as uses, even when threads race (the decrement is under the budget's lock).
    /// Uses are leased in blocks: a lease is written durably as "these uses are gone" before any of them is spent,
    /// so one commit serves up to <see cref="KeyRecord.MaxLease"/> calls, and a crash counts the unspent rest of a
    /// lease as spent (never as refilled). Leases double from 1, so a crash loses at most about as many uses as were
    /// spent since the store was opened. Closing the store gives the unspent lease back.
    /// </summary>
    private void TakeUse(KeyRecord record, int actionIndex, string action)
    {
        if (_file.ReadOnly)
        {
            // A use cannot be counted durably: counting in memory would give every read-only open a fresh quota.
            throw new ChromaReadOnlyException($"The key {record} has a usage quota, and a store opened read-only (ChromaStoreOptions.ReadOnly, or on a full disk) cannot count its uses; use a key without a quota.");
        }

        while (true)
        {
            var budget = record.Budget();
            lock (budget)
            {
                if (budget.RemainingUses is not null && budget.SuccessorRecord is not null)
                {
                    continue; // rotated meanwhile: the uses moved to the successor
                }

                if (budget.RemainingUses is not > 0)
                {
                    Count(record, actionIndex, ApiKeyOutcome.Unauthenticated);
                    AuditDenial(record.KeyId, "auth.denied", $"out of uses ({action})");
                    throw Unauthenticated();
                }

                if (budget.Leased == 0)
                {
                    budget.LeaseSize = Math.Min(KeyRecord.MaxLease, Math.Max(1, budget.LeaseSize * 2));
                    budget.Leased = Math.Min(budget.RemainingUses.Value, budget.LeaseSize);
                    try
                    {
                        _file.Commit([(budget.KeyId, budget.ToBody().ToJson())], []);
                    }
                    catch (Exception ex) when (Storage.StorageErrors.IsStorageFault(ex))
                    {
                        // Not written durably, so not leased: the call fails naming the cause (a full disk, read-only media).
                        budget.Leased = 0;
                        throw Storage.StorageErrors.Map(ex, _file.DatabasePath);
                    }
                    catch
                    {
                        budget.Leased = 0;
                        throw;
                    }
                }

                budget.Leased--;
                budget.RemainingUses--;
                return;
            }
        }
    }

    /// <summary>Gives unspent leases back (on close): their uses were written as gone, they are not.</summary>
    private void ReleaseLeases()
    {
        var rows = new List<(string, string)>();
        foreach (var record in _keys.Values)
        {
            lock (record)
            {
                if (record.Leased > 0)
                {
                    record.Leased = 0;
                    rows.Add((record.KeyId, record.ToBody().ToJson()));
                }
            }
        }

        if (rows.Count > 0)
        {
            _file.Commit(rows, []);
        }
    }

    internal static bool Covers(KeyRecord record, in ResourceRef resource)
    {
        foreach (var pattern in record.Resources)
        {
            if (pattern.Covers(resource))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool Touches(KeyRecord record, in ResourceRef resource)
    {
        foreach (var pattern in record.Resources)
        {
            if (pattern.Touches(resource))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Out of scope looks exactly like missing, so a key cannot probe what exists beyond it.</summary>
    internal static ChromaNotFoundException NotFound(in ResourceRef resource) => resource.Depth switch
    {
        1 => new ChromaNotFoundException(NotFoundMessages.Tenant(resource.Tenant!)),
        2 => new ChromaNotFoundException(NotFoundMessages.Database(resource.Tenant!, resource.Database!)),
        _ => new ChromaNotFoundException(NotFoundMessages.Collection(resource.Tenant!, resource.Database!, resource.Collection!)),
    };

    internal static ChromaAuthenticationException Unauthenticated() => new("Authentication failed: the API key is missing, malformed, unknown, expired or revoked.");

    // ---------------- usage and audit ----------------

    private static void Count(KeyRecord record, int actionIndex, ApiKeyOutcome outcome)
    {
        Interlocked.Increment(ref record.Counts[(actionIndex * KeyRecord.OutcomeCount) + (int)outcome]);
        if (Calls.Enabled)
        {
            var action = actionIndex < ChromaActions.Index.Count ? ActionName(actionIndex) : AuthenticateAction;
            Calls.Add(1, new TagList { { "key.id", record.KeyId }, { "action", action }, { "outcome", outcome.ToString() } });
        }
    }

    private static readonly string[] ActionNames = ChromaActions.Index.OrderBy(p => p.Value).Select(p => p.Key).ToArray();

    internal static string ActionName(int index) => index < ActionNames.Length ? ActionNames[index] : AuthenticateAction;

    /// <summary>Denials go to the audit log, at most a burst of them per second; the rest are counted and reported with the next entry.</summary>
    private void AuditDenial(string? keyId, string @event, string detail)
    {
        if (_file.ReadOnly)
        {
            return; // read-only open: nothing is written (see ChromaStoreOptions.ReadOnly)
        }

        if (!_auditDenials.TryTake(Now().UtcTicks, out _))
        {
            Interlocked.Increment(ref _suppressedDenials);
            return;
        }

        var suppressed = Interlocked.Exchange(ref _suppressedDenials, 0);
        try
        {
            _file.Commit([], [(Now(), @event, keyId, null, suppressed > 0 ? $"{detail}; {suppressed} similar denials not logged individually" : detail)]);
        }
        catch (Exception ex) when (Storage.StorageErrors.IsStorageFault(ex) || ex is ChromaReadOnlyException)
        {
            // The call is refused as it would be anyway; a full disk must not turn the refusal into another error.
            Interlocked.Add(ref _suppressedDenials, suppressed + 1);
            WarnWriteFailed(() => StoreLog.AuditWriteFailed(Logger, @event, _file.DatabasePath, Storage.StorageErrors.Map(ex, _file.DatabasePath).Message));
        }
    }

    /// <summary>Logs a failed usage or audit write once, until a write succeeds again.</summary>
    private void WarnWriteFailed(Action log)
    {
        if (Interlocked.Exchange(ref _writeFailing, 1) == 0)
        {
            log();
        }
    }

    /// <summary>
    /// Every second the clock's high-water mark, every 10 seconds the usage counters are written — on a thread-pool
    /// thread, not on the call that found them due: a ring write is a SQLite commit with its fsync, which would
    /// otherwise land in the latency of one call in every few hundred (the tail a server sees). One flush at a time;
    /// <see cref="Dispose"/> waits for a running one and then writes the rest itself.
    /// </summary>
    private void MaybeFlushUsage(long nowTicks)
    {
        var usageDue = nowTicks - Interlocked.Read(ref _lastFlushTicks) >= TimeSpan.TicksPerSecond * 10;
        var clockDue = nowTicks - Interlocked.Read(ref _lastHighWaterFlushTicks) >= TimeSpan.TicksPerSecond;
        if (!(usageDue || clockDue) || Interlocked.Exchange(ref _flushing, 1) == 1)
        {
            return;
        }

        if (clockDue)
        {
            Interlocked.Exchange(ref _lastHighWaterFlushTicks, nowTicks);
        }

        if (usageDue)
        {
            Interlocked.Exchange(ref _lastFlushTicks, nowTicks);
        }

        ThreadPool.UnsafeQueueUserWorkItem(static work => work.Ring.FlushDue(work.NowTicks, work.ClockDue, work.UsageDue), new DueFlush(this, nowTicks, clockDue, usageDue), preferLocal: false);
    }

    private readonly record struct DueFlush(KeyRing Ring, long NowTicks, bool ClockDue, bool UsageDue);

    private void FlushDue(long nowTicks, bool clockDue, bool usageDue)
    {
        try
        {
            if (clockDue)
            {
                _file.PersistHighWater(nowTicks);
            }

            if (usageDue)
            {
                FlushUsage();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Nobody waits for this write: a call must not fail for want of space, and a thread-pool thread must not
            // end the process. The mark is written again with the next ring write, the counters with the next flush.
            var message = Storage.StorageErrors.IsStorageFault(ex) ? Storage.StorageErrors.Map(ex, _file.DatabasePath).Message : ex.GetType().Name;
            WarnWriteFailed(() => StoreLog.UsageFlushFailed(Logger, _file.DatabasePath, message));
        }
        finally
        {
            Interlocked.Exchange(ref _flushing, 0);
        }
    }

    /// <summary>
    /// Writes the counters added since the last flush. When they cannot be written (a full disk, read-only media) they
    /// stay in memory, counted as not yet flushed, and the next flush writes them: a warning is logged once, and the
    /// call that triggered the flush is not affected.
    /// </summary>
    internal void FlushUsage()
    {
        if (_file.ReadOnly)
        {
            return; // read-only open: the counters live in memory only (see ChromaStoreOptions.ReadOnly)
        }

        lock (_file.Sync)
        {
            var counts = new List<(string, string, int, long)>();
            var lastUsed = new List<(string, long)>();
            var flushed = new List<(KeyRecord Record, int Index, long Total)>();
            var usedFlushed = new List<(KeyRecord Record, long Used)>();
            foreach (var record in _keys.Values)
            {
                for (var i = 0; i < record.Counts.Length; i++)
                {
                    var total = Interlocked.Read(ref record.Counts[i]);
                    var delta = total - record.FlushedCounts[i];
                    if (delta > 0)
                    {
                        counts.Add((record.KeyId, ActionName(i / KeyRecord.OutcomeCount), i % KeyRecord.OutcomeCount, delta));
                        flushed.Add((record, i, total));
                    }
                }

                var used = Interlocked.Read(ref record.LastUsedMs);
                if (used > record.FlushedLastUsedMs)
                {
                    lastUsed.Add((record.KeyId, used));
                    usedFlushed.Add((record, used));
                }
            }

            if (counts.Count == 0 && lastUsed.Count == 0)
            {
                return;
            }

            try
            {
                _file.AddUsage(counts, lastUsed, Now().UtcTicks / TimeSpan.TicksPerHour - UnixEpochHours);
            }
            catch (Exception ex) when (Storage.StorageErrors.IsStorageFault(ex) || ex is ChromaReadOnlyException)
            {
                WarnWriteFailed(() => StoreLog.UsageFlushFailed(Logger, _file.DatabasePath, Storage.StorageErrors.Map(ex, _file.DatabasePath).Message));
                return;
            }

            // Marked flushed only once written: a failed flush keeps them for the next one.
            foreach (var (record, index, total) in flushed)
            {
                record.FlushedCounts[index] = total;
            }

            foreach (var (record, used) in usedFlushed)
            {
                record.FlushedLastUsedMs = used;
            }

            Interlocked.Exchange(ref _writeFailing, 0);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        // A background flush may be writing: wait for it, and keep the flag taken so that no other one starts.
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _flushing, 1, 0) != 0)
        {
            spin.SpinOnce();
        }

        try
        {
            if (_file.ReadOnly)
            {
                return; // nothing is written by a read-only open (the finally still closes the file)
            }

            FlushUsage();
            ReleaseLeases();
            _file.PersistHighWater(Interlocked.Read(ref _highWaterTicks));
        }
        catch (Exception ex) when (Storage.StorageErrors.IsStorageFault(ex) || ex is ChromaException)
        {
            // Closing must not fail: an unwritten lease release counts those uses as spent (as a crash would),
            // and the clock's mark stays where the last write left it.
        }
        finally
        {
            _file.Dispose();
        }
    }
}

/// <summary>The one wording of "not found", shared by the catalog and the gate so the two cannot be told apart.</summary>
internal static class NotFoundMessages
{
    public static string Tenant(string tenant) => $"Tenant '{Echo.Text(tenant)}' does not exist.";

    public static string Database(string tenant, string database) => $"Database '{Echo.Text(database)}' does not exist in tenant '{Echo.Text(tenant)}'.";

    public static string Collection(string tenant, string database, string collection) => $"Collection '{Echo.Text(collection)}' does not exist in '{Echo.Text(tenant)}/{Echo.Text(database)}'.";
}
