using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

/// <summary>
/// The sign sketch behind the filtered sketch scan: its bits are the signs of each row minus the mean, its search returns
/// only allowed slots with exact distances, exactly the brute-force answer when every allowed row is re-ranked, and the
/// Hamming and estimate stages keep the obvious nearest row even when they keep one row each.
/// </summary>
public sealed class SignSketchTests
{
    private static SignSketch Sketch(PaddedVectorRows rows, int capacity = 64) =>
        SignSketch.Build(rows.Dimension, rows.SlotCount, capacity, (slot, destination) => rows.Row(slot).CopyTo(destination), visit =>
        {
            for (var slot = 0; slot < rows.SlotCount; slot++)
            {
                visit(slot, rows.Row(slot));
            }
        });

    private static Neighbor[] Search(SignSketch sketch, PaddedVectorRows rows, DistanceSpace space, float[] query, int k, int shortlist, int rerank, ulong[] admitted)
    {
        var destination = new Neighbor[k];
        var found = space == DistanceSpace.L2
            ? sketch.Search<L2Kernel>(rows, query, l2: true, k, shortlist, rerank, admitted, destination)
            : sketch.Search<DotDistanceKernel>(rows, query, l2: false, k, shortlist, rerank, admitted, destination);
        return destination[..found];
    }

    private static ulong[] Signs(float[] row)
    {
        var bits = new ulong[(row.Length + 63) / 64];
        for (var j = 0; j < row.Length; j++)
        {
            if (row[j] > 0)
            {
                bits[j >> 6] |= 1UL << (j & 63);
            }
        }

        return bits;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(130)]
    public void Each_bit_is_the_sign_of_the_component_minus_the_mean_and_bits_past_the_dimension_stay_clear(int dimension)
    {
        var rows = PaddedVectorRows.Random(3, dimension, 40, DistanceSpace.L2);
        var sketch = Sketch(rows);
        var mean = Enumerable.Range(0, dimension).Select(j => Enumerable.Range(0, 40).Average(s => (double)rows.Row(s)[j])).ToArray();

        sketch.Words.Should().Be((dimension + 63) / 64);
        for (var slot = 0; slot < 40; slot++)
        {
            var bits = sketch.BitsOf(slot);
            for (var j = 0; j < sketch.Words * 64; j++)
            {
                var set = ((bits[j >> 6] >> (j & 63)) & 1) != 0;
                var expected = j < dimension && rows.Row(slot)[j] - (float)mean[j] > 0;
                set.Should().Be(expected, $"slot {slot}, component {j}");
            }
        }
    }

    [Theory]
    [InlineData(DistanceSpace.L2, 16)]
    [InlineData(DistanceSpace.Cosine, 16)]
    [InlineData(DistanceSpace.InnerProduct, 16)]
    [InlineData(DistanceSpace.L2, 100)]
    [InlineData(DistanceSpace.Cosine, 77)]
    [InlineData(DistanceSpace.Cosine, 384)]
    [InlineData(DistanceSpace.L2, 330)]
    public void Search_is_the_brute_force_answer_over_the_allowed_rows_when_every_allowed_row_is_re_ranked(DistanceSpace space, int dimension)
    {
        var rows = PaddedVectorRows.Random(5, dimension, 700, space);
        var sketch = Sketch(rows);
        var random = new Random(6);
        var allowed = Enumerable.Range(0, 700).Where(_ => random.NextDouble() < 0.3).ToArray();
        var bitmap = BruteForce.Bitmap(700, allowed);
        for (var q = 0; q < 10; q++)
        {
            var query = BruteForce.Query(100 + q, dimension, space);

            var got = Search(sketch, rows, space, query, 10, shortlist: 1_000, rerank: 1_000, bitmap);

            got.Should().Equal(BruteForce.Search(rows, space, query, 10, allowed));
        }
    }

