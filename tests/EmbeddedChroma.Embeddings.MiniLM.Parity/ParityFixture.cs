using System.IO.Compression;
using System.Text.Json;

namespace EmbeddedChroma.Embeddings.MiniLM.Parity;

/// <summary>Reference ids and vectors (gzip JSON) written by tests/js/embeddings/reference.mjs.</summary>
public sealed class ParityFixture
{
    private ParityFixture(IReadOnlyList<string> texts, IReadOnlyList<int[]> ids, IReadOnlyList<int> vectorIndices,
        IReadOnlyList<float[]> vectors, IReadOnlyList<float[]>? transformersVectors, IReadOnlyList<bool> transformersIdsAgree)
    {
        TransformersIdsAgree = transformersIdsAgree;
        Texts = texts;
        Ids = ids;
        VectorIndices = vectorIndices;
        Vectors = vectors;
        TransformersVectors = transformersVectors;
    }

    /// <summary>The corpus.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>HuggingFace tokenizers' ids per text (truncated to 256, with [CLS]/[SEP]).</summary>
    public IReadOnlyList<int[]> Ids { get; }

    /// <summary>Which texts have reference vectors.</summary>
    public IReadOnlyList<int> VectorIndices { get; }

    /// <summary>Chroma's algorithm (Rust tokenizer, ONNX Runtime, pad to 256, mean pool, normalise) per vector index.</summary>
    public IReadOnlyList<float[]> Vectors { get; }

    /// <summary>transformers.js's feature-extraction vectors per vector index, when it ran.</summary>
    public IReadOnlyList<float[]>? TransformersVectors { get; }

    /// <summary>Per vector index: whether transformers.js's own tokenizer gave HuggingFace's ids.</summary>
    public IReadOnlyList<bool> TransformersIdsAgree { get; }

    /// <summary>Reads a fixture file.</summary>
    public static ParityFixture Load(string path)
    {
        using FileStream file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using JsonDocument doc = JsonDocument.Parse(gzip);
        JsonElement root = doc.RootElement;
        var texts = root.GetProperty("texts").EnumerateArray().Select(e => System.Text.Encoding.Unicode.GetString(Convert.FromBase64String(e.GetString()!))).ToArray();
        var ids = root.GetProperty("ids").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        var indices = root.GetProperty("vectorIndices").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var vectors = root.GetProperty("vectors").EnumerateArray().Select(e => Floats(e.GetString()!)).ToArray();
        JsonElement tjs = root.GetProperty("transformersVectors");
        float[][]? transformers = tjs.ValueKind == JsonValueKind.Array
            ? tjs.EnumerateArray().Select(e => Floats(e.GetString()!)).ToArray()
            : null;
        bool[] agree = root.TryGetProperty("transformersIdsAgree", out JsonElement a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(e => e.GetBoolean()).ToArray()
            : new bool[indices.Length];
        return new ParityFixture(texts, ids, indices, vectors, transformers, agree);
    }

    private static float[] Floats(string base64)
    {
        byte[] bytes = Convert.FromBase64String(base64);
        float[] floats = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
        return floats;
    }
}
