using System.Collections.Concurrent;

namespace EmbeddedChroma.Server.Dashboard;

/// <summary>
/// Failed dashboard logins per remote address: a token bucket of <see cref="ChromaDashboardOptions.LoginFailureBurst"/>
/// failures refilled one per <see cref="ChromaDashboardOptions.LoginFailureRefill"/>. A login is refused (429) while
/// its address's bucket is empty, before the key is even checked. Addresses beyond the table's bound share one bucket.
/// </summary>
internal sealed class LoginThrottle
{
    private const int MaxAddresses = 10_000;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Bucket _overflow;
    private readonly ChromaDashboardOptions _options;

    public LoginThrottle(ChromaDashboardOptions options)
    {
        _options = options;
        _overflow = new Bucket(options.LoginFailureBurst, Now);
    }

    private long Now => _options.TimeProvider.GetUtcNow().UtcTicks;

    private Bucket For(string address) =>
        _buckets.TryGetValue(address, out var own) ? own
        : _buckets.Count >= MaxAddresses ? _overflow
        : _buckets.GetOrAdd(address, _ => new Bucket(_options.LoginFailureBurst, Now));

    /// <summary>Whether <paramref name="address"/> may try a login now; otherwise how long until it may.</summary>
    public bool MayTry(string address, out TimeSpan retryAfter)
    {
        var bucket = For(address);
        lock (bucket)
        {
            bucket.Refill(Now, _options);
            retryAfter = bucket.Tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromTicks(_options.LoginFailureRefill.Ticks - (Now - bucket.LastRefillTicks));
            return bucket.Tokens >= 1;
        }
    }

    public void Failed(string address)
    {
        var bucket = For(address);
        lock (bucket)
        {
            bucket.Refill(Now, _options);
            bucket.Tokens = Math.Max(0, bucket.Tokens - 1);
        }
    }

    private sealed class Bucket(int tokens, long now)
    {
        public int Tokens = tokens;

        public long LastRefillTicks = now;

        public void Refill(long now, ChromaDashboardOptions options)
        {
            var period = Math.Max(1, options.LoginFailureRefill.Ticks);
            var earned = (now - LastRefillTicks) / period;
            if (earned > 0)
            {
                Tokens = (int)Math.Min(options.LoginFailureBurst, Tokens + earned);
                LastRefillTicks += earned * period;
            }

            if (Tokens >= options.LoginFailureBurst)
            {
                LastRefillTicks = now;
            }
        }
    }
}
