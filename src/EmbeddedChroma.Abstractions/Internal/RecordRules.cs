namespace EmbeddedChroma.Internal;

/// <summary>
/// The contract's argument rules, written once for every implementation: the embedded store applies them with its
/// limits (<c>Validation</c>, <c>MetadataCodec</c>), the remote client without them (a server has its own limits, and
/// a batch above its <c>max_batch_size</c> is split). Same exception types, same messages, whichever implementation runs.
/// </summary>
internal static class RecordRules
{
    /// <summary>The index of the first NaN or infinite component, or -1 (the embedded store passes its vectorized kernel).</summary>
    public delegate int NonFiniteFinder(ReadOnlySpan<float> values);

    /// <summary>No limit: the value the remote client passes for the embedded store's caps.</summary>
    public const int Unlimited = int.MaxValue;

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
    public static void Ids(IReadOnlyList<string>? ids, int maxBatchSize, int maxIdLength, string field = "ids")
    {
        if (ids is null)
        {
            throw new ChromaValidationException($"{field} is required.");
        }

        if (ids.Count == 0)
        {
            throw new ChromaValidationException($"{field} must be a non-empty list.");
        }

        if (ids.Count > maxBatchSize)
        {
            throw new ChromaValidationException($"{field} has {ids.Count} entries; the maximum batch size is {maxBatchSize}.");
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

            if (id.Length > maxIdLength)
            {
                throw new ChromaValidationException($"{field}[{i}] is {id.Length} characters long; the limit is {maxIdLength}.");
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

    /// <summary>Every embedding present, of one dimension (the collection's when known, at most <paramref name="maxDimension"/>), finite; returns the dimension.</summary>
    public static int Embeddings(IReadOnlyList<float[]> embeddings, int? expectedDimension, int maxDimension, NonFiniteFinder indexOfNonFinite, string field = "embeddings")
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

                if (e.Length > maxDimension)
                {
                    throw new ChromaValidationException($"{field}[{i}] has dimension {e.Length}; the limit is {maxDimension}.");
                }

                dimension = e.Length;
            }
            else if (e.Length != dimension)
            {
                throw new ChromaValidationException($"Embedding dimension mismatch: expected dimension {dimension}, got {e.Length} at index {i}.");
            }

            var bad = indexOfNonFinite(e);
            if (bad >= 0)
            {
                throw new ChromaValidationException($"{field}[{i}] has a NaN or infinite component at position {bad}.");
            }
        }

        return dimension;
    }

    /// <summary>The first NaN or infinite component, scalar (for an implementation without a vectorized kernel).</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>An include is a combination of the known values; distances only for a query.</summary>
    public static void Include(Include include, bool allowDistances)
    {
        const Include all = EmbeddedChroma.Include.Embeddings | EmbeddedChroma.Include.Metadatas | EmbeddedChroma.Include.Documents
            | EmbeddedChroma.Include.Distances | EmbeddedChroma.Include.Uris;
        if ((include & ~all) != 0)
        {
            throw new ChromaValidationException($"include: unknown value {(int)include}.");
        }

        if (!allowDistances && include.HasFlag(EmbeddedChroma.Include.Distances))
        {
            throw new ChromaValidationException("include: distances are only available from query, not get.");
        }
    }

    /// <summary>A metadata object given is not empty (null means none).</summary>
    public static void MetadataNotEmpty(int count, string where)
    {
        if (count == 0)
        {
            throw new ChromaValidationException($"{where}: metadata must be a non-empty object or null.");
        }
    }

    /// <summary>A metadata key: non-empty, not reserved ('#', '$'), within <paramref name="maxKeyLength"/>, well-formed UTF-16.</summary>
    public static void MetadataKey(string key, string where, int maxKeyLength)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new ChromaValidationException($"{where}: metadata keys must be non-empty strings.");
        }

        if (key[0] is '#' or '$')
        {
            throw new ChromaValidationException($"{where}: metadata key '{Echo.Text(key)}' is reserved (keys may not start with '#' or '$').");
        }

        if (key.Length > maxKeyLength)
        {
            throw new ChromaValidationException($"{where}: a metadata key is {key.Length} characters long; the limit is {maxKeyLength}.");
        }

        Utf16Text.Check(key, $"{where}: metadata key '{Echo.Text(key)}'");
    }

    /// <summary>Delete's <c>limit</c> (Chroma's rules): only with a filter, never negative.</summary>
    public static void DeleteLimit(int? limit, bool hasFilter)
    {
        if (limit is not { } max)
        {
            return;
        }

        if (!hasFilter)
        {
            throw new ChromaValidationException("delete: limit can only be given with where or where_document (Chroma's rule).");
        }

        if (max < 0)
        {
            throw new ChromaValidationException($"delete: limit must be 0 or more, got {max}.");
        }
    }

    /// <summary>Documents within <paramref name="maxLength"/> characters, well-formed UTF-16.</summary>
    public static void Documents(IReadOnlyList<string?> documents, int maxLength)
    {
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is { } d && d.Length > maxLength)
            {
                throw new ChromaValidationException($"documents[{i}] is {d.Length} characters long; the limit is {maxLength}.");
            }

            if (documents[i] is { } document)
            {
                Utf16Text.Check(document, $"documents[{i}]");
            }
        }
    }

    /// <summary>
    /// Uris (Chroma's <c>uris</c>): each given one within <paramref name="maxLength"/> characters, well-formed UTF-16 (as
    /// documents), and never holding an API key or key-shaped text (a uri is echoed back to every reader, and a key pasted
    /// into a link would leak; the value is not repeated in the message). Messages name the index and id.
    /// </summary>
    public static void Uris(IReadOnlyList<string?> uris, IReadOnlyList<string> ids, int maxLength)
    {
        for (var i = 0; i < uris.Count; i++)
        {
            if (uris[i] is not { } uri)
            {
                continue;
            }

            var field = $"uris[{i}] (id '{Echo.Text(ids[i])}')";
            if (uri.Length > maxLength)
            {
                throw new ChromaValidationException($"{field} is {uri.Length} characters long; the limit is {maxLength}.");
            }

            Utf16Text.Check(uri, field);
            if (ApiKeyScanner.ContainsKeyShaped(uri))
            {
                throw new ChromaValidationException($"{field} contains an API key (or text shaped like one), which is never stored; the value is not repeated here.");
            }
        }
    }
}
