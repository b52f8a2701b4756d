using System.Diagnostics;

namespace EmbeddedChroma.Internal;

/// <summary>
/// Per-step durations of opening a store and loading a collection (benchmarks: <c>scale-open</c>). Null observer by
/// default: a step costs one timestamp and one null check, once per open or load.
/// </summary>
internal static class OpenTrace
{
    /// <summary>Called with a step's name and its duration when set (a benchmark's observer).</summary>
    public static Action<string, TimeSpan>? Observer { get; set; }

    /// <summary>Reports the time since <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) as <paramref name="step"/>; returns a new timestamp.</summary>
    public static long Step(string step, long started)
    {
        var now = Stopwatch.GetTimestamp();
        Observer?.Invoke(step, Stopwatch.GetElapsedTime(started, now));
        return now;
    }
}
