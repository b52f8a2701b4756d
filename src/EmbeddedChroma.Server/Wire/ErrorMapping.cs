using System.Globalization;

namespace EmbeddedChroma.Server.Wire;

/// <summary>
/// A failed call as Chroma's server answers it: status, <c>{"error": name, "message": text}</c>, and the RFC 6750
/// <c>WWW-Authenticate</c> challenge or <c>Retry-After</c> where they apply. Messages come from the store's exceptions,
/// which never hold a key; anything unexpected is answered 500 with a generic message.
/// </summary>
internal readonly record struct ErrorAnswer(int Status, string Error, string Message, string? Challenge = null, TimeSpan? RetryAfter = null)
{
    /// <summary>The challenge sent with every 401 and 403 (RFC 6750 §3).</summary>
    public const string Realm = "Bearer realm=\"chroma\"";

    public static ErrorAnswer From(Exception exception) => exception switch
    {
        WireException e => new(e.Status, e.Error, e.Message),
        ChromaAuthenticationException e => new(401, "AuthError", e.Message, $"{Realm}, error=\"invalid_token\", error_description=\"The access token is missing, malformed, unknown, expired or revoked\""),
        ChromaAuthorizationException e => new(403, "AuthorizationError", e.Message, $"{Realm}, error=\"insufficient_scope\""),
        ChromaRateLimitedException e => new(429, "RateLimitError", e.Message, RetryAfter: e.RetryAfter),
        ChromaNotFoundException e => new(404, "NotFoundError", e.Message),
        ChromaDuplicateIdException e => new(400, "DuplicateIDError", e.Message),
        ChromaValidationException e => new(400, "InvalidArgumentError", e.Message),
        ChromaConflictException e => new(409, "ChromaError", e.Message),
        // Chroma's clients read a 422 whose message starts with "Quota exceeded" as their quota error.
        ChromaLimitExceededException e => new(422, "ChromaError", $"Quota exceeded: {e.Message}"),
        ChromaReadOnlyException e => new(409, "ChromaError", e.Message),
        ChromaStorageFullException e => new(507, "ChromaError", e.Message),
        ChromaStoreClosedException e => new(503, "ChromaError", e.Message, RetryAfter: TimeSpan.FromSeconds(1)),
        ChromaStoreLockedException e => new(503, "ChromaError", e.Message, RetryAfter: TimeSpan.FromSeconds(1)),
        ChromaException e => new(500, "InternalError", e.Message),
        Microsoft.AspNetCore.Http.BadHttpRequestException { StatusCode: 413 } => new(413, "InvalidArgumentError", "The request body is larger than the host accepts."),
        Microsoft.AspNetCore.Http.BadHttpRequestException e => new(e.StatusCode, "InvalidArgumentError", "The request could not be read."),
        _ => new(500, "InternalError", "The host failed to process the request."),
    };

    /// <summary>401 for a request without credentials: no error attribute (RFC 6750 §3.1).</summary>
    public static ErrorAnswer NoCredentials() =>
        new(401, "AuthError", "Authentication required: send Authorization: Bearer <key> or X-Chroma-Token: <key>.", Realm);

    /// <summary>400 for malformed credentials (two different ones, repeated headers, an unusable bearer token).</summary>
    public static ErrorAnswer InvalidRequest(string why) =>
        new(400, "InvalidArgumentError", why, $"{Realm}, error=\"invalid_request\"");

    public string? RetryAfterHeader => RetryAfter is { } wait
        ? Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture)
        : null;
}
