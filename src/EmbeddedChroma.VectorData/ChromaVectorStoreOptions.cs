using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData;

/// <summary>Options of a <see cref="ChromaVectorStore"/>.</summary>
public sealed class ChromaVectorStoreOptions
{
    /// <summary>The default embedding generator of the store's collections (a record definition or vector property may name its own).</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; set; }
}

/// <summary>Options of a <see cref="ChromaVectorStoreCollection{TKey, TRecord}"/>.</summary>
public sealed class ChromaCollectionOptions : VectorStoreCollectionOptions
{
    /// <summary>Creates default options.</summary>
    public ChromaCollectionOptions()
    {
    }

    /// <summary>Copies options.</summary>
    /// <param name="source">The options to copy.</param>
    public ChromaCollectionOptions(ChromaCollectionOptions? source)
        : base(source ?? new ChromaCollectionOptions())
    {
    }
}
