using System.Net;

namespace EmbeddedChroma.Internal;

/// <summary>Chroma's naming rules for collections, databases and tenants, and the rules for key names.</summary>
internal static class Names
{
    /// <summary>
    /// 3–512 characters of [a-zA-Z0-9._-], starting and ending alphanumeric, no "..", not an IPv4 address, and holding
    /// no API key (nor text shaped like one): a key pasted where a name belongs is refused without being repeated, so it
    /// never reaches a message, the audit log or a file.
    /// </summary>
    public static void Validate(string? name, string what)
    {
        if (name is null)
        {
            throw new ChromaValidationException($"The {what} name is required.");
        }

        RejectKey(name, $"{what} name");
        if (name.Length is < 3 or > 512)
        {
            throw new ChromaValidationException($"Invalid {what} name '{Echo.Text(name)}': it must be 3 to 512 characters long, got {name.Length}.");
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                throw new ChromaValidationException($"Invalid {what} name '{Echo.Text(name)}': only [a-zA-Z0-9._-] are allowed.");
            }
        }

        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            throw new ChromaValidationException($"Invalid {what} name '{Echo.Text(name)}': it must start and end with a letter or digit.");
        }

        if (name.Contains("..", StringComparison.Ordinal))
        {
            throw new ChromaValidationException($"Invalid {what} name '{Echo.Text(name)}': it may not contain '..'.");
        }

        if (name.Count(c => c == '.') == 3 && IPAddress.TryParse(name, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ChromaValidationException($"Invalid {what} name '{Echo.Text(name)}': it may not be an IPv4 address.");
        }
    }

    /// <summary>
    /// A key's name: free text of 1 to 256 characters, not blank, with no control characters, line or paragraph
    /// separators or unpaired surrogates (it is shown in listings and the audit log), and no API key.
    /// </summary>
    public static void ValidateKeyName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 256)
        {
            throw new ChromaValidationException("Key name must be 1 to 256 characters and not blank.");
        }

        RejectKey(name, "key name");
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsControl(name[i]) || name[i] is '\u2028' or '\u2029')
            {
                throw new ChromaValidationException(
                    $"Invalid key name '{Echo.Text(name)}': control characters and line breaks are not allowed (U+{(int)name[i]:X4} at position {i}).");
            }
        }

        Utf16Text.Check(name, $"Invalid key name '{Echo.Text(name)}'");
    }

    /// <summary>Refuses a name holding an API key or key-shaped text, without repeating any of it.</summary>
    /// <exception cref="ChromaValidationException">The name is null (a required argument), or holds a key.</exception>
    public static void RejectKey(string? name, string what)
    {
        if (name is null)
        {
            throw new ChromaValidationException($"The {what} is required, but null was given.");
        }

        if (ApiKeyScanner.ContainsKeyShaped(name))
        {
            throw new ChromaValidationException(
                $"Invalid {what}: it contains an API key (or text shaped like one), which is never accepted as a name; the value is not repeated here. Pass the key as the key, and a name as the name.");
        }
    }
}
