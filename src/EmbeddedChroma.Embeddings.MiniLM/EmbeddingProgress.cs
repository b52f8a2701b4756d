namespace EmbeddedChroma.Embeddings.MiniLM;

/// <summary>Progress of a long <see cref="MiniLMEmbeddingGenerator"/> call: texts embedded so far out of the total.</summary>
/// <param name="Completed">Texts whose embeddings are done.</param>
/// <param name="Total">Texts in the call.</param>
public readonly record struct EmbeddingProgress(int Completed, int Total);
