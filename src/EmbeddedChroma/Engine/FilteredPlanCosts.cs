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
    private readonly double[] _walkCorrection = new double[Buckets];
    private double _exactNsPerRow;
    private double _sketchNsPerRow;
    private double _estimateNsPerRow;
    private double _exactNsPerRun;
    private double _graphNs;
    private int _graphEf;

    public FilteredPlanCosts()
    {
        for (int b = 0; b < Buckets; b++)
        {
            _ratio[b] = PriorRatio(Math.Pow(2, -b - 0.5));
            _walkCorrection[b] = 1;
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

    /// <summary>
    /// The prior cost of the plain filtered walk (at <see cref="QueryPlanner.WalkEf"/>) relative to the unfiltered walk
    /// for a filter admitting <paramref name="share"/>: 1 + 2.4 · (1 − share) / min(1, 2 · share): 2.2 at half the rows
    /// (real text, 59k Debian × MiniLM at ef 32, ~50 % filters: 2.0–2.5), 1 with everything allowed, growing as 1/share
    /// below half (the walk crosses ~1/share nodes per allowed one).
    /// </summary>
    public static double PriorWalkRatio(double share) => 1 + (2.4 * (1 - Math.Clamp(share, 0, 1)) / Math.Min(1, Math.Max(2 * share, 1e-9)));

    /// <summary>Sketch scan nanoseconds per allowed row in its Hamming stage (0 before calibration).</summary>
    public double SketchNsPerRow => Volatile.Read(ref _sketchNsPerRow);

    /// <summary>Sketch scan nanoseconds per shortlisted row in its estimate stage (0 before calibration).</summary>
    public double EstimateNsPerRow => Volatile.Read(ref _estimateNsPerRow);

    /// <summary>
    /// Sets the sketch scan's per-row costs from two timed scans of <paramref name="rows"/> rows (each run three times,
    /// the fastest kept): <paramref name="hammingScan"/> through the Hamming stage and <paramref name="estimateScan"/>
    /// through the estimate stage alone (the shortlist as large as the rows).
    /// </summary>
    public void CalibrateSketch(Action hammingScan, Action estimateScan, int rows)
    {
        double hamming = Fastest(hammingScan) / Math.Max(1, rows);
        double estimate = Fastest(estimateScan) / Math.Max(1, rows);
        CalibrateSketch(hamming, estimate);
    }

    /// <summary>Sets the sketch scan's per-row costs directly (tests).</summary>
    public void CalibrateSketch(double sketchNsPerRow, double estimateNsPerRow)
    {
        Volatile.Write(ref _sketchNsPerRow, Math.Max(sketchNsPerRow, 0.01));
        Volatile.Write(ref _estimateNsPerRow, Math.Max(estimateNsPerRow, 0.01));
    }

    /// <summary>
    /// The sketch scan of <paramref name="allowed"/> rows keeping <paramref name="shortlist"/> for estimates and
    /// re-ranking <paramref name="rerank"/>: the Hamming stage over every allowed row (skipped when the shortlist holds
    /// them all), the estimates over the shortlist, and the re-ranked rows each read alone (the exact scan's per row + per
    /// run). Infinite before <see cref="CalibrateSketch(double, double)"/>.
    /// </summary>
    public double EstimateSketchNs(int allowed, int shortlist, int rerank)
    {
        double perRow = SketchNsPerRow;
        if (perRow <= 0)
        {
            return double.PositiveInfinity;
        }

        double hamming = allowed > shortlist ? allowed * perRow : 0;
        return hamming + (Math.Min(allowed, shortlist) * EstimateNsPerRow) + (Math.Min(allowed, rerank) * (ExactNsPerRow + ExactNsPerRun));
    }

    /// <summary>A sketch scan (see <see cref="EstimateSketchNs"/>) took <paramref name="elapsedTicks"/>: its per-row costs move by one factor toward it.</summary>
    public void RecordSketch(int allowed, int shortlist, int rerank, long elapsedTicks)
    {
        double perRow = SketchNsPerRow;
        if (allowed >= 256 && perRow > 0)
        {
            double factor = Math.Clamp(Nanoseconds(elapsedTicks) / EstimateSketchNs(allowed, shortlist, rerank), 0.25, 4);
            double step = 1 + (Weight * (factor - 1));
            Volatile.Write(ref _sketchNsPerRow, perRow * step);
            Volatile.Write(ref _estimateNsPerRow, EstimateNsPerRow * step);
        }
    }

    /// <summary>
    /// The plain filtered walk's estimated nanoseconds for a filter admitting <paramref name="share"/>: the unfiltered
    /// walk's × <see cref="PriorWalkRatio"/> at that share × the correction its share bucket has measured (1 until then).
    /// </summary>
    public double EstimateWalkNs(double share) => GraphNs * PriorWalkRatio(share) * Volatile.Read(ref _walkCorrection[Bucket(share)]);

    /// <summary>A plain filtered walk admitting <paramref name="share"/> at <paramref name="ef"/> took <paramref name="elapsedTicks"/>: its bucket's correction follows.</summary>
    public void RecordWalk(double share, int ef, long elapsedTicks)
    {
        double graph = GraphNs;
        if (ef == GraphEf && graph > 0)
        {
            Update(ref _walkCorrection[Bucket(share)], Nanoseconds(elapsedTicks) / (graph * PriorWalkRatio(share)));
        }
    }

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

    /// <summary>The current estimates, for diagnostics (benchmarks print them).</summary>
    public override string ToString() =>
        FormattableString.Invariant($"exact {ExactNsPerRow:F1} ns/row + {ExactNsPerRun:F1} ns/run; sketch {SketchNsPerRow:F2} ns/row, estimate {EstimateNsPerRow:F2} ns/row; graph {GraphNs / 1000:F1} µs at ef {GraphEf}; two-hop ×[{string.Join(' ', _ratio.Take(8).Select(r => r.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}]; walk correction ×[{string.Join(' ', _walkCorrection.Take(4).Select(r => r.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}]");

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
