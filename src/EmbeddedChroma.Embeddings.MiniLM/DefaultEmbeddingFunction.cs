using System.Runtime.CompilerServices;

namespace EmbeddedChroma.Embeddings.MiniLM;

/// <summary>
/// Registers this package as Chroma's "default" embedding function when its assembly is loaded (the store loads it
/// by name when a collection remembers "default"), backed by one shared <see cref="MiniLMEmbeddingGenerator"/>.
/// </summary>
public static class DefaultEmbeddingFunction
{
    private static readonly Lazy<MiniLMEmbeddingGenerator> Shared = new(() => new MiniLMEmbeddingGenerator(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The process-wide generator collections use for "default" (created, and the model loaded, on first use; never disposed).</summary>
    public static MiniLMEmbeddingGenerator Instance => Shared.Value;

#pragma warning disable CA2255 // A module initializer is the point: loading the assembly by name must register the function.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => EmbeddingFunctions.Register(EmbeddingFunctions.DefaultName, () => Shared.Value);
}
