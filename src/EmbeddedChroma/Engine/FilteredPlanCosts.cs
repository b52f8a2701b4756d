using System.Diagnostics;
using System.Numerics;

namespace EmbeddedChroma.Engine;

/// <summary>
/// One collection's measured query costs, from which the <see cref="QueryPlanner"/> chooses between an exact scan of
/// the allowed records and the two-hop graph walk for a filtered query:
/// <list type="bullet">
/// <item>exact: allowed × the exact scan's nanoseconds per row read in a stream, plus runs × the extra nanoseconds of
/// starting a stream (a run of consecutive allowed slots; the rows of a filter that follows the text lie scattered, one
/// run each, those of a range over insertion order in long runs), both at this dimension and on this machine;</item>
/// <item>graph: the unfiltered graph query's nanoseconds at the current ef × the filtered walk's cost ratio for
/// the filter's share of the collection (per power-of-two share bucket).</item>
/// </list>
/// The per-row and unfiltered costs are calibrated with a few micro-measurements the first time a choice is needed
/// (<see cref="Calibrate(Action, int, Action, int, Action, int)"/>), then follow every query as running averages (<see cref="RecordExact"/>,
/// <see cref="RecordGraph"/>, <see cref="RecordTwoHop"/>); the ratio per bucket starts from a prior measured on real
/// text embeddings (<see cref="PriorRatio"/>) and follows the two-hop queries answered in that bucket.
/// </summary>
/// <remarks>
/// Thread-safe without locks: queries update the averages concurrently, and a lost update or a read of a
/// half-updated pair only nudges an estimate (each field is one aligned 8-byte value, so no read is torn). Samples are
/// clamped to [¼, 4×] the current estimate, so one descheduled or GC-paused query moves it little.
/// </remarks>
internal sealed class FilteredPlanCosts
{
    /// <summary>Share buckets: bucket b holds shares in (2^−(b+1), 2^−b]; the last also everything smaller.</summary>
    internal const int Buckets = 16;

    private const double Weight = 0.05;

    private readonly double[] _ratio = new double[Buckets];
    private double _exactNsPerRow;
    private double _exactNsPerRun;
    private double _graphNs;
    private int _graphEf;

    public FilteredPlanCosts()
    {
        for (int b = 0; b < Buckets; b++)
        {
            _ratio[b] = PriorRatio(Math.Pow(2, -b - 0.5));
        }
    }

    /// <summary>True once <see cref="Calibrate(Action, int, Action, int, Action, int)"/> has run for <paramref name="ef"/>.</summary>
    public bool IsCalibrated(int ef) => Volatile.Read(ref _exactNsPerRow) > 0 && Volatile.Read(ref _graphEf) == ef;

    /// <summary>Exact scan nanoseconds per row read in a stream (0 before calibration).</summary>
    public double ExactNsPerRow => Volatile.Read(ref _exactNsPerRow);

    /// <summary>Exact scan nanoseconds added by each run of consecutive rows (a row read alone costs per row + per run).</summary>
    public double ExactNsPerRun => Volatile.Read(ref _exactNsPerRun);

    /// <summary>Unfiltered graph query nanoseconds at <see cref="GraphEf"/> (0 before calibration).</summary>
    public double GraphNs => Volatile.Read(ref _graphNs);

    /// <summary>The ef the graph cost was measured at.</summary>
    public int GraphEf => Volatile.Read(ref _graphEf);

    /// <summary>
    /// The prior cost of the two-hop walk (at its raised ef, <see cref="QueryPlanner.TwoHopEf"/>) relative to the unfiltered
    /// walk at the query's ef, for a filter admitting <paramref name="share"/> of the collection: 3.3 down to a 32nd, then
    /// growing as (a 32nd ÷ share)^1.5. Measured on 59k Debian descriptions × MiniLM at ef 32 on a quiet machine, the two
    /// interleaved query by query (benchmarks/results/ann-debian-filtered.jsonl, <c>paired_ratio_to_unfiltered</c>):
    /// 3.1–3.5 from 4 % to 50 %, 12–24 at 1 % (a share that small is usually below <c>FilteredExactScanLimit</c>, and
    /// the running ratio of its bucket corrects the prior once measured). The ratio measured one filter after another
    /// on a loaded machine (1.1–1.5, the prior before) was the load's: waiting for a core inflated the cheap unfiltered
    /// query more than the filtered one.
    /// </summary>
    public static double PriorRatio(double share) => 3.3 * Math.Pow(Math.Max(1, 1.0 / 32 / Math.Max(share, 1e-9)), 1.5);

    /// <summary>The bucket of a share: 0 for (½, 1], 1 for (¼, ½], …</summary>
    public static int Bucket(double share) => Math.Clamp((int)Math.Floor(-Math.Log2(Math.Max(share, 1e-9))), 0, Buckets - 1);

