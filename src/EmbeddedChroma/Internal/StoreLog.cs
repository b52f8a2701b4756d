using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Internal;

/// <summary>
/// The store's log messages (source-generated; see <see cref="ChromaStoreOptions.Logger"/>). Every caller-supplied
/// value (collection names, paths, reasons) goes through <see cref="Echo"/> first: keys masked, control characters
/// and lone surrogates escaped, so a log line never carries a secret and a strict UTF-8 writer never chokes.
/// </summary>
internal static partial class StoreLog
{
    public static void ArenaRebuilt(ILogger logger, string collection, string path, string reason)
    {
        Telemetry.Rebuilt("arena", collection);
        LogArenaRebuilt(logger, Echo.Text(collection), Echo.Path(path), Echo.Text(reason, 512));
    }

    public static void GraphRebuilt(ILogger logger, string collection, string path, string reason)
    {
        Telemetry.Rebuilt("graph", collection);
        LogGraphRebuilt(logger, Echo.Text(collection), Echo.Path(path), Echo.Text(reason, 512));
    }

    public static void BackgroundFailed(ILogger logger, Exception exception, string collection, string task) =>
        LogBackgroundFailed(logger, exception, Echo.Text(collection), task);

    /// <summary>A store file or folder readable or writable by group or others (warned about, not changed: it is the owner's file).</summary>
    public static void PermissionsTooWide(ILogger logger, string path, UnixFileMode mode, bool folder) =>
        LogPermissionsTooWide(logger, Echo.Path(path), Convert.ToString((int)mode & 0x1FF, 8), folder ? "700" : "600");

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Collection {Collection}: vector arena '{Path}' {Reason}; rebuilding it from SQLite.")]
    private static partial void LogArenaRebuilt(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Collection {Collection}: HNSW graph '{Path}' could not be used ({Reason}); rebuilding it in the background.")]
    private static partial void LogGraphRebuilt(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Collection {Collection}: background {Task} failed; queries stay correct (exact scan of what it did not cover) and the next open repairs it.")]
    private static partial void LogBackgroundFailed(ILogger logger, Exception exception, string collection, string task);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "Store file '{Path}' may be read or written by group or others (mode {Mode}); anyone with that access reads documents and embeddings without a key. Restrict it to its owner (chmod {Fix}).")]
    private static partial void LogPermissionsTooWide(ILogger logger, string path, string mode, string fix);

    /// <summary>A collection's filter rows differed from its records and were rebuilt from them.</summary>
    public static void FilterRowsRebuilt(ILogger logger, string collection, int records, string first) =>
        LogFilterRowsRebuilt(logger, Echo.Text(collection), records, Echo.Text(first));

    /// <summary>The FTS5 document index differed from the documents and was rebuilt from them.</summary>
    public static void DocumentIndexRebuilt(ILogger logger, string path, string reason) =>
        LogDocumentIndexRebuilt(logger, Echo.Path(path), Echo.Text(reason, 512));

    /// <summary>The background document indexer could not index pending documents (they stay pending: scanned exactly by where_document).</summary>
    public static void DocumentIndexingPaused(ILogger logger, string error, string reason) =>
        LogDocumentIndexingPaused(logger, error, Echo.Text(reason, 512));

    [LoggerMessage(EventId = 33, Level = LogLevel.Warning, Message = "Documents written recently could not be added to the document index ({Error}: {Reason}); where_document scans them until the next write tries again.")]
    private static partial void LogDocumentIndexingPaused(ILogger logger, string error, string reason);

