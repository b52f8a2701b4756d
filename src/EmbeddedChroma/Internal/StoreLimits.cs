using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Internal;

/// <summary>
/// The limits and settings the layers below the public API need, copied once from the public options when a store
/// opens (<c>ChromaStoreOptions.ToLimits</c>), so nothing below the API names the options type. Immutable: a store's
/// limits never change while it is open. The messages that cite a limit still name its public option
/// (<c>ChromaStoreOptions.MaxTenants</c> …), since that is what a caller can change.
/// </summary>
internal sealed record StoreLimits
{
    public required int MaxBatchSize { get; init; }
    public required int MaxResults { get; init; }
    public required int MaxQueryEmbeddings { get; init; }
    public required int MaxDimension { get; init; }
    public required int MaxDocumentLength { get; init; }
    public required int MaxIdLength { get; init; }
    public required int MaxMetadataKeys { get; init; }
    public required int MaxMetadataValueLength { get; init; }
    public required int MaxMetadataArrayLength { get; init; }
    public required int HnswThreshold { get; init; }
    public required int FilteredExactScanLimit { get; init; }

    /// <summary>How filtered queries on a graph are planned (<see cref="Internal.FilteredPlan.Auto"/> unless forced by a benchmark or test).</summary>
    public FilteredPlan FilteredPlan { get; init; }
    public required int MaxQueryParallelism { get; init; }
    public required bool AutoCompaction { get; init; }
    public required double AutoCompactionDeadFraction { get; init; }
    public required int AutoCompactionMinDeadSlots { get; init; }
    public required long FilterIndexMemoryBudget { get; init; }
    public required int MaxCollections { get; init; }
    public required int MaxDatabases { get; init; }
    public required int MaxTenants { get; init; }

    /// <summary>Opened for reads only: nothing in the store folder is written.</summary>
    public required bool ReadOnly { get; init; }

    public required ILogger Logger { get; init; }

    public required TimeProvider TimeProvider { get; init; }
}
