using System.Globalization;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Readers and writers at once on several collections (two of them past HnswThreshold, so the background graph is
/// built and maintained while queries run), checked against a reference model; see <see cref="StressRun"/>.
/// </summary>
public sealed class ConcurrencyStressTests
{
    /// <summary>Seconds of the soak run; the soak test is skipped unless it is set.</summary>
    public const string SoakVariable = "EMBEDDEDCHROMA_SOAK_SECONDS";

    private readonly ITestOutputHelper _output;

    public ConcurrencyStressTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(20_251_001)]
    public void Readers_see_whole_batches_and_exact_results_while_writers_run_and_store_equals_model_after_reopen(int seed)
    {
        var result = new StressRun(seed, readers: 8, writers: 2, duration: TimeSpan.FromSeconds(12), batchesPerWriter: 120).Execute();
        Report(result);
        result.Failures.Should().BeEmpty();
        result.Writes.Should().BeGreaterThan(50);
        result.Reads.Should().BeGreaterThan(200);
        result.LockedChecks.Should().BeGreaterThan(5);
        result.GraphChecks.Should().BeGreaterThan(0, "two collections grow past HnswThreshold, so queries use the graph");
        result.MeanGraphRecall.Should().BeGreaterThanOrEqualTo(0.95, "quiescent graph queries agree with brute force");
    }

    /// <summary>
    /// The long variant: <c>EMBEDDEDCHROMA_SOAK_SECONDS=600 dotnet test --filter FullyQualifiedName~Soak</c>.
    /// Writers keep going until the time is up (their batch budget is effectively unbounded).
    /// </summary>
    [SoakFact]
    public void Soak_runs_readers_and_writers_for_the_configured_time_without_a_single_failure()
    {
        var seconds = int.Parse(Environment.GetEnvironmentVariable(SoakVariable)!, CultureInfo.InvariantCulture);
        var result = new StressRun(20_251_002, readers: 8, writers: 2, duration: TimeSpan.FromSeconds(seconds), batchesPerWriter: int.MaxValue).Execute();
        Report(result);
        result.Failures.Should().BeEmpty();
        result.MeanGraphRecall.Should().BeGreaterThanOrEqualTo(0.95);
    }

    private void Report(StressRun.Result result)
    {
        var seconds = result.Elapsed.TotalSeconds;
        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{seconds:F1} s: {result.Writes} write batches ({result.Writes / seconds:F0}/s), {result.Reads} reads ({result.Reads / seconds:F0}/s), " +
            $"{result.Checks} reads verified, {result.LockedChecks} quiescent brute-force checks, {result.GraphChecks} graph-sized (mean recall {result.MeanGraphRecall:F3}, " +
            $"{result.PoorRecall.Count} with recall < 0.5 at k >= 5), errors: {result.Failures.Count}"));
        foreach (var failure in result.Failures.Take(5).Concat(result.PoorRecall.Take(3)))
        {
            _output.WriteLine(failure);
        }
    }
}

/// <summary>A fact that runs only when <see cref="ConcurrencyStressTests.SoakVariable"/> is set (seconds to run).</summary>
public sealed class SoakFactAttribute : FactAttribute
{
    public SoakFactAttribute()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ConcurrencyStressTests.SoakVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
        {
            Skip = $"soak run: set {ConcurrencyStressTests.SoakVariable} to the number of seconds to run";
        }
    }
}
