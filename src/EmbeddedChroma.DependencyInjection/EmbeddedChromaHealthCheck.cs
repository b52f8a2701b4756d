using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EmbeddedChroma.DependencyInjection;

/// <summary>
/// Reports an EmbeddedChroma store: Unhealthy when it cannot be opened (locked by another process, damaged, missing) or
/// is closed; Degraded when a background HNSW indexer failed (queries stay correct, scanning the rows it has not linked);
/// Healthy otherwise, with the indexing backlog in the description and data.
/// </summary>
internal sealed class EmbeddedChromaHealthCheck(Func<ChromaStore> store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ChromaStoreStatus status;
        try
        {
            status = store().GetStatus();
        }
        catch (ChromaStoreLockedException e)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The store folder is locked by another process.", e));
        }
        catch (ChromaException e)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"The store cannot be opened: {e.GetType().Name}.", e));
        }

        var data = new Dictionary<string, object>
        {
            ["open"] = status.IsOpen,
            ["readOnly"] = status.IsReadOnly,
            ["holdsLock"] = status.HoldsFolderLock,
            ["collections"] = status.LoadedCollections,
            ["collectionsIndexing"] = status.CollectionsIndexing,
            ["pendingIndexRows"] = status.PendingIndexRows,
            ["indexFailures"] = status.IndexFailures,
        };

        if (!status.IsOpen)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, "The store is closed.", data: data));
        }

        var indexing = status.CollectionsIndexing == 0
            ? "indexes up to date"
            : $"indexing {status.CollectionsIndexing} collection(s), {status.PendingIndexRows} row(s) pending";
        if (status.IndexFailures > 0)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"Open; {status.IndexFailures} background indexer(s) failed (queries scan the pending rows exactly); {indexing}.", data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy($"Open{(status.IsReadOnly ? " read-only" : "")}, folder lock held; {indexing}.", data));
    }
}
