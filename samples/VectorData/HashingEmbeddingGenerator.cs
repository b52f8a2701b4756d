using Microsoft.Extensions.AI;

namespace VectorDataSample;

/// <summary>
/// A deterministic stand-in for an embedding model: each lower-cased word is hashed (FNV-1a) into one of
/// <c>dimensions</c> buckets; texts sharing words get close vectors. Not semantic; for the sample only.
/// </summary>
public sealed class HashingEmbeddingGenerator(int dimensions) : IEmbeddingGenerator<string, Embedding<float>>
{
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(text => new Embedding<float>(Embed(text)))));

    private float[] Embed(string text)
    {
        var vector = new float[dimensions];
        foreach (var word in text.Split([' ', ',', '.', ':', '\''], StringSplitOptions.RemoveEmptyEntries))
        {
            var hash = 2166136261u;
            foreach (var c in word.ToLowerInvariant())
            {
                hash = (hash ^ c) * 16777619u;
            }

            vector[hash % (uint)dimensions] += 1f;
        }

        return vector;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