    /// <summary>A saved filter index could not be used (stale, damaged, another store's) and is built again from the records.</summary>
    public static void FilterIndexRebuilt(ILogger logger, string collection, string path, string reason)
    {
        Telemetry.Rebuilt("filter index", collection);
        LogFilterIndexRebuilt(logger, Echo.Text(collection), Echo.Path(path), Echo.Text(reason, 512));
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Collection {Collection}: saved filter index '{Path}' {Reason}; building it again from the records.")]
    private static partial void LogFilterIndexRebuilt(ILogger logger, string collection, string path, string reason);

    /// <summary>The saved compact rows of a quantized collection could not be used (stale, damaged, another storage or store's) and are derived from the arena again.</summary>
    public static void CompactRowsRebuilt(ILogger logger, string collection, string path, string reason)
    {
        Telemetry.Rebuilt("compact rows", collection);
        LogCompactRowsRebuilt(logger, Echo.Text(collection), Echo.Path(path), Echo.Text(reason, 512));
    }

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Collection {Collection}: saved compact rows '{Path}' {Reason}; deriving them again from the vector arena.")]
    private static partial void LogCompactRowsRebuilt(ILogger logger, string collection, string path, string reason);

    /// <summary>An arena could not be rebuilt in the store folder (full disk) and was built outside it for this open.</summary>
    public static void ArenaOutsideStore(ILogger logger, string collection, string path, string folder, string reason) =>
        LogArenaOutsideStore(logger, Echo.Text(collection), Echo.Path(path), Echo.Path(folder), Echo.Text(reason, 512));

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "Collection {Collection}: vector arena '{Path}' could not be rebuilt in the store folder ({Reason}); built in '{Folder}' for this open instead (deleted on close; a later open with free space rebuilds the store's file).")]
    private static partial void LogArenaOutsideStore(ILogger logger, string collection, string path, string folder, string reason);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Collection {Collection}: the filter rows of {Records} record(s) (first: '{First}') did not match their metadata; rebuilt the collection's filter rows from its records.")]
    private static partial void LogFilterRowsRebuilt(ILogger logger, string collection, int records, string first);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "The document index (FTS5) of '{Path}' did not match the documents ({Reason}); rebuilt it from the records.")]
    private static partial void LogDocumentIndexRebuilt(ILogger logger, string path, string reason);

    /// <summary>ChromaClient.VerifyIntegrity found derived data (arena, graph, filter index, in memory or in its file) differing from the records and repaired it.</summary>
    public static void DerivedRepaired(ILogger logger, string collection, string what, string path, string problem, string repair)
    {
        Telemetry.Rebuilt(what.Contains("arena", StringComparison.Ordinal) ? "arena" : what.Contains("graph", StringComparison.Ordinal) ? "graph" : "filter index", collection);
        LogDerivedRepaired(logger, Echo.Text(collection), what, Echo.Path(path), Echo.Text(problem, 512), repair);
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Collection {Collection}: the integrity check found the {What} ('{Path}') differing from the records: {Problem}; {Repair}.")]
    private static partial void LogDerivedRepaired(ILogger logger, string collection, string what, string path, string problem, string repair);

    public static void DerivedSaveFailed(ILogger logger, string collection, string path, string reason) =>
        LogDerivedSaveFailed(logger, Echo.Text(collection), Echo.Path(path), Echo.Text(reason, 512));

    public static void UsageFlushFailed(ILogger logger, string path, string reason) =>
        LogUsageFlushFailed(logger, Echo.Path(path), Echo.Text(reason, 512));

    public static void AuditWriteFailed(ILogger logger, string @event, string path, string reason) =>
        LogAuditWriteFailed(logger, Echo.Text(@event), Echo.Path(path), Echo.Text(reason, 512));

    public static void DerivedPathMovedAside(ILogger logger, string path, string found, string movedTo) =>
        LogDerivedPathMovedAside(logger, Echo.Path(path), found, Echo.Path(movedTo));

    public static void CloseStepFailed(ILogger logger, string path, string step, string reason) =>
        LogCloseStepFailed(logger, Echo.Path(path), step, Echo.Text(reason, 512));

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Collection {Collection}: could not save '{Path}' on close ({Reason}); it is rebuilt or replayed from SQLite on the next open.")]
    private static partial void LogDerivedSaveFailed(ILogger logger, string collection, string path, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Key usage counters could not be written to '{Path}' ({Reason}); they are kept in memory and written with a later flush. Calls are not affected.")]
    private static partial void LogUsageFlushFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "An audit entry ({Event}) could not be written to '{Path}' ({Reason}); the call it records was refused as usual.")]
    private static partial void LogAuditWriteFailed(ILogger logger, string @event, string path, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Derived path '{Path}' was {Found} instead of a file; moved aside to '{MovedTo}' and rebuilt from SQLite.")]
    private static partial void LogDerivedPathMovedAside(ILogger logger, string path, string found, string movedTo);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "Closing the store in '{Path}': {Step} failed ({Reason}); every file handle and the store lock were released anyway.")]
    private static partial void LogCloseStepFailed(ILogger logger, string path, string step, string reason);

    // CA1873 does not see the IsEnabled guards below (it flags the escaping calls for Information level anyway).
