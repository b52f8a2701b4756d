using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData;

/// <summary>Wraps the contract's failures in <see cref="VectorStoreException"/> with the store, collection and operation named.</summary>
internal static class ChromaErrors
{
    /// <summary>The <see cref="VectorStoreMetadata.VectorStoreSystemName"/> of this connector (OpenTelemetry's <c>db.system.name</c>).</summary>
    public const string SystemName = "embeddedchroma";

    public static bool ShouldWrap(Exception e) => e is ChromaException;

    public static VectorStoreException Wrap(Exception e, string storeName, string? collection, string operation) =>
        new($"Call to vector store failed: {operation}{(collection is null ? "" : $" on collection '{collection}'")}: {e.Message}", e)
        {
            VectorStoreSystemName = SystemName,
            VectorStoreName = storeName,
            CollectionName = collection,
            OperationName = operation,
        };

    public static async Task<T> RunAsync<T>(Func<Task<T>> action, string storeName, string? collection, string operation)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (ShouldWrap(e))
        {
            throw Wrap(e, storeName, collection, operation);
        }
    }

    public static async Task RunAsync(Func<Task> action, string storeName, string? collection, string operation)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e) when (ShouldWrap(e))
        {
            throw Wrap(e, storeName, collection, operation);
        }
    }
}
