namespace EmbeddedChroma;

/// <summary>
/// Base type of every error EmbeddedChroma raises on purpose. Messages name what is wrong and where
/// (the id, the batch index, the field) and never contain a secret.
/// </summary>
public abstract class ChromaException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    protected ChromaException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    protected ChromaException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>An argument is invalid: wrong dimension, NaN, empty or duplicate id, bad filter, bad value type, oversized batch…</summary>
public class ChromaValidationException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaValidationException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner exception.</summary>
    public ChromaValidationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A filter (<c>where</c> or <c>where_document</c>) is malformed or uses an unknown operator.</summary>
public sealed class ChromaFilterException : ChromaValidationException
{
    /// <summary>Creates the exception.</summary>
    public ChromaFilterException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner exception.</summary>
    public ChromaFilterException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The store is full: creating one more collection, database or tenant would exceed a resource cap of
/// the store (the embedded store's <c>ChromaStoreOptions.MaxCollections</c>, <c>MaxDatabases</c>, <c>MaxTenants</c>). The request itself is valid: it succeeds once something is deleted, or
/// with a store opened with a higher cap.
/// </summary>
public sealed class ChromaLimitExceededException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be created and why.</param>
    /// <param name="limitName">The option that caps it, e.g. <c>MaxCollections</c>.</param>
    /// <param name="limit">The cap's value.</param>
    public ChromaLimitExceededException(string message, string limitName, int limit) : base(message)
    {
        LimitName = limitName;
        Limit = limit;
    }

    /// <summary>The name of the option that caps the resource (for the embedded store, a <c>ChromaStoreOptions</c> property).</summary>
    public string LimitName { get; }

    /// <summary>The value of that cap.</summary>
    public int Limit { get; }
}

/// <summary>A tenant, database or collection does not exist (or is not visible to the caller's key).</summary>
public sealed class ChromaNotFoundException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaNotFoundException(string message) : base(message) { }
}

/// <summary>Something with the same name already exists (or, for a tenant, still holds databases).</summary>
public class ChromaConflictException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaConflictException(string message) : base(message) { }
}

/// <summary>
/// A collection with the requested name already exists in the database: on create, or on a rename onto a taken name.
/// Chroma's server answers 409 for it (a rename there answers 500 by accident; this project's host answers 409).
/// </summary>
public sealed class ChromaCollectionExistsException : ChromaConflictException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What exists, and where.</param>
    /// <param name="collectionName">The taken name.</param>
    public ChromaCollectionExistsException(string message, string collectionName) : base(message) => CollectionName = collectionName;

    /// <summary>The collection name that is taken.</summary>
    public string CollectionName { get; }
}

/// <summary>
/// A batch names the same id more than once (Chroma's <c>DuplicateIDError</c>). Nothing was written.
/// </summary>
public sealed class ChromaDuplicateIdException : ChromaValidationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which list holds duplicates, and the first few of them.</param>
    /// <param name="duplicateIds">The first few duplicated ids (at most 10).</param>
    public ChromaDuplicateIdException(string message, IReadOnlyList<string> duplicateIds) : base(message) => DuplicateIds = duplicateIds;

    /// <summary>The first few duplicated ids (at most 10), each once.</summary>
    public IReadOnlyList<string> DuplicateIds { get; }
}

/// <summary>
/// The key is missing, malformed, unknown, wrong, expired, disabled or revoked. The public message is the
/// same for all of these on purpose; the detailed reason goes to the audit log only.
/// </summary>
public sealed class ChromaAuthenticationException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaAuthenticationException(string message) : base(message) { }

    /// <summary>Creates the exception with the error that caused it.</summary>
    public ChromaAuthenticationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The key is valid but lacks the permission for the action on the resource.</summary>
public sealed class ChromaAuthorizationException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaAuthorizationException(string message) : base(message) { }
}

/// <summary>The store was closed (disposed); no operation may run on it any more.</summary>
public sealed class ChromaStoreClosedException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaStoreClosedException(string message) : base(message) { }
}

