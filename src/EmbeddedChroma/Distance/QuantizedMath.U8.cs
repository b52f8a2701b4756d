using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbeddedChroma.Distance;

// Byte-row kernels (per-dimension scalar quantization), one hand-written body per vector width (identical apart from
// the width), shaped like VectorMath.Dot; codes widen u8 → i32 → float in registers.
internal static partial class QuantizedMath
{
    /// <summary>Writes the 16 low bytes of the (0..255) lanes at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreCodes512(Vector512<int> lanes, ref byte destination, nuint index)
    {
        Vector128<byte> bytes = Avx512F.IsSupported
            ? Avx512F.ConvertToVector128Byte(lanes)
            : Vector512.Narrow(Vector512.Narrow(lanes, lanes), Vector512<short>.Zero).AsByte().GetLower().GetLower();
        bytes.StoreUnsafe(ref destination, index);
    }

    /// <summary>Writes the 8 low bytes of the (0..255) lanes at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreCodes256(Vector256<int> lanes, ref byte destination, nuint index)
    {
        Vector128<byte> bytes = Avx512F.VL.IsSupported
            ? Avx512F.VL.ConvertToVector128Byte(lanes)
            : Vector256.Narrow(Vector256.Narrow(lanes, lanes), Vector256<short>.Zero).AsByte().GetLower();
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, index), bytes.AsUInt64().ToScalar());
    }

    /// <summary>Writes the 4 low bytes of the (0..255) lanes at <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreCodes128(Vector128<int> lanes, ref byte destination, nuint index)
    {
        Vector128<byte> bytes = Vector128.Narrow(Vector128.Narrow(lanes, lanes), Vector128<short>.Zero).AsByte();
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, index), bytes.AsUInt32().ToScalar());
    }

    /// <summary>Σ weightsᵢ·codesᵢ on Vector512; requires <c>weights.Length == codes.Length &gt;= Vector512&lt;float&gt;.Count</c>.</summary>
    internal static float DotU8Vector512(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        Debug.Assert(weights.Length == codes.Length && weights.Length >= Vector512<float>.Count);

        ref float rw = ref MemoryMarshal.GetReference(weights);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)weights.Length;
        nuint count = (nuint)Vector512<float>.Count;

        // u8 → i32 (one zero-extending load) → float (exact) → FMA; four independent accumulators.
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
                acc0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i), Vector512.ConvertToSingle(LoadCodes512(ref rc, i)), acc0);
                acc1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i + count), Vector512.ConvertToSingle(LoadCodes512(ref rc, i + count)), acc1);
                acc2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i + (2 * count)), Vector512.ConvertToSingle(LoadCodes512(ref rc, i + (2 * count))), acc2);
                acc3 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i + (3 * count)), Vector512.ConvertToSingle(LoadCodes512(ref rc, i + (3 * count))), acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i), Vector512.ConvertToSingle(LoadCodes512(ref rc, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i), Vector512.ConvertToSingle(LoadCodes512(ref rc, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rw, i), Vector512.ConvertToSingle(LoadCodes512(ref rc, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the weights (codes are finite,
            // so 0·code = 0 and an already-counted ∞ weight is not turned into NaN). Safe because length >= count.
            Vector512<int> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - lastVector)));
            Vector512<float> w = Vector512.LoadUnsafe(ref rw, lastVector) & keep.AsSingle();
            acc3 = Vector512.MultiplyAddEstimate(w, Vector512.ConvertToSingle(LoadCodes512(ref rc, lastVector)), acc3);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Quantization on Vector512; requires equal lengths &gt;= <c>Vector512&lt;float&gt;.Count</c>.</summary>
    internal static void QuantizeU8Vector512(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        Debug.Assert(x.Length == low.Length && x.Length == inverseStep.Length && x.Length == codes.Length && x.Length >= Vector512<float>.Count);

        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(inverseStep);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)x.Length;
        nuint count = (nuint)Vector512<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            StoreCodes512(QuantizeLanes512(Vector512.LoadUnsafe(ref rx, i), Vector512.LoadUnsafe(ref rl, i), Vector512.LoadUnsafe(ref rs, i)), ref rc, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector; the overlapping codes are written again with the same values.
            StoreCodes512(QuantizeLanes512(Vector512.LoadUnsafe(ref rx, lastVector), Vector512.LoadUnsafe(ref rl, lastVector), Vector512.LoadUnsafe(ref rs, lastVector)), ref rc, lastVector);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> QuantizeLanes512(Vector512<float> x, Vector512<float> low, Vector512<float> inverseStep)
    {
        // Round is round-half-to-even; ConvertToInt32 saturates and maps NaN to 0; the integer clamp then cannot meet NaN.
        Vector512<int> rounded = Vector512.ConvertToInt32(Vector512.Round((x - low) * inverseStep));
        return Vector512.Min(Vector512.Max(rounded, Vector512<int>.Zero), Vector512.Create(255));
    }

    /// <summary>Dequantization on Vector512; requires equal lengths &gt;= <c>Vector512&lt;float&gt;.Count</c>.</summary>
    internal static void DequantizeU8Vector512(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        Debug.Assert(codes.Length == low.Length && codes.Length == step.Length && codes.Length == destination.Length && codes.Length >= Vector512<float>.Count);

        ref byte rc = ref MemoryMarshal.GetReference(codes);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(step);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        nuint length = (nuint)codes.Length;
        nuint count = (nuint)Vector512<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rs, i), Vector512.ConvertToSingle(LoadCodes512(ref rc, i)), Vector512.LoadUnsafe(ref rl, i)).StoreUnsafe(ref rd, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector (destination must not overlap low or step, so this is idempotent).
            Vector512.MultiplyAddEstimate(Vector512.LoadUnsafe(ref rs, lastVector), Vector512.ConvertToSingle(LoadCodes512(ref rc, lastVector)), Vector512.LoadUnsafe(ref rl, lastVector)).StoreUnsafe(ref rd, lastVector);
        }
    }

    /// <summary>Σ weightsᵢ·codesᵢ on Vector256; requires <c>weights.Length == codes.Length &gt;= Vector256&lt;float&gt;.Count</c>.</summary>
    internal static float DotU8Vector256(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        Debug.Assert(weights.Length == codes.Length && weights.Length >= Vector256<float>.Count);

        ref float rw = ref MemoryMarshal.GetReference(weights);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)weights.Length;
        nuint count = (nuint)Vector256<float>.Count;

        // u8 → i32 (one zero-extending load) → float (exact) → FMA; four independent accumulators.
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
                acc0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i), Vector256.ConvertToSingle(LoadCodes256(ref rc, i)), acc0);
                acc1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i + count), Vector256.ConvertToSingle(LoadCodes256(ref rc, i + count)), acc1);
                acc2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i + (2 * count)), Vector256.ConvertToSingle(LoadCodes256(ref rc, i + (2 * count))), acc2);
                acc3 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i + (3 * count)), Vector256.ConvertToSingle(LoadCodes256(ref rc, i + (3 * count))), acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i), Vector256.ConvertToSingle(LoadCodes256(ref rc, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i), Vector256.ConvertToSingle(LoadCodes256(ref rc, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rw, i), Vector256.ConvertToSingle(LoadCodes256(ref rc, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the weights (codes are finite,
            // so 0·code = 0 and an already-counted ∞ weight is not turned into NaN). Safe because length >= count.
            Vector256<int> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - lastVector)));
            Vector256<float> w = Vector256.LoadUnsafe(ref rw, lastVector) & keep.AsSingle();
            acc3 = Vector256.MultiplyAddEstimate(w, Vector256.ConvertToSingle(LoadCodes256(ref rc, lastVector)), acc3);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Quantization on Vector256; requires equal lengths &gt;= <c>Vector256&lt;float&gt;.Count</c>.</summary>
    internal static void QuantizeU8Vector256(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        Debug.Assert(x.Length == low.Length && x.Length == inverseStep.Length && x.Length == codes.Length && x.Length >= Vector256<float>.Count);

        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(inverseStep);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)x.Length;
        nuint count = (nuint)Vector256<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            StoreCodes256(QuantizeLanes256(Vector256.LoadUnsafe(ref rx, i), Vector256.LoadUnsafe(ref rl, i), Vector256.LoadUnsafe(ref rs, i)), ref rc, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector; the overlapping codes are written again with the same values.
            StoreCodes256(QuantizeLanes256(Vector256.LoadUnsafe(ref rx, lastVector), Vector256.LoadUnsafe(ref rl, lastVector), Vector256.LoadUnsafe(ref rs, lastVector)), ref rc, lastVector);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeLanes256(Vector256<float> x, Vector256<float> low, Vector256<float> inverseStep)
    {
        // Round is round-half-to-even; ConvertToInt32 saturates and maps NaN to 0; the integer clamp then cannot meet NaN.
        Vector256<int> rounded = Vector256.ConvertToInt32(Vector256.Round((x - low) * inverseStep));
        return Vector256.Min(Vector256.Max(rounded, Vector256<int>.Zero), Vector256.Create(255));
    }

    /// <summary>Dequantization on Vector256; requires equal lengths &gt;= <c>Vector256&lt;float&gt;.Count</c>.</summary>
    internal static void DequantizeU8Vector256(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        Debug.Assert(codes.Length == low.Length && codes.Length == step.Length && codes.Length == destination.Length && codes.Length >= Vector256<float>.Count);

        ref byte rc = ref MemoryMarshal.GetReference(codes);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(step);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        nuint length = (nuint)codes.Length;
        nuint count = (nuint)Vector256<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rs, i), Vector256.ConvertToSingle(LoadCodes256(ref rc, i)), Vector256.LoadUnsafe(ref rl, i)).StoreUnsafe(ref rd, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector (destination must not overlap low or step, so this is idempotent).
            Vector256.MultiplyAddEstimate(Vector256.LoadUnsafe(ref rs, lastVector), Vector256.ConvertToSingle(LoadCodes256(ref rc, lastVector)), Vector256.LoadUnsafe(ref rl, lastVector)).StoreUnsafe(ref rd, lastVector);
        }
    }

    /// <summary>Σ weightsᵢ·codesᵢ on Vector128; requires <c>weights.Length == codes.Length &gt;= Vector128&lt;float&gt;.Count</c>.</summary>
    internal static float DotU8Vector128(ReadOnlySpan<float> weights, ReadOnlySpan<byte> codes)
    {
        Debug.Assert(weights.Length == codes.Length && weights.Length >= Vector128<float>.Count);

        ref float rw = ref MemoryMarshal.GetReference(weights);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)weights.Length;
        nuint count = (nuint)Vector128<float>.Count;

        // u8 → i32 (one zero-extending load) → float (exact) → FMA; four independent accumulators.
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
                acc0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i), Vector128.ConvertToSingle(LoadCodes128(ref rc, i)), acc0);
                acc1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i + count), Vector128.ConvertToSingle(LoadCodes128(ref rc, i + count)), acc1);
                acc2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i + (2 * count)), Vector128.ConvertToSingle(LoadCodes128(ref rc, i + (2 * count))), acc2);
                acc3 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i + (3 * count)), Vector128.ConvertToSingle(LoadCodes128(ref rc, i + (3 * count))), acc3);
            }
        }

        nuint lastVector = length - count;
        if (i <= lastVector)
        {
            acc0 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i), Vector128.ConvertToSingle(LoadCodes128(ref rc, i)), acc0);
            i += count;
            if (i <= lastVector)
            {
                acc1 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i), Vector128.ConvertToSingle(LoadCodes128(ref rc, i)), acc1);
                i += count;
                if (i <= lastVector)
                {
                    acc2 = Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rw, i), Vector128.ConvertToSingle(LoadCodes128(ref rc, i)), acc2);
                    i += count;
                }
            }
        }

        if (i != length)
        {
            // Tail: reload the last full vector and zero the already-summed lanes of the weights (codes are finite,
            // so 0·code = 0 and an already-counted ∞ weight is not turned into NaN). Safe because length >= count.
            Vector128<int> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - lastVector)));
            Vector128<float> w = Vector128.LoadUnsafe(ref rw, lastVector) & keep.AsSingle();
            acc3 = Vector128.MultiplyAddEstimate(w, Vector128.ConvertToSingle(LoadCodes128(ref rc, lastVector)), acc3);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>Quantization on Vector128; requires equal lengths &gt;= <c>Vector128&lt;float&gt;.Count</c>.</summary>
    internal static void QuantizeU8Vector128(ReadOnlySpan<float> x, ReadOnlySpan<float> low, ReadOnlySpan<float> inverseStep, Span<byte> codes)
    {
        Debug.Assert(x.Length == low.Length && x.Length == inverseStep.Length && x.Length == codes.Length && x.Length >= Vector128<float>.Count);

        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(inverseStep);
        ref byte rc = ref MemoryMarshal.GetReference(codes);
        nuint length = (nuint)x.Length;
        nuint count = (nuint)Vector128<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            StoreCodes128(QuantizeLanes128(Vector128.LoadUnsafe(ref rx, i), Vector128.LoadUnsafe(ref rl, i), Vector128.LoadUnsafe(ref rs, i)), ref rc, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector; the overlapping codes are written again with the same values.
            StoreCodes128(QuantizeLanes128(Vector128.LoadUnsafe(ref rx, lastVector), Vector128.LoadUnsafe(ref rl, lastVector), Vector128.LoadUnsafe(ref rs, lastVector)), ref rc, lastVector);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> QuantizeLanes128(Vector128<float> x, Vector128<float> low, Vector128<float> inverseStep)
    {
        // Round is round-half-to-even; ConvertToInt32 saturates and maps NaN to 0; the integer clamp then cannot meet NaN.
        Vector128<int> rounded = Vector128.ConvertToInt32(Vector128.Round((x - low) * inverseStep));
        return Vector128.Min(Vector128.Max(rounded, Vector128<int>.Zero), Vector128.Create(255));
    }

    /// <summary>Dequantization on Vector128; requires equal lengths &gt;= <c>Vector128&lt;float&gt;.Count</c>.</summary>
    internal static void DequantizeU8Vector128(ReadOnlySpan<byte> codes, ReadOnlySpan<float> low, ReadOnlySpan<float> step, Span<float> destination)
    {
        Debug.Assert(codes.Length == low.Length && codes.Length == step.Length && codes.Length == destination.Length && codes.Length >= Vector128<float>.Count);

        ref byte rc = ref MemoryMarshal.GetReference(codes);
        ref float rl = ref MemoryMarshal.GetReference(low);
        ref float rs = ref MemoryMarshal.GetReference(step);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        nuint length = (nuint)codes.Length;
        nuint count = (nuint)Vector128<float>.Count;
        nuint lastVector = length - count;

        nuint i = 0;
        for (; i <= lastVector; i += count)
        {
            Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rs, i), Vector128.ConvertToSingle(LoadCodes128(ref rc, i)), Vector128.LoadUnsafe(ref rl, i)).StoreUnsafe(ref rd, i);
        }

        if (i != length)
        {
            // Tail: recompute the last full vector (destination must not overlap low or step, so this is idempotent).
            Vector128.MultiplyAddEstimate(Vector128.LoadUnsafe(ref rs, lastVector), Vector128.ConvertToSingle(LoadCodes128(ref rc, lastVector)), Vector128.LoadUnsafe(ref rl, lastVector)).StoreUnsafe(ref rd, lastVector);
        }
    }
}
