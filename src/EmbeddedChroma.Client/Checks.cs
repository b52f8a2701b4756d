using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Client;

/// <summary>
/// The contract's argument rules checked before a request is sent, with the embedded store's exception types and
/// wording (names come from the shared <see cref="Names"/>). The embedded store's own limits (batch size, id, document
/// and metadata lengths) are not applied: the server has its own, and a batch larger than its <c>max_batch_size</c> is split.
/// </summary>
internal static class Checks
{
    public static void LimitOffset(int? limit, int offset)
    {
        if (limit is < 0)
        {
            throw new ChromaValidationException($"limit must be zero or positive, got {limit}.");
        }

        if (offset < 0)
        {
            throw new ChromaValidationException($"offset must be zero or positive, got {offset}.");
        }
    }

    public static void Ids(IReadOnlyList<string>? ids, string field = "ids")
    {
        if (ids is null)
        {
            throw new ChromaValidationException($"{field} is required.");
        }

        if (ids.Count == 0)
        {
            throw new ChromaValidationException($"{field} must be a non-empty list.");
        }

        var seen = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        List<string>? duplicates = null;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (string.IsNullOrEmpty(id))
            {
                throw new ChromaValidationException($"{field}[{i}] is empty; ids must be non-empty strings.");
            }

            Utf16Text.Check(id, $"{field}[{i}]");
            if (!seen.Add(id))
            {
                duplicates ??= [];
                if (!duplicates.Contains(id) && duplicates.Count < 10)
                {
                    duplicates.Add(id);
                }
            }
        }

        if (duplicates is not null)
        {
            throw new ChromaDuplicateIdException($"{field} contains duplicates: {string.Join(", ", duplicates.Select(d => $"'{Echo.Text(d)}'"))}.", duplicates);
        }
    }

    public static void SameLength<T>(IReadOnlyList<T>? list, int expected, string field)
    {
        if (list is not null && list.Count != expected)
        {
            throw new ChromaValidationException($"{field} has {list.Count} entries but ids has {expected}; the lists must have the same length.");
        }
    }

    /// <summary>Every embedding present, of one dimension (the collection's when known), finite.</summary>
    public static int Embeddings(IReadOnlyList<float[]> embeddings, int? expectedDimension, string field = "embeddings")
    {
        var dimension = expectedDimension ?? -1;
        for (var i = 0; i < embeddings.Count; i++)
        {
            var e = embeddings[i] ?? throw new ChromaValidationException($"{field}[{i}] is null.");
            if (dimension < 0)
            {
                if (e.Length == 0)
                {
                    throw new ChromaValidationException($"{field}[{i}] is empty; embeddings need at least one dimension.");
                }

                dimension = e.Length;
            }
            else if (e.Length != dimension)
            {
                throw new ChromaValidationException($"Embedding dimension mismatch: expected dimension {dimension}, got {e.Length} at index {i}.");
            }

            for (var j = 0; j < e.Length; j++)
            {
                if (!float.IsFinite(e[j]))
                {
                    throw new ChromaValidationException($"{field}[{i}] has a NaN or infinite component at position {j}.");
                }
            }
        }

        return dimension;
    }

    public static void Metadata(IReadOnlyDictionary<string, MetadataValue?>? metadata, string where, bool scalarsOnly)
    {
        if (metadata is null)
        {
            return;
        }

        if (metadata.Count == 0)
        {
            throw new ChromaValidationException($"{where}: metadata must be a non-empty object or null.");
        }

        foreach (var (key, value) in metadata)
        {
            if (string.IsNullOrEmpty(key))
            {
                throw new ChromaValidationException($"{where}: metadata keys must be non-empty strings.");
            }

            if (key[0] is '#' or '$')
            {
                throw new ChromaValidationException($"{where}: metadata key '{Echo.Text(key)}' is reserved (keys may not start with '#' or '$').");
            }

            Utf16Text.Check(key, $"{where}: metadata key '{Echo.Text(key)}'");
            if (value is not null && scalarsOnly && value.IsArray)
            {
                throw new ChromaValidationException($"{where}: metadata key '{Echo.Text(key)}': an array is not allowed here; expected string, integer, float or bool.");
            }

            if (value is not null && value.Kind is MetadataValueKind.String)
            {
                Utf16Text.Check(value.AsString(), $"{where}: metadata key '{Echo.Text(key)}'");
            }
        }
    }

    public static void Documents(IReadOnlyList<string?> documents)
    {
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is { } document)
            {
                Utf16Text.Check(document, $"documents[{i}]");
            }
        }
    }

    public static void Uris(IReadOnlyList<string?> uris, IReadOnlyList<string> ids)
    {
        for (var i = 0; i < uris.Count; i++)
        {
            if (uris[i] is not { } uri)
            {
                continue;
            }

            var field = $"uris[{i}] (id '{Echo.Text(ids[i])}')";
            Utf16Text.Check(uri, field);
            if (ApiKeyScanner.ContainsKeyShaped(uri))
            {
                throw new ChromaValidationException($"{field} contains an API key (or text shaped like one), which is never stored; the value is not repeated here.");
            }
        }
    }

    public static void Include(Include include, bool allowDistances)
    {
        const Include all = EmbeddedChroma.Include.Embeddings | EmbeddedChroma.Include.Metadatas | EmbeddedChroma.Include.Documents | EmbeddedChroma.Include.Distances | EmbeddedChroma.Include.Uris;
        if ((include & ~all) != 0)
        {
            throw new ChromaValidationException($"include: unknown value {(int)include}.");
        }

        if (!allowDistances && include.HasFlag(EmbeddedChroma.Include.Distances))
        {
            throw new ChromaValidationException("include: distances are only available from query, not get.");
        }
    }

    public static void Configuration(CollectionConfiguration configuration) => configuration.Validate();
}
