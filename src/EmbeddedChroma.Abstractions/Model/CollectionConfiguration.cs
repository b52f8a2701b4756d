namespace EmbeddedChroma;

/// <summary>
/// The index configuration of a collection (Chroma's <c>configuration.hnsw</c>). <see cref="Space"/>,
/// <see cref="EfConstruction"/> and <see cref="MaxNeighbors"/> are fixed at creation; <see cref="EfSearch"/> may change.
/// </summary>
public sealed record CollectionConfiguration
{
    /// <summary>The largest <see cref="EfSearch"/>, for the collection and for one query.</summary>
    internal const int MaxEfSearch = 100_000;

    /// <summary>The largest <see cref="MaxNeighbors"/> (HNSW's M) a collection accepts; the embedded graph supports exactly this much (a test pins the two together).</summary>
    internal const int MaxMaxNeighbors = 512;

    /// <summary>The distance space; Chroma's default is <see cref="DistanceSpace.L2"/>.</summary>
    public DistanceSpace Space { get; init; } = DistanceSpace.L2;

    /// <summary>Candidate-list size while building the HNSW graph (default 100).</summary>
    public int EfConstruction { get; init; } = 100;

    /// <summary>Candidate-list size while searching the HNSW graph (default 100).</summary>
    public int EfSearch { get; init; } = 100;

    /// <summary>HNSW's M: links per node on upper layers; level 0 has 2·M (default 16).</summary>
    public int MaxNeighbors { get; init; } = 16;

    /// <summary>
    /// How the graph's vectors are kept in memory (<c>vector_storage</c>: <c>float32</c>, the default, <c>float16</c> or <c>int8</c>);
    /// chosen at creation, changed later with a modify (the graph is then rebuilt in the background). See <see cref="EmbeddedChroma.VectorStorage"/>.
    /// </summary>
    public VectorStorage VectorStorage { get; init; } = VectorStorage.Float32;

