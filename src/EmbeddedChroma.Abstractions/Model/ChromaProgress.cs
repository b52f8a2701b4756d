namespace EmbeddedChroma;

/// <summary>
/// How far a long operation has come: <see cref="Completed"/> of <see cref="Total"/> <see cref="Unit"/>. Reported
/// through an <see cref="IProgress{T}"/> by the operations that take one (bulk add/upsert, index build, compaction,
/// backup, integrity check): first <c>0</c> of <see cref="Total"/>, then at most about a hundred reports with
/// <see cref="Completed"/> never decreasing, then <see cref="Total"/> of <see cref="Total"/> when the operation
/// succeeded. <see cref="Total"/> does not change within one operation.
/// </summary>
/// <remarks>
/// Reports are made synchronously on the thread doing the work, while the operation holds its locks: keep the callback
/// short and do not call the store from it. <see cref="Progress{T}"/> posts each report to the captured
/// synchronization context (or the thread pool) instead, so a UI can update from it. A callback may cancel the
/// operation's <see cref="CancellationToken"/>: the operation stops at its next check.
/// </remarks>
/// <param name="Operation">What is running: <c>"add"</c>, <c>"upsert"</c>, <c>"build_index"</c>, <c>"compact"</c>,
/// <c>"backup"</c> or <c>"verify_integrity"</c> (the operation names of the store's telemetry).</param>
/// <param name="Completed">Units done so far, 0 to <see cref="Total"/>.</param>
/// <param name="Total">Units the operation does in all (0 when there is nothing to do).</param>
/// <param name="Unit">What is counted: <c>"records"</c> or, for a backup, <c>"pages"</c> (of the SQLite file).</param>
public readonly record struct ChromaProgress(string Operation, long Completed, long Total, string Unit)
{
    /// <summary>The share done, 0 to 1 (1 when <see cref="Total"/> is 0).</summary>
    public double Fraction => Total <= 0 ? 1.0 : Math.Clamp((double)Completed / Total, 0.0, 1.0);

    /// <inheritdoc/>
    public override string ToString() => $"{Operation}: {Completed}/{Total} {Unit}";
}
