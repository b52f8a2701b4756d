using System.Diagnostics;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Storage;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>The planner's cost model for filtered queries: its choice follows the measured costs, not a fixed share.</summary>
public class FilteredPlanCostsTests
{
    [Fact]
    public void ExactIsCheaper_follows_the_measured_costs_when_the_share_is_the_same()
    {
        var slowScan = new FilteredPlanCosts();
        slowScan.Calibrate(exactNsPerRow: 400, graphNs: 100_000, ef: 64);
        var fastScan = new FilteredPlanCosts();
        fastScan.Calibrate(exactNsPerRow: 20, graphNs: 100_000, ef: 64);

        // 5,000 of 100,000 allowed: 2 ms of scanning against ~0.2 ms of walking, or 0.1 ms of scanning.
        slowScan.ExactIsCheaper(5_000, 100_000).Should().BeFalse();
        fastScan.ExactIsCheaper(5_000, 100_000).Should().BeTrue();
    }

    [Fact]
    public void ExactIsCheaper_turns_to_the_graph_as_the_allowed_count_grows_when_costs_are_fixed()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 50, graphNs: 120_000, ef: 64);

        costs.ExactIsCheaper(1_000, 60_000).Should().BeTrue();
        costs.ExactIsCheaper(20_000, 60_000).Should().BeFalse();
        var crossover = Enumerable.Range(1, 30_000).First(allowed => !costs.ExactIsCheaper(allowed, 60_000));
        costs.EstimateExactNs(crossover).Should().BeGreaterThan(costs.EstimateTwoHopNs(crossover / 60_000.0));
    }

    [Fact]
    public void RecordTwoHop_moves_the_choice_to_the_exact_scan_when_the_walk_measures_slow_in_that_share()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 100, graphNs: 100_000, ef: 64);
        costs.ExactIsCheaper(4_000, 40_000).Should().BeFalse("400 µs of scanning against the prior of 3.3 × 100 µs");

        long slow = (long)(0.004 * Stopwatch.Frequency); // 4 ms per two-hop query at a 10 % share
        for (int i = 0; i < 200; i++)
        {
            costs.RecordTwoHop(0.1, 64, slow);
        }

        costs.ExactIsCheaper(4_000, 40_000).Should().BeTrue();
        costs.ExactIsCheaper(4_000, 10_000).Should().BeFalse("another share's bucket keeps its own ratio");
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.2)]
    [InlineData(0.1)]
    [InlineData(0.04)]
    public void PriorRatio_is_the_quiet_measured_two_hop_cost_from_4_to_50_percent_and_grows_below_a_32nd(double share)
    {
        FilteredPlanCosts.PriorRatio(share).Should().BeApproximately(3.3, 0.001);
        FilteredPlanCosts.PriorRatio(1.0 / 64).Should().BeApproximately(3.3 * Math.Pow(2, 1.5), 0.001);
        FilteredPlanCosts.PriorRatio(0.001).Should().BeGreaterThan(FilteredPlanCosts.PriorRatio(0.01));
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(10, 13)]
    [InlineData(32, 40)]
    [InlineData(100_000, 125_000)]
    public void TwoHopEf_is_a_quarter_more_than_asked_rounded_up(int ef, int expected)
    {
        QueryPlanner.TwoHopEf(ef).Should().Be(expected);
    }

    [Fact]
    public void The_exact_estimate_charges_each_run_of_consecutive_rows_so_scattered_rows_cost_more_than_a_stream()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 40, graphNs: 100_000, ef: 64, exactNsPerRun: 80);

        costs.EstimateExactNs(6_000, runs: 60).Should().Be((6_000 * 40) + (60 * 80));
        costs.ExactIsCheaper(6_000, 60_000, runs: 60).Should().BeTrue("6,000 rows in 60 runs: 245 µs against 3.3 × 100 µs");
        costs.ExactIsCheaper(6_000, 60_000, runs: 6_000).Should().BeFalse("6,000 rows each alone: 720 µs");
    }

    [Fact]
    public void RecordExact_moves_the_per_row_and_per_run_costs_by_the_same_factor()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 40, graphNs: 100_000, ef: 64, exactNsPerRun: 80);
        var tick = Stopwatch.Frequency / 1e9;

        for (var i = 0; i < 400; i++)
        {
            costs.RecordExact(1_000, (long)(2 * ((1_000 * 40) + (100 * 80)) * tick), runs: 100); // twice the estimate
        }

        costs.ExactNsPerRow.Should().BeApproximately(80, 2);
        costs.ExactNsPerRun.Should().BeApproximately(160, 4);
    }

    [Theory]
    [InlineData(new ulong[] { }, 0)]
    [InlineData(new ulong[] { 0 }, 0)]
    [InlineData(new ulong[] { ulong.MaxValue, ulong.MaxValue }, 1)]
    [InlineData(new ulong[] { 0b1011 }, 2)]
    [InlineData(new ulong[] { 0x5555_5555_5555_5555 }, 32)]
    [InlineData(new ulong[] { 1UL << 63, 1 }, 1)]
    [InlineData(new ulong[] { 1UL << 63, 2 }, 2)]
    public void CountRuns_counts_maximal_runs_of_set_bits_across_words(ulong[] bits, int expected)
    {
        AllowedSet.CountRuns(bits).Should().Be(expected);
    }

    [Fact]
    public void SpreadSamples_take_one_live_slot_per_word_and_a_different_one_in_each_sample_where_the_word_allows()
    {
        ulong[] live = [ulong.MaxValue, 0, 1UL << 5, (1UL << 3) | (1UL << 40)];

        var samples = QueryPlanner.SpreadSamples(live, words: 4, count: 3);

        samples.Should().HaveCount(3);
        samples.Should().OnlyContain(s => s.Length == 4);
        samples.Select(s => s[0]).Should().Equal(1UL << 0, 1UL << 21, 1UL << 42);
        samples.Should().OnlyContain(s => s[1] == 0, "a word with no live slot gives none");
        samples.Should().OnlyContain(s => s[2] == 1UL << 5, "a word with one live slot gives it every time");
        samples.Select(s => s[3]).Should().Equal(1UL << 3, 1UL << 40, 1UL << 3);
        samples.Should().OnlyContain(s => s.Zip(live, (bit, word) => (bit & ~word) == 0).All(x => x), "only live slots are sampled");
    }

    [Theory]
    [InlineData(32, 1.0, 32)]
    [InlineData(32, 0.5, 24)]
    [InlineData(32, 0.51167, 25)]
    [InlineData(40, 0.5, 30)]
    [InlineData(10, 0.5, 8)]
    [InlineData(1, 0.5, 1)]
    [InlineData(64, 0.0, 32)]
    public void WalkEf_is_ef_times_one_plus_the_share_over_two_rounded_up(int ef, double share, int expected)
    {
        QueryPlanner.WalkEf(ef, share).Should().Be(expected);
    }

    [Fact]
    public void RecordExact_and_RecordGraph_follow_running_costs_but_ignore_other_ef_and_tiny_scans()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 50, graphNs: 100_000, ef: 64);
        long tick = Stopwatch.Frequency / 1_000_000; // 1 µs

        for (int i = 0; i < 200; i++)
        {
            costs.RecordExact(1_000, 100 * tick); // 100 ns per row
            costs.RecordExact(10, 1_000 * tick);  // too few rows to count
            costs.RecordGraph(64, 50 * tick);     // 50 µs
            costs.RecordGraph(128, 1_000 * tick); // another ef
        }

        costs.ExactNsPerRow.Should().BeApproximately(100, 5);
        costs.GraphNs.Should().BeApproximately(50_000, 2_500);
        costs.IsCalibrated(64).Should().BeTrue();
        costs.IsCalibrated(128).Should().BeFalse();
    }

    [Fact]
    public void Calibrate_measures_costs_when_given_work_to_time()
    {
        var costs = new FilteredPlanCosts();
        costs.IsCalibrated(64).Should().BeFalse();

        costs.Calibrate(() => Thread.SpinWait(2_000), 1_000, () => Thread.SpinWait(20_000), 1_000, () => Thread.SpinWait(200_000), 64);

        costs.IsCalibrated(64).Should().BeTrue();
        costs.ExactNsPerRow.Should().BeGreaterThan(0);
        costs.ExactNsPerRun.Should().BeGreaterThan(0, "rows read alone took longer than rows in a stream");
        costs.GraphNs.Should().BeGreaterThan(costs.ExactNsPerRow);
    }

    [Fact]
    public void The_sketch_estimate_charges_the_hamming_stage_per_allowed_row_the_estimates_per_listed_row_and_each_re_ranked_row_read_alone()
    {
        var costs = new FilteredPlanCosts();
        costs.EstimateSketchNs(10_000, 256, 96).Should().Be(double.PositiveInfinity, "not calibrated yet");
        costs.Calibrate(exactNsPerRow: 40, graphNs: 100_000, ef: 32, exactNsPerRun: 110);
        costs.CalibrateSketch(sketchNsPerRow: 9, estimateNsPerRow: 25);

        costs.EstimateSketchNs(10_000, 256, 96).Should().Be((10_000 * 9) + (256 * 25) + (96 * 150));
        costs.EstimateSketchNs(200, 256, 96).Should().Be((200 * 25) + (96 * 150), "a shortlist holding every allowed row skips the Hamming stage");
        costs.EstimateSketchNs(50, 256, 96).Should().Be((50 * 25) + (50 * 150));
    }

    [Fact]
    public void RecordSketch_moves_both_sketch_costs_by_the_same_factor_and_ignores_tiny_scans()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 40, graphNs: 100_000, ef: 32, exactNsPerRun: 110);
        costs.CalibrateSketch(sketchNsPerRow: 10, estimateNsPerRow: 20);
        var tick = Stopwatch.Frequency / 1e9;

        costs.RecordSketch(100, 256, 96, (long)(1e9 * tick));
        costs.SketchNsPerRow.Should().Be(10, "100 allowed rows are too few to learn from");

        var measured = 3 * costs.EstimateSketchNs(20_000, 256, 96);
        for (var i = 0; i < 400; i++)
        {
            costs.RecordSketch(20_000, 256, 96, (long)(measured * tick));
        }

        (costs.SketchNsPerRow / 10).Should().BeApproximately(costs.EstimateNsPerRow / 20, 0.01);
        costs.SketchNsPerRow.Should().BeGreaterThan(20, "the scans measured three times the estimate");
    }

    [Fact]
    public void The_walk_estimate_starts_from_its_prior_at_the_share_and_follows_the_walks_measured_in_its_share_bucket()
    {
        var costs = new FilteredPlanCosts();
        costs.Calibrate(exactNsPerRow: 40, graphNs: 100_000, ef: 32);
        FilteredPlanCosts.PriorWalkRatio(1).Should().Be(1);
        FilteredPlanCosts.PriorWalkRatio(0.5).Should().BeApproximately(2.2, 1e-9);
        FilteredPlanCosts.PriorWalkRatio(0.25).Should().BeApproximately(4.6, 1e-9);
        costs.EstimateWalkNs(0.6).Should().BeApproximately(100_000 * FilteredPlanCosts.PriorWalkRatio(0.6), 1);
        var tick = Stopwatch.Frequency / 1e9;

        for (var i = 0; i < 400; i++)
        {
            costs.RecordWalk(0.6, 32, (long)(150_000 * tick));
            costs.RecordWalk(0.6, 64, (long)(900_000 * tick)); // another ef: ignored
        }

        costs.EstimateWalkNs(0.6).Should().BeApproximately(150_000, 3_000);
        costs.EstimateWalkNs(0.9).Should().BeApproximately(150_000 / FilteredPlanCosts.PriorWalkRatio(0.6) * FilteredPlanCosts.PriorWalkRatio(0.9), 3_000, "the bucket's correction applies to its every share");
        costs.EstimateWalkNs(0.3).Should().BeApproximately(100_000 * FilteredPlanCosts.PriorWalkRatio(0.3), 1, "another share bucket keeps its prior");
    }
}
