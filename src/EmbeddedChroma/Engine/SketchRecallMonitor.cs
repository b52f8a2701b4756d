using System.Collections.Concurrent;
using System.Numerics;

namespace EmbeddedChroma.Engine;

/// <summary>
/// Whether the sketch scan (<see cref="Index.SignSketch"/>) may answer a collection's filtered queries, learned by
/// checking it against the exact scan. How well one bit per component ranks depends on the data and on how many rows a
/// filter allows: on real text (59k MiniLM descriptions) it kept recall@10 at 0.98–0.99 up to 30,000 allowed rows, while
/// on clustered synthetic rows (1,000,000 × 384, 100 clusters) it fell to 0.86 at 20,000 and 0.49 at 100,000, where all
/// of a cluster's rows share most signs. So the planner never trusts it blindly: per power-of-two count of allowed rows
/// and per ef, the first <see cref="FirstChecks"/> sketch queries are also answered by the exact scan (which is what the
/// caller returns) and the sketch's recall against it is recorded; the sketch is used once their mean is at least
/// <see cref="RequiredRecall"/> (checks go on, up to <see cref="MostChecks"/>, while the mean is between
/// <see cref="FailingRecall"/> and that), then checked again every <see cref="CheckEvery"/>th query; a mean below
/// <see cref="FailingRecall"/> turns it off for that count until the collection is reopened. A distrusted count never
/// takes the sketch.
/// </summary>
/// <remarks>Thread-safe: each count's record takes its own short lock.</remarks>
internal sealed class SketchRecallMonitor
{
    /// <summary>Checks before a count of allowed rows may be trusted.</summary>
    internal const int FirstChecks = 8;

    /// <summary>Checks after which a count still short of <see cref="RequiredRecall"/> is distrusted.</summary>
    internal const int MostChecks = 32;

    /// <summary>Once trusted, one query in this many is checked again.</summary>
    internal const int CheckEvery = 256;

    /// <summary>The mean recall of the sketch's top k against the exact top k a count needs to be trusted.</summary>
    internal const double RequiredRecall = 0.95;

    /// <summary>
    /// A mean below this distrusts a count at once (after <see cref="FirstChecks"/>), and a trusted count whose mean
    /// falls below it is distrusted. One query's recall@10 varies by 0.1–0.3 around the mean, so a bar this far under
    /// <see cref="RequiredRecall"/> keeps a sketch whose true recall is 0.98 from being turned off by a few bad draws.
    /// </summary>
    internal const double FailingRecall = 0.92;

    private readonly ConcurrentDictionary<(int Bucket, int Ef), Record> _records = new();

    /// <summary>What is known about the sketch for a filter allowing <paramref name="allowed"/> rows at <paramref name="ef"/>.</summary>
    public SketchVerdict Verdict(int allowed, int ef) =>
        _records.TryGetValue(Key(allowed, ef), out var record) ? record.Verdict : SketchVerdict.Unknown;

    /// <summary>
    /// True when this sketch query should also be answered exactly and its recall recorded: while the count is not yet
    /// judged, and every <see cref="CheckEvery"/>th query once trusted.
    /// </summary>
    public bool ShouldCheck(int allowed, int ef)
    {
        var record = _records.GetOrAdd(Key(allowed, ef), static _ => new Record());
        lock (record)
        {
            if (record.Verdict == SketchVerdict.Unknown)
            {
                return true;
            }

            if (record.Verdict == SketchVerdict.Trusted && ++record.SinceCheck >= CheckEvery)
            {
                record.SinceCheck = 0;
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// Records the recall of one checked sketch query (its top k against the exact top k) into the count's mean over all
    /// its checks: trusted from <see cref="FirstChecks"/> checks at a mean of <see cref="RequiredRecall"/> or more,
    /// distrusted below <see cref="FailingRecall"/> (or still short after <see cref="MostChecks"/>); a distrusted count stays so.
    /// </summary>
    public void RecordRecall(int allowed, int ef, double recall)
    {
        var record = _records.GetOrAdd(Key(allowed, ef), static _ => new Record());
        lock (record)
        {
            record.Checks++;
            record.Mean += (recall - record.Mean) / record.Checks;
            if (record.Checks < FirstChecks || record.Verdict == SketchVerdict.Distrusted)
            {
                return;
            }

            record.Verdict = record.Mean < FailingRecall ? SketchVerdict.Distrusted
                : record.Verdict == SketchVerdict.Trusted || record.Mean >= RequiredRecall ? SketchVerdict.Trusted
                : record.Checks >= MostChecks ? SketchVerdict.Distrusted
                : SketchVerdict.Unknown;
        }
    }

    /// <summary>The fraction of <paramref name="expected"/>'s slots that <paramref name="got"/> holds (1 when both are empty).</summary>
    public static double Recall(ReadOnlySpan<Index.Neighbor> got, ReadOnlySpan<Index.Neighbor> expected)
    {
        if (expected.Length == 0)
        {
            return 1;
        }

        var hits = 0;
        foreach (var want in expected)
        {
            foreach (var have in got)
            {
                if (have.Slot == want.Slot)
                {
                    hits++;
                    break;
                }
            }
        }

        return hits / (double)expected.Length;
    }

    /// <summary>
    /// How many of <paramref name="reference"/>'s k places <paramref name="got"/> fills at least as near (a neighbour no
    /// farther than the reference's k-th), as a fraction of k (1 when the reference is empty): 1 when <paramref name="got"/>
    /// is as good an answer as the reference, even if it holds other neighbours at the same distances or nearer ones.
    /// Both carry exact distances.
    /// </summary>
    public static double AtLeastAsNear(ReadOnlySpan<Index.Neighbor> got, ReadOnlySpan<Index.Neighbor> reference)
    {
        if (reference.Length == 0)
        {
            return 1;
        }

        var farthest = reference[^1].Distance;
        var near = 0;
        foreach (var have in got)
        {
            near += have.Distance <= farthest ? 1 : 0;
        }

        return Math.Min(near, reference.Length) / (double)reference.Length;
    }

    private static (int, int) Key(int allowed, int ef) => (BitOperations.Log2((uint)Math.Max(1, allowed)), ef);

    private sealed class Record
    {
        public SketchVerdict Verdict;
        public int Checks;
        public double Mean;
        public int SinceCheck;
    }
}

/// <summary>What the <see cref="SketchRecallMonitor"/> knows about the sketch for one count of allowed rows.</summary>
internal enum SketchVerdict
{
    /// <summary>Still being checked: queries take the sketch and the exact scan, and return the exact answer.</summary>
    Unknown,

    /// <summary>Kept its recall: queries take the sketch (checked now and then).</summary>
    Trusted,

    /// <summary>Fell short: the planner does not consider the sketch for this count.</summary>
    Distrusted,
}
