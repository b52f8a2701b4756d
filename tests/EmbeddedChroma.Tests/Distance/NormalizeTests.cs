using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Tests.Distance;

public class NormalizeTests
{
    [Fact]
    public void Normalize_gives_unit_vector_in_same_direction_for_every_length_1_to_256()
    {
        var random = new Random(21);
        for (int length = 1; length <= KernelTestData.MaxLength; length++)
        {
            Memory<float> src = KernelTestData.Guarded(random, length);
            var dst = new float[length];

            VectorMath.Normalize(src.Span, dst);

            double norm = Math.Sqrt(KernelTestData.ReferenceDot(dst, dst));
            norm.Should().BeApproximately(1.0, 1e-5, $"length {length}");
            double srcNorm = Math.Sqrt(KernelTestData.ReferenceDot(src.Span, src.Span));
            for (int i = 0; i < length; i++)
            {
                dst[i].Should().BeApproximately((float)(src.Span[i] / srcNorm), 1e-6f);
            }
        }
    }

    [Fact]
    public void Normalize_leaves_zeros_when_vector_is_zero()
    {
        var src = new float[37];
        var dst = Enumerable.Repeat(5f, 37).ToArray();

        VectorMath.Normalize(src, dst);

        dst.Should().OnlyContain(x => x == 0f);
        DotDistanceKernel.Distance(dst, Enumerable.Repeat(0.1f, 37).ToArray()).Should().Be(1f);
    }

    [Fact]
    public void Normalize_keeps_vector_when_already_normalized()
    {
        float[] src = [0.6f, 0f, -0.8f];
        var dst = new float[3];

        VectorMath.Normalize(src, dst);

        dst.Should().Equal([0.6f, 0f, -0.8f], (x, y) => Math.Abs(x - y) <= 1e-7f);
    }

    [Fact]
    public void Normalize_works_in_place()
    {
        float[] values = [3f, 4f];

        VectorMath.Normalize(values, values);

        values.Should().Equal([0.6f, 0.8f], (x, y) => Math.Abs(x - y) <= 1e-7f);
    }

    [Theory]
    [InlineData(1e30f)]
    [InlineData(1e-30f)]
    [InlineData(float.Epsilon)]
    [InlineData(float.MaxValue)]
    public void Normalize_gives_unit_vector_when_squared_norm_overflows_or_underflows(float scale)
    {
        float[] src = [3f * (scale / 4f), 4f * (scale / 4f), 0f];
        if (scale == float.Epsilon)
        {
            src = [float.Epsilon, float.Epsilon, 0f];
        }

        var dst = new float[3];
        VectorMath.Normalize(src, dst);

        float expectedX = scale == float.Epsilon ? MathF.Sqrt(0.5f) : 0.6f;
        float expectedY = scale == float.Epsilon ? MathF.Sqrt(0.5f) : 0.8f;
        dst[0].Should().BeApproximately(expectedX, 1e-6f);
        dst[1].Should().BeApproximately(expectedY, 1e-6f);
        dst[2].Should().Be(0f);
    }

    [Fact]
    public void Normalize_writes_NaN_when_input_is_not_finite()
    {
        float[] src = [1f, float.PositiveInfinity];
        var dst = new float[2];

        VectorMath.Normalize(src, dst);

        dst.Should().OnlyContain(x => float.IsNaN(x));
    }

    [Fact]
    public void Normalize_does_nothing_when_empty()
    {
        Action act = () => VectorMath.Normalize(ReadOnlySpan<float>.Empty, Span<float>.Empty);

        act.Should().NotThrow();
    }

    [Fact]
    public void Normalize_throws_when_lengths_differ()
    {
        Action act = () => VectorMath.Normalize(new float[3], new float[2]);

        act.Should().Throw<ArgumentException>().WithParameterName("dst");
    }
}