    [Theory]
    [InlineData(DistanceSpace.L2, 48)]
    [InlineData(DistanceSpace.Cosine, 48)]
    [InlineData(DistanceSpace.InnerProduct, 48)]
    [InlineData(DistanceSpace.Cosine, 384)]
    [InlineData(DistanceSpace.L2, 384)]
    public void Search_with_a_short_list_returns_only_allowed_rows_with_exact_distances_in_order(DistanceSpace space, int dimension)
    {
        var rows = PaddedVectorRows.Random(7, dimension, 3_000, space);
        var sketch = Sketch(rows);
        var allowed = Enumerable.Range(0, 3_000).Where(s => s % 3 != 0).ToHashSet();
        var bitmap = BruteForce.Bitmap(3_000, allowed);
        var query = BruteForce.Query(8, dimension, space);

        var got = Search(sketch, rows, space, query, 10, shortlist: 200, rerank: 40, bitmap);

        got.Should().HaveCount(10);
        got.Select(n => n.Slot).Should().OnlyContain(s => allowed.Contains(s)).And.OnlyHaveUniqueItems();
        got.Should().OnlyContain(n => n.Distance == BruteForce.Distance(space, query, rows.RowArray(n.Slot)));
        got.Should().BeInAscendingOrder(n => n.Distance);
    }

    [Theory]
    [InlineData(DistanceSpace.L2, 96)]
    [InlineData(DistanceSpace.Cosine, 96)]
    [InlineData(DistanceSpace.Cosine, 384)]
    public void A_row_equal_to_the_query_survives_both_stages_when_each_keeps_a_single_row(DistanceSpace space, int dimension)
    {
        var rows = PaddedVectorRows.Random(9, dimension, 2_000, space);
        var sketch = Sketch(rows);
        var bitmap = BruteForce.Bitmap(2_000, Enumerable.Range(0, 2_000));
        foreach (var target in new[] { 0, 777, 1_999 })
        {
            var got = Search(sketch, rows, space, rows.RowArray(target), 1, shortlist: 1, rerank: 1, bitmap);

            got.Should().ContainSingle().Which.Slot.Should().Be(target);
        }
    }

    [Fact]
    public void Search_on_many_rows_with_identical_bits_keeps_exactly_the_short_list_and_breaks_ties_by_slot()
    {
        var rows = new PaddedVectorRows(8, 1_000);
        for (var slot = 0; slot < 1_000; slot++)
        {
            rows.Row(slot).Fill(slot % 2 == 0 ? 1f : -1f);
        }

        var sketch = Sketch(rows);
        var bitmap = BruteForce.Bitmap(1_000, Enumerable.Range(0, 1_000));

        var got = Search(sketch, rows, DistanceSpace.L2, [1, 1, 1, 1, 1, 1, 1, 1], 5, shortlist: 7, rerank: 6, bitmap);

        got.Select(n => n.Slot).Should().Equal(0, 2, 4, 6, 8);
        got.Should().OnlyContain(n => n.Distance == 0);
    }

    [Fact]
    public void Search_ignores_admitted_bits_past_the_rows_and_returns_nothing_when_nothing_is_allowed()
    {
        var rows = PaddedVectorRows.Random(11, 16, 100, DistanceSpace.L2);
        var sketch = Sketch(rows);
        var query = BruteForce.Query(12, 16, DistanceSpace.L2);
        var beyond = new ulong[4];
        beyond[1] = ulong.MaxValue << 40; // slots 104–127: past the 100 rows
        beyond[3] = ulong.MaxValue;

        Search(sketch, rows, DistanceSpace.L2, query, 10, 50, 20, beyond).Should().BeEmpty();
        Search(sketch, rows, DistanceSpace.L2, query, 10, 50, 20, new ulong[2]).Should().BeEmpty();
        Search(sketch, rows, DistanceSpace.L2, query, 0, 50, 20, BruteForce.Bitmap(100, Enumerable.Range(0, 100))).Should().BeEmpty();
    }

    [Fact]
    public void Search_refuses_a_destination_shorter_than_the_answer_and_a_query_of_another_dimension()
    {
        var rows = PaddedVectorRows.Random(13, 16, 100, DistanceSpace.L2);
        var sketch = Sketch(rows);
        var all = BruteForce.Bitmap(100, Enumerable.Range(0, 100));

        var tooShort = () => sketch.Search<L2Kernel>(rows, BruteForce.Query(1, 16, DistanceSpace.L2), l2: true, 10, 50, 20, all, new Neighbor[5]);
        var wrongLength = () => sketch.Search<L2Kernel>(rows, new float[15], l2: true, 10, 50, 20, all, new Neighbor[10]);

        tooShort.Should().Throw<ArgumentException>().WithMessage("*5*10*");
        wrongLength.Should().Throw<ArgumentException>().WithMessage("*15*16*");
    }

