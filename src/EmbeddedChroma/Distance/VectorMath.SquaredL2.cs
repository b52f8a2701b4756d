using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Distance;

// One hand-written kernel per vector width; the bodies are identical apart from the width.
internal static partial class VectorMath
{
    /// <summary>Squared L2 on Vector512; requires <c>a.Length == b.Length &gt;= Vector512&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2Vector512(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector512<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector512<float>.Count;

        // Four independent accumulators hide the FMA latency (4 cycles on current x64) behind throughput.
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
                Vector512<float> d0 = Vector512.LoadUnsafe(ref ra, i) - Vector512.LoadUnsafe(ref rb, i);
                Vector512<float> d1 = Vector512.LoadUnsafe(ref ra, i + count) - Vector512.LoadUnsafe(ref rb, i + count);
                Vector512<float> d2 = Vector512.LoadUnsafe(ref ra, i + (2 * count)) - Vector512.LoadUnsafe(ref rb, i + (2 * count));
                Vector512<float> d3 = Vector512.LoadUnsafe(ref ra, i + (3 * count)) - Vector512.LoadUnsafe(ref rb, i + (3 * count));
                acc0 = Vector512.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector512.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector512.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector512.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector512<float> r0 = Vector512.LoadUnsafe(ref ra, i) - Vector512.LoadUnsafe(ref rb, i);
            acc0 = Vector512.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector512<float> r1 = Vector512.LoadUnsafe(ref ra, i) - Vector512.LoadUnsafe(ref rb, i);
                acc1 = Vector512.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector512<float> r2 = Vector512.LoadUnsafe(ref ra, i) - Vector512.LoadUnsafe(ref rb, i);
                    acc2 = Vector512.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (it overlaps elements already summed) and zero the lanes
            // below i, instead of a scalar loop. Safe because length >= count.
            Vector512<float> d = Vector512.LoadUnsafe(ref ra, lastVector) - Vector512.LoadUnsafe(ref rb, lastVector);
            Vector512<int> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector512.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Squared L2 on Vector256; requires <c>a.Length == b.Length &gt;= Vector256&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2Vector256(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector256<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector256<float>.Count;

        // Four independent accumulators hide the FMA latency (4 cycles on current x64) behind throughput.
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
                Vector256<float> d0 = Vector256.LoadUnsafe(ref ra, i) - Vector256.LoadUnsafe(ref rb, i);
                Vector256<float> d1 = Vector256.LoadUnsafe(ref ra, i + count) - Vector256.LoadUnsafe(ref rb, i + count);
                Vector256<float> d2 = Vector256.LoadUnsafe(ref ra, i + (2 * count)) - Vector256.LoadUnsafe(ref rb, i + (2 * count));
                Vector256<float> d3 = Vector256.LoadUnsafe(ref ra, i + (3 * count)) - Vector256.LoadUnsafe(ref rb, i + (3 * count));
                acc0 = Vector256.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector256.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector256.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector256.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector256<float> r0 = Vector256.LoadUnsafe(ref ra, i) - Vector256.LoadUnsafe(ref rb, i);
            acc0 = Vector256.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector256<float> r1 = Vector256.LoadUnsafe(ref ra, i) - Vector256.LoadUnsafe(ref rb, i);
                acc1 = Vector256.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector256<float> r2 = Vector256.LoadUnsafe(ref ra, i) - Vector256.LoadUnsafe(ref rb, i);
                    acc2 = Vector256.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (it overlaps elements already summed) and zero the lanes
            // below i, instead of a scalar loop. Safe because length >= count.
            Vector256<float> d = Vector256.LoadUnsafe(ref ra, lastVector) - Vector256.LoadUnsafe(ref rb, lastVector);
            Vector256<int> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector256.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Squared L2 on Vector128; requires <c>a.Length == b.Length &gt;= Vector128&lt;float&gt;.Count</c>.</summary>
    internal static float SquaredL2Vector128(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Debug.Assert(a.Length == b.Length && a.Length >= Vector128<float>.Count);

        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint count = (nuint)Vector128<float>.Count;

        // Four independent accumulators hide the FMA latency (4 cycles on current x64) behind throughput.
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
                Vector128<float> d0 = Vector128.LoadUnsafe(ref ra, i) - Vector128.LoadUnsafe(ref rb, i);
                Vector128<float> d1 = Vector128.LoadUnsafe(ref ra, i + count) - Vector128.LoadUnsafe(ref rb, i + count);
                Vector128<float> d2 = Vector128.LoadUnsafe(ref ra, i + (2 * count)) - Vector128.LoadUnsafe(ref rb, i + (2 * count));
                Vector128<float> d3 = Vector128.LoadUnsafe(ref ra, i + (3 * count)) - Vector128.LoadUnsafe(ref rb, i + (3 * count));
                acc0 = Vector128.MultiplyAddEstimate(d0, d0, acc0);
                acc1 = Vector128.MultiplyAddEstimate(d1, d1, acc1);
                acc2 = Vector128.MultiplyAddEstimate(d2, d2, acc2);
                acc3 = Vector128.MultiplyAddEstimate(d3, d3, acc3);
            }
        }

        // At most three full vectors remain; give each its own accumulator rather than a dependent chain.
        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            Vector128<float> r0 = Vector128.LoadUnsafe(ref ra, i) - Vector128.LoadUnsafe(ref rb, i);
            acc0 = Vector128.MultiplyAddEstimate(r0, r0, acc0);
            i += count;
            if (i <= lastVector)
            {
                Vector128<float> r1 = Vector128.LoadUnsafe(ref ra, i) - Vector128.LoadUnsafe(ref rb, i);
                acc1 = Vector128.MultiplyAddEstimate(r1, r1, acc1);
                i += count;
                if (i <= lastVector)
                {
                    Vector128<float> r2 = Vector128.LoadUnsafe(ref ra, i) - Vector128.LoadUnsafe(ref rb, i);
                    acc2 = Vector128.MultiplyAddEstimate(r2, r2, acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector (it overlaps elements already summed) and zero the lanes
            // below i, instead of a scalar loop. Safe because length >= count.
            Vector128<float> d = Vector128.LoadUnsafe(ref ra, lastVector) - Vector128.LoadUnsafe(ref rb, lastVector);
            Vector128<int> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - lastVector)));
            d &= keep.AsSingle();
            acc3 = Vector128.MultiplyAddEstimate(d, d, acc3);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
