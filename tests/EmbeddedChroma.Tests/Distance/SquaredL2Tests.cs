using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

public class SquaredL2Tests
{
    public static TheoryData<string> Paths => KernelTestData.Names(KernelTestData.SquaredL2Paths());

    private static (string Name, int MinLength, KernelTestData.BinaryKernel Kernel) Path(string name) =>
        KernelTestData.SquaredL2Paths().Single(p => p.Name == name);

    [Theory]
    [MemberData(nameof(Paths))]
    public void SquaredL2_matches_double_reference_for_every_length_0_to_256(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(1234);
        for (int length = minLength; length <= KernelTestData.MaxLength; length++)
        {
            Memory<float> a = KernelTestData.Guarded(random, length);
            Memory<float> b = KernelTestData.Guarded(random, length);

            double expected = KernelTestData.ReferenceSquaredL2(a.Span, b.Span);
            float actual = kernel(a.Span, b.Span);

            // Every term is non-negative, so the float sum has a small relative error.
            actual.Should().BeApproximately((float)expected, (float)((expected * 1e-5) + 1e-7), $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SquaredL2_is_zero_when_inputs_are_equal(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(5);
        for (int length = minLength; length <= 70; length++)
        {
            Memory<float> a = KernelTestData.Guarded(random, length);
            kernel(a.Span, a.Span).Should().Be(0f, $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SquaredL2_propagates_NaN_and_infinity_at_every_position(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(77);
        foreach (int length in new[] { 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 129 })
        {
            if (length < minLength)
            {
                continue;
            }

            Memory<float> a = KernelTestData.Guarded(random, length);
            Memory<float> b = KernelTestData.Guarded(random, length);
            for (int position = 0; position < length; position++)
            {
                float saved = a.Span[position];

                a.Span[position] = float.NaN;
                kernel(a.Span, b.Span).Should().Be(float.NaN, $"NaN at {position} of {length}");

                a.Span[position] = float.PositiveInfinity;
                kernel(a.Span, b.Span).Should().Be(float.PositiveInfinity, $"+inf at {position} of {length}");

                a.Span[position] = float.NegativeInfinity;
                kernel(a.Span, b.Span).Should().Be(float.PositiveInfinity, $"-inf at {position} of {length}");

                a.Span[position] = saved;
            }
        }
    }

    [Fact]
    public void SquaredL2_throws_when_lengths_differ()
    {
        Action act = () => VectorMath.SquaredL2(new float[3], new float[4]);

        act.Should().Throw<ArgumentException>().WithParameterName("b");
    }

    [Fact]
    public void L2Kernel_is_the_squared_distance_without_square_root()
    {
        float[] a = [1, 2, 3];
        float[] b = [4, 6, 3];

        L2Kernel.Distance(a, b).Should().Be(25f);
    }
}
