using System.Diagnostics.CodeAnalysis;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Distance;

/// <summary>
/// Kernels over compact rows: float16 rows (<see cref="Half"/>) and int8 rows (per-dimension scalar quantization:
/// <c>x̂ᵢ = lowᵢ + stepᵢ · codeᵢ</c>, code an unsigned byte). The query stays float32; only the stored row is compact.
/// </summary>
/// <remarks>
/// Dispatch as in <see cref="VectorMath"/>: the widest accelerated vector that fits the input (Vector512 → Vector256 →
/// Vector128 → scalar). Per-width bodies are internal so tests run every path. .NET 10 exposes no hardware
/// half→float conversion (F16C's <c>vcvtph2ps</c> is not surfaced), so the half paths widen in registers with integer
/// operations (<see cref="HalfToSingle(Vector512{int})"/>); the byte paths zero-extend u8 → i32 → float.
/// </remarks>
internal static partial class QuantizedMath
{
    // Size: four partial files (this one: contracts, dispatch and scalar references; .F16: half kernels; .U8: byte
    // kernels; .Convert: the in-register half widening), each kernel with its Vector512/256/128 bodies.

    /// <summary>Σ weightsᵢ · codesᵢ with codes read as unsigned 0..255.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>
    /// For an int8 row, dot(q, x̂) = Σ qᵢ·lowᵢ + Σ (qᵢ·stepᵢ)·codeᵢ, so the caller passes weights = q ⊙ step and adds
    /// the row-independent Σ qᵢ·lowᵢ once per query. NaN or ±∞ in the weights propagate as in <see cref="VectorMath.Dot"/>.
    /// </remarks>
    public static float DotU8(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        if (weights.Length != codes.Length)
        {
            ThrowLengthMismatch(nameof(codes));
        }

        if (Vector512.IsHardwareAccelerated && weights.Length >= Vector512<float>.Count)
        {
            return DotU8Vector512(weights, codes);
        }

        if (Vector256.IsHardwareAccelerated && weights.Length >= Vector256<float>.Count)
        {
            return DotU8Vector256(weights, codes);
        }

        if (Vector128.IsHardwareAccelerated && weights.Length >= Vector128<float>.Count)
        {
            return DotU8Vector128(weights, codes);
        }

        return DotU8Scalar(weights, codes);
    }

    /// <summary>Σ aᵢ · (float)bᵢ.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>Every half converts exactly to float; NaN or ±∞ in either input propagate as in <see cref="VectorMath.Dot"/>.</remarks>
    public static float DotF16(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch(nameof(b));
        }

        if (Vector512.IsHardwareAccelerated && a.Length >= Vector512<float>.Count)
        {
            return DotF16Vector512(a, b);
        }

        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            return DotF16Vector256(a, b);
        }

        if (Vector128.IsHardwareAccelerated && a.Length >= Vector128<float>.Count)
        {
            return DotF16Vector128(a, b);
        }

        return DotF16Scalar(a, b);
    }

    /// <summary>Σ (aᵢ − (float)bᵢ)².</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>NaN in either input gives NaN; ±∞ gives +∞ (or NaN for ∞ − ∞), as in <see cref="VectorMath.SquaredL2"/>.</remarks>
    public static float SquaredL2F16(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch(nameof(b));
        }

        if (Vector512.IsHardwareAccelerated && a.Length >= Vector512<float>.Count)
        {
            return SquaredL2F16Vector512(a, b);
        }

        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            return SquaredL2F16Vector256(a, b);
        }

        if (Vector128.IsHardwareAccelerated && a.Length >= Vector128<float>.Count)
        {
            return SquaredL2F16Vector128(a, b);
        }

        return SquaredL2F16Scalar(a, b);
    }

    /// <summary>codesᵢ = clamp(round-half-to-even((xᵢ − lowᵢ) · inverseStepᵢ), 0, 255).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>
    /// The product is computed in float exactly as written (subtract, then multiply, no fused multiply-add), so every
    /// path gives the same codes bit for bit. Values below <c>low</c> give 0, above the top of the range 255; NaN gives 0.
    /// </remarks>
    public static void QuantizeU8(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        if (x.Length != low.Length)
        {
            ThrowLengthMismatch(nameof(low));
        }

        if (x.Length != inverseStep.Length)
        {
            ThrowLengthMismatch(nameof(inverseStep));
        }

        if (x.Length != codes.Length)
        {
            ThrowLengthMismatch(nameof(codes));
        }

        if (Vector512.IsHardwareAccelerated && x.Length >= Vector512<float>.Count)
        {
            QuantizeU8Vector512(x, low, inverseStep, codes);
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            QuantizeU8Vector256(x, low, inverseStep, codes);
        }
        else if (Vector128.IsHardwareAccelerated && x.Length >= Vector128<float>.Count)
        {
            QuantizeU8Vector128(x, low, inverseStep, codes);
        }
        else
        {
            QuantizeU8Scalar(x, low, inverseStep, codes);
        }
    }

    /// <summary>destinationᵢ = lowᵢ + stepᵢ · codesᵢ.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>The vector paths may fuse the multiply-add, so results may differ from the scalar path in the last bit.</remarks>
    public static void DequantizeU8(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        if (codes.Length != low.Length)
        {
            ThrowLengthMismatch(nameof(low));
        }

        if (codes.Length != step.Length)
        {
            ThrowLengthMismatch(nameof(step));
        }

        if (codes.Length != destination.Length)
        {
            ThrowLengthMismatch(nameof(destination));
        }

        if (Vector512.IsHardwareAccelerated && codes.Length >= Vector512<float>.Count)
        {
            DequantizeU8Vector512(codes, low, step, destination);
        }
        else if (Vector256.IsHardwareAccelerated && codes.Length >= Vector256<float>.Count)
        {
            DequantizeU8Vector256(codes, low, step, destination);
        }
        else if (Vector128.IsHardwareAccelerated && codes.Length >= Vector128<float>.Count)
        {
            DequantizeU8Vector128(codes, low, step, destination);
        }
        else
        {
            DequantizeU8Scalar(codes, low, step, destination);
        }
    }

    internal static float DotU8Scalar(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        float sum = 0f;
        for (int i = 0; i < weights.Length; i++)
        {
            sum += weights[i] * codes[i];
        }

        return sum;
    }

    internal static float DotF16Scalar(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * (float)b[i];
        }

        return sum;
    }

    internal static float SquaredL2F16Scalar(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            float d = a[i] - (float)b[i];
            sum += d * d;
        }

        return sum;
    }

    internal static void QuantizeU8Scalar(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float t = MathF.Round((x[i] - low[i]) * inverseStep[i], MidpointRounding.ToEven);

            // Written so NaN fails both comparisons and lands on 0, like the vector paths.
            codes[i] = t >= 255f ? (byte)255 : t > 0f ? (byte)t : (byte)0;
        }
    }

    internal static void DequantizeU8Scalar(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        for (int i = 0; i < codes.Length; i++)
        {
            destination[i] = low[i] + (step[i] * codes[i]);
        }
    }

    [DoesNotReturn]
    private static void ThrowLengthMismatch(string parameterName) =>
        throw new ArgumentException("Input spans must have the same length.", parameterName);
}
