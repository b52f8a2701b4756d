using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbeddedChroma.Distance;

/// <summary>The integer dot product of an int8 row's codes with a query's weights held as 16-bit integers.</summary>
internal static partial class QuantizedMath
{
    /// <summary>
    /// True when <see cref="DotU8S16"/> runs on vector integer multiply-adds (x86 AVX2 <c>vpmaddwd</c>, or its AVX-512BW
    /// form): 16 or 32 products per instruction, exact, against the float path's widen, convert and fused multiply-add
    /// per 8 or 16. Elsewhere the walks keep the float weights (<see cref="DotU8"/>).
    /// </summary>
    public static bool IntegerDotAccelerated => Avx2.IsSupported;

    /// <summary>Largest weight magnitude <see cref="QuantizeWeights"/> produces.</summary>
    public const int WeightLimit = short.MaxValue;

    /// <summary>
    /// Σ weightsᵢ · codesᵢ, exact, with codes read as unsigned 0..255 and weights as signed 16-bit integers (any length;
    /// partial sums are carried in 64 bits, so no length overflows).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static long DotU8S16(ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes)
    {
        if (weights.Length != codes.Length)
        {
            ThrowLengthMismatch(nameof(codes));
        }

        if (Avx512BW.IsSupported && weights.Length >= Vector512<short>.Count)
        {
            return DotU8S16Vector512(weights, codes);
        }

        if (Avx2.IsSupported && weights.Length >= Vector256<short>.Count)
        {
            return DotU8S16Vector256(weights, codes);
        }

        return DotU8S16Scalar(weights, codes);
    }

    /// <summary>
    /// <paramref name="weights"/> as 16-bit integers at a common scale: destinationᵢ = round(weightsᵢ / scale) with scale
    /// = max |weightsᵢ| / <see cref="WeightLimit"/> (1 when every weight is 0), so Σ weightsᵢ · cᵢ ≈ scale · Σ destinationᵢ · cᵢ
    /// with an error of at most scale / 2 per unit of |cᵢ|: for an int8 row, ~1/65,000 of the largest weight per code step.
    /// Returns the scale; NaN when a weight is NaN or infinite (the caller's distance is then NaN, as with float weights).
    /// </summary>
    public static float QuantizeWeights(ReadOnlySpan<float> weights, Span<short> destination)
    {
        if (destination.Length < weights.Length)
        {
            ThrowLengthMismatch(nameof(destination));
        }

        var largest = weights.IsEmpty ? 0f : System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(weights);
        largest = MathF.Abs(largest);
        if (!float.IsFinite(largest))
        {
            destination[..weights.Length].Clear();
            return float.NaN;
        }

        var scale = largest > 0 ? largest / WeightLimit : 1f;
        var inverse = 1f / scale;
        for (var i = 0; i < weights.Length; i++)
        {
            destination[i] = (short)Math.Clamp(MathF.Round(weights[i] * inverse), -WeightLimit, WeightLimit);
        }

        return scale;
    }

    internal static long DotU8S16Scalar(ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes)
    {
        long sum = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += weights[i] * codes[i];
        }

        return sum;
    }

    /// <summary>
    /// Iterations whose 32-bit lane sums cannot overflow: each adds at most 2 · 255 · 32,768 = 16,711,680 per lane, and
    /// 128 of them stay under 2³¹.
    /// </summary>
    private const int LaneFlush = 128;

    internal static long DotU8S16Vector256(ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes)
    {
        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var c = ref MemoryMarshal.GetReference(codes);
        var length = weights.Length;
        var last = length - Vector256<short>.Count;
        long total = 0;
        var i = 0;
        while (i <= last)
        {
            var lanes = Vector256<int>.Zero;
            for (var n = 0; n < LaneFlush && i <= last; n++, i += Vector256<short>.Count)
            {
                var widened = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref c, (nuint)i));
                lanes = Avx2.Add(lanes, Avx2.MultiplyAddAdjacent(widened, Vector256.LoadUnsafe(ref w, (nuint)i)));
            }

            total += SumLanes(lanes);
        }

        for (; i < length; i++)
        {
            total += Unsafe.Add(ref w, i) * Unsafe.Add(ref c, i);
        }

        return total;
    }

    internal static long DotU8S16Vector512(ReadOnlySpan<short> weights, ReadOnlySpan<byte> codes)
    {
        ref var w = ref MemoryMarshal.GetReference(weights);
        ref var c = ref MemoryMarshal.GetReference(codes);
        var length = weights.Length;
        var last = length - Vector512<short>.Count;
        long total = 0;
        var i = 0;
        while (i <= last)
        {
            var lanes = Vector512<int>.Zero;
            for (var n = 0; n < LaneFlush && i <= last; n++, i += Vector512<short>.Count)
            {
                var widened = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref c, (nuint)i));
                lanes = Avx512F.Add(lanes, Avx512BW.MultiplyAddAdjacent(widened, Vector512.LoadUnsafe(ref w, (nuint)i)));
            }

            total += SumLanes(lanes.GetLower()) + SumLanes(lanes.GetUpper());
        }

        // The tail: one 256-bit step when 16 or more remain, then scalar.
        if (i <= length - Vector256<short>.Count)
        {
            var widened = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref c, (nuint)i));
            total += SumLanes(Avx2.MultiplyAddAdjacent(widened, Vector256.LoadUnsafe(ref w, (nuint)i)));
            i += Vector256<short>.Count;
        }

        for (; i < length; i++)
        {
            total += Unsafe.Add(ref w, i) * Unsafe.Add(ref c, i);
        }

        return total;
    }

    /// <summary>The eight 32-bit lanes summed in 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long SumLanes(Vector256<int> lanes)
    {
        var (lower, upper) = Vector256.Widen(lanes);
        return Vector256.Sum(lower + upper);
    }
}
