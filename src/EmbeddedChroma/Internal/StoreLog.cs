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

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Collection {Collection}: could not save '{Path}' on close ({Reason}); it is rebuilt or replayed from SQLite on the next open.")]
    public static partial void DerivedSaveFailed(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Key usage counters could not be written to '{Path}' ({Reason}); they are kept in memory and written with a later flush. Calls are not affected.")]
    public static partial void UsageFlushFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "An audit entry ({Event}) could not be written to '{Path}' ({Reason}); the call it records was refused as usual.")]
    public static partial void AuditWriteFailed(ILogger logger, string @event, string path, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Derived path '{Path}' was {Found} instead of a file; moved aside to '{MovedTo}' and rebuilt from SQLite.")]
    public static partial void DerivedPathMovedAside(ILogger logger, string path, string found, string movedTo);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "Closing the store in '{Path}': {Step} failed ({Reason}); every file handle and the store lock were released anyway.")]
    public static partial void CloseStepFailed(ILogger logger, string path, string step, string reason);
}