/// <summary>Another process holds the store folder open for writing.</summary>
public sealed class ChromaStoreLockedException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaStoreLockedException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The store's files are damaged in a way that cannot be repaired from the source of truth.</summary>
public sealed class ChromaCorruptStoreException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaCorruptStoreException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>The key (or the caller) exceeded its rate limit or failed too often; retry after <see cref="RetryAfter"/>.</summary>
public sealed class ChromaRateLimitedException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaRateLimitedException(string message, TimeSpan retryAfter) : base(message) => RetryAfter = retryAfter;

    /// <summary>How long to wait before the next attempt can succeed.</summary>
    public TimeSpan RetryAfter { get; }
}

/// <summary>
/// The key ring's files cannot be trusted: readable by group or others, or failing their integrity check.
/// The store refuses to open rather than run with a ring someone may have altered.
/// </summary>
public sealed class ChromaKeyRingException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaKeyRingException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>A backup could not be written (for example the destination disk is full); the store itself is unaffected.</summary>
public sealed class ChromaBackupException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaBackupException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The disk (or the file system's quota) has no room for a write. The batch that needed the space was rolled
/// back, nothing acknowledged was lost, and the store stays usable for reads; free space and retry.
/// </summary>
public sealed class ChromaStorageFullException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be written, and where.</param>
    /// <param name="folder">The folder whose file system is full.</param>
    /// <param name="bytesNeeded">The bytes the write needed, when known.</param>
    /// <param name="innerException">The file system's own error.</param>
    public ChromaStorageFullException(string message, string folder, long? bytesNeeded, Exception? innerException = null)
        : base(message, innerException)
    {
        Folder = folder;
        BytesNeeded = bytesNeeded;
    }

    /// <summary>The folder whose file system is full.</summary>
    public string Folder { get; }

    /// <summary>The bytes the failed write needed, when known.</summary>
    public long? BytesNeeded { get; }
}

/// <summary>
/// The store cannot be written: it was opened with <c>ChromaStoreOptions.ReadOnly</c>, or its folder or files
/// are on read-only media, read-only for this user, or immutable. Nothing was changed.
/// </summary>
public sealed class ChromaReadOnlyException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaReadOnlyException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// The operating system or SQLite could not read or write a store file for a reason that is neither a full disk,
/// read-only media nor a damaged file (an I/O error of the device, a file that cannot be opened, missing permissions).
/// <see cref="Exception.InnerException"/> holds the system's own error; the store files are not known to be damaged.
/// </summary>
public sealed class ChromaStorageIOException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be read or written, and where.</param>
    /// <param name="path">The file or folder involved.</param>
    /// <param name="innerException">The system's own error.</param>
    public ChromaStorageIOException(string message, string path, Exception? innerException) : base(message, innerException) => Path = path;

    /// <summary>The file or folder involved.</summary>
    public string Path { get; }
}

/// <summary>
/// A remote implementation of the contract could not complete a call: the server could not be reached, the
/// connection broke, the call timed out, or the server answered with an error this hierarchy has no better type for
/// (a 5xx, an answer that is not Chroma's). Whether the call took effect on the server is unknown unless
/// <see cref="StatusCode"/> says it was refused. The message names the endpoint and the operation, never a key.
/// </summary>
public sealed class ChromaTransportException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, and where.</param>
    /// <param name="endpoint">The server's address, without credentials.</param>
    /// <param name="statusCode">The HTTP status the server answered with, or <see langword="null"/> when none arrived.</param>
    /// <param name="innerException">The transport's own error.</param>
    public ChromaTransportException(string message, Uri? endpoint, int? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        StatusCode = statusCode;
    }

    /// <summary>The server's address, without credentials.</summary>
    public Uri? Endpoint { get; }

    /// <summary>The HTTP status the server answered with, or <see langword="null"/> when none arrived.</summary>
    public int? StatusCode { get; }
}

/// <summary>
/// The embedding generator failed or answered wrongly (an error of its own, or a different number of embeddings than
/// texts). Nothing was written. <see cref="Exception.InnerException"/> holds the generator's own error.
/// </summary>
public sealed class ChromaEmbeddingException : ChromaException
{
    /// <summary>Creates the exception.</summary>
    public ChromaEmbeddingException(string message, Exception? innerException = null) : base(message, innerException) { }
}
