using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EmbeddedChroma.Distance;

// Loads that widen compact elements to 32-bit lanes, and the in-register half → float conversion.
// One copy per vector width; the x86 intrinsic is used where the JIT would otherwise widen in two steps.
internal static partial class QuantizedMath
{
    // Half bits after "(sign-extended half) << 13": exponent in bits 27..23, mantissa in 22..13 (float positions).
    private const int HalfMagnitudeMask = 0x0FFF_E000;

    // Magnitudes below this have a zero half exponent (zero or subnormal); at or above the next, exponent 31 (∞, NaN).
    private const int HalfMinNormalBits = 0x0080_0000;
    private const int HalfInfinityBits = 0x0F80_0000;

    // Exponent rebias 127 − 15 = 112; 224 moves exponent 31 to 255; 113 plus a subtraction of 2⁻¹⁴ renormalizes
    // subnormals with normal-float arithmetic only (no denormal operands, which cost a microcode assist on some CPUs).
    private const int NormalRebias = 112 << 23;
    private const int SpecialRebias = 224 << 23;
    private const int SubnormalRebias = 113 << 23;

    /// <summary>16 halves at <paramref name="index"/>, sign-extended to 32-bit lanes (the form <see cref="HalfToSingle(Vector512{int})"/> takes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> LoadHalves512(ref Half source, nuint index)
    {
        Vector256<short> bits = Vector256.LoadUnsafe(ref Unsafe.As<Half, short>(ref source), index);
        return Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(bits) : Vector512.WidenLower(bits.ToVector512Unsafe());
    }

    /// <summary>8 halves at <paramref name="index"/>, sign-extended to 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LoadHalves256(ref Half source, nuint index)
    {
        Vector128<short> bits = Vector128.LoadUnsafe(ref Unsafe.As<Half, short>(ref source), index);
        return Avx2.IsSupported ? Avx2.ConvertToVector256Int32(bits) : Vector256.WidenLower(bits.ToVector256Unsafe());
    }

    /// <summary>4 halves at <paramref name="index"/> (an 8-byte load), sign-extended to 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> LoadHalves128(ref Half source, nuint index)
    {
        long raw = Unsafe.ReadUnaligned<long>(ref Unsafe.As<Half, byte>(ref Unsafe.Add(ref source, index)));
        Vector128<short> bits = Vector128.CreateScalarUnsafe(raw).AsInt16();
        return Sse41.IsSupported ? Sse41.ConvertToVector128Int32(bits) : Vector128.WidenLower(bits);
    }

    /// <summary>16 bytes at <paramref name="index"/>, zero-extended to 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> LoadCodes512(ref byte source, nuint index)
    {
        Vector128<byte> bytes = Vector128.LoadUnsafe(ref source, index);
        return Avx512F.IsSupported
            ? Avx512F.ConvertToVector512Int32(bytes)
            : Vector512.WidenLower(Vector512.WidenLower(bytes.ToVector256Unsafe().ToVector512Unsafe()).AsUInt16()).AsInt32();
    }

    /// <summary>8 bytes at <paramref name="index"/> (an 8-byte load), zero-extended to 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LoadCodes256(ref byte source, nuint index)
    {
        Vector128<byte> bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref source, index))).AsByte();
        return Avx2.IsSupported
            ? Avx2.ConvertToVector256Int32(bytes)
            : Vector256.WidenLower(Vector256.WidenLower(bytes.ToVector256Unsafe()).AsUInt16()).AsInt32();
    }

    /// <summary>4 bytes at <paramref name="index"/> (a 4-byte load), zero-extended to 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> LoadCodes128(ref byte source, nuint index)
    {
        Vector128<byte> bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, index))).AsByte();
        return Sse41.IsSupported
            ? Sse41.ConvertToVector128Int32(bytes)
            : Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32();
    }

    /// <summary>
    /// Exact half → float of sign-extended half bits: normal, subnormal, ±0, ±∞ and NaN (payload kept, quieted) all
    /// map as <c>(float)Half</c> does.
    /// </summary>
    /// <remarks>
    /// Sign extension puts the half's sign in bit 31 already, so the sign costs one AND. The magnitude bits shifted by
    /// 13 land where a float keeps them; rebiasing the exponent is one add, chosen per lane: +112 for normals, +224 for
    /// ∞/NaN, +113 then −2⁻¹⁴ (a float subtraction of normal values) for zero and subnormals.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingle(Vector512<int> signExtended)
    {
        Vector512<int> magnitude = (signExtended << 13) & Vector512.Create(HalfMagnitudeMask);
        Vector512<int> subnormal = Vector512.LessThan(magnitude, Vector512.Create(HalfMinNormalBits));
        Vector512<int> special = Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(HalfInfinityBits));
        Vector512<int> rebias = Vector512.ConditionalSelect(special, Vector512.Create(SpecialRebias), Vector512.Create(NormalRebias));
        rebias = Vector512.ConditionalSelect(subnormal, Vector512.Create(SubnormalRebias), rebias);
        Vector512<float> absolute = (magnitude + rebias).AsSingle() - (subnormal & Vector512.Create(SubnormalRebias)).AsSingle();
        return absolute | (signExtended & Vector512.Create(int.MinValue)).AsSingle();
    }

    /// <inheritdoc cref="HalfToSingle(Vector512{int})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingle(Vector256<int> signExtended)
    {
        Vector256<int> magnitude = (signExtended << 13) & Vector256.Create(HalfMagnitudeMask);
        Vector256<int> subnormal = Vector256.LessThan(magnitude, Vector256.Create(HalfMinNormalBits));
        Vector256<int> special = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(HalfInfinityBits));
        Vector256<int> rebias = Vector256.ConditionalSelect(special, Vector256.Create(SpecialRebias), Vector256.Create(NormalRebias));
        rebias = Vector256.ConditionalSelect(subnormal, Vector256.Create(SubnormalRebias), rebias);
        Vector256<float> absolute = (magnitude + rebias).AsSingle() - (subnormal & Vector256.Create(SubnormalRebias)).AsSingle();
        return absolute | (signExtended & Vector256.Create(int.MinValue)).AsSingle();
    }

    /// <inheritdoc cref="HalfToSingle(Vector512{int})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> HalfToSingle(Vector128<int> signExtended)
    {
        Vector128<int> magnitude = (signExtended << 13) & Vector128.Create(HalfMagnitudeMask);
        Vector128<int> subnormal = Vector128.LessThan(magnitude, Vector128.Create(HalfMinNormalBits));
        Vector128<int> special = Vector128.GreaterThanOrEqual(magnitude, Vector128.Create(HalfInfinityBits));
        Vector128<int> rebias = Vector128.ConditionalSelect(special, Vector128.Create(SpecialRebias), Vector128.Create(NormalRebias));
        rebias = Vector128.ConditionalSelect(subnormal, Vector128.Create(SubnormalRebias), rebias);
        Vector128<float> absolute = (magnitude + rebias).AsSingle() - (subnormal & Vector128.Create(SubnormalRebias)).AsSingle();
        return absolute | (signExtended & Vector128.Create(int.MinValue)).AsSingle();
    }
}
