namespace EmbeddedChroma.Internal;

/// <summary>Runs an in-process operation for an async contract method: its result or its failure as a completed task.</summary>
internal static class Completed
{
    public static Task<T> Run<T>(Func<T> operation, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        try
        {
            return Task.FromResult(operation());
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
    }

    public static Task Run(Action operation, CancellationToken cancellationToken) =>
        Run(
            () =>
            {
                operation();
                return true;
            },
            cancellationToken);
}