    /// <summary>
    /// Sets the costs from micro-measurements, each run three times and the fastest kept: <paramref name="streamScan"/> (an
    /// exact scan of <paramref name="streamRows"/> consecutive rows), <paramref name="scatteredScan"/> (of
    /// <paramref name="scatteredRows"/> rows each alone) and <paramref name="graphSearch"/> (an unfiltered graph query at
    /// <paramref name="ef"/>).
    /// </summary>
    public void Calibrate(Action streamScan, int streamRows, Action scatteredScan, int scatteredRows, Action graphSearch, int ef)
    {
        double stream = Fastest(streamScan) / Math.Max(1, streamRows);
        double scattered = Fastest(scatteredScan) / Math.Max(1, scatteredRows);
        double graph = Fastest(graphSearch);
        Calibrate(stream, graph, ef, Math.Max(0, scattered - stream));
    }

    /// <summary>Sets the measured exact-scan costs and unfiltered graph ns at <paramref name="ef"/> (tests give them directly).</summary>
    public void Calibrate(double exactNsPerRow, double graphNs, int ef, double exactNsPerRun = 0)
    {
        Volatile.Write(ref _exactNsPerRow, Math.Max(exactNsPerRow, 0.01));
        Volatile.Write(ref _exactNsPerRun, Math.Max(exactNsPerRun, 0));
        Volatile.Write(ref _graphNs, Math.Max(graphNs, 1));
        Volatile.Write(ref _graphEf, ef);
    }

    /// <summary>
    /// True when the exact scan of <paramref name="allowed"/> of <paramref name="live"/> records, in <paramref name="runs"/>
    /// runs of consecutive slots, is estimated cheaper than the two-hop walk.
    /// </summary>
    public bool ExactIsCheaper(int allowed, int live, int runs = 0)
    {
        double share = allowed / (double)Math.Max(1, live);
        return EstimateExactNs(allowed, runs) <= EstimateTwoHopNs(share);
    }

    public double EstimateExactNs(int allowed, int runs = 0) => (allowed * ExactNsPerRow) + (runs * ExactNsPerRun);

    public double EstimateTwoHopNs(double share) => GraphNs * Volatile.Read(ref _ratio[Bucket(share)]);

    /// <summary>
    /// An exact scan of <paramref name="rows"/> rows in <paramref name="runs"/> runs took <paramref name="elapsedTicks"/>
    /// (<see cref="Stopwatch"/> ticks): both per-row and per-run costs move by the same factor toward what it measured.
    /// </summary>
    public void RecordExact(int rows, long elapsedTicks, int runs = 0)
    {
        double perRow = ExactNsPerRow;
        if (rows >= 256 && perRow > 0)
        {
            double estimate = EstimateExactNs(rows, runs);
            double factor = Math.Clamp(Nanoseconds(elapsedTicks) / estimate, 0.25, 4);
            double step = 1 + (Weight * (factor - 1));
            Volatile.Write(ref _exactNsPerRow, perRow * step);
            Volatile.Write(ref _exactNsPerRun, ExactNsPerRun * step);
        }
    }

    /// <summary>An unfiltered graph query at <paramref name="ef"/> took <paramref name="elapsedTicks"/>.</summary>
    public void RecordGraph(int ef, long elapsedTicks)
    {
        if (ef == GraphEf && GraphNs > 0)
        {
            Update(ref _graphNs, Nanoseconds(elapsedTicks));
        }
    }

    /// <summary>A two-hop query admitting <paramref name="share"/> at <paramref name="ef"/> took <paramref name="elapsedTicks"/>.</summary>
    public void RecordTwoHop(double share, int ef, long elapsedTicks)
    {
        double graph = GraphNs;
        if (ef == GraphEf && graph > 0)
        {
            Update(ref _ratio[Bucket(share)], Nanoseconds(elapsedTicks) / graph);
        }
    }

    private static void Update(ref double estimate, double sample)
    {
        double current = Volatile.Read(ref estimate);
        double clamped = Math.Clamp(sample, current / 4, current * 4);
        Volatile.Write(ref estimate, current + (Weight * (clamped - current)));
    }

    private static double Nanoseconds(long ticks) => ticks * (1e9 / Stopwatch.Frequency);

    private static double Fastest(Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Nanoseconds(Stopwatch.GetTimestamp() - start));
        }

        return best;
    }

    /// <summary>Rows in a bitmap prefix (the calibration scan's row count).</summary>
    public static int PopCount(ReadOnlySpan<ulong> bits)
    {
        int count = 0;
        foreach (ulong word in bits)
        {
            count += BitOperations.PopCount(word);
        }

        return count;
    }
}
