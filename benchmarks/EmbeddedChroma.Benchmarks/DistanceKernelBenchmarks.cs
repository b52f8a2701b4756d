using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// Hand-written SIMD kernels (<see cref="VectorMath"/>) against the <c>TensorPrimitives</c> ways of computing the same
/// distance. The per-width rows call the Vector256/Vector128 bodies directly, so one run shows every path.
/// Results and the decision they support: RESULTS.md.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class DistanceKernelBenchmarks
{
    private float* _a;
    private float* _b;

    /// <summary>Vector length; 383 exercises the tails.</summary>
    [Params(128, 384, 768, 1536, 383)]
    public int Dimension { get; set; }

    private ReadOnlySpan<float> A => new(_a, Dimension);

    private ReadOnlySpan<float> B => new(_b, Dimension);

    [GlobalSetup]
    public void Setup()
    {
        // 64-byte aligned like arena rows.
        _a = (float*)NativeMemory.AlignedAlloc((nuint)(Dimension * sizeof(float)), 64);
        _b = (float*)NativeMemory.AlignedAlloc((nuint)(Dimension * sizeof(float)), 64);
        var random = new Random(42);
        for (int i = 0; i < Dimension; i++)
        {
            _a[i] = (float)((random.NextDouble() * 2) - 1);
            _b[i] = (float)((random.NextDouble() * 2) - 1);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("SquaredL2")]
    public float TensorPrimitives_DistanceSquared()
    {
        float d = TensorPrimitives.Distance(A, B);
        return d * d;
    }

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float TensorPrimitives_DotExpansion() =>
        TensorPrimitives.Dot(A, A) + TensorPrimitives.Dot(B, B) - (2 * TensorPrimitives.Dot(A, B));

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float HandWritten_SquaredL2() => VectorMath.SquaredL2(A, B);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float HandWritten_SquaredL2Vector256() => VectorMath.SquaredL2Vector256(A, B);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float HandWritten_SquaredL2Vector128() => VectorMath.SquaredL2Vector128(A, B);

    [Benchmark(Baseline = true), BenchmarkCategory("Dot")]
    public float TensorPrimitives_Dot() => TensorPrimitives.Dot(A, B);

    [Benchmark, BenchmarkCategory("Dot")]
    public float HandWritten_Dot() => VectorMath.Dot(A, B);

    [Benchmark, BenchmarkCategory("Dot")]
    public float HandWritten_DotVector256() => VectorMath.DotVector256(A, B);

    [Benchmark, BenchmarkCategory("Dot")]
    public float HandWritten_DotVector128() => VectorMath.DotVector128(A, B);
}
