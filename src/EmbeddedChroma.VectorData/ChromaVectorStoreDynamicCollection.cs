using Microsoft.Extensions.VectorData;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// A collection of <c>Dictionary&lt;string, object?&gt;</c> records described by a <see cref="VectorStoreCollectionDefinition"/>
/// (MEVD's dynamic mapping): each property is read from and written to the dictionary entry of its name.
/// </summary>
#pragma warning disable CA1711 // MEVD's own naming.
public sealed class ChromaVectorStoreDynamicCollection : ChromaVectorStoreCollection<object, Dictionary<string, object?>>
#pragma warning restore CA1711
{
    /// <summary>Creates a dynamic collection object.</summary>
    /// <param name="client">The client whose database holds the collection.</param>
    /// <param name="name">The collection's name.</param>
    /// <param name="options">The options; <see cref="VectorStoreCollectionOptions.Definition"/> is required.</param>
    /// <exception cref="ArgumentException">No definition was given.</exception>
    /// <exception cref="NotSupportedException">The definition holds something Chroma cannot carry.</exception>
    public ChromaVectorStoreDynamicCollection(IChromaClient client, string name, ChromaCollectionOptions options)
        : base(client, name, static o => new ChromaModelBuilder().BuildDynamic(
            o.Definition ?? throw new ArgumentException("A dynamic collection needs a record definition (options.Definition).", nameof(options)),
            o.EmbeddingGenerator), options)
    {
    }
}
