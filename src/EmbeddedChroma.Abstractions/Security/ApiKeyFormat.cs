using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace EmbeddedChroma.Security;

/// <summary>
/// The text form of an API key: <c>eck_&lt;key id&gt;_&lt;secret&gt;&lt;checksum&gt;</c>.
/// <code>
/// eck_        prefix: makes a leaked key recognizable
/// 12 chars    key id, base62: the lookup handle; not secret
/// _
/// 43 chars    secret, base62, from RandomNumberGenerator: 43 · log2(62) ≈ 256 bits
/// 6 chars     CRC32 of everything before it, base62, zero-padded ("0")
/// </code>
/// The checksum (as in GitHub's token format) rejects mistyped or truncated keys before any lookup.
/// </summary>
internal static class ApiKeyFormat
{
    public const string Prefix = "eck_";
    public const int KeyIdLength = 12;
    public const int SecretLength = 43;
    public const int ChecksumLength = 6;
    public const int TotalLength = 4 + KeyIdLength + 1 + SecretLength + ChecksumLength;
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string NewKeyId() => RandomNumberGenerator.GetString(Alphabet, KeyIdLength);

    /// <summary>Creates the text of a new key for <paramref name="keyId"/>.</summary>
    public static string Create(string keyId)
    {
        var secret = RandomNumberGenerator.GetString(Alphabet, SecretLength);
        return Compose(keyId, secret);
    }

    /// <summary>The key text for <paramref name="keyId"/> and <paramref name="secret"/>, with its checksum (tests build fixed keys with it).</summary>
    internal static string Compose(string keyId, string secret)
    {
        var body = string.Concat(Prefix, keyId, "_", secret);
        return body + Checksum(body);
    }

    /// <summary>The secret part of a well-formed key.</summary>
    public static ReadOnlySpan<char> SecretOf(ReadOnlySpan<char> key) => key.Slice(Prefix.Length + KeyIdLength + 1, SecretLength);

    /// <summary>
    /// Hashes the secret with <paramref name="hash"/> (the ring's HMAC-SHA-256 under its pepper; a 256-bit
    /// random secret needs no slow password hash: NIST SP 800-63B §5.1.2.2). The ASCII copy is zeroed after use.
    /// </summary>
    public static byte[] HashSecret(ReadOnlySpan<char> secret, Func<byte[], byte[]> hash)
    {
        var ascii = new byte[secret.Length];
        try
        {
            Encoding.ASCII.GetBytes(secret, ascii);
            return hash(ascii);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ascii);
        }
    }

    /// <summary>
    /// True when <paramref name="text"/> at <paramref name="index"/> starts a well-formed key (shape and checksum),
    /// whatever precedes or follows it.
    /// </summary>
    public static bool IsKeyAt(ReadOnlySpan<char> text, int index, out string keyId)
    {
        keyId = string.Empty;
        return index + TotalLength <= text.Length && TryParse(text.Slice(index, TotalLength), out keyId, out _);
    }

    /// <summary>
    /// The length of key-shaped text at <paramref name="index"/>, or 0: the prefix in any case, a key id of 12 base62
    /// characters, <c>_</c>, and 1 to 49 base62 characters of secret and checksum (a valid key, one whose checksum
    /// fails, or one cut short). The secret run stops where another prefix starts, so a fragment glued to a whole key
    /// does not swallow the start of that key; when the id itself ends in a prefix, the length covers that inner
    /// candidate too.
    /// </summary>
    public static int KeyShapedLength(ReadOnlySpan<char> text, int index)
    {
        var secretStart = index + Prefix.Length + KeyIdLength + 1;
        if (secretStart >= text.Length
            || !text.Slice(index, Prefix.Length).Equals(Prefix, StringComparison.OrdinalIgnoreCase)
            || !IsBase62(text.Slice(index + Prefix.Length, KeyIdLength))
            || text[secretStart - 1] != '_')
        {
            return 0;
        }

        var end = secretStart;
        var limit = Math.Min(text.Length, secretStart + SecretLength + ChecksumLength);
        while (end < limit && char.IsAsciiLetterOrDigit(text[end])
            && !(end + Prefix.Length <= text.Length && text.Slice(end, Prefix.Length).Equals(Prefix, StringComparison.OrdinalIgnoreCase)))
        {
            end++;
        }

        if (end == secretStart)
        {
            return 0;
        }

        // An id ending in "eck" makes its "eck_" a second candidate (text such as "eck_beck02482eck_<key id>_<secret>"):
        // cover both, so the outer match cannot hide the inner key's secret.
        var inner = secretStart - 1 - (Prefix.Length - 1);
        var innerLength = text.Slice(inner, Prefix.Length).Equals(Prefix, StringComparison.OrdinalIgnoreCase) ? KeyShapedLength(text, inner) : 0;
        return Math.Max(end, inner + innerLength) - index;
    }

    /// <summary>Checks shape and checksum; on success gives the key id and the secret's span.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out string keyId, out Range secret)
    {
        keyId = string.Empty;
        secret = default;
        if (key.Length != TotalLength || !key.StartsWith(Prefix, StringComparison.Ordinal) || key[Prefix.Length + KeyIdLength] != '_')
        {
            return false;
        }

        var idSpan = key.Slice(Prefix.Length, KeyIdLength);
        var secretStart = Prefix.Length + KeyIdLength + 1;
        if (!IsBase62(idSpan) || !IsBase62(key.Slice(secretStart)))
        {
            return false;
        }

        var bodyLength = TotalLength - ChecksumLength;
        Span<char> expected = stackalloc char[ChecksumLength];
        WriteChecksum(key[..bodyLength], expected);
        if (!key[bodyLength..].SequenceEqual(expected))
        {
            return false;
        }

        keyId = idSpan.ToString();
        secret = new Range(secretStart, secretStart + SecretLength);
        return true;
    }

    private static bool IsBase62(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string Checksum(string body)
    {
        Span<char> c = stackalloc char[ChecksumLength];
        WriteChecksum(body, c);
        return c.ToString();
    }

    private static void WriteChecksum(ReadOnlySpan<char> body, Span<char> destination)
    {
        Span<byte> ascii = stackalloc byte[TotalLength];
        var n = Encoding.ASCII.GetBytes(body, ascii);
        var crc = Crc32.HashToUInt32(ascii[..n]);
        for (var i = ChecksumLength - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(crc % 62)];
            crc /= 62;
        }
    }

    /// <summary>The non-secret display form of a key: prefix and key id.</summary>
    public static string Display(string keyId) => $"{Prefix}{keyId}_…";
}
