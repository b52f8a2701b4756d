using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

public class IndexOfNonFiniteTests
{
    private static readonly float[] s_nonFinite = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.Int32BitsToSingle(unchecked((int)0xFFC0_0001))];

    public static TheoryData<string> Paths => KernelTestData.Names(KernelTestData.IndexOfNonFinitePaths());

    private static (string Name, int MinLength, KernelTestData.UnaryKernel Kernel) Path(string name) =>
        KernelTestData.IndexOfNonFinitePaths().Single(p => p.Name == name);

    [Theory]
    [MemberData(nameof(Paths))]
    public void IsFinite_returns_minus_one_when_all_values_are_finite(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(11);
        float[] edgeValues = [0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-40f];
        for (int length = minLength; length <= KernelTestData.MaxLength; length++)
        {
            Memory<float> values = KernelTestData.Guarded(random, length);
            for (int i = 0; i < length; i++)
            {
                if (i % 3 == 0)
                {
                    values.Span[i] = edgeValues[i % edgeValues.Length];
                }
            }

            kernel(values.Span).Should().Be(-1, $"length {length}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void IsFinite_returns_index_of_each_special_value_at_every_position(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(12);
        for (int length = Math.Max(1, minLength); length <= KernelTestData.MaxLength; length++)
        {
            Memory<float> values = KernelTestData.Guarded(random, length);
            Span<float> span = values.Span;
            for (int position = 0; position < length; position++)
            {
                float saved = span[position];
                float special = s_nonFinite[(position + length) % s_nonFinite.Length];
                span[position] = special;
                kernel(span).Should().Be(position, $"{special} at {position} of {length}");
                span[position] = saved;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void IsFinite_returns_first_index_when_several_values_are_not_finite(string path)
    {
        var (_, minLength, kernel) = Path(path);
        var random = new Random(13);
        for (int length = Math.Max(2, minLength); length <= 100; length++)
        {
            Memory<float> values = KernelTestData.Guarded(random, length);
            int first = random.Next(length - 1);
            values.Span[first] = float.PositiveInfinity;
            values.Span[^1] = float.NaN;

            kernel(values.Span).Should().Be(first, $"length {length}");
        }
    }

    [Fact]
    public void IsFinite_returns_minus_one_when_empty()
    {
        VectorMath.IndexOfNonFinite(ReadOnlySpan<float>.Empty).Should().Be(-1);
    }
}
