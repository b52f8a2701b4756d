using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Distance;

// Half-row kernels, one hand-written body per vector width (identical apart from the width), shaped like
// VectorMath.Dot/SquaredL2 with the row widened in registers by HalfToSingle.
internal static partial class QuantizedMath
{
    /// <summary>Σ aᵢ·bᵢ over a half row on Vector512; requires <c>a.Length == b.Length &gt;= Vector512&lt;float&gt;.Count</c>.</summary>
    internal static float DotF16Vector512(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector512<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector512<float>.Count;

        // Four independent accumulators; the conversion makes this ALU-bound, but they keep FMA latency off the path.
        Vector512<float> acc0 = Vector512<float>.Zero;
        Vector512<float> acc1 = Vector512<float>.Zero;
        Vector512<float> acc2 = Vector512<float>.Zero;
        Vector512<float> acc3 = Vector512<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                acc0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves512(ref rb, i)), acc0);
                acc1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i + count), HalfToSingle(LoadHalves512(ref rb, i + count)), acc1);
                acc2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i + (2 * count)), HalfToSingle(LoadHalves512(ref rb, i + (2 * count))), acc2);
                acc3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i + (3 * count)), HalfToSingle(LoadHalves512(ref rb, i + (3 * count))), acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves512(ref rb, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves512(ref rb, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves512(ref rb, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (overlapping elements already summed) and zero the lanes below i in
            // both operands (one would turn an already-counted ∞ into 0·∞ = NaN), not a scalar loop. Safe because length >= count.
            Vector512<int> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - lastVector)));
            Vector512<float> x = Vector512.LoadUnsafe(ref ra, lastVector) & keep.AsSingle();
            Vector512<float> y = HalfToSingle(LoadHalves512(ref rb, lastVector)) & keep.AsSingle();
            acc3 = Vector512.MultiplyAddEstimate(x, y, acc3);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Σ (aᵢ − bᵢ)² over a half row on Vector512; requires <c>a.Length == b.Length &gt;= Vector512&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2F16Vector512(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector512<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector512<float>.Count;

        Vector512<float> acc0 = Vector512<float>.Zero;
        Vector512<float> acc1 = Vector512<float>.Zero;
        Vector512<float> acc2 = Vector512<float>.Zero;
        Vector512<float> acc3 = Vector512<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                Vector512<float> d0 = Vector512.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves512(ref rb, i));
                Vector512<float> d1 = Vector512.LoadUnsafe(ref ra, i + count) - HalfToSingle(LoadHalves512(ref rb, i + count));
                Vector512<float> d2 = Vector512.LoadUnsafe(ref ra, i + (2 * count)) - HalfToSingle(LoadHalves512(ref rb, i + (2 * count)));
                Vector512<float> d3 = Vector512.LoadUnsafe(ref ra, i + (3 * count)) - HalfToSingle(LoadHalves512(ref rb, i + (3 * count)));
                acc0 = Vector512.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector512.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector512.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector512.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector512<float> r0 = Vector512.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves512(ref rb, i));
            acc0 = Vector512.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector512<float> r1 = Vector512.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves512(ref rb, i));
                acc1 = Vector512.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector512<float> r2 = Vector512.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves512(ref rb, i));
                    acc2 = Vector512.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the difference.
            Vector512<float> d = Vector512.LoadUnsafe(ref ra, lastVector) - HalfToSingle(LoadHalves512(ref rb, lastVector));
            Vector512<int> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector512.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Σ aᵢ·bᵢ over a half row on Vector256; requires <c>a.Length == b.Length &gt;= Vector256&lt;float&gt;.Count</c>.</summary>
    internal static float DotF16Vector256(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector256<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector256<float>.Count;

        // Four independent accumulators; the conversion makes this ALU-bound, but they keep FMA latency off the path.
        Vector256<float> acc0 = Vector256<float>.Zero;
        Vector256<float> acc1 = Vector256<float>.Zero;
        Vector256<float> acc2 = Vector256<float>.Zero;
        Vector256<float> acc3 = Vector256<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                acc0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves256(ref rb, i)), acc0);
                acc1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i + count), HalfToSingle(LoadHalves256(ref rb, i + count)), acc1);
                acc2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i + (2 * count)), HalfToSingle(LoadHalves256(ref rb, i + (2 * count))), acc2);
                acc3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i + (3 * count)), HalfToSingle(LoadHalves256(ref rb, i + (3 * count))), acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves256(ref rb, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves256(ref rb, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves256(ref rb, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (overlapping elements already summed) and zero the lanes below i in
            // both operands (one would turn an already-counted ∞ into 0·∞ = NaN), not a scalar loop. Safe because length >= count.
            Vector256<int> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - lastVector)));
            Vector256<float> x = Vector256.LoadUnsafe(ref ra, lastVector) & keep.AsSingle();
            Vector256<float> y = HalfToSingle(LoadHalves256(ref rb, lastVector)) & keep.AsSingle();
            acc3 = Vector256.MultiplyAddEstimate(x, y, acc3);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Σ (aᵢ − bᵢ)² over a half row on Vector256; requires <c>a.Length == b.Length &gt;= Vector256&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2F16Vector256(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector256<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector256<float>.Count;

        Vector256<float> acc0 = Vector256<float>.Zero;
        Vector256<float> acc1 = Vector256<float>.Zero;
        Vector256<float> acc2 = Vector256<float>.Zero;
        Vector256<float> acc3 = Vector256<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                Vector256<float> d0 = Vector256.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves256(ref rb, i));
                Vector256<float> d1 = Vector256.LoadUnsafe(ref ra, i + count) - HalfToSingle(LoadHalves256(ref rb, i + count));
                Vector256<float> d2 = Vector256.LoadUnsafe(ref ra, i + (2 * count)) - HalfToSingle(LoadHalves256(ref rb, i + (2 * count)));
                Vector256<float> d3 = Vector256.LoadUnsafe(ref ra, i + (3 * count)) - HalfToSingle(LoadHalves256(ref rb, i + (3 * count)));
                acc0 = Vector256.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector256.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector256.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector256.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector256<float> r0 = Vector256.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves256(ref rb, i));
            acc0 = Vector256.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector256<float> r1 = Vector256.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves256(ref rb, i));
                acc1 = Vector256.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector256<float> r2 = Vector256.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves256(ref rb, i));
                    acc2 = Vector256.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the difference.
            Vector256<float> d = Vector256.LoadUnsafe(ref ra, lastVector) - HalfToSingle(LoadHalves256(ref rb, lastVector));
            Vector256<int> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector256.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Σ aᵢ·bᵢ over a half row on Vector128; requires <c>a.Length == b.Length &gt;= Vector128&lt;float&gt;.Count</c>.</summary>
    internal static float DotF16Vector128(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector128<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector128<float>.Count;

        // Four independent accumulators; the conversion makes this ALU-bound, but they keep FMA latency off the path.
        Vector128<float> acc0 = Vector128<float>.Zero;
        Vector128<float> acc1 = Vector128<float>.Zero;
        Vector128<float> acc2 = Vector128<float>.Zero;
        Vector128<float> acc3 = Vector128<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                acc0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves128(ref rb, i)), acc0);
                acc1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i + count), HalfToSingle(LoadHalves128(ref rb, i + count)), acc1);
                acc2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i + (2 * count)), HalfToSingle(LoadHalves128(ref rb, i + (2 * count))), acc2);
                acc3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i + (3 * count)), HalfToSingle(LoadHalves128(ref rb, i + (3 * count))), acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves128(ref rb, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves128(ref rb, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref ra, i), HalfToSingle(LoadHalves128(ref rb, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (overlapping elements already summed) and zero the lanes below i in
            // both operands (one would turn an already-counted ∞ into 0·∞ = NaN), not a scalar loop. Safe because length >= count.
            Vector128<int> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - lastVector)));
            Vector128<float> x = Vector128.LoadUnsafe(ref ra, lastVector) & keep.AsSingle();
            Vector128<float> y = HalfToSingle(LoadHalves128(ref rb, lastVector)) & keep.AsSingle();
            acc3 = Vector128.MultiplyAddEstimate(x, y, acc3);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Σ (aᵢ − bᵢ)² over a half row on Vector128; requires <c>a.Length == b.Length &gt;= Vector128&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2F16Vector128(ReadOnlySpan<float> a, ReadOnlySpan<Half> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector128<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref Half rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector128<float>.Count;

        Vector128<float> acc0 = Vector128<float>.Zero;
        Vector128<float> acc1 = Vector128<float>.Zero;
        Vector128<float> acc2 = Vector128<float>.Zero;
        Vector128<float> acc3 = Vector128<float>.Zero;
        nuint i = 0;

        if (length >= 4 * count)
        {
            nuint lastBlock = length - (4 * count);
            for (; i <= lastBlock; i += 4 * count)
            {
                Vector128<float> d0 = Vector128.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves128(ref rb, i));
                Vector128<float> d1 = Vector128.LoadUnsafe(ref ra, i + count) - HalfToSingle(LoadHalves128(ref rb, i + count));
                Vector128<float> d2 = Vector128.LoadUnsafe(ref ra, i + (2 * count)) - HalfToSingle(LoadHalves128(ref rb, i + (2 * count)));
                Vector128<float> d3 = Vector128.LoadUnsafe(ref ra, i + (3 * count)) - HalfToSingle(LoadHalves128(ref rb, i + (3 * count)));
                acc0 = Vector128.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector128.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector128.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector128.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector128<float> r0 = Vector128.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves128(ref rb, i));
            acc0 = Vector128.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector128<float> r1 = Vector128.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves128(ref rb, i));
                acc1 = Vector128.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector128<float> r2 = Vector128.LoadUnsafe(ref ra, i) - HalfToSingle(LoadHalves128(ref rb, i));
                    acc2 = Vector128.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the difference.
            Vector128<float> d = Vector128.LoadUnsafe(ref ra, lastVector) - HalfToSingle(LoadHalves128(ref rb, lastVector));
            Vector128<int> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector128.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