    /// <summary>
    /// The embedding function the collection remembers (Chroma's <c>embedding_function</c>), persisted with it.
    /// <see langword="null"/> at creation means: the caller's generator if one is given (<see cref="EmbeddingFunctionConfiguration.Default"/>
    /// for all-MiniLM-L6-v2, else <see cref="EmbeddingFunctionConfiguration.Legacy"/>), otherwise Chroma's default when the
    /// EmbeddedChroma.Embeddings.MiniLM package is present, otherwise none (the collection stays raw: embeddings only).
    /// </summary>
    public EmbeddingFunctionConfiguration? EmbeddingFunction { get; init; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Space))
        {
            throw new ChromaValidationException($"configuration.space: unknown distance space {(int)Space}.");
        }

        if (!Enum.IsDefined(VectorStorage))
        {
            throw new ChromaValidationException($"configuration.vector_storage: unknown vector storage {(int)VectorStorage}; expected 'float32', 'float16' or 'int8'.");
        }

        CheckRange(nameof(EfConstruction), "ef_construction", EfConstruction, 1, 100_000);
        CheckRange(nameof(EfSearch), "ef_search", EfSearch, 1, MaxEfSearch);
        CheckRange(nameof(MaxNeighbors), "max_neighbors", MaxNeighbors, 2, MaxMaxNeighbors);
        if (EmbeddingFunction is { } function && (function.Type is not ("known" or "legacy" or "unknown") || (function.Type == "known" && string.IsNullOrEmpty(function.Name))))
        {
            throw new ChromaValidationException($"configuration.embedding_function: type must be 'known' (with a name), 'legacy' or 'unknown', got '{Internal.Echo.Text(function.Type)}'.");
        }

        if (EmbeddingFunction?.Config is { } config)
        {
            CheckConfigObject(config);
        }
    }

    /// <summary>An embedding function's <c>config</c> must be a JSON object (Chroma's form).</summary>
    private static void CheckConfigObject(string config)
    {
        if (ApiKeyScanner.ContainsKeyShaped(config))
        {
            // Never stored, never repeated: an EmbeddedChroma key has no place in a collection's configuration.
            throw new ChromaValidationException("configuration.embedding_function.config holds an EmbeddedChroma API key; keys are never stored in a configuration.");
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(config);
            if (document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                return;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        throw new ChromaValidationException($"configuration.embedding_function.config must be a JSON object, got '{Internal.Echo.Text(config, 200)}'.");
    }

    internal static void CheckRange(string property, string chromaName, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ChromaValidationException($"configuration.{chromaName} ({property}) must be between {min} and {max}, got {value}.");
        }
    }

    /// <summary>The prefix of Chroma's legacy index settings in collection metadata (<c>hnsw:space</c>, <c>hnsw:M</c>, …).</summary>
    public const string LegacyMetadataPrefix = "hnsw:";

    /// <summary>
    /// Reads Chroma's legacy index settings from collection metadata, as Chroma's server does on create:
    /// <c>hnsw:space</c> (<c>l2</c>/<c>cosine</c>/<c>ip</c>), <c>hnsw:M</c> (<see cref="MaxNeighbors"/>),
    /// <c>hnsw:construction_ef</c> (<see cref="EfConstruction"/>), <c>hnsw:search_ef</c> (<see cref="EfSearch"/>);
    /// <c>hnsw:num_threads</c>, <c>hnsw:batch_size</c>, <c>hnsw:sync_threshold</c> (non-negative integers) and
    /// <c>hnsw:resize_factor</c> (a number) are accepted and have no effect here (this engine indexes in the background
    /// and grows its files itself). The keys stay in the metadata, as on Chroma's server.
    /// </summary>
    /// <remarks>
    /// Chroma's rule, which <c>CreateCollection</c> follows: the keys are always checked (also when a configuration is
    /// given, and when get-or-create finds the collection), and they set the configuration only when the request gives
    /// no configuration. The ranges are checked later, by the configuration's own rules (stricter than Chroma's server,
    /// which accepts <c>hnsw:M</c> = 0).
    /// </remarks>
    /// <param name="metadata">The collection metadata, or <see langword="null"/>.</param>
    /// <returns>The configuration the keys describe (defaults for the others), or <see langword="null"/> when there is no <c>hnsw:</c> key.</returns>
    /// <exception cref="ChromaValidationException">An <c>hnsw:</c> key is unknown or its value has the wrong type or sign, or the space is unknown.</exception>
    public static CollectionConfiguration? FromLegacyMetadata(IReadOnlyDictionary<string, MetadataValue?>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        CollectionConfiguration? result = null;
        foreach (var (key, value) in metadata)
        {
            if (key is null || !key.StartsWith(LegacyMetadataPrefix, StringComparison.Ordinal) || value is null)
            {
                continue;
            }

            var config = result ?? new CollectionConfiguration();
            switch (key)
            {
                case "hnsw:space":
                    config = config with { Space = ParseSpace(LegacyString(key, value)) };
                    break;
                case "hnsw:M":
                    config = config with { MaxNeighbors = LegacyInt(key, value) };
                    break;
                case "hnsw:construction_ef":
                    config = config with { EfConstruction = LegacyInt(key, value) };
                    break;
                case "hnsw:search_ef":
                    config = config with { EfSearch = LegacyInt(key, value) };
                    break;
                case "hnsw:num_threads" or "hnsw:batch_size" or "hnsw:sync_threshold":
                    LegacyInt(key, value);
                    break;
                case "hnsw:resize_factor" when value.Kind is MetadataValueKind.Float or MetadataValueKind.Int:
                    break;
                case "hnsw:resize_factor":
                    throw new ChromaValidationException($"metadata '{key}' must be a number, got {value.Kind}.");
                default:
                    throw new ChromaValidationException(
                        $"metadata '{Internal.Echo.Text(key)}': unknown index setting; Chroma's are hnsw:space, hnsw:M, hnsw:construction_ef, hnsw:search_ef, hnsw:num_threads, hnsw:batch_size, hnsw:sync_threshold, hnsw:resize_factor.");
            }

            result = config;
        }

        return result;
    }

    private static string LegacyString(string key, MetadataValue value) =>
        value.Kind == MetadataValueKind.String ? value.AsString() : throw new ChromaValidationException($"metadata '{key}' must be a string, got {value.Kind}.");

    private static int LegacyInt(string key, MetadataValue value)
    {
        if (value.Kind != MetadataValueKind.Int || value.AsInt64() is < 0 or > int.MaxValue)
        {
            throw new ChromaValidationException($"metadata '{key}' must be a non-negative integer, got {value}.");
        }

        return (int)value.AsInt64();
    }

    /// <summary>Chroma's name of a distance space: <c>l2</c>, <c>cosine</c> or <c>ip</c>.</summary>
    public static string SpaceName(DistanceSpace space) => space switch
    {
        DistanceSpace.L2 => "l2",
        DistanceSpace.Cosine => "cosine",
        DistanceSpace.InnerProduct => "ip",
        _ => throw new ChromaValidationException($"Unknown distance space {(int)space}."),
    };

    /// <summary>The configuration name of a vector storage: <c>float32</c>, <c>float16</c> or <c>int8</c>.</summary>
    /// <exception cref="ChromaValidationException"><paramref name="storage"/> is not defined.</exception>
    public static string VectorStorageName(VectorStorage storage) => storage switch
    {
        VectorStorage.Float32 => "float32",
        VectorStorage.Float16 => "float16",
        VectorStorage.Int8 => "int8",
        _ => throw new ChromaValidationException($"configuration.vector_storage: unknown vector storage {(int)storage}; expected 'float32', 'float16' or 'int8'."),
    };

    /// <summary>Parses a <c>vector_storage</c> name (<c>float32</c>, <c>float16</c>, <c>int8</c>).</summary>
    /// <exception cref="ChromaValidationException">The name is not one of those.</exception>
    public static VectorStorage ParseVectorStorage(string name) => name switch
    {
        "float32" => VectorStorage.Float32,
        "float16" => VectorStorage.Float16,
        "int8" => VectorStorage.Int8,
        _ => throw new ChromaValidationException($"configuration.vector_storage: unknown vector storage '{Internal.Echo.Text(name)}'; expected 'float32', 'float16' or 'int8'."),
    };

    /// <summary>Parses Chroma's name of a distance space (<c>l2</c>, <c>cosine</c>, <c>ip</c>).</summary>
    /// <exception cref="ChromaValidationException">The name is not one of the three.</exception>
    public static DistanceSpace ParseSpace(string name) => name switch
    {
        "l2" => DistanceSpace.L2,
        "cosine" => DistanceSpace.Cosine,
        "ip" => DistanceSpace.InnerProduct,
        _ => throw new ChromaValidationException($"Unknown distance space '{Internal.Echo.Text(name)}'; expected 'l2', 'cosine' or 'ip'."),
    };
}

/// <summary>A change of configuration for <see cref="IChromaCollection.ModifyAsync"/>; only <see cref="EfSearch"/> may change.</summary>
public sealed record CollectionConfigurationUpdate
{
    /// <summary>A new search candidate-list size.</summary>
    public int? EfSearch { get; init; }

    /// <summary>Rejected when it differs from the collection's space: the space of a collection cannot change.</summary>
    public DistanceSpace? Space { get; init; }

    /// <summary>Rejected when it differs: fixed at creation.</summary>
    public int? EfConstruction { get; init; }

    /// <summary>Rejected when it differs: fixed at creation.</summary>
    public int? MaxNeighbors { get; init; }

    /// <summary>
    /// A new vector storage: recorded at once, the graph rebuilt for it in the background (the records not linked yet are
    /// scanned exactly meanwhile and counted as unindexed by the indexing status). The collection's own storage changes nothing.
    /// </summary>
    public VectorStorage? VectorStorage { get; init; }
}
