using System.Net;

namespace EmbeddedChroma.Internal;

/// <summary>Chroma's naming rules for collections, databases and tenants.</summary>
internal static class Names
{
    /// <summary>3–512 characters of [a-zA-Z0-9._-], starting and ending alphanumeric, no "..", not an IPv4 address.</summary>
    public static void Validate(string? name, string what)
    {
        if (name is null)
        {
            throw new ChromaValidationException($"The {what} name is required.");
        }

        if (name.Length is < 3 or > 512)
        {
            throw new ChromaValidationException($"Invalid {what} name '{Shorten(name)}': it must be 3 to 512 characters long, got {name.Length}.");
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                throw new ChromaValidationException($"Invalid {what} name '{Shorten(name)}': only [a-zA-Z0-9._-] are allowed.");
            }
        }

        if (!char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            throw new ChromaValidationException($"Invalid {what} name '{Shorten(name)}': it must start and end with a letter or digit.");
        }

        if (name.Contains("..", StringComparison.Ordinal))
        {
            throw new ChromaValidationException($"Invalid {what} name '{Shorten(name)}': it may not contain '..'.");
        }

        if (name.Count(c => c == '.') == 3 && IPAddress.TryParse(name, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ChromaValidationException($"Invalid {what} name '{name}': it may not be an IPv4 address.");
        }
    }

    public static string Shorten(string s) => s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 61), "...");
}
