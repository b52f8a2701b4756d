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
}
