namespace EmbeddedChroma.Internal;

/// <summary>
/// Reports a long operation's progress at a bounded rate and checks its cancellation token: the work calls
/// <see cref="Advance"/> per unit (cheap: a token check and a comparison) and a report goes out only when another
/// hundredth of the total is done, so a caller's <see cref="IProgress{T}"/> sees at most about a hundred reports,
/// <c>0</c> first and <c>Total</c> last, never decreasing.
/// <code>
///  Start(total) ──► report 0/total
///  Advance(n)   ──► token checked (throws OperationCanceledException) ; report when n ≥ next mark
///  Finish()     ──► report total/total (once the operation has succeeded: no check)
/// </code>
/// </summary>
internal sealed class ProgressReporter(string operation, string unit, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken)
{
    /// <summary>Reports per operation, at most (plus the first and the last).</summary>
    private const int Steps = 100;

    private long _total;
    private long _step = 1;
    private long _next;
    private long _reported = -1;

    /// <summary>The operation's cancellation token.</summary>
    public CancellationToken Token => cancellationToken;

    /// <summary>Units of the whole operation (set by <see cref="Start"/>).</summary>
    public long Total => _total;

    /// <summary>A reporter, or null when there is neither a progress sink nor a token that can be cancelled.</summary>
    public static ProgressReporter? Create(string operation, string unit, IProgress<ChromaProgress>? progress, CancellationToken cancellationToken) =>
        progress is null && !cancellationToken.CanBeCanceled ? null : new ProgressReporter(operation, unit, progress, cancellationToken);

    /// <summary>Checks the token (an <see cref="OperationCanceledException"/> when cancelled).</summary>
    public void ThrowIfCancellationRequested() => cancellationToken.ThrowIfCancellationRequested();

    /// <summary>Fixes the total, checks the token and reports 0 of it.</summary>
    public void Start(long total)
    {
        _total = Math.Max(0, total);
        _step = Math.Max(1, (_total + Steps - 1) / Steps);
        _next = _step;
        _reported = -1;
        cancellationToken.ThrowIfCancellationRequested();
        Report(0);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary><paramref name="completed"/> units are done: checks the token, reports when another step is done.</summary>
    public void Advance(long completed)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (completed >= _next && completed < _total)
        {
            Report(completed);
            _next = completed + _step;
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The operation succeeded: reports the total (no cancellation check: nothing is left to stop).</summary>
    public void Finish() => Report(_total);

    private void Report(long completed)
    {
        completed = Math.Clamp(completed, 0, _total);
        if (completed <= _reported)
        {
            return;
        }

        _reported = completed;
        progress?.Report(new ChromaProgress(operation, completed, _total, unit));
    }
}
