using System.Numerics.Tensors;

namespace EmbeddedChroma.Distance;

internal static partial class VectorMath
{
    // Below this, Σx² has lost precision to underflow (or is exactly zero for non-zero tiny input), so the
    // vector is pre-scaled by its largest component first. sqrt(float.MinNormal) ≈ 1.08e-19.
    private const float MinSafeNorm = 1e-18f;

    /// <summary>
    /// Writes <paramref name="src"/> / ‖<paramref name="src"/>‖₂ into <paramref name="dst"/>, the form in which
    /// cosine collections store rows and queries.
    /// </summary>
    /// <param name="src">The vector to normalize.</param>
    /// <param name="dst">Receives the unit vector; same length as <paramref name="src"/>. May be the same memory as
    /// <paramref name="src"/> (in-place), but must not partially overlap it.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <remarks>
    /// A zero vector is written as zeros (it has no direction; its cosine distance to anything is then 1, as in
    /// Chroma). Vectors whose squared norm would overflow or underflow <see cref="float"/> are pre-scaled by their
    /// largest magnitude, so they still normalize correctly. The input must be finite (see <see cref="IndexOfNonFinite"/>);
    /// with NaN or ±∞ components the output is all NaN.
    /// </remarks>
    public static void Normalize(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length != dst.Length)
        {
            ThrowNormalizeLengthMismatch();
        }

        float norm = TensorPrimitives.Norm(src);
        if (norm >= MinSafeNorm && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(src, norm, dst);
            return;
        }

        if (src.IsEmpty)
        {
            return;
        }

        float maxAbs = MathF.Abs(TensorPrimitives.MaxMagnitude(src));
        if (maxAbs == 0f)
        {
            dst.Clear();
            return;
        }

        if (!float.IsFinite(maxAbs))
        {
            dst.Fill(float.NaN);
            return;
        }

        // Now every component is in [-1, 1] with at least one of magnitude 1, so the norm is in [1, √n].
        TensorPrimitives.Divide(src, maxAbs, dst);
        TensorPrimitives.Divide(dst, TensorPrimitives.Norm(dst), dst);
    }

    private static void ThrowNormalizeLengthMismatch() =>
        throw new ArgumentException("Destination must have the same length as the source.", "dst");
}
