using System.Diagnostics.CodeAnalysis;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Distance;

/// <summary>
/// Vector kernels used by the indexes: squared L2 and dot product (hand-written SIMD, kept because
/// benchmarks/RESULTS.md shows them ahead of the <c>TensorPrimitives</c> equivalents), normalization and the
/// finite check (on top of <c>TensorPrimitives</c> where it has the operation).
/// </summary>
/// <remarks>
/// Dispatch follows System.Numerics.Tensors: the widest accelerated vector that fits the input is used
/// (Vector512 → Vector256 → Vector128 → scalar). The per-width methods are internal so tests can run every
/// path on a machine that would otherwise pick only the widest one.
/// </remarks>
internal static partial class VectorMath
{
    // Size: About 700 lines over five partial files, one kernel per file (as System.Numerics.Tensors does): stateless
    // functions, each with its Vector512/256/128 paths and scalar tail.

    /// <summary>Squared Euclidean distance Σ(aᵢ − bᵢ)².</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>NaN in either input gives NaN; the sum may overflow to +∞ for very large components.</remarks>
    public static float SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch();
        }

        if (Vector512.IsHardwareAccelerated && a.Length >= Vector512<float>.Count)
        {
            return SquaredL2Vector512(a, b);
        }

        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            return SquaredL2Vector256(a, b);
        }

        if (Vector128.IsHardwareAccelerated && a.Length >= Vector128<float>.Count)
        {
            return SquaredL2Vector128(a, b);
        }

        return SquaredL2Scalar(a, b);
    }

    /// <summary>Dot product Σ aᵢ·bᵢ.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>NaN in either input gives NaN. Summation order differs from a sequential loop, so results may differ in the last bits.</remarks>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            ThrowLengthMismatch();
        }

        if (Vector512.IsHardwareAccelerated && a.Length >= Vector512<float>.Count)
        {
            return DotVector512(a, b);
        }

        if (Vector256.IsHardwareAccelerated && a.Length >= Vector256<float>.Count)
        {
            return DotVector256(a, b);
        }

        if (Vector128.IsHardwareAccelerated && a.Length >= Vector128<float>.Count)
        {
            return DotVector128(a, b);
        }

        return DotScalar(a, b);
    }

    internal static float SquaredL2Scalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    internal static float DotScalar(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0f;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    [DoesNotReturn]
    private static void ThrowLengthMismatch() =>
        throw new ArgumentException("Input spans must have the same length.", "b");
}
