namespace EmbeddedChroma.Security;

/// <summary>
/// A token bucket on an external clock (ticks from a <see cref="TimeProvider"/>): safe under concurrency
/// (one short lock), never refilled by a clock that moves backwards.
/// </summary>
internal sealed class TokenBucket(double permitsPerSecond, int burst)
{
    private readonly Lock _lock = new();
    private double _tokens = burst;
    private long _lastTicks = long.MinValue;

    public bool TryTake(long nowTicks, out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            if (_lastTicks == long.MinValue)
            {
                _lastTicks = nowTicks;
            }
            else if (nowTicks > _lastTicks)
            {
                _tokens = Math.Min(burst, _tokens + ((nowTicks - _lastTicks) / (double)TimeSpan.TicksPerSecond * permitsPerSecond));
                _lastTicks = nowTicks;
            }

            if (_tokens >= 1)
            {
                _tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - _tokens) / permitsPerSecond);
            return false;
        }
    }
}
