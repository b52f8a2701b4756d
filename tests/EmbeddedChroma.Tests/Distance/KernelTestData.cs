using System.Runtime.Intrinsics;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

/// <summary>Seeded inputs, guarded buffers and the list of kernel paths runnable on this machine.</summary>
internal static class KernelTestData
{
    public const int MaxLength = 256;

    // Every element outside the span under test is NaN, so a kernel that reads past either end returns NaN.
    public const int GuardLength = 32;

    public delegate float BinaryKernel(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

    public delegate int UnaryKernel(ReadOnlySpan<float> values);

    /// <summary>A span of <paramref name="length"/> seeded values in [-1, 1), with NaN guards on both sides.</summary>
    public static Memory<float> Guarded(Random random, int length)
    {
        var buffer = new float[length + (2 * GuardLength)];
        buffer.AsSpan().Fill(float.NaN);
        Memory<float> values = buffer.AsMemory(GuardLength, length);
        for (int i = 0; i < length; i++)
        {
            values.Span[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return values;
    }

    public static double ReferenceSquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    public static double ReferenceDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Σ|aᵢbᵢ|: the scale against which a float dot product's rounding error is bounded.</summary>
    public static double AbsoluteDotScale(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += Math.Abs((double)a[i] * b[i]);
        }

        return sum;
    }

    /// <summary>(name, minimum length, kernel) for the dispatcher and every path this CPU can run.</summary>
    public static IEnumerable<(string Name, int MinLength, BinaryKernel Kernel)> SquaredL2Paths()
    {
        yield return ("Dispatch", 0, VectorMath.SquaredL2);
        yield return ("Scalar", 0, VectorMath.SquaredL2Scalar);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", Vector128<float>.Count, VectorMath.SquaredL2Vector128);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", Vector256<float>.Count, VectorMath.SquaredL2Vector256);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", Vector512<float>.Count, VectorMath.SquaredL2Vector512);
        }
    }

    public static IEnumerable<(string Name, int MinLength, BinaryKernel Kernel)> DotPaths()
    {
        yield return ("Dispatch", 0, VectorMath.Dot);
        yield return ("Scalar", 0, VectorMath.DotScalar);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", Vector128<float>.Count, VectorMath.DotVector128);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", Vector256<float>.Count, VectorMath.DotVector256);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", Vector512<float>.Count, VectorMath.DotVector512);
        }
    }

    public static IEnumerable<(string Name, int MinLength, UnaryKernel Kernel)> IndexOfNonFinitePaths()
    {
        yield return ("Dispatch", 0, VectorMath.IndexOfNonFinite);
        yield return ("Scalar", 0, VectorMath.IndexOfNonFiniteScalar);
        if (Vector128.IsHardwareAccelerated)
        {
            yield return ("Vector128", Vector128<float>.Count, VectorMath.IndexOfNonFiniteVector128);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            yield return ("Vector256", Vector256<float>.Count, VectorMath.IndexOfNonFiniteVector256);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            yield return ("Vector512", Vector512<float>.Count, VectorMath.IndexOfNonFiniteVector512);
        }
    }

    public static TheoryData<string> Names<T>(IEnumerable<(string Name, int MinLength, T Kernel)> paths)
    {
        var data = new TheoryData<string>();
        foreach (var path in paths)
        {
            data.Add(path.Name);
        }

        return data;
    }
}
