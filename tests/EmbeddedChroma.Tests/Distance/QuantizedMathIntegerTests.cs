using System.Runtime.Intrinsics.X86;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

/// <summary>
/// The integer dot product of int8 codes with 16-bit weights (<see cref="QuantizedMath.DotU8S16"/>, the int8 graph
/// walk's kernel where integer multiply-adds are accelerated): exact against a 64-bit scalar reference on every path
/// for every length 0–256 and the common widths, at the extremes of both types, never reading past either span; and
/// the weights' quantization (<see cref="QuantizedMath.QuantizeWeights"/>) within its stated bound.
/// </summary>
public sealed class QuantizedMathIntegerTests
{
    private const int Guard = 48;
    private const short WeightGuard = 12_345;
    private const byte CodeGuard = 0xA5;

    public static TheoryData<string> Paths()
    {
        var paths = new TheoryData<string> { "Dispatch", "Scalar" };
        if (Avx2.IsSupported)
        {
            paths.Add("Vector256");
        }

        if (Avx512BW.IsSupported)
        {
            paths.Add("Vector512");
        }

        return paths;
    }

    private static long Kernel(string path, ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes) => path switch
    {
        "Dispatch" => QuantizedMath.DotU8S16(weights, codes),
        "Scalar" => QuantizedMath.DotU8S16Scalar(weights, codes),
        "Vector256" => QuantizedMath.DotU8S16Vector256(weights, codes),
        _ => QuantizedMath.DotU8S16Vector512(weights, codes),
    };

    private static int MinLength(string path) => path switch
    {
        "Vector256" => 16,
        "Vector512" => 32,
        _ => 0,
    };

    private static IEnumerable<int> Lengths(string path) =>
        Enumerable.Range(MinLength(path), 257 - MinLength(path)).Concat([384, 768, 1536, 4096, 5000]);

    private static long Reference(ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes)
    {
        long sum = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += (long)weights[i] * codes[i];
        }

        return sum;
    }

    /// <summary>The values at an offset inside a buffer whose guard elements, read by mistake, would change the sum.</summary>
    private static Memory<T> Guarded<T>(int length, int offset, T guard, Func<int, T> value)
    {
        var buffer = new T[length + offset + (2 * Guard)];
        buffer.AsSpan().Fill(guard);
        var span = buffer.AsMemory(Guard + offset, length);
        for (var i = 0; i < length; i++)
        {
            span.Span[i] = value(i);
        }

        return span;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void DotU8S16_is_exact_for_every_length_and_reads_nothing_past_either_span(string path)
    {
        var random = new Random(1801);
        foreach (var length in Lengths(path))
        {
            var weights = Guarded(length, length % 5, WeightGuard, _ => (short)random.Next(short.MinValue, short.MaxValue + 1));
            var codes = Guarded(length, (length + 2) % 7, CodeGuard, _ => (byte)random.Next(256));

            Kernel(path, weights.Span, codes.Span).Should().Be(Reference(weights.Span, codes.Span), $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void DotU8S16_does_not_overflow_at_the_extremes_of_both_types(string path)
    {
        foreach (var length in new[] { MinLength(path), 255, 256, 4096, 8191, 20_000 }.Where(n => n >= MinLength(path)))
        {
            foreach (var weight in new short[] { short.MinValue, short.MaxValue })
            {
                var weights = Guarded(length, 1, WeightGuard, _ => weight);
                var codes = Guarded(length, 3, CodeGuard, _ => byte.MaxValue);

                Kernel(path, weights.Span, codes.Span).Should().Be((long)weight * byte.MaxValue * length, $"length {length}, weight {weight}");
            }
        }
    }

    [Fact]
    public void DotU8S16_throws_when_the_spans_differ_in_length()
    {
        var act = () => QuantizedMath.DotU8S16(new short[4], new byte[5]);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void QuantizeWeights_keeps_every_weight_within_half_a_step_of_the_common_scale()
    {
        var random = new Random(1802);
        foreach (var length in new[] { 1, 7, 64, 384, 1536 })
        {
            var weights = Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1) * 3e-4f).ToArray();
            var quantized = new short[length];

            var scale = QuantizedMath.QuantizeWeights(weights, quantized);

            scale.Should().BeApproximately(weights.Max(MathF.Abs) / QuantizedMath.WeightLimit, 1e-12f);
            quantized.Max(q => Math.Abs((int)q)).Should().Be(QuantizedMath.WeightLimit, "the largest weight takes the whole range");
            for (var i = 0; i < length; i++)
            {
                Math.Abs(weights[i] - ((double)scale * quantized[i])).Should().BeLessThanOrEqualTo((scale * 0.5) + (Math.Abs(weights[i]) * 1e-6), $"weight {i} of {length} (half a step, up to float rounding)");
            }
        }
    }

    [Fact]
    public void QuantizeWeights_gives_scale_one_for_zero_weights_and_nan_for_a_non_finite_one()
    {
        var zeros = new short[] { 9, 9, 9 };
        QuantizedMath.QuantizeWeights([0f, 0f, 0f], zeros).Should().Be(1f);
        zeros.Should().OnlyContain(q => q == 0);

        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float.IsNaN(QuantizedMath.QuantizeWeights([0.5f, bad, -0.25f], new short[3])).Should().BeTrue($"weight {bad}");
        }

        QuantizedMath.QuantizeWeights([], []).Should().Be(1f);
    }
}