#pragma warning disable CA1873
    public static void SchemaMigrated(ILogger logger, string path, int from, int to, long records)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogSchemaMigrated(logger, Echo.Path(path), from, to, records);
        }
    }

    public static void GraphReplayed(ILogger logger, string collection, string path, long stamp, int pending, int removed)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogGraphReplayed(logger, Echo.Text(collection), Echo.Path(path), stamp, pending, removed);
        }
    }
#pragma warning restore CA1873

#pragma warning disable CA1873 // guarded by IsEnabled (see above)
    public static void GraphReachRepaired(ILogger logger, string collection, int unreached, int linksAdded, int remaining)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogGraphReachRepaired(logger, Echo.Text(collection), unreached, linksAdded, remaining);
        }
    }
#pragma warning restore CA1873

    [LoggerMessage(EventId = 18, Level = LogLevel.Debug, Message = "Collection {Collection}: {Unreached} records were unreachable in the HNSW graph; {LinksAdded} links added, {Remaining} still unreachable.")]
    private static partial void LogGraphReachRepaired(ILogger logger, string collection, int unreached, int linksAdded, int remaining);

#pragma warning disable CA1873 // guarded by IsEnabled (see above)
    public static void Compacted(ILogger logger, string collection, bool automatic, int slotsBefore, int slotsAfter, long bytesBefore, long bytesAfter, TimeSpan elapsed)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            LogCompacted(logger, Echo.Text(collection), automatic, slotsBefore, slotsAfter, bytesBefore, bytesAfter, (long)elapsed.TotalMilliseconds);
        }
    }

    public static void GraphCheckpointed(ILogger logger, string collection, int nodes, long stamp, TimeSpan elapsed)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogGraphCheckpointed(logger, Echo.Text(collection), nodes, stamp, (long)elapsed.TotalMilliseconds);
        }
    }
#pragma warning restore CA1873

    [LoggerMessage(EventId = 16, Level = LogLevel.Information, Message = "Collection {Collection}: compacted (automatic: {Automatic}): {SlotsBefore} slots to {SlotsAfter}, store folder {BytesBefore} bytes to {BytesAfter}, in {ElapsedMs} ms.")]
    private static partial void LogCompacted(ILogger logger, string collection, bool automatic, int slotsBefore, int slotsAfter, long bytesBefore, long bytesAfter, long elapsedMs);

    [LoggerMessage(EventId = 17, Level = LogLevel.Debug, Message = "Collection {Collection}: HNSW graph checkpoint saved ({Nodes} nodes, covering writes up to {Stamp}) in {ElapsedMs} ms.")]
    private static partial void LogGraphCheckpointed(ILogger logger, string collection, int nodes, long stamp, long elapsedMs);

    public static void GraphMissing(ILogger logger, string collection, string path)
    {
        Telemetry.Rebuilt("graph", collection);
        LogGraphMissing(logger, Echo.Text(collection), Echo.Path(path));
    }

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Upgraded '{Path}' from schema version {From} to {To}: checksums computed for {Records} records.")]
    private static partial void LogSchemaMigrated(ILogger logger, string path, int from, int to, long records);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Collection {Collection}: HNSW graph '{Path}' covers writes up to {Stamp}; replaying {Pending} later upserts and {Removed} deletions (written after the graph was last saved).")]
    private static partial void LogGraphReplayed(ILogger logger, string collection, string path, long stamp, int pending, int removed);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Collection {Collection}: HNSW graph '{Path}' is missing; rebuilding it in the background.")]
    private static partial void LogGraphMissing(ILogger logger, string collection, string path);
}
