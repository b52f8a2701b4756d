namespace EmbeddedChroma.Distance;

/// <summary>
/// Kernels over compact rows (float16 values, 8-bit affine codes) against a float query. Scalar reference version: the
/// SIMD kernels replace this file with the same signatures.
/// </summary>
internal static partial class QuantizedMath
{
    /// <summary>Σ weights[i]·codes[i].</summary>
    public static float DotU8(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        if (weights.Length != codes.Length)
        {
            throw new ArgumentException("Spans must have the same length.", nameof(codes));
        }

        float sum = 0f;
        for (int i = 0; i < weights.Length; i++)
        {
            sum += weights[i] * codes[i];
        }

        return sum;
    }

    /// <summary>Σ a[i]·b[i].</summary>
    public static float DotF16(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("Spans must have the same length.", nameof(b));
        }

        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * (float)b[i];
        }

        return sum;
    }

    /// <summary>Σ (a[i] − b[i])².</summary>
    public static float SquaredL2F16(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("Spans must have the same length.", nameof(b));
        }

        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            float d = a[i] - (float)b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>codes[i] = clamp(round-to-even((x[i] − low[i])·inverseStep[i]), 0, 255).</summary>
    public static void QuantizeU8(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        if (low.Length != x.Length || inverseStep.Length != x.Length || codes.Length != x.Length)
        {
            throw new ArgumentException("Spans must have the same length.", nameof(codes));
        }

        for (int i = 0; i < x.Length; i++)
        {
            float v = MathF.Round((x[i] - low[i]) * inverseStep[i], MidpointRounding.ToEven);
            codes[i] = (byte)Math.Clamp(v, 0f, 255f);
        }
    }

    /// <summary>destination[i] = low[i] + step[i]·codes[i].</summary>
    public static void DequantizeU8(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        if (low.Length != codes.Length || step.Length != codes.Length || destination.Length != codes.Length)
        {
            throw new ArgumentException("Spans must have the same length.", nameof(destination));
        }

        for (int i = 0; i < codes.Length; i++)
        {
            destination[i] = low[i] + (step[i] * codes[i]);
        }
    }
}
