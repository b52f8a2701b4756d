using System.Numerics.Tensors;
using System.Text;

namespace EmbeddedChroma.Embeddings.MiniLM.Tests;

/// <summary>
/// Token ids and vectors against the checked-in references (tests/js/embeddings/reference.mjs: HuggingFace
/// tokenizers + ONNX Runtime run as Chroma's ONNXMiniLM_L6_V2 does, and transformers.js), over a seeded corpus of
/// 3,000 varied strings. Regenerate with `dotnet run --project tests/EmbeddedChroma.Embeddings.MiniLM.Parity -- regenerate`.
/// </summary>
[Collection("model")]
public sealed class ParityTests(ModelFixture model)
{
    [Fact]
    public void Tokenize_equals_HuggingFace_tokenizers_when_given_the_parity_corpus()
    {
        model.Parity.Texts.Should().HaveCountGreaterThanOrEqualTo(3000);
        var mismatches = new List<string>();
        for (int i = 0; i < model.Parity.Texts.Count; i++)
        {
            int[] ours = model.Generator.Tokenize(model.Parity.Texts[i]);
            if (!ours.AsSpan().SequenceEqual(model.Parity.Ids[i]))
            {
                mismatches.Add($"#{i} {Describe(model.Parity.Texts[i])}: ours [{string.Join(',', ours)}] reference [{string.Join(',', model.Parity.Ids[i])}]");
            }
        }

        mismatches.Should().BeEmpty();
    }

    [Fact]
    public void Generate_matches_Chromas_pipeline_with_cosine_at_least_0_9999_when_given_the_parity_corpus()
    {
        string[] texts = model.Parity.VectorIndices.Select(i => model.Parity.Texts[i]).ToArray();
        float[] vectors = model.ParityVectors;

        texts.Should().HaveCountGreaterThanOrEqualTo(300);
        for (int k = 0; k < texts.Length; k++)
        {
            ReadOnlySpan<float> ours = vectors.AsSpan(k * MiniLMEmbeddingGenerator.Dimensions, MiniLMEmbeddingGenerator.Dimensions);
            double cosine = TensorPrimitives.CosineSimilarity(ours, model.Parity.Vectors[k]);
            cosine.Should().BeGreaterThanOrEqualTo(0.9999, "text #{0} {1}", model.Parity.VectorIndices[k], Describe(texts[k]));
        }
    }

    [Fact]
    public void Generate_matches_transformers_js_with_cosine_at_least_0_9999_when_given_the_parity_corpus()
    {
        model.Parity.TransformersVectors.Should().NotBeNull("the fixture must carry the transformers.js vectors");
        string[] texts = model.Parity.VectorIndices.Select(i => model.Parity.Texts[i]).ToArray();
        float[] vectors = model.ParityVectors;

        int compared = 0;
        for (int k = 0; k < texts.Length; k++)
        {
            // transformers.js tokenises with its own JS port; where its ids differ from HuggingFace's (exotic
            // Unicode), it embeds different tokens, so only texts whose ids agree are a statement about the model.
            if (!model.Parity.TransformersIdsAgree[k])
            {
                continue;
            }

            compared++;
            ReadOnlySpan<float> ours = vectors.AsSpan(k * MiniLMEmbeddingGenerator.Dimensions, MiniLMEmbeddingGenerator.Dimensions);
            double cosine = TensorPrimitives.CosineSimilarity(ours, model.Parity.TransformersVectors![k]);
            cosine.Should().BeGreaterThanOrEqualTo(0.9999, "text #{0} {1}", model.Parity.VectorIndices[k], Describe(texts[k]));
        }

        compared.Should().BeGreaterThan(texts.Length / 2);
    }

    private static string Describe(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text.Length > 80 ? text[..80] : text)
        {
            sb.Append(c is >= ' ' and < (char)0x7F ? c.ToString() : $"\\u{(int)c:X4}");
        }

        return sb.Append(text.Length > 80 ? "…\"" : "\"").ToString();
    }
}
