using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Internal;

/// <summary>The store's log messages (source-generated; see <see cref="ChromaStoreOptions.Logger"/>).</summary>
internal static partial class StoreLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Collection {Collection}: vector arena '{Path}' {Reason}; rebuilding it from SQLite.")]
    public static partial void ArenaRebuilt(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Collection {Collection}: HNSW graph '{Path}' could not be used ({Reason}); rebuilding it in the background.")]
    public static partial void GraphRebuilt(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Collection {Collection}: background {Task} failed; queries stay correct (exact scan of what it did not cover) and the next open repairs it.")]
    public static partial void BackgroundFailed(ILogger logger, Exception exception, string collection, string task);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Upgraded '{Path}' from schema version {From} to {To}: checksums computed for {Records} records.")]
    public static partial void SchemaMigrated(ILogger logger, string path, int from, int to, long records);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Collection {Collection}: HNSW graph '{Path}' covers writes up to {Stamp}; replaying {Pending} later upserts and {Removed} deletions (written after the graph was last saved).")]
    public static partial void GraphReplayed(ILogger logger, string collection, string path, long stamp, int pending, int removed);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Collection {Collection}: HNSW graph '{Path}' is missing; rebuilding it in the background.")]
    public static partial void GraphMissing(ILogger logger, string collection, string path);
}
