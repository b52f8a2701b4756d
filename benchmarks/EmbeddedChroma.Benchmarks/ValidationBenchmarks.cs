using BenchmarkDotNet.Attributes;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// The embedding check every write runs (<see cref="Validation.Embeddings"/>, now through the shared
/// <see cref="RecordRules.Embeddings"/> with the vectorized non-finite scan passed as a delegate) against the same
/// loop calling the kernel directly (the code before the rules moved to the Abstractions package): a batch of 100 × 384.
/// </summary>
[MemoryDiagnoser]
public class ValidationBenchmarks
{
    private readonly StoreLimits _limits = new ChromaStoreOptions().ToLimits();
    private float[][] _batch = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _batch = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, 384).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    [Benchmark(Baseline = true)]
    public int DirectKernelLoop() => OldEmbeddingsCheck(_batch, _limits.MaxDimension);

    /// <summary>The old Validation.Embeddings, line for line (an IReadOnlyList, the dimension cap), calling the kernel directly.</summary>
    public static int OldEmbeddingsCheck(IReadOnlyList<float[]> embeddings, int maxDimension)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        var dimension = -1;
        for (var i = 0; i < embeddings.Count; i++)
        {
            var e = embeddings[i] ?? throw new InvalidOperationException();
            if (dimension < 0)
            {
                if (e.Length == 0 || e.Length > maxDimension)
                {
                    throw new InvalidOperationException();
                }

                dimension = e.Length;
            }
            else if (e.Length != dimension)
            {
                throw new InvalidOperationException();
            }

            if (VectorMath.IndexOfNonFinite(e) >= 0)
            {
                throw new InvalidOperationException();
            }
        }

        return dimension;
    }

    [Benchmark]
    public int SharedRules() => Validation.Embeddings(_batch, null, _limits);
}
