using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

public class DotTests
{
    public static TheoryData<string> Paths => KernelTestData.Names(KernelTestData.DotPaths());

    private static (string Name, int MinLength, KernelTestData.BinaryKernel Kernel) Path(string name) =>
        KernelTestData.DotPaths().Single(p => p.Name == name);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dot_matches_double_reference_for_every_length_0_to_256(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(4321);
        for (int length = minLength; length <= KernelTestData.MaxLength; length++)
        {
            Memory<float> a = KernelTestData.Guarded(random, length);
            Memory<float> b = KernelTestData.Guarded(random, length);

            double expected = KernelTestData.ReferenceDot(a.Span, b.Span);
            float actual = kernel(a.Span, b.Span);

            // Terms cancel, so the error is bounded relative to Σ|aᵢbᵢ|, not to the result.
            double tolerance = (KernelTestData.AbsoluteDotScale(a.Span, b.Span) * 1e-5) + 1e-7;
            actual.Should().BeApproximately((float)expected, (float)tolerance, $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dot_propagates_NaN_and_infinity_at_every_position(string path)
    {
        var (_, minLength, kernel) = Path(path);
        foreach (int length in new[] { 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129 })
        {
            if (length < minLength)
            {
                continue;
            }

            // b is all ones so an infinity keeps its sign; the tail mask must not turn ∞ into 0·∞ = NaN.
            var a = new float[length];
            var b = Enumerable.Repeat(1f, length).ToArray();
            for (int position = 0; position < length; position++)
            {
                a[position] = float.NaN;
                kernel(a, b).Should().Be(float.NaN, $"NaN at {position} of {length}");

                a[position] = float.PositiveInfinity;
                kernel(a, b).Should().Be(float.PositiveInfinity, $"+inf at {position} of {length}");

                a[position] = float.NegativeInfinity;
                kernel(a, b).Should().Be(float.NegativeInfinity, $"-inf at {position} of {length}");

                a[position] = 0f;
            }
        }
    }

    [Fact]
    public void Dot_throws_when_lengths_differ()
    {
        Action act = () => VectorMath.Dot(new float[17], new float[16]);

        act.Should().Throw<ArgumentException>().WithParameterName("b");
    }

    [Fact]
    public void DotDistanceKernel_is_one_minus_dot()
    {
        float[] a = [0.6f, 0.8f];
        float[] b = [0.8f, 0.6f];

        DotDistanceKernel.Distance(a, b).Should().BeApproximately(1f - 0.96f, 1e-6f);
        DotDistanceKernel.Distance(a, a).Should().BeApproximately(0f, 1e-6f);
    }

    [Fact]
    public void DotDistanceKernel_of_zero_vector_is_one()
    {
        var zero = new float[384];
        var random = new Random(9);
        var other = Enumerable.Range(0, 384).Select(_ => (float)random.NextDouble()).ToArray();

        DotDistanceKernel.Distance(zero, other).Should().Be(1f);
    }
}