    [Fact]
    public void Writes_past_the_capacity_grow_the_sketch_and_keep_the_earlier_rows_and_a_rewrite_replaces_a_row()
    {
        var rows = PaddedVectorRows.Random(15, 70, 500, DistanceSpace.Cosine);
        var sketch = SignSketch.Build(70, 0, 64, (_, _) => { }, _ => { });
        for (var slot = 0; slot < 500; slot++)
        {
            sketch.Write(slot, rows.Row(slot));
        }

        sketch.SlotCount.Should().Be(500);
        sketch.Capacity.Should().BeGreaterThanOrEqualTo(500);
        for (var slot = 0; slot < 500; slot += 37)
        {
            sketch.BitsOf(slot).ToArray().Should().Equal(Signs(rows.RowArray(slot)), "an empty build codes against a zero mean");
        }

        var flipped = rows.RowArray(3).Select(x => -x).ToArray();
        sketch.Write(3, flipped);
        sketch.BitsOf(3).ToArray().Should().Equal(Signs(flipped));
        var all = BruteForce.Bitmap(500, Enumerable.Range(0, 500));
        rows.Row(3).Clear();
        flipped.CopyTo(rows.Row(3));
        Search(sketch, rows, DistanceSpace.Cosine, flipped, 1, 1, 1, all).Should().ContainSingle().Which.Slot.Should().Be(3);
    }

    [Theory]
    [InlineData(384)]
    [InlineData(70)]
    public void The_hamming_stage_keeps_the_rows_whose_signs_differ_least_from_the_querys_lowest_slots_first_on_ties(int dimension)
    {
        // Each row and its negation: the mean is exactly zero, so the query's bits are the signs of its components.
        var half = PaddedVectorRows.Random(17, dimension, 1_000, DistanceSpace.L2);
        var rows = new PaddedVectorRows(dimension, 2_000);
        for (var slot = 0; slot < 1_000; slot++)
        {
            half.Row(slot).CopyTo(rows.Row(2 * slot));
            var negated = rows.Row((2 * slot) + 1);
            half.Row(slot).CopyTo(negated);
            System.Numerics.Tensors.TensorPrimitives.Negate(negated, negated);
        }

        var sketch = Sketch(rows);
        var query = BruteForce.Query(18, dimension, DistanceSpace.L2);
        var signs = Signs(query);
        var allowed = Enumerable.Range(0, 2_000).Where(s => s % 7 != 3).ToArray();
        var expected = allowed
            .OrderBy(slot => sketch.BitsOf(slot).ToArray().Zip(signs, (a, b) => System.Numerics.BitOperations.PopCount(a ^ b)).Sum())
            .ThenBy(slot => slot)
            .Take(50)
            .ToHashSet();

        var got = Search(sketch, rows, DistanceSpace.L2, query, 50, shortlist: 50, rerank: 50, BruteForce.Bitmap(2_000, allowed));

        got.Select(n => n.Slot).Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void A_sketch_built_in_place_in_parallel_or_with_its_mean_read_row_by_row_codes_every_row_as_the_two_sweep_build_does()
    {
        var rows = PaddedVectorRows.Random(19, 130, 9_000, DistanceSpace.Cosine);

        var parallel = SignSketch.Build(rows, 64);
        var sequential = Sketch(rows);
        var sampled = SignSketch.Build(130, 9_000, 64, (slot, destination) => rows.Row(slot).CopyTo(destination), visit =>
        {
            for (var slot = 0; slot < 9_000; slot++)
            {
                visit(slot, rows.Row(slot));
            }
        });

        parallel.SlotCount.Should().Be(9_000);
        parallel.Capacity.Should().BeGreaterThanOrEqualTo(9_000);
        for (var slot = 0; slot < 9_000; slot++)
        {
            parallel.BitsOf(slot).SequenceEqual(sequential.BitsOf(slot)).Should().BeTrue($"slot {slot}");
            sampled.BitsOf(slot).SequenceEqual(sequential.BitsOf(slot)).Should().BeTrue($"slot {slot}, mean read row by row");
        }

        var query = BruteForce.Query(20, 130, DistanceSpace.Cosine);
        var all = BruteForce.Bitmap(9_000, Enumerable.Range(0, 9_000));
        Search(parallel, rows, DistanceSpace.Cosine, query, 10, 300, 60, all).Should().Equal(Search(sequential, rows, DistanceSpace.Cosine, query, 10, 300, 60, all));
    }
}
