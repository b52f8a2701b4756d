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

        CheckRange(nameof(EfConstruction), "ef_construction", EfConstruction, 1, 100_000);
        CheckRange(nameof(EfSearch), "ef_search", EfSearch, 1, MaxEfSearch);
        CheckRange(nameof(MaxNeighbors), "max_neighbors", MaxNeighbors, 2, MaxMaxNeighbors);
        if (EmbeddingFunction is { } function && (function.Type is not ("known" or "legacy") || (function.Type == "known" && string.IsNullOrEmpty(function.Name))))
        {
            throw new ChromaValidationException($"configuration.embedding_function: type must be 'known' (with a name) or 'legacy', got '{Internal.Echo.Text(function.Type)}'.");
        }
    }

    internal static void CheckRange(string property, string chromaName, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ChromaValidationException($"configuration.{chromaName} ({property}) must be between {min} and {max}, got {value}.");
        }
    }

    /// <summary>Chroma's name of a distance space: <c>l2</c>, <c>cosine</c> or <c>ip</c>.</summary>
    public static string SpaceName(DistanceSpace space) => space switch
    {
        DistanceSpace.L2 => "l2",
        DistanceSpace.Cosine => "cosine",
        DistanceSpace.InnerProduct => "ip",
        _ => throw new ChromaValidationException($"Unknown distance space {(int)space}."),
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
}
