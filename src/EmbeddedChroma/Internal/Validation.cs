namespace EmbeddedChroma.Internal;

/// <summary>Input checks shared by the public entry points; each failure names the field and the index.</summary>
internal static class Validation
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

    /// <summary>Ids: non-empty list within the batch limit, each non-empty and within the length limit, no duplicates.</summary>
    public static void Ids(IReadOnlyList<string>? ids, StoreLimits limits, string field = "ids")
    {
        if (ids is null)
        {
            throw new ChromaValidationException($"{field} is required.");
        }

        if (ids.Count == 0)
        {
            throw new ChromaValidationException($"{field} must be a non-empty list.");
        }

        if (ids.Count > limits.MaxBatchSize)
        {
            throw new ChromaValidationException($"{field} has {ids.Count} entries; the maximum batch size is {limits.MaxBatchSize}.");
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

            if (id.Length > limits.MaxIdLength)
            {
                throw new ChromaValidationException($"{field}[{i}] is {id.Length} characters long; the limit is {limits.MaxIdLength}.");
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

    /// <summary>A parallel list must match the ids in length.</summary>
    public static void SameLength<T>(IReadOnlyList<T>? list, int expected, string field)
    {
        if (list is not null && list.Count != expected)
        {
            throw new ChromaValidationException($"{field} has {list.Count} entries but ids has {expected}; the lists must have the same length.");
        }
    }

    /// <summary>Every embedding present, of one dimension (the collection's when known), finite.</summary>
    public static int Embeddings(IReadOnlyList<float[]> embeddings, int? expectedDimension, StoreLimits limits, string field = "embeddings")
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

                if (e.Length > limits.MaxDimension)
                {
                    throw new ChromaValidationException($"{field}[{i}] has dimension {e.Length}; the limit is {limits.MaxDimension}.");
                }

                dimension = e.Length;
            }
            else if (e.Length != dimension)
            {
                throw new ChromaValidationException($"Embedding dimension mismatch: expected dimension {dimension}, got {e.Length} at index {i}.");
            }

            var bad = Distance.VectorMath.IndexOfNonFinite(e);
            if (bad >= 0)
            {
                throw new ChromaValidationException($"{field}[{i}] has a NaN or infinite component at position {bad}.");
            }
        }

        return dimension;
    }

    public static void Documents(IReadOnlyList<string?> documents, StoreLimits limits)
    {
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is { } d && d.Length > limits.MaxDocumentLength)
            {
                throw new ChromaValidationException($"documents[{i}] is {d.Length} characters long; the limit is {limits.MaxDocumentLength}.");
            }

            if (documents[i] is { } document)
            {
                Utf16Text.Check(document, $"documents[{i}]");
            }
        }
    }

    /// <summary>
    /// Uris (Chroma's <c>uris</c>): each given one within <see cref="StoreLimits.MaxDocumentLength"/> characters, well-formed
    /// UTF-16 (as documents), and never holding an API key or key-shaped text (a uri is echoed back to every reader, and
    /// a key pasted into a link would leak; the value is not repeated in the message). Messages name the index and id.
    /// </summary>
    public static void Uris(IReadOnlyList<string?> uris, IReadOnlyList<string> ids, StoreLimits limits)
    {
        for (var i = 0; i < uris.Count; i++)
        {
            if (uris[i] is not { } uri)
            {
                continue;
            }

            var field = $"uris[{i}] (id '{Echo.Text(ids[i])}')";
            if (uri.Length > limits.MaxDocumentLength)
            {
                throw new ChromaValidationException($"{field} is {uri.Length} characters long; the limit is {limits.MaxDocumentLength}.");
            }

            Utf16Text.Check(uri, field);
            if (ApiKeyScanner.ContainsKeyShaped(uri))
            {
                throw new ChromaValidationException($"{field} contains an API key (or text shaped like one), which is never stored; the value is not repeated here.");
            }
        }
    }
}
