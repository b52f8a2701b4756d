namespace EmbeddedChroma.Embeddings.MiniLM;

/// <summary>Settings of a <see cref="MiniLMEmbeddingGenerator"/>. The defaults reproduce Chroma's default embedding function.</summary>
public sealed class MiniLMEmbeddingOptions
{
    /// <summary>Texts per ONNX run (after sorting by length). Default 32; 1 to 1024.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>ONNX Runtime intra-op threads. Default: <see cref="Environment.ProcessorCount"/>; 1 to 256.</summary>
    public int IntraOpThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Tokens per text including [CLS] and [SEP]; longer texts are truncated (not an error). Default 256, as Chroma and
    /// sentence-transformers use for all-MiniLM-L6-v2; 2 to 512 (the model's position limit).
    /// </summary>
    public int MaxTokens { get; set; } = 256;

    /// <summary>
    /// Whether ONNX Runtime's intra-op workers spin while waiting for work (its own default). Off by default here: on a
    /// machine shared with other work, spinning burns cores for little gain.
    /// </summary>
    public bool AllowSpinning { get; set; }

    internal void Validate()
    {
        if (BatchSize is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be between 1 and 1024.");
        }

        if (IntraOpThreads is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(IntraOpThreads), IntraOpThreads, "IntraOpThreads must be between 1 and 256.");
        }

        if (MaxTokens is < 2 or > 512)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "MaxTokens must be between 2 and 512.");
        }
    }
}
