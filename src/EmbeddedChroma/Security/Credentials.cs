namespace EmbeddedChroma.Security;

/// <summary>
/// Turns what a caller presents (a raw API key, an <c>Authorization: Bearer</c> header value, Chroma's
/// <c>X-Chroma-Token</c> header) into the one key to authenticate. Syntax only: the key itself is checked by
/// <see cref="KeyRing.Authenticate"/>. Every rejection is the same <see cref="KeyRing.Unauthenticated"/> error, so a
/// caller learns nothing about why a credential was refused; nothing here logs or repeats a credential.
/// </summary>
internal static class Credentials
{
    /// <summary>Largest accepted credential (key or header value), in characters; longer ones are rejected before parsing.</summary>
    public const int MaxHeaderLength = 4096;

    /// <summary>The key of a raw-key call, or <see cref="KeyRing.Unauthenticated"/> when it is empty or too long.</summary>
    public static string FromApiKey(string? apiKey) =>
        string.IsNullOrEmpty(apiKey) || apiKey.Length > MaxHeaderLength ? throw KeyRing.Unauthenticated() : apiKey;

    /// <summary>
    /// The key carried by <c>Authorization: Bearer &lt;key&gt;</c> and/or <c>X-Chroma-Token: &lt;key&gt;</c>. When both are
    /// present they must carry the same key; no credential, a malformed header or two different keys are refused.
    /// </summary>
    public static string FromHeaders(string? authorization, string? xChromaToken)
    {
        string? fromAuthorization = null;
        if (authorization is not null)
        {
            fromAuthorization = ParseBearer(authorization) ?? throw KeyRing.Unauthenticated();
        }

        if (xChromaToken is not null && (xChromaToken.Length is 0 or > MaxHeaderLength || !IsToken(xChromaToken)))
        {
            throw KeyRing.Unauthenticated();
        }

        if (fromAuthorization is not null && xChromaToken is not null && !string.Equals(fromAuthorization, xChromaToken, StringComparison.Ordinal))
        {
            // Two different credentials: refuse rather than guess which one the caller meant.
            throw KeyRing.Unauthenticated();
        }

        return fromAuthorization ?? xChromaToken ?? throw KeyRing.Unauthenticated();
    }

    /// <summary>
    /// The token of <c>Bearer 1*SP b64token</c> (RFC 6750 §2.1: the scheme is case-insensitive, the key is not), or null.
    /// The length is checked before anything else.
    /// </summary>
    public static string? ParseBearer(string value)
    {
        const string scheme = "Bearer";
        if (value.Length is 0 or > MaxHeaderLength || !value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            || value.Length <= scheme.Length || value[scheme.Length] != ' ')
        {
            return null;
        }

        var token = value.AsSpan(scheme.Length).TrimStart(' ');
        return token.Length > 0 && IsToken(token) ? token.ToString() : null;
    }

    /// <summary>RFC 6750 b64token characters only (no whitespace, controls, NUL or non-ASCII look-alikes).</summary>
    public static bool IsToken(ReadOnlySpan<char> token)
    {
        var padding = false;
        foreach (var c in token)
        {
            if (c == '=')
            {
                padding = true;
            }
            else if (padding || !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }

        return true;
    }
}
