using System.Runtime.Intrinsics;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

/// <summary>
/// The float16 and int8 row kernels (<see cref="QuantizedMath"/>), every path (dispatcher, scalar, each vector width)
/// at every length 0–256 plus 384/768/1536, at unaligned offsets inside NaN-guarded buffers, against double-precision
/// references.
/// </summary>
/// <remarks>
/// Two kinds of check per kernel: integer-valued rows, where every product and partial sum is exactly representable in
/// float, so any path must match the reference exactly (a lane counted twice or skipped shows at once); and random
/// rows, held to the classical bound for a float dot product in any summation order,
/// |fl(Σxᵢyᵢ) − Σxᵢyᵢ| ≤ γₙ·Σ|xᵢyᵢ| with γₙ ≈ n·2⁻²⁴ (Higham, Accuracy and Stability, §3.1); a fused multiply-add
/// only removes roundings, and half → float and byte → float conversions are exact, so the bound holds for every path.
/// </remarks>
public class QuantizedMathTests
{
    private const int GuardLength = 32;
    private const double UnitRoundoff = 1.0 / (1 << 24);

    private delegate float HalfKernel(ReadOnlySpan<float> a, ReadOnlySpan<Half> b);

    private delegate float ByteKernel(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes);

    private delegate void QuantizeKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes);

    private delegate void DequantizeKernel(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination);

    // ---- DotF16 -------------------------------------------------------------------------------------------------

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotF16_is_exact_on_integer_rows_for_every_length(string path)
    {
        HalfKernel kernel = DotF16(path);
        var random = new Random(1701);
        foreach (int length in Lengths(path))
        {
            // |aᵢbᵢ| ≤ 64 and n ≤ 1536, so every partial sum is an integer below 2²⁴: exact in float.
            Memory<float> a = GuardedFloats(length, length % 7, _ => random.Next(-8, 9));
            Memory<Half> b = GuardedHalves(length, (length + 3) % 7, _ => random.Next(-8, 9));

            kernel(a.Span, b.Span).Should().Be((float)ReferenceDot(a.Span, b.Span), $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotF16_matches_double_reference_within_the_rounding_bound_for_every_length(string path)
    {
        HalfKernel kernel = DotF16(path);
        var random = new Random(1702);
        foreach (int length in Lengths(path))
        {
            Memory<float> a = GuardedFloats(length, length % 5, _ => (random.NextDouble() * 2) - 1);
            Memory<Half> b = GuardedHalves(length, length % 3, _ => (random.NextDouble() * 2) - 1);

            double tolerance = DotBound(length, AbsoluteDot(a.Span, b.Span));
            kernel(a.Span, b.Span).Should().BeApproximately((float)ReferenceDot(a.Span, b.Span), (float)tolerance, $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotF16_is_exact_on_subnormal_and_largest_halves(string path)
    {
        HalfKernel kernel = DotF16(path);
        foreach (int length in Lengths(path))
        {
            // Every subnormal mantissa k·2⁻²⁴ (k = 1..1023, both signs) times 2²⁴ gives the integer ±k; sums stay below 2²⁴.
            Memory<float> scale = GuardedFloats(length, 1, _ => 16777216.0);
            Memory<Half> subnormal = GuardedHalves(length, 2, i => (i % 2 == 0 ? 1 : -1) * (1 + (i % 1023)) * UnitRoundoff);
            double expected = 0;
            for (int i = 0; i < length; i++)
            {
                expected += (i % 2 == 0 ? 1 : -1) * (1 + (i % 1023));
            }

            kernel(scale.Span, subnormal.Span).Should().Be((float)expected, $"subnormals, length {length}");

            if (length <= 256)
            {
                // n · 65504 = n · 2047 · 32 < 2²⁴ for n ≤ 256: exact.
                Memory<float> ones = GuardedFloats(length, 3, _ => 1);
                Memory<Half> largest = GuardedHalves(length, 0, _ => (double)Half.MaxValue);
                kernel(ones.Span, largest.Span).Should().Be(65504f * length, $"Half.MaxValue, length {length}");
            }
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotF16_propagates_NaN_and_infinity_at_every_position(string path)
    {
        HalfKernel kernel = DotF16(path);
        foreach (int length in NonFiniteLengths(path))
        {
            // a is all ones so an infinity keeps its sign; the tail mask must not turn ∞ into 0·∞ = NaN.
            float[] a = Enumerable.Repeat(1f, length).ToArray();
            var b = new Half[length];
            for (int position = 0; position < length; position++)
            {
                b[position] = Half.NaN;
                kernel(a, b).Should().Be(float.NaN, $"NaN half at {position} of {length}");

                b[position] = Half.PositiveInfinity;
                kernel(a, b).Should().Be(float.PositiveInfinity, $"+inf half at {position} of {length}");

                b[position] = Half.NegativeInfinity;
                kernel(a, b).Should().Be(float.NegativeInfinity, $"-inf half at {position} of {length}");

                b[position] = Half.Zero;
                a[position] = float.NaN;
                kernel(a, b).Should().Be(float.NaN, $"NaN float at {position} of {length}");
                a[position] = 1f;
            }
        }
    }

    // ---- SquaredL2F16 -------------------------------------------------------------------------------------------

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void SquaredL2F16_is_exact_on_integer_rows_for_every_length(string path)
    {
        HalfKernel kernel = SquaredL2F16(path);
        var random = new Random(1703);
        foreach (int length in Lengths(path))
        {
            // (aᵢ − bᵢ)² ≤ 256 and n ≤ 1536: every partial sum is an integer below 2²⁴.
            Memory<float> a = GuardedFloats(length, length % 7, _ => random.Next(-8, 9));
            Memory<Half> b = GuardedHalves(length, (length + 5) % 7, _ => random.Next(-8, 9));

            kernel(a.Span, b.Span).Should().Be((float)ReferenceSquaredL2(a.Span, b.Span), $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void SquaredL2F16_matches_double_reference_within_the_rounding_bound_for_every_length(string path)
    {
        HalfKernel kernel = SquaredL2F16(path);
        var random = new Random(1704);
        foreach (int length in Lengths(path))
        {
            Memory<float> a = GuardedFloats(length, length % 5, _ => (random.NextDouble() * 2) - 1);
            Memory<Half> b = GuardedHalves(length, length % 3, _ => (random.NextDouble() * 2) - 1);

            // All terms are non-negative, so the bound is relative to the result; the difference adds two roundings.
            double expected = ReferenceSquaredL2(a.Span, b.Span);
            double tolerance = ((length + 3) * UnitRoundoff * expected) + 1e-30;
            kernel(a.Span, b.Span).Should().BeApproximately((float)expected, (float)tolerance, $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void SquaredL2F16_is_exact_on_subnormal_halves(string path)
    {
        HalfKernel kernel = SquaredL2F16(path);
        foreach (int length in Lengths(path))
        {
            // (k·2⁻²⁴)² = k²·2⁻⁴⁸ is a normal float; with k ≤ 63 the sum of k² stays below 2²⁴, so the result is exact.
            Memory<float> zero = GuardedFloats(length, 4, _ => 0);
            Memory<Half> subnormal = GuardedHalves(length, 1, i => (i % 3 == 0 ? -1 : 1) * (1 + (i % 63)) * UnitRoundoff);
            double expected = 0;
            for (int i = 0; i < length; i++)
            {
                expected += (1 + (i % 63)) * (1 + (i % 63)) * UnitRoundoff * UnitRoundoff;
            }

            kernel(zero.Span, subnormal.Span).Should().Be((float)expected, $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void SquaredL2F16_propagates_NaN_and_infinity_at_every_position(string path)
    {
        HalfKernel kernel = SquaredL2F16(path);
        foreach (int length in NonFiniteLengths(path))
        {
            var a = new float[length];
            var b = new Half[length];
            for (int position = 0; position < length; position++)
            {
                b[position] = Half.NaN;
                kernel(a, b).Should().Be(float.NaN, $"NaN half at {position} of {length}");

                b[position] = Half.PositiveInfinity;
                kernel(a, b).Should().Be(float.PositiveInfinity, $"+inf half at {position} of {length}");

                b[position] = Half.NegativeInfinity;
                kernel(a, b).Should().Be(float.PositiveInfinity, $"-inf half at {position} of {length}");

                b[position] = Half.Zero;
                a[position] = float.NaN;
                kernel(a, b).Should().Be(float.NaN, $"NaN float at {position} of {length}");
                a[position] = 0f;
            }
        }
    }

    // ---- The in-register half → float conversion ----------------------------------------------------------------

    [Theory]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void HalfToSingle_matches_Half_conversion_for_all_65536_bit_patterns(string path)
    {
        var bits = new int[65536];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (short)i; // sign-extended, as the loads produce
        }

        var converted = new float[65536];
        int lanes = path switch { "Vector128" => 4, "Vector256" => 8, _ => 16 };
        for (int i = 0; i < bits.Length; i += lanes)
        {
            ReadOnlySpan<int> chunk = bits.AsSpan(i, lanes);
            Span<float> output = converted.AsSpan(i, lanes);
            switch (path)
            {
                case "Vector128": QuantizedMath.HalfToSingle(Vector128.Create(chunk)).CopyTo(output); break;
                case "Vector256": QuantizedMath.HalfToSingle(Vector256.Create(chunk)).CopyTo(output); break;
                default: QuantizedMath.HalfToSingle(Vector512.Create(chunk)).CopyTo(output); break;
            }
        }

        for (int i = 0; i < bits.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if (float.IsNaN(expected))
            {
                float.IsNaN(converted[i]).Should().BeTrue($"half bits 0x{i:X4} are NaN");
                float.IsNegative(converted[i]).Should().Be(float.IsNegative(expected), $"sign of NaN 0x{i:X4}");
            }
            else
            {
                BitConverter.SingleToUInt32Bits(converted[i]).Should().Be(BitConverter.SingleToUInt32Bits(expected), $"half bits 0x{i:X4} ({expected})");
            }
        }
    }

    // ---- DotU8 --------------------------------------------------------------------------------------------------

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotU8_is_exact_on_integer_weights_for_every_length(string path)
    {
        ByteKernel kernel = DotU8(path);
        var random = new Random(1705);
        foreach (int length in Lengths(path))
        {
            // |wᵢ·cᵢ| ≤ 8·255 and n ≤ 1536: every partial sum is an integer below 2²⁴.
            Memory<float> weights = GuardedFloats(length, length % 7, _ => random.Next(-8, 9));
            Memory<byte> codes = GuardedBytes(length, (length + 1) % 7, _ => (byte)random.Next(256));

            kernel(weights.Span, codes.Span).Should().Be((float)ReferenceDot(weights.Span, codes.Span), $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotU8_matches_double_reference_within_the_rounding_bound_for_every_length(string path)
    {
        ByteKernel kernel = DotU8(path);
        var random = new Random(1706);
        foreach (int length in Lengths(path))
        {
            Memory<float> weights = GuardedFloats(length, length % 5, _ => (random.NextDouble() * 2) - 1);
            Memory<byte> codes = GuardedBytes(length, length % 3, _ => (byte)random.Next(256));

            double tolerance = DotBound(length, AbsoluteDot(weights.Span, codes.Span));
            kernel(weights.Span, codes.Span).Should().BeApproximately((float)ReferenceDot(weights.Span, codes.Span), (float)tolerance, $"length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotU8_handles_codes_0_and_255_with_large_weights(string path)
    {
        ByteKernel kernel = DotU8(path);
        var random = new Random(1707);
        foreach (int length in Lengths(path))
        {
            Memory<float> weights = GuardedFloats(length, 1, _ => (random.NextDouble() < 0.5 ? -1 : 1) * 1e30 * (1 + random.NextDouble()));
            Memory<byte> codes = GuardedBytes(length, 2, i => i % 3 == 0 ? (byte)0 : (byte)255);

            double tolerance = DotBound(length, AbsoluteDot(weights.Span, codes.Span));
            kernel(weights.Span, codes.Span).Should().BeApproximately((float)ReferenceDot(weights.Span, codes.Span), (float)tolerance, $"length {length}");
        }

        // 255 · (float.MaxValue / 2) overflows to +∞ at any position, as the float kernels do.
        foreach (int length in NonFiniteLengths(path))
        {
            var weights = new float[length];
            var codes = Enumerable.Repeat((byte)255, length).ToArray();
            for (int position = 0; position < length; position++)
            {
                weights[position] = float.MaxValue / 2;
                kernel(weights, codes).Should().Be(float.PositiveInfinity, $"overflow at {position} of {length}");
                weights[position] = -float.MaxValue / 2;
                kernel(weights, codes).Should().Be(float.NegativeInfinity, $"negative overflow at {position} of {length}");
                weights[position] = 0f;
            }
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DotU8_propagates_NaN_and_infinity_weights_at_every_position(string path)
    {
        ByteKernel kernel = DotU8(path);
        foreach (int length in NonFiniteLengths(path))
        {
            // Codes are all 1 so an infinity keeps its sign; the tail mask must not turn ∞ into 0·∞ = NaN.
            var weights = new float[length];
            var codes = Enumerable.Repeat((byte)1, length).ToArray();
            for (int position = 0; position < length; position++)
            {
                weights[position] = float.NaN;
                kernel(weights, codes).Should().Be(float.NaN, $"NaN at {position} of {length}");

                weights[position] = float.PositiveInfinity;
                kernel(weights, codes).Should().Be(float.PositiveInfinity, $"+inf at {position} of {length}");

                weights[position] = float.NegativeInfinity;
                kernel(weights, codes).Should().Be(float.NegativeInfinity, $"-inf at {position} of {length}");

                weights[position] = 0f;
            }
        }
    }

    // ---- QuantizeU8 / DequantizeU8 ------------------------------------------------------------------------------

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void QuantizeU8_matches_the_reference_exactly_for_every_length(string path)
    {
        QuantizeKernel kernel = QuantizeU8(path);
        var random = new Random(1708);
        foreach (int length in Lengths(path))
        {
            Memory<float> low = GuardedFloats(length, 1, _ => (random.NextDouble() * 2) - 1);
            Memory<float> inverseStep = GuardedFloats(length, 2, _ => 127.5 / (0.01 + random.NextDouble()));
            Memory<float> x = GuardedFloats(length, length % 7, i =>
            {
                float step = 1f / inverseStep.Span[i];
                return (i % 11) switch
                {
                    0 => low.Span[i] - (step * random.Next(1, 40)), // below the range
                    1 => low.Span[i] + (step * random.Next(255, 300)), // above it
                    _ => low.Span[i] + (step * random.NextDouble() * 255),
                };
            });
            Memory<byte> codes = GuardedBytes(length, (length + 2) % 7, _ => 0xA5);

            kernel(x.Span, low.Span, inverseStep.Span, codes.Span);

            codes.Span.ToArray().Should().Equal(ReferenceQuantize(x.Span, low.Span, inverseStep.Span), $"length {length}");
            GuardsUntouched(codes).Should().BeTrue($"no byte outside the span is written, length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void QuantizeU8_rounds_ties_to_even_and_clamps_out_of_range_and_non_finite_values(string path)
    {
        QuantizeKernel kernel = QuantizeU8(path);

        // low 0 and inverse step 1: (x − low)·inverseStep is x itself, so every tie below is exact.
        float[] cases =
        [
            0.5f, 1.5f, 2.5f, 3.5f, 126.5f, 127.5f, 253.5f, 254.5f, 255.5f, 256.5f, 0.49999997f, 0.50000006f,
            -0.5f, -0.49999997f, -0f, 0f, -1f, -1000f, 255f, 255.49998f, 256f, 1e9f, -1e9f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, -float.MaxValue, float.Epsilon,
        ];
        byte[] expected =
        [
            0, 2, 2, 4, 126, 128, 254, 254, 255, 255, 0, 1,
            0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0,
            255, 0, 0, 255, 0, 0,
        ];

        // Every length, so each case also lands in the overlapping tail of the vector paths.
        foreach (int length in Lengths(path).Where(n => n > 0 && n <= 64))
        {
            for (int shift = 0; shift < cases.Length; shift++)
            {
                Memory<float> x = GuardedFloats(length, shift % 5, i => cases[(i + shift) % cases.Length]);
                Memory<float> low = GuardedFloats(length, 0, _ => 0);
                Memory<float> inverseStep = GuardedFloats(length, 3, _ => 1);
                Memory<byte> codes = GuardedBytes(length, 1, _ => 0xA5);

                kernel(x.Span, low.Span, inverseStep.Span, codes.Span);

                codes.Span.ToArray().Should().Equal(
                    Enumerable.Range(0, length).Select(i => expected[(i + shift) % cases.Length]),
                    $"length {length}, shift {shift}");
                GuardsUntouched(codes).Should().BeTrue();
            }
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DequantizeU8_matches_low_plus_step_times_code_for_every_length(string path)
    {
        DequantizeKernel kernel = DequantizeU8(path);
        var random = new Random(1709);
        foreach (int length in Lengths(path))
        {
            Memory<byte> codes = GuardedBytes(length, length % 7, i => i % 5 == 0 ? (byte)0 : i % 5 == 1 ? (byte)255 : (byte)random.Next(256));
            Memory<float> low = GuardedFloats(length, 1, _ => (random.NextDouble() * 200) - 100);
            Memory<float> step = GuardedFloats(length, 2, _ => random.NextDouble());
            Memory<float> destination = GuardedFloats(length, (length + 3) % 7, _ => 0);

            kernel(codes.Span, low.Span, step.Span, destination.Span);

            for (int i = 0; i < length; i++)
            {
                // Fused or not, the result is within one rounding of each operation: 2·2⁻²⁴ of the operands' magnitude.
                double exact = low.Span[i] + ((double)step.Span[i] * codes.Span[i]);
                double tolerance = 2 * UnitRoundoff * (Math.Abs(low.Span[i]) + Math.Abs((double)step.Span[i] * codes.Span[i]));
                ((double)destination.Span[i]).Should().BeApproximately(exact, tolerance, $"element {i} of {length}");
            }

            GuardsUntouched(destination).Should().BeTrue($"no float outside the span is written, length {length}");
        }
    }

    [Theory]
    [QuantizedPaths(0)]
    [QuantizedPaths(128)]
    [QuantizedPaths(256)]
    [QuantizedPaths(512)]
    public void DequantizeU8_of_QuantizeU8_is_within_half_a_step_for_every_length(string path)
    {
        QuantizeKernel quantize = QuantizeU8(path);
        DequantizeKernel dequantize = DequantizeU8(path);
        var random = new Random(1710);
        foreach (int length in Lengths(path))
        {
            Memory<float> low = GuardedFloats(length, 3, _ => (random.NextDouble() * 2) - 1);
            Memory<float> step = GuardedFloats(length, 1, _ => (0.001 + random.NextDouble()) / 255);
            Memory<float> inverseStep = GuardedFloats(length, 2, i => 1.0 / step.Span[i]);
            Memory<float> x = GuardedFloats(length, length % 7, i => low.Span[i] + (step.Span[i] * 255 * random.NextDouble()));
            Memory<byte> codes = GuardedBytes(length, 4, _ => 0);
            Memory<float> back = GuardedFloats(length, 5, _ => 0);

            quantize(x.Span, low.Span, inverseStep.Span, codes.Span);
            dequantize(codes.Span, low.Span, step.Span, back.Span);

            for (int i = 0; i < length; i++)
            {
                // Half a step, plus the float roundings: inverseStep and (x − low)·inverseStep each carry 2⁻²⁴ relative
                // error on a value ≤ 255 code units (≤ 2⁻¹⁵ of a step together), and the dequantized value one rounding
                // of its magnitude (≤ |low| + 255·step).
                double tolerance = (step.Span[i] * (0.5 + Math.Pow(2, -15))) + (UnitRoundoff * 2 * (Math.Abs(low.Span[i]) + (255 * step.Span[i])));
                ((double)back.Span[i]).Should().BeApproximately(x.Span[i], tolerance, $"element {i} of {length}");
            }
        }
    }

    // ---- Argument checks ----------------------------------------------------------------------------------------

    [Fact]
    public void Kernels_throw_ArgumentException_naming_the_span_when_lengths_differ()
    {
        float[] f17 = new float[17];
        float[] f16 = new float[16];

        ((Action)(() => QuantizedMath.DotU8(f17, new byte[16]))).Should().Throw<ArgumentException>().WithParameterName("codes");
        ((Action)(() => QuantizedMath.DotF16(f17, new Half[16]))).Should().Throw<ArgumentException>().WithParameterName("b");
        ((Action)(() => QuantizedMath.SquaredL2F16(f16, new Half[17]))).Should().Throw<ArgumentException>().WithParameterName("b");

        ((Action)(() => QuantizedMath.QuantizeU8(f17, f16, f17, new byte[17]))).Should().Throw<ArgumentException>().WithParameterName("low");
        ((Action)(() => QuantizedMath.QuantizeU8(f17, f17, f16, new byte[17]))).Should().Throw<ArgumentException>().WithParameterName("inverseStep");
        ((Action)(() => QuantizedMath.QuantizeU8(f17, f17, f17, new byte[16]))).Should().Throw<ArgumentException>().WithParameterName("codes");

        ((Action)(() => QuantizedMath.DequantizeU8(new byte[17], f16, f17, f17))).Should().Throw<ArgumentException>().WithParameterName("low");
        ((Action)(() => QuantizedMath.DequantizeU8(new byte[17], f17, f16, f17))).Should().Throw<ArgumentException>().WithParameterName("step");
        ((Action)(() => QuantizedMath.DequantizeU8(new byte[17], f17, f17, f16))).Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    // ---- Paths, data and references -----------------------------------------------------------------------------

    private static HalfKernel DotF16(string path) => path switch
    {
        "Dispatch" => QuantizedMath.DotF16,
        "Scalar" => QuantizedMath.DotF16Scalar,
        "Vector128" => QuantizedMath.DotF16Vector128,
        "Vector256" => QuantizedMath.DotF16Vector256,
        _ => QuantizedMath.DotF16Vector512,
    };

    private static HalfKernel SquaredL2F16(string path) => path switch
    {
        "Dispatch" => QuantizedMath.SquaredL2F16,
        "Scalar" => QuantizedMath.SquaredL2F16Scalar,
        "Vector128" => QuantizedMath.SquaredL2F16Vector128,
        "Vector256" => QuantizedMath.SquaredL2F16Vector256,
        _ => QuantizedMath.SquaredL2F16Vector512,
    };

    private static ByteKernel DotU8(string path) => path switch
    {
        "Dispatch" => QuantizedMath.DotU8,
        "Scalar" => QuantizedMath.DotU8Scalar,
        "Vector128" => QuantizedMath.DotU8Vector128,
        "Vector256" => QuantizedMath.DotU8Vector256,
        _ => QuantizedMath.DotU8Vector512,
    };

    private static QuantizeKernel QuantizeU8(string path) => path switch
    {
        "Dispatch" => QuantizedMath.QuantizeU8,
        "Scalar" => QuantizedMath.QuantizeU8Scalar,
        "Vector128" => QuantizedMath.QuantizeU8Vector128,
        "Vector256" => QuantizedMath.QuantizeU8Vector256,
        _ => QuantizedMath.QuantizeU8Vector512,
    };

    private static DequantizeKernel DequantizeU8(string path) => path switch
    {
        "Dispatch" => QuantizedMath.DequantizeU8,
        "Scalar" => QuantizedMath.DequantizeU8Scalar,
        "Vector128" => QuantizedMath.DequantizeU8Vector128,
        "Vector256" => QuantizedMath.DequantizeU8Vector256,
        _ => QuantizedMath.DequantizeU8Vector512,
    };

    /// <summary>The shortest input a path accepts (a vector body needs one full vector of floats).</summary>
    private static int MinLength(string path) => path switch
    {
        "Vector128" => Vector128<float>.Count,
        "Vector256" => Vector256<float>.Count,
        "Vector512" => Vector512<float>.Count,
        _ => 0,
    };

    /// <summary>Every length 0–256 the path accepts, then the common embedding widths.</summary>
    private static IEnumerable<int> Lengths(string path) =>
        Enumerable.Range(MinLength(path), 257 - MinLength(path)).Concat([384, 768, 1536]);

    private static IEnumerable<int> NonFiniteLengths(string path) =>
        new[] { 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129 }.Where(n => n >= MinLength(path));

    // Buffers place the span at an element offset past a guard region: NaN for floats and halves, so a kernel that
    // reads past either end returns NaN (and a stray float write shows), and 0x5A for bytes, so a stray write shows.
    private static Memory<float> GuardedFloats(int length, int offset, Func<int, double> value)
    {
        var buffer = new float[length + offset + (2 * GuardLength)];
        buffer.AsSpan().Fill(float.NaN);
        Memory<float> span = buffer.AsMemory(GuardLength + offset, length);
        for (int i = 0; i < length; i++)
        {
            span.Span[i] = (float)value(i);
        }

        return span;
    }

    private static Memory<Half> GuardedHalves(int length, int offset, Func<int, double> value)
    {
        var buffer = new Half[length + offset + (2 * GuardLength)];
        buffer.AsSpan().Fill(Half.NaN);
        Memory<Half> span = buffer.AsMemory(GuardLength + offset, length);
        for (int i = 0; i < length; i++)
        {
            span.Span[i] = (Half)value(i);
        }

        return span;
    }

    private const byte ByteGuard = 0x5A;

    private static Memory<byte> GuardedBytes(int length, int offset, Func<int, byte> value)
    {
        var buffer = new byte[length + offset + (2 * GuardLength)];
        buffer.AsSpan().Fill(ByteGuard);
        Memory<byte> span = buffer.AsMemory(GuardLength + offset, length);
        for (int i = 0; i < length; i++)
        {
            span.Span[i] = value(i);
        }

        return span;
    }

    private static bool GuardsUntouched(Memory<byte> span)
    {
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(span, out var segment).Should().BeTrue();
        return segment.Array!.AsSpan(0, segment.Offset).IndexOfAnyExcept(ByteGuard) < 0
            && segment.Array.AsSpan(segment.Offset + segment.Count).IndexOfAnyExcept(ByteGuard) < 0;
    }

    private static bool GuardsUntouched(Memory<float> span)
    {
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray<float>(span, out var segment).Should().BeTrue();
        return segment.Array!.AsSpan(0, segment.Offset).ToArray().All(float.IsNaN)
            && segment.Array.AsSpan(segment.Offset + segment.Count).ToArray().All(float.IsNaN);
    }

    private static double ReferenceDot(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * (double)b[i];
        }

        return sum;
    }

    private static double ReferenceDot(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        double sum = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            sum += (double)weights[i] * codes[i];
        }

        return sum;
    }

    private static double ReferenceSquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - (double)b[i];
            sum += d * d;
        }

        return sum;
    }

    private static double AbsoluteDot(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += Math.Abs((double)a[i] * (double)b[i]);
        }

        return sum;
    }

    private static double AbsoluteDot(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        double sum = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            sum += Math.Abs((double)weights[i] * codes[i]);
        }

        return sum;
    }

    /// <summary>γₙ·Σ|xᵢyᵢ| (γₙ = n·u/(1 − n·u), u = 2⁻²⁴), plus a hair for the empty sum.</summary>
    private static double DotBound(int length, double absoluteSum) =>
        (length * UnitRoundoff / (1 - (length * UnitRoundoff)) * absoluteSum) + 1e-30;

    /// <summary>The codes by the contract's formula, the product computed in float as the kernels must.</summary>
    private static byte[] ReferenceQuantize(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep)
    {
        var codes = new byte[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            float t = (x[i] - low[i]) * inverseStep[i];
            double rounded = Math.Round((double)t, MidpointRounding.ToEven);
            codes[i] = double.IsNaN(rounded) ? (byte)0 : (byte)Math.Clamp(rounded, 0, 255);
        }

        return codes;
    }
}
