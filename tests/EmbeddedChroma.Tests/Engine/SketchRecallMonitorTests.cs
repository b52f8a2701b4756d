using EmbeddedChroma.Engine;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// The sketch scan is trusted only where it has matched the exact scan: checked for its first queries per count of
/// allowed rows and ef, used once its recall holds, turned off for good where it falls short, and re-checked now and then.
/// </summary>
public sealed class SketchRecallMonitorTests
{
    [Fact]
    public void A_count_is_checked_until_its_first_queries_are_judged_then_trusted_when_their_recall_holds()
    {
        var monitor = new SketchRecallMonitor();
        monitor.Verdict(5_000, 32).Should().Be(SketchVerdict.Unknown);

        for (var i = 0; i < SketchRecallMonitor.FirstChecks; i++)
        {
            monitor.ShouldCheck(5_000, 32).Should().BeTrue();
            monitor.Verdict(5_000, 32).Should().Be(SketchVerdict.Unknown);
            monitor.RecordRecall(5_000, 32, i % 2 == 0 ? 1.0 : 0.9);
        }

        monitor.Verdict(5_000, 32).Should().Be(SketchVerdict.Trusted, "a mean of 0.95 meets the bar");
        var checks = Enumerable.Range(0, 3 * SketchRecallMonitor.CheckEvery).Count(_ => monitor.ShouldCheck(5_000, 32));
        checks.Should().Be(3, "once trusted, one query in CheckEvery is checked");
    }

    [Fact]
    public void A_count_whose_recall_falls_short_is_distrusted_for_good_and_never_checked_again()
    {
        var monitor = new SketchRecallMonitor();
        for (var i = 0; i < SketchRecallMonitor.FirstChecks; i++)
        {
            monitor.ShouldCheck(40_000, 32);
            monitor.RecordRecall(40_000, 32, 0.9);
        }

        monitor.Verdict(40_000, 32).Should().Be(SketchVerdict.Distrusted);
        monitor.ShouldCheck(40_000, 32).Should().BeFalse();
        for (var i = 0; i < 50; i++)
        {
            monitor.RecordRecall(40_000, 32, 1.0);
        }

        monitor.Verdict(40_000, 32).Should().Be(SketchVerdict.Distrusted);
    }

    [Fact]
    public void A_trusted_count_is_distrusted_only_when_its_mean_over_all_checks_falls_under_the_failing_bar()
    {
        var monitor = new SketchRecallMonitor();
        for (var i = 0; i < SketchRecallMonitor.FirstChecks; i++)
        {
            monitor.RecordRecall(3_000, 64, 1.0);
        }

        monitor.Verdict(3_000, 64).Should().Be(SketchVerdict.Trusted);
        monitor.RecordRecall(3_000, 64, 0.6);
        monitor.Verdict(3_000, 64).Should().Be(SketchVerdict.Trusted, "one bad query (mean 0.956) is a draw, not a verdict");
        var checks = 1;
        while (monitor.Verdict(3_000, 64) == SketchVerdict.Trusted)
        {
            monitor.RecordRecall(3_000, 64, 0.6);
            checks++;
        }

        checks.Should().Be(3, "the mean of 8 × 1.0 and 3 × 0.6 is 0.89, under 0.92; after two it was 0.92");
    }

    [Fact]
    public void A_count_between_the_bars_is_checked_until_the_most_checks_then_distrusted()
    {
        var monitor = new SketchRecallMonitor();
        for (var i = 0; i < SketchRecallMonitor.MostChecks - 1; i++)
        {
            monitor.ShouldCheck(9_000, 32).Should().BeTrue();
            monitor.RecordRecall(9_000, 32, 0.93);
            monitor.Verdict(9_000, 32).Should().Be(SketchVerdict.Unknown);
        }

        monitor.RecordRecall(9_000, 32, 0.93);
        monitor.Verdict(9_000, 32).Should().Be(SketchVerdict.Distrusted);
    }

    [Fact]
    public void Counts_are_judged_per_power_of_two_and_per_ef()
    {
        var monitor = new SketchRecallMonitor();
        for (var i = 0; i < SketchRecallMonitor.FirstChecks; i++)
        {
            monitor.RecordRecall(1_024, 32, 0.2);
        }

        monitor.Verdict(2_047, 32).Should().Be(SketchVerdict.Distrusted);
        monitor.Verdict(1_023, 32).Should().Be(SketchVerdict.Unknown);
        monitor.Verdict(2_048, 32).Should().Be(SketchVerdict.Unknown);
        monitor.Verdict(1_500, 48).Should().Be(SketchVerdict.Unknown);
    }

    [Fact]
    public void Recall_is_the_share_of_the_exact_slots_found_whatever_their_order()
    {
        Neighbor[] exact = [new(1, 0.1f), new(2, 0.2f), new(3, 0.3f), new(4, 0.4f)];

        SketchRecallMonitor.Recall([new(4, 0.4f), new(9, 0.35f), new(1, 0.1f), new(2, 0.2f)], exact).Should().Be(0.75);
        SketchRecallMonitor.Recall([], exact).Should().Be(0);
        SketchRecallMonitor.Recall([], []).Should().Be(1);
    }
}
