namespace EmbeddedChroma;

/// <summary>
/// Chroma's strings for <see cref="Include"/> (<c>"embeddings"</c>, <c>"metadatas"</c>, <c>"documents"</c>,
/// <c>"distances"</c>, <c>"uris"</c>), as Chroma's clients send them in <c>include</c>.
/// </summary>
public static class IncludeNames
{
    private static readonly (string Name, Include Flag)[] Names =
    [
        ("documents", Include.Documents),
        ("embeddings", Include.Embeddings),
        ("metadatas", Include.Metadatas),
        ("distances", Include.Distances),
        ("uris", Include.Uris),
    ];

    /// <summary>Parses an include list of Chroma's strings (case-sensitive, as Chroma's server); repeated names count once.</summary>
    /// <param name="names">The names, e.g. <c>["metadatas", "documents"]</c>; an empty list means ids only.</param>
    /// <returns>The flags.</returns>
    /// <exception cref="ChromaValidationException">The list or a name in it is <see langword="null"/>, or a name is not one of Chroma's five (<c>"data"</c> included: Chroma's clients load data from uris themselves; see <see cref="Include"/>).</exception>
    public static Include Parse(IEnumerable<string?> names)
    {
        if (names is null)
        {
            throw new ChromaValidationException("include: the list is null.");
        }

        var include = Include.None;
        var index = 0;
        foreach (var name in names)
        {
            include |= Flag(name, index++);
        }

        return include;
    }

    /// <summary>Chroma's name of one include flag.</summary>
    /// <exception cref="ChromaValidationException"><paramref name="include"/> is not exactly one known flag.</exception>
    public static string Name(Include include)
    {
        foreach (var (name, flag) in Names)
        {
            if (flag == include)
            {
                return name;
            }
        }

        throw new ChromaValidationException($"include: {(int)include} is not one include flag.");
    }

    /// <summary>Chroma's names of the flags set in <paramref name="include"/>, in the order Chroma's server lists them (documents, embeddings, metadatas, distances, uris).</summary>
    /// <exception cref="ChromaValidationException"><paramref name="include"/> holds bits that are not include flags.</exception>
    public static IReadOnlyList<string> ToNames(Include include)
    {
        var all = Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances | Include.Uris;
        if ((include & ~all) != 0)
        {
            throw new ChromaValidationException($"include: {(int)include} holds unknown flags.");
        }

        var result = new List<string>(5);
        foreach (var (name, flag) in Names)
        {
            if ((include & flag) != 0)
            {
                result.Add(name);
            }
        }

        return result;
    }

    private static Include Flag(string? name, int index)
    {
        foreach (var (known, flag) in Names)
        {
            if (string.Equals(known, name, StringComparison.Ordinal))
            {
                return flag;
            }
        }

        if (name is null)
        {
            throw new ChromaValidationException($"include[{index}] is null.");
        }

        var hint = name == "data"
            ? " ('data' is never stored or returned by a Chroma server: request 'uris' and load what they point at)"
            : string.Empty;
        throw new ChromaValidationException(
            $"include[{index}]: unknown name '{Internal.Echo.Text(name)}'{hint}; expected one of 'documents', 'embeddings', 'metadatas', 'distances', 'uris'.");
    }
}
