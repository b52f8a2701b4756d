using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Engine;

// Waiting for the background HNSW indexer with progress and cancellation (the public BuildIndex).
internal sealed partial class CollectionEngine
{
    /// <summary>How often the wait looks at the indexer's pending count (and the token).</summary>
    private static readonly TimeSpan IndexPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Waits until the background indexer has linked every write made so far, reporting the records linked out of
    /// those pending when the wait began. Cancelling stops the wait only: the indexer goes on in the background, queries
    /// scan the records not linked yet exactly, and closing the store saves the graph for the next open to resume from.
    /// </summary>
    public void BuildIndex(ProgressReporter? progress)
    {
        Read(() => 0);
        var indexer = State.Indexer;
        var start = indexer?.PendingCount ?? 0;
        progress?.Start(start);
        while (indexer is not null && indexer.PendingCount is var pending and > 0)
        {
            progress?.Advance(start - pending);
            if (progress is null)
            {
                Thread.Sleep(IndexPoll);
            }
            else
            {
                progress.Token.WaitHandle.WaitOne(IndexPoll);
                progress.ThrowIfCancellationRequested();
            }

            ThrowIfDeleted();
            _store.Session.ThrowIfClosed();
        }

        // Linked: what is left is marking deletions and a checkpoint, short; then the work is done.
        progress?.ThrowIfCancellationRequested();
        indexer?.WaitUntilIdle();
        if (State.DocumentsDeferred && _store.Session.Documents is { } documents)
        {
            // The document index too: the documents written since it last caught up, indexed now in this thread.
            ThrowIfDeleted();
            documents.CatchUp(State.Id, progress?.Token ?? default);
        }

        progress?.Finish();
    }
}
