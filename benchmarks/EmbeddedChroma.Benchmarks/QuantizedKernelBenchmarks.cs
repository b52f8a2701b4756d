using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// The compact-row kernels (<see cref="QuantizedMath"/>) against the float32 kernels they replace in the graph walk, and
/// the row conversions against <c>TensorPrimitives</c>. Per-width rows call the Vector256 bodies directly, so a machine
/// with AVX-512 still shows the AVX2 figure. Results: /work/notes/qkernels-notes.md and the README's kernels table.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class QuantizedKernelBenchmarks
{
    private float* _query;
    private float* _row;
    private Half* _halfRow;
    private byte* _codes;
    private float* _low;
    private float* _step;
    private float* _inverseStep;
    private float* _scratch;
    private byte* _scratchCodes;

    /// <summary>MiniLM width and OpenAI small width.</summary>
    [Params(384, 1536)]
    public int Dimension { get; set; }

    private ReadOnlySpan<float> Query => new(_query, Dimension);

    private ReadOnlySpan<float> Row => new(_row, Dimension);

    private ReadOnlySpan<Half> HalfRow => new(_halfRow, Dimension);

    private ReadOnlySpan<byte> Codes => new(_codes, Dimension);

    [GlobalSetup]
    public void Setup()
    {
        // 64-byte aligned like arena rows.
        _query = Alloc<float>();
        _row = Alloc<float>();
        _halfRow = Alloc<Half>();
        _codes = Alloc<byte>();
        _low = Alloc<float>();
        _step = Alloc<float>();
        _inverseStep = Alloc<float>();
        _scratch = Alloc<float>();
        _scratchCodes = Alloc<byte>();
        var random = new Random(42);
        for (int i = 0; i < Dimension; i++)
        {
            _query[i] = (float)((random.NextDouble() * 2) - 1);
            _row[i] = (float)((random.NextDouble() * 2) - 1);
            _halfRow[i] = (Half)_row[i];
            _low[i] = -1f;
            _step[i] = 2f / 255;
            _inverseStep[i] = 255f / 2;
        }

        QuantizedMath.QuantizeU8(Row, new(_low, Dimension), new(_inverseStep, Dimension), new(_codes, Dimension));
    }

    private T* Alloc<T>()
        where T : unmanaged =>
        (T*)NativeMemory.AlignedAlloc((nuint)(Dimension * sizeof(T)), 64);

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_query);
        NativeMemory.AlignedFree(_row);
        NativeMemory.AlignedFree(_halfRow);
        NativeMemory.AlignedFree(_codes);
        NativeMemory.AlignedFree(_low);
        NativeMemory.AlignedFree(_step);
        NativeMemory.AlignedFree(_inverseStep);
        NativeMemory.AlignedFree(_scratch);
        NativeMemory.AlignedFree(_scratchCodes);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Distance")]
    public float Float32_Dot() => VectorMath.Dot(Query, Row);

    [Benchmark, BenchmarkCategory("Distance")]
    public float Float32_SquaredL2() => VectorMath.SquaredL2(Query, Row);

    [Benchmark, BenchmarkCategory("Distance")]
    public float F16_Dot() => QuantizedMath.DotF16(Query, HalfRow);

    [Benchmark, BenchmarkCategory("Distance")]
    public float F16_DotVector256() => QuantizedMath.DotF16Vector256(Query, HalfRow);

    [Benchmark, BenchmarkCategory("Distance")]
    public float F16_Dot_ViaTensorPrimitivesConvert()
    {
        // The alternative to a fused kernel: widen the row into a stack buffer, then the float32 kernel.
        Span<float> widened = stackalloc float[Dimension];
        TensorPrimitives.ConvertToSingle(HalfRow, widened);
        return VectorMath.Dot(Query, widened);
    }

    [Benchmark, BenchmarkCategory("Distance")]
    public float F16_SquaredL2() => QuantizedMath.SquaredL2F16(Query, HalfRow);

    [Benchmark, BenchmarkCategory("Distance")]
    public float U8_Dot() => QuantizedMath.DotU8(Query, Codes);

    [Benchmark, BenchmarkCategory("Distance")]
    public float U8_DotVector256() => QuantizedMath.DotU8Vector256(Query, Codes);

    [Benchmark(Baseline = true), BenchmarkCategory("Convert")]
    public void HalfToFloat_TensorPrimitives() => TensorPrimitives.ConvertToSingle(HalfRow, new Span<float>(_scratch, Dimension));

    [Benchmark, BenchmarkCategory("Convert")]
    public void HalfToFloat_QuantizedMath() => QuantizedMath.ConvertToSingle(HalfRow, new Span<float>(_scratch, Dimension));

    [Benchmark, BenchmarkCategory("Convert")]
    public void FloatToHalf_TensorPrimitives() => TensorPrimitives.ConvertToHalf(Row, new Span<Half>(_halfRow, Dimension));

    [Benchmark, BenchmarkCategory("Convert")]
    public void QuantizeU8() =>
        QuantizedMath.QuantizeU8(Row, new(_low, Dimension), new(_inverseStep, Dimension), new Span<byte>(_scratchCodes, Dimension));

    [Benchmark, BenchmarkCategory("Convert")]
    public void DequantizeU8() =>
        QuantizedMath.DequantizeU8(Codes, new(_low, Dimension), new(_step, Dimension), new Span<float>(_scratch, Dimension));
}
