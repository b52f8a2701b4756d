using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>
/// A fake embedding model: a text's embedding counts (case-insensitively) the occurrences of each word of a fixed
/// vocabulary, plus a constant last component so no embedding is zero. Deterministic; records every call.
/// </summary>
public sealed class DeterministicEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public static readonly string[] Vocabulary = ["cat", "dog", "car", "space"];

    public static int Dimension => Vocabulary.Length + 1;

    /// <summary>Every batch of inputs the generator was asked to embed, in order.</summary>
    public List<string[]> Calls { get; } = [];

    public static float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = text.Split([' ', ',', '.', '!', '?'], StringSplitOptions.RemoveEmptyEntries);
        var vector = new float[Dimension];
        for (var i = 0; i < Vocabulary.Length; i++)
        {
            vector[i] = words.Count(w => string.Equals(w, Vocabulary[i], StringComparison.OrdinalIgnoreCase));
        }

        vector[^1] = 1f;
        return vector;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToArray();
        Calls.Add(texts);
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => new Embedding<float>(Embed(t)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType?.IsInstanceOfType(this) == true ? this : null;

    public void Dispose()
    {
    }
}
