using EmbeddedChroma.Embeddings.MiniLM.Parity;

namespace EmbeddedChroma.Embeddings.MiniLM.Tests;

/// <summary>One loaded model and the checked-in parity fixture, shared by the tests of the "model" collection.</summary>
public sealed class ModelFixture : IDisposable
{
    public ModelFixture()
    {
        Generator = new MiniLMEmbeddingGenerator();
        Parity = ParityFixture.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity.json.gz"));
        _parityVectors = new Lazy<float[]>(() =>
        {
            string[] texts = Parity.VectorIndices.Select(i => Parity.Texts[i]).ToArray();
            float[] vectors = new float[texts.Length * MiniLMEmbeddingGenerator.Dimensions];
            Generator.Generate(texts, vectors);
            return vectors;
        });
    }

    private readonly Lazy<float[]> _parityVectors;

    /// <summary>This implementation's embeddings of the fixture's vector texts (row k = VectorIndices[k]), computed once.</summary>
    public float[] ParityVectors => _parityVectors.Value;

    public MiniLMEmbeddingGenerator Generator { get; }

    public ParityFixture Parity { get; }

    public void Dispose() => Generator.Dispose();
}

[CollectionDefinition("model")]
public sealed class ModelGroup : ICollectionFixture<ModelFixture>;
