using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Distance;

internal static partial class VectorMath
{
    // IEEE 754 binary32: an all-ones exponent field means NaN (non-zero mantissa) or ±∞ (zero mantissa).
    private const uint ExponentMask = 0x7F80_0000u;

    /// <summary>
    /// Finds the first component that is NaN, +∞ or −∞; used to reject embeddings before they are stored.
    /// </summary>
    /// <param name="values">The vector to check.</param>
    /// <returns>The index of the first non-finite component, or −1 if every component is finite (also for an empty span).</returns>
    /// <remarks>Subnormals and −0 are finite. The check is on the bit pattern, so any NaN payload is detected.</remarks>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (Vector512.IsHardwareAccelerated && values.Length >= Vector512<float>.Count)
        {
            return IndexOfNonFiniteVector512(values);
        }

        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            return IndexOfNonFiniteVector256(values);
        }

        if (Vector128.IsHardwareAccelerated && values.Length >= Vector128<float>.Count)
        {
            return IndexOfNonFiniteVector128(values);
        }

        return IndexOfNonFiniteScalar(values);
    }

    internal static int IndexOfNonFiniteScalar(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Non-finite search on Vector512; requires <c>values.Length &gt;= Vector512&lt;float&gt;.Count</c>.</summary>
    internal static int IndexOfNonFiniteVector512(ReadOnlySpan<float> values)
    {
        Debug.Assert(values.Length >= Vector512<float>.Count);

        ref uint bits = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        nuint length = (nuint)values.Length;
        nuint count = (nuint)Vector512<float>.Count;
        Vector512<uint> exponent = Vector512.Create(ExponentMask);

        nuint i = 0;
        nuint lastVector = length - count;
        for (; i <= lastVector; i += count)
        {
            ulong hits = Vector512.Equals(Vector512.LoadUnsafe(ref bits, i) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)i + BitOperations.TrailingZeroCount(hits);
            }
        }

        if (i != length)
        {
            // Tail: one overlapping load of the last full vector. Its leading lanes were already found finite,
            // so the first hit in it is the first non-finite element overall; no mask needed.
            ulong hits = Vector512.Equals(Vector512.LoadUnsafe(ref bits, lastVector) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)lastVector + BitOperations.TrailingZeroCount(hits);
            }
        }

        return -1;
    }

    /// <summary>Non-finite search on Vector256; requires <c>values.Length &gt;= Vector256&lt;float&gt;.Count</c>.</summary>
    internal static int IndexOfNonFiniteVector256(ReadOnlySpan<float> values)
    {
        Debug.Assert(values.Length >= Vector256<float>.Count);

        ref uint bits = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        nuint length = (nuint)values.Length;
        nuint count = (nuint)Vector256<float>.Count;
        Vector256<uint> exponent = Vector256.Create(ExponentMask);

        nuint i = 0;
        nuint lastVector = length - count;
        for (; i <= lastVector; i += count)
        {
            ulong hits = Vector256.Equals(Vector256.LoadUnsafe(ref bits, i) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)i + BitOperations.TrailingZeroCount(hits);
            }
        }

        if (i != length)
        {
            // Tail: one overlapping load of the last full vector. Its leading lanes were already found finite,
            // so the first hit in it is the first non-finite element overall; no mask needed.
            ulong hits = Vector256.Equals(Vector256.LoadUnsafe(ref bits, lastVector) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)lastVector + BitOperations.TrailingZeroCount(hits);
            }
        }

        return -1;
    }

    /// <summary>Non-finite search on Vector128; requires <c>values.Length &gt;= Vector128&lt;float&gt;.Count</c>.</summary>
    internal static int IndexOfNonFiniteVector128(ReadOnlySpan<float> values)
    {
        Debug.Assert(values.Length >= Vector128<float>.Count);

        ref uint bits = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        nuint length = (nuint)values.Length;
        nuint count = (nuint)Vector128<float>.Count;
        Vector128<uint> exponent = Vector128.Create(ExponentMask);

        nuint i = 0;
        nuint lastVector = length - count;
        for (; i <= lastVector; i += count)
        {
            ulong hits = Vector128.Equals(Vector128.LoadUnsafe(ref bits, i) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)i + BitOperations.TrailingZeroCount(hits);
            }
        }

        if (i != length)
        {
            // Tail: one overlapping load of the last full vector. Its leading lanes were already found finite,
            // so the first hit in it is the first non-finite element overall; no mask needed.
            ulong hits = Vector128.Equals(Vector128.LoadUnsafe(ref bits, lastVector) & exponent, exponent).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return (int)lastVector + BitOperations.TrailingZeroCount(hits);
            }
        }

        return -1;
    }
}
