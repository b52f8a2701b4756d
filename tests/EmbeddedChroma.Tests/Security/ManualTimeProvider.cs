namespace EmbeddedChroma.Tests.Security;

/// <summary>A clock that moves only when told to (forwards or backwards). Thread-safe.</summary>
public sealed class ManualTimeProvider : TimeProvider
{
    /// <summary>A millisecond-aligned start, so expiries stored in milliseconds round-trip exactly.</summary>
    public static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private long _ticks = Start.UtcTicks;

    public DateTimeOffset Now => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public void Set(DateTimeOffset to) => Interlocked.Exchange(ref _ticks, to.UtcTicks);
}
