using System.Buffers;
using System.Diagnostics;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Internal;
using EmbeddedChroma.Storage;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Engine;

/// <summary>
/// Answers one collection's nearest-neighbour queries: turns the selectors (ids, <c>where</c>, <c>where_document</c>) into
/// an allowed-slot set (through the in-memory <see cref="MetadataFilterIndex"/> or SQL, cached per write in the
/// <see cref="AllowedSlotCache"/>), chooses exact scan or the HNSW graph, and fans several query embeddings out in
/// parallel. Caller holds the collection's read lock (so no write runs meanwhile).
/// </summary>
/// <param name="state">The collection's state.</param>
/// <param name="limits">The store's limits.</param>
/// <param name="filterIndex">
/// The collection's in-memory filter index (loaded from its saved file or built from the records on first use), or null
/// when disabled or over budget: <c>where</c> is then filtered in SQL on the filter rows.
/// </param>
/// <param name="requireCheckedRows">Called before <c>where</c> is filtered in SQL: throws when the filter rows were not checked this open.</param>
internal sealed class QueryPlanner(CollectionState state, StoreLimits limits, Func<SqliteConnection, MetadataFilterIndex?> filterIndex, Action requireCheckedRows)
{
    private readonly CollectionState _state = state;
    private readonly StoreLimits _limits = limits;

    /// <summary>The in-memory filter index if built (tests).</summary>
    public MetadataFilterIndex? BuiltFilterIndex => _state.FilterIndex;

    /// <summary>The nearest slots of each query embedding, ascending by distance (at most <paramref name="nResults"/> each).</summary>
    public Neighbor[][] Search(SqliteConnection connection, IReadOnlyList<float[]> queries, int nResults, Where? where, WhereDocument? whereDocument, IReadOnlyList<string>? ids, int? efSearch)
    {
        var hits = new Neighbor[queries.Count][];
        var rows = _state.Rows;
        if (_state.Dimension is { } dimension && _state.Count > 0 && rows is not null)
        {
            AllowedSet? candidates = where is null && whereDocument is null && ids is null
                ? null
                : AllowedSlots(connection, ids, where, whereDocument);
            var k = Math.Min(nResults, candidates?.Count ?? _state.Count);
            var cosine = _state.Configuration.Space == DistanceSpace.Cosine;
            var graph = _state.Indexer?.Graph;
            var ef = Math.Max(efSearch ?? _state.Configuration.EfSearch, k);
            var route = Choose(graph, rows, candidates, k, ef, queries[0]);
            Telemetry.QueryPlan(route switch { Route.Exact when candidates is null => Telemetry.Plans.Exact, Route.Exact or Route.FilteredExact or Route.Sketch => Telemetry.Plans.Filtered, _ => Telemetry.Plans.Graph }, candidates is not null);
            Neighbor[] SearchOne(int q)
            {
                var normalized = cosine ? ArrayPool<float>.Shared.Rent(dimension) : null;
                try
                {
                    ReadOnlySpan<float> query = queries[q];
                    if (normalized is not null)
                    {
                        Distance.VectorMath.Normalize(query, normalized.AsSpan(0, dimension));
                        query = normalized.AsSpan(0, dimension);
                    }

                    var destination = new Neighbor[k];
                    var found = Nearest(route, rows, query, k, ef, candidates, destination);
                    return found == k ? destination : destination[..found];
                }
                finally
                {
                    if (normalized is not null)
                    {
                        ArrayPool<float>.Shared.Return(normalized);
                    }
                }
            }

            if (queries.Count > 1 && _limits.MaxQueryParallelism > 1)
            {
                // Several embeddings: answered in parallel. This thread holds the read lock for all of them (it
                // takes part in the loop and waits for the others), so no write can interleave.
                try
                {
                    Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = _limits.MaxQueryParallelism }, q => hits[q] = SearchOne(q));
                }
                catch (AggregateException aggregate) when (aggregate.InnerExceptions.Count > 0)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(aggregate.InnerExceptions[0]).Throw();
                    throw;
                }
            }
            else
            {
                for (var q = 0; q < queries.Count; q++)
                {
                    hits[q] = SearchOne(q);
                }
            }
        }
        else
        {
            Array.Fill(hits, []);
        }

        return hits;
    }

    /// <summary>How one call's queries are answered.</summary>
    private enum Route
    {
        /// <summary>No graph: exact scan over the live (or allowed) slots.</summary>
        Exact,

        /// <summary>Unfiltered: the graph walk.</summary>
        Graph,

        /// <summary>Filtered, with a graph: exact scan over the allowed slots.</summary>
        FilteredExact,

        /// <summary>Filtered: the graph walk through every node, returning allowed ones, at <see cref="WalkEf"/>.</summary>
        Walk,

        /// <summary>Filtered: the two-hop walk over allowed nodes.</summary>
        TwoHop,

        /// <summary>Filtered: a scan of the allowed rows' sign sketch, the best re-ranked exactly (<see cref="SignSketch"/>).</summary>
        Sketch,
    }

    /// <summary>
    /// The query plan for one call. No graph (small collection): exact scan over live or allowed slots. No filter: the
    /// graph. A filter: an exact scan of the allowed slots when they number at most <c>FilteredExactScanLimit</c>; else
    /// the cheapest by the collection's measured costs (<see cref="FilteredPlanCosts"/>) of the exact scan (allowed × ns
    /// per streamed row + the allowed set's runs of consecutive slots × ns per run), the sketch scan (<see cref="SignSketch"/>:
    /// allowed × ns per row's bits + the shortlist's estimates + the re-ranked rows, each read alone) and a graph walk:
    /// the two-hop walk below half the rows (the unfiltered walk's ns × its measured ratio for the share), the plain walk
    /// at <see cref="WalkEf"/> from a quarter up (× <see cref="FilteredPlanCosts.PriorWalkRatio"/>, corrected by what it
    /// measures). Calibrated on this call's first query the first time it is needed. The exact scan wins ties (its recall
    /// is 1). The sketch is considered once it is ready (filled in the background, <see cref="StartSketchBuild"/>) and
    /// only where it has not fallen short of the exact scan's answers (<see cref="SketchRecallMonitor"/>). Real text (59k
    /// Debian descriptions × MiniLM, ef 32): the sketch scan at 4–20 % (1.0–2.0× the unfiltered query, recall
    /// 0.97–0.99), the plain walk at 50 % (README → Filtered search on real text).
    /// </summary>
    private Route Choose(HnswIndex? graph, IVectorRows rows, AllowedSet? candidates, int k, int ef, float[] firstQuery)
    {
        if (graph is null)
        {
            return Route.Exact;
        }

        if (candidates is null)
        {
            return Route.Graph;
        }

        switch (_limits.FilteredPlan)
        {
            case FilteredPlan.Exact:
                return Route.FilteredExact;
            case FilteredPlan.Walk:
                return Route.Walk;
            case FilteredPlan.TwoHop:
                return Route.TwoHop;
            case FilteredPlan.Sketch:
                return Route.Sketch;
            case FilteredPlan.SketchWalk:
                return Route.Walk;
        }

        var live = Math.Max(1, _state.Count);
        if (candidates.Count <= _limits.FilteredExactScanLimit)
        {
            return Route.FilteredExact;
        }

        if (!Costs.IsCalibrated(ef))
        {
            Calibrate(graph, rows, k, ef, _state.Configuration.Space == DistanceSpace.Cosine ? Normalized(firstQuery) : firstQuery);
        }

        var share = candidates.Count / (double)live;
        var exact = Costs.EstimateExactNs(candidates.Count, candidates.Runs);
        var sketch = double.PositiveInfinity;
        if (_state.Dimension >= SketchMinimumDimension && _state.Arena is { } arena)
        {
            // The sketch is built in the background on first need (for the sketch scan and the walk's steering); until
            // it is ready the other plans answer.
            if (arena.Sketch is not { Ready: true } ready)
            {
                StartSketchBuild(arena);
            }
            else if (SketchChecks.Verdict(candidates.Count, ef) != SketchVerdict.Distrusted)
            {
                if (Costs.SketchNsPerRow <= 0 || Interlocked.Increment(ref _sketchPassedOver) % SketchRecalibrateEvery == 0)
                {
                    CalibrateSketch(ready, rows, k, _state.Configuration.Space == DistanceSpace.Cosine ? Normalized(firstQuery) : firstQuery);
                }

                sketch = Costs.EstimateSketchNs(candidates.Count, SketchShortlist(ef, k), SketchRerank(ef, k));
            }
        }

        var twoHop = share * 2 >= 1 ? double.PositiveInfinity : Costs.EstimateTwoHopNs(share);
        var walk = share * 4 >= 1 ? Costs.EstimateWalkNs(share) : double.PositiveInfinity;
        var graphWalk = Math.Min(twoHop, walk);
        if (exact <= sketch && exact <= graphWalk)
        {
            return Route.FilteredExact;
        }

        if (sketch <= graphWalk)
        {
            // Taken: its own timings keep its costs current (see SketchRecalibrateEvery for when it is not).
            Volatile.Write(ref _sketchPassedOver, 0);
            return Route.Sketch;
        }

        return walk <= twoHop ? Route.Walk : Route.TwoHop;
    }

    /// <summary>
    /// The fewest dimensions at which the planner considers the sketch scan: one bit per component says little about a
    /// short vector (24 dimensions, 20 clusters, half the rows allowed: recall@10 0.93 with 300 rows re-ranked), and
    /// short rows are cheap to scan exactly anyway. Text embedding models have 384 and more.
    /// </summary>
    internal const int SketchMinimumDimension = 128;

    /// <summary>
    /// Rows the sketch scan re-ranks with exact distances for a query at <paramref name="ef"/>: 3 · ef (at least k). On
    /// real text (59k Debian descriptions × MiniLM, ef 32, 1–50 % filters) 2 · ef re-ranked gave recall@10 0.935–0.98 (the
    /// lowest at 1 %, a filter whose rows are alike), 3 · ef 0.97–0.99; the unfiltered walk at ef 32 gives 0.95. Each
    /// re-ranked row is one float32 row read alone (~0.3 µs there), so this is most of the scan's cost at small shares.
    /// </summary>
    internal static int SketchRerank(int ef, int k) => Math.Max(k, 3 * ef);

    /// <summary>
    /// Rows the sketch scan's Hamming stage keeps for its estimate stage: 8 · ef (256 at ef 32), at least the re-ranked
    /// rows. Offline on the same data, 16 · ef kept 0.001–0.007 more recall@10 at twice the estimate stage's cost.
    /// </summary>
    internal static int SketchShortlist(int ef, int k) => Math.Max(SketchRerank(ef, k), 8 * ef);

    /// <summary>The collection's measured query costs (see <see cref="FilteredPlanCosts"/>).</summary>
    internal FilteredPlanCosts Costs { get; } = new();

    /// <summary>Where the sketch scan has kept its recall on this collection (see <see cref="SketchRecallMonitor"/>).</summary>
    internal SketchRecallMonitor SketchChecks { get; } = new();

    /// <summary>
    /// Times exact scans and an unfiltered graph query at <paramref name="ef"/>. Two scans: the first (up to) 4,096 slots'
    /// live rows in order (streamed: the cost per row of a long run), and one live row per 64 slots over up to 4,096 × 64
    /// slots, a different row of each run of 64 in each of the three timed scans so none is answered from the caches the
    /// previous one filled (the cost of a row read alone). A filter's scan is then estimated from its rows and its runs of
    /// consecutive slots (<see cref="AllowedSet.Runs"/>). Calibrated on the streamed scan alone, the planner chose the exact
    /// scan at 10 % on real text (rows scattered: 5.4–6.9× the unfiltered query against the two-hop walk's ~3×); on the
    /// scattered one alone, the two-hop walk at 10 % of a collection whose filter takes slots in runs of 100 (3.5× against
    /// the scan's 2.1×). README → Filtered search on real text.
    /// </summary>
    private void Calibrate(HnswIndex graph, IVectorRows rows, int k, int ef, float[] query)
    {
        var space = _state.Configuration.Space;
        var live = _state.Live;
        var prefix = live.AsMemory(0, Math.Min(live.Length, 64));
        var samples = SpreadSamples(live, Math.Min(live.Length, 4096), 3);
        var buffer = new Neighbor[Math.Max(k, 1)];
        var run = 0;
        Costs.Calibrate(
            () => ExactScan.Search(rows, space, query, buffer.Length, prefix.Span, buffer),
            FilteredPlanCosts.PopCount(prefix.Span),
            () => ExactScan.Search(rows, space, query, buffer.Length, samples[run++ % samples.Length], buffer),
            FilteredPlanCosts.PopCount(samples[0]),
            () => graph.Search(query, buffer.Length, ef, SlotFilter.FromBitmap(live), buffer),
            ef);
    }

    /// <summary>
    /// Times the sketch's two per-row costs over the first (up to) 4,096 slots' live rows, streamed: its Hamming stage
    /// (shortlist and re-rank only k) and its estimate stage (a shortlist as large as the rows, so the Hamming stage is
    /// skipped).
    /// </summary>
    private void CalibrateSketch(SignSketch sketch, IVectorRows rows, int k, float[] query)
    {
        var buffer = new Neighbor[Math.Max(k, 1)];
        var sampled = _state.Live.AsMemory(0, Math.Min(_state.Live.Length, 4096 / 64));
        var sampledRows = FilteredPlanCosts.PopCount(sampled.Span);
        Costs.CalibrateSketch(
            () => SketchSearch(sketch, rows, query, buffer.Length, buffer.Length, buffer.Length, sampled.Span, buffer),
            () => SketchSearch(sketch, rows, query, buffer.Length, sampledRows, buffer.Length, sampled.Span, buffer),
            sampledRows);
    }

    /// <summary>Filtered queries since the sketch scan was last taken while it was ready and not distrusted.</summary>
    private int _sketchPassedOver;

    /// <summary>
    /// The sketch scan's costs are timed again after this many filtered queries in a row that considered it and took
    /// another plan: its costs move only with its own queries, so a first timing taken in a slow moment (measured: 5×
    /// on a loaded machine, once) would otherwise keep it out for good. ~60–100 µs each time.
    /// </summary>
    internal const int SketchRecalibrateEvery = 512;

    /// <summary>1 while a background sketch build runs (<see cref="StartSketchBuild"/>).</summary>
    private int _sketchBuilding;

    /// <summary>Rows coded per hold of the read lock by the background sketch build (~10–20 ms of a writer's wait at most).</summary>
    internal const int SketchBuildChunk = 16_384;

    /// <summary>
    /// Starts filling <paramref name="arena"/>'s sign sketch on a pool thread unless one is running: it installs an empty
    /// sketch (every later write is coded into it), then codes the existing rows a chunk per hold of the collection's read
    /// lock (taken with a timeout, as the indexer does, so a writer or a close is never held up for long), and marks it
    /// ready. It stops, leaving the sketch unready, if the collection closes, is deleted or gets another arena (a
    /// compaction); a later query starts again. So the first filtered query does not pay for the whole build (~0.45 s
    /// at 1,000,000 × 384): it and those after it take the other plans until the sketch is ready.
    /// </summary>
    private void StartSketchBuild(VectorArena arena)
    {
        if (Interlocked.CompareExchange(ref _sketchBuilding, 1, 0) != 0)
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                BuildSketch(arena);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                // The collection closed or its arena went away meanwhile: nothing to build for.
            }
            finally
            {
                Volatile.Write(ref _sketchBuilding, 0);
            }
        });
    }

    private void BuildSketch(VectorArena arena)
    {
        SignSketch? sketch = null;
        var end = 0;
        for (var from = 0; sketch is null || from < end;)
        {
            if (!_state.Lock.TryEnterReadLock(50))
            {
                continue;
            }

            try
            {
                if (!ReferenceEquals(_state.Arena, arena) || _state.Deleted || (sketch is not null && !ReferenceEquals(arena.Sketch, sketch)))
                {
                    return;
                }

                if (sketch is null)
                {
                    sketch = arena.BeginSketch();
                    if (sketch is null)
                    {
                        return;
                    }

                    end = sketch.SlotCount;
                    continue;
                }

                var to = Math.Min(end, from + SketchBuildChunk);
                arena.FillSketch(sketch, from, to);
                from = to;
            }
            finally
            {
                _state.Lock.ExitReadLock();
            }
        }

        sketch.MarkReady();
    }

    /// <summary>
    /// Whether the filtered walk is checked against the plain walk per count of allowed rows (see
    /// <see cref="WalkSketch"/>): recall here is <see cref="SketchRecallMonitor.AtLeastAsNear"/> the plain walk's answer.
    /// </summary>
    internal SketchRecallMonitor WalkSketchChecks { get; } = new();

    /// <summary>
    /// The sketch that steers the plain filtered walk through its disallowed nodes (<see cref="HnswIndex.SearchSketched"/>),
    /// or null for the plain walk: a float32 collection of at least <see cref="SketchMinimumDimension"/> dimensions whose
    /// sketch is ready (built at once when the plan is forced), for a count of allowed rows where the steered walk has
    /// not fallen short of the plain walk's answers (<see cref="WalkSketchChecks"/>). A disallowed node then costs its
    /// sketch bits (one cache line, ~20 ns) instead of its float32 row; real text (59k Debian × MiniLM, ~50 % allowed,
    /// in memory): the walk 1.64–1.73× the unfiltered query → 1.32–1.36×, recall@10 0.958/0.965 → 0.960/0.968
    /// (<c>walk-profile</c>). The estimate scales each row's signs by ‖x − mean‖² / Σ|x − mean| (unbiased where the
    /// least-squares scale shrinks every dot product: with it the steered walk lost 0.07–0.10 of recall).
    /// </summary>
    private SignSketch? WalkSketch(int allowed, int ef)
    {
        if (_state.Configuration.VectorStorage != VectorStorage.Float32 || _state.Dimension < SketchMinimumDimension || _state.Arena is not { } arena)
        {
            return null;
        }

        return _limits.FilteredPlan switch
        {
            FilteredPlan.SketchWalk => arena.EnsureSketch(),
            FilteredPlan.Auto when arena.Sketch is { Ready: true } ready && WalkSketchChecks.Verdict(allowed, ef) != SketchVerdict.Distrusted => ready,
            _ => null,
        };
    }

    private int SketchSearch(SignSketch sketch, IVectorRows rows, ReadOnlySpan<float> query, int k, int shortlist, int rerank, ReadOnlySpan<ulong> admitted, Span<Neighbor> destination) =>
        _state.Configuration.Space == DistanceSpace.L2
            ? sketch.Search<Distance.L2Kernel>(rows, query, l2: true, k, shortlist, rerank, admitted, destination)
            : sketch.Search<Distance.DotDistanceKernel>(rows, query, l2: false, k, shortlist, rerank, admitted, destination);

    /// <summary>
    /// <paramref name="count"/> bitmaps over the first <paramref name="words"/> words of <paramref name="live"/>, each with
    /// at most one bit per word: sample r takes the word's first live slot at or after r · 64 / count (or its first live
    /// slot when none is), so the samples differ wherever a word has live slots on both sides.
    /// </summary>
    internal static ulong[][] SpreadSamples(ReadOnlySpan<ulong> live, int words, int count)
    {
        var samples = new ulong[count][];
        for (int r = 0; r < count; r++)
        {
            var sample = new ulong[words];
            int from = r * 64 / count;
            for (int w = 0; w < words; w++)
            {
                ulong bits = live[w];
                if (bits == 0)
                {
                    continue;
                }

                ulong later = bits & (ulong.MaxValue << from);
                sample[w] = 1UL << System.Numerics.BitOperations.TrailingZeroCount(later != 0 ? later : bits);
            }

            samples[r] = sample;
        }

        return samples;
    }

    private static float[] Normalized(float[] query)
    {
        var normalized = new float[query.Length];
        Distance.VectorMath.Normalize(query, normalized);
        return normalized;
    }

    /// <summary>
    /// One query by <paramref name="route"/> (see <see cref="Choose"/>); the graph routes merge in an exact scan of
    /// the slots written but not yet linked. A two-hop walk that finds fewer than min(k, allowed) (the allowed
    /// subgraph out of its reach) is answered by the exact scan instead. Each route's time feeds <see cref="Costs"/>.
    /// </summary>
    private int Nearest(Route route, IVectorRows rows, ReadOnlySpan<float> query, int k, int ef, AllowedSet? candidates, Span<Neighbor> destination)
    {
        var space = _state.Configuration.Space;
        var graph = _state.Indexer?.Graph;
        var admitted = candidates?.Bits ?? _state.Live;
        if (graph is null || route is Route.Exact or Route.FilteredExact)
        {
            var started = Stopwatch.GetTimestamp();
            var scanned = ExactScan.Search(rows, space, query, k, admitted, destination);
            if (route == Route.FilteredExact)
            {
                Costs.RecordExact(candidates!.Count, Stopwatch.GetTimestamp() - started, candidates.Runs);
            }

            return scanned;
        }

        if (route == Route.Sketch && _state.Arena is { } sketched)
        {
            // The sketch mirrors every row written, linked or not: no pending tail to merge. Chosen by the planner, it is
            // checked against the exact scan until trusted for this many allowed rows (and now and then after), and a
            // checked query returns the exact answer.
            var checking = _limits.FilteredPlan != FilteredPlan.Sketch && SketchChecks.ShouldCheck(candidates!.Count, ef);
            var checkBuffer = checking ? ArrayPool<Neighbor>.Shared.Rent(k) : null;
            try
            {
                var started = Stopwatch.GetTimestamp();
                var shortlist = SketchShortlist(ef, k);
                var rerank = SketchRerank(ef, k);
                var sketchDestination = checkBuffer is null ? destination : checkBuffer.AsSpan(0, k);
                var found = SketchSearch(sketched.EnsureSketch(), rows, query, k, shortlist, rerank, admitted, sketchDestination);
                Costs.RecordSketch(candidates!.Count, shortlist, rerank, Stopwatch.GetTimestamp() - started);
                if (checkBuffer is null)
                {
                    return found;
                }

                var exact = ExactScan.Search(rows, space, query, k, admitted, destination);
                SketchChecks.RecordRecall(candidates.Count, ef, SketchRecallMonitor.Recall(sketchDestination[..found], destination[..exact]));
                return exact;
            }
            finally
            {
                if (checkBuffer is not null)
                {
                    ArrayPool<Neighbor>.Shared.Return(checkBuffer);
                }
            }
        }

        // The pending set first, then the walk: the background worker links while queries run (both hold the read
        // lock) and a slot leaves the set only once linked, so a slot missing from this snapshot was linked before the
        // walk starts and the walk can reach it. Taken after the walk, a slot linked during it would be in neither.
        var pending = _state.Indexer!.PendingSnapshot();
        var start = Stopwatch.GetTimestamp();
        int fromGraph;

        // A quantized collection's graph ranks by distances to its compact rows: it is asked for a few more candidates,
        // which are re-ranked with the float32 rows (read from the arena file), so results carry exact distances; rows of
        // candidates whose error bound keeps them out of the results are not read (CompactRerank). Re-ranking all ef
        // candidates instead changed no recall@10 on real text (int8, ef 32–40), so the pool stays this size.
        var arena = _state.Configuration.VectorStorage != VectorStorage.Float32 ? _state.Arena : null;
        var int8 = _state.Configuration.VectorStorage == VectorStorage.Int8;
        var factor = int8 ? RerankFactorInt8 : RerankFactor;
        var extra = int8 ? RerankMinimumExtraInt8 : RerankMinimumExtra;
        var wanted = arena is null ? k : Math.Min(Math.Max(ef, k), Math.Max(factor * k, k + extra));
        var pooled = arena is null ? null : ArrayPool<Neighbor>.Shared.Rent(wanted);
        try
        {
            var found = pooled is null ? destination : pooled.AsSpan(0, wanted);
            if (route == Route.TwoHop)
            {
                fromGraph = graph.SearchFiltered(query, wanted, TwoHopEf(ef), admitted, found);
                if (fromGraph < k)
                {
                    return ExactScan.Search(rows, space, query, k, admitted, destination);
                }

                Costs.RecordTwoHop(candidates!.Count / (double)Math.Max(1, _state.Count), ef, Stopwatch.GetTimestamp() - start);
            }
            else if (route == Route.Walk && WalkSketch(candidates!.Count, ef) is { } steering)
            {
                // The walk steered through disallowed nodes by their sketch estimates; until trusted for this many allowed
                // rows (and now and then after) the plain walk answers too, and its answer is returned.
                var walkEf = Math.Max(k, WalkEf(ef, candidates.Count / (double)Math.Max(1, _state.Count)));
                var checking = _limits.FilteredPlan == FilteredPlan.Auto && WalkSketchChecks.ShouldCheck(candidates.Count, ef);
                fromGraph = graph.SearchSketched(query, Math.Min(wanted, walkEf), walkEf, admitted, steering, found);
                Costs.RecordWalk(candidates.Count / (double)Math.Max(1, _state.Count), ef, Stopwatch.GetTimestamp() - start);
                if (checking)
                {
                    var plain = ArrayPool<Neighbor>.Shared.Rent(found.Length);
                    try
                    {
                        var planned = graph.Search(query, Math.Min(wanted, walkEf), walkEf, SlotFilter.FromBitmap(admitted), plain);
                        WalkSketchChecks.RecordRecall(candidates.Count, ef, SketchRecallMonitor.AtLeastAsNear(found[..Math.Min(fromGraph, k)], plain.AsSpan(0, Math.Min(planned, k))));
                        plain.AsSpan(0, planned).CopyTo(found);
                        fromGraph = planned;
                    }
                    finally
                    {
                        ArrayPool<Neighbor>.Shared.Return(plain);
                    }
                }
            }
            else
            {
                var walkEf = route == Route.Walk ? Math.Max(k, WalkEf(ef, candidates!.Count / (double)Math.Max(1, _state.Count))) : ef;
                fromGraph = graph.Search(query, Math.Min(wanted, walkEf), walkEf, SlotFilter.FromBitmap(admitted), found);
                if (route == Route.Graph)
                {
                    Costs.RecordGraph(ef, Stopwatch.GetTimestamp() - start);
                }
                else
                {
                    Costs.RecordWalk(candidates!.Count / (double)Math.Max(1, _state.Count), ef, Stopwatch.GetTimestamp() - start);
                }
            }

            if (arena is not null)
            {
                var pool = fromGraph;
                fromGraph = CompactRerank.Run(arena, space, query, found[..pool], destination, out var reads);
                Interlocked.Add(ref _rerankReads, reads);
                Interlocked.Add(ref _rerankCandidates, pool);
            }
        }
        finally
        {
            if (pooled is not null)
            {
                ArrayPool<Neighbor>.Shared.Return(pooled);
            }
        }

        if (pending.Length == 0)
        {
            return fromGraph;
        }

        // Written but not yet linked: scan those exactly (only live and allowed ones), then merge.
        var allowed = pending.Where(slot => IsLive(slot) && (candidates is null || candidates.Contains(slot))).ToArray();
        Array.Sort(allowed);
        var tail = new Neighbor[Math.Min(k, allowed.Length)];
        var fromTail = ExactScan.Search(rows, space, query, tail.Length, allowed, tail);
        var merged = destination[..fromGraph].ToArray().Concat(tail.AsSpan(0, fromTail).ToArray())
            .GroupBy(n => n.Slot).Select(g => g.First())
            .OrderBy(n => n.Distance).ThenBy(n => n.Slot).Take(k).ToArray();
        merged.CopyTo(destination);
        return merged.Length;
    }

    /// <summary>
    /// The ef the two-hop walk runs at for a query at <paramref name="ef"/>: a quarter more (rounded up), so a filtered
    /// query keeps the recall an unfiltered one has at the same setting. The two-hop walk lists at most MaxM0 allowed
    /// nodes per expansion, many of them two hops away, and at equal ef it measured 0.005–0.015 of recall@10 below the
    /// unfiltered walk on real text (59k Debian descriptions × MiniLM, ef 32, three graph builds, 4–50 % filters: as low
    /// as 0.945 against 0.953–0.958 unfiltered); a quarter more ef put every filter at 0.960–0.978, at ~15 % more time
    /// (an eighth more: 0.956 at worst). See README → Performance → Filtered search on real text.
    /// </summary>
    internal static int TwoHopEf(int ef) => ef + (int)(((long)ef + 3) / 4);

    /// <summary>
    /// The ef the plain filtered walk runs at for a query at <paramref name="ef"/> when a <paramref name="share"/> of the
    /// records is allowed: ef · (1 + share) / 2, rounded up (ef itself when everything is allowed). The plain walk computes
    /// distances for every node it crosses and keeps all of them as candidates, but only allowed ones as results; its stop
    /// bound is the ef-th allowed result, which at half the rows admitted lies as far out as the unfiltered walk's 2·ef-th:
    /// it therefore reaches the unfiltered recall at less ef. Measured on real text (59k Debian × MiniLM, ~50 % filters,
    /// unfiltered recall@10 0.952 at ef 32): ef 20 gave 0.947–0.957, 24 gave 0.956–0.965, 32 gave 0.964–0.974.
    /// </summary>
    internal static int WalkEf(int ef, double share) => (int)Math.Ceiling(ef * (1 + Math.Clamp(share, 0, 1)) / 2);

    private long _rerankReads;
    private long _rerankCandidates;

    /// <summary>Float32 rows a quantized collection's queries read to re-rank, and the candidates they re-ranked, since the collection opened (benchmarks, tests).</summary>
    internal (long Reads, long Candidates) RerankCounts => (Interlocked.Read(ref _rerankReads), Interlocked.Read(ref _rerankCandidates));

    /// <summary>Candidates re-ranked per result asked for (<see cref="CompactRerank"/>) on a float16 collection: k · this, at least k + <see cref="RerankMinimumExtra"/>, at most ef.</summary>
    internal const int RerankFactor = 2;

    /// <summary>
    /// As <see cref="RerankFactor"/> on an int8 collection. Was 4 (for coarser distances misordering candidates near the
    /// k-th); 2 measured as good: 100,000 × 384 cosine, ef 44–60, interleaved with float32 in one process (`quant-paired`,
    /// quiet machine): int8 recall@10 within 0.002 of float32's at every ef either way, QPS at recall ≥ 0.95 1.15× float32
    /// with 4 and 1.28× with 2 (each re-ranked candidate is one positional read of its float32 row).
    /// </summary>
    internal const int RerankFactorInt8 = 2;

    /// <summary>Fewest extra candidates re-ranked beyond k.</summary>
    internal const int RerankMinimumExtra = 16;

    /// <summary>
    /// As <see cref="RerankMinimumExtra"/> on an int8 collection: 20 candidates at k = 10 instead of 26 (each one positional
    /// read of a float32 row). Measured at 100,000 × 384 cosine (`quant-paired`, 500 queries): int8 recall@10 exactly the
    /// same with 10 as with 16 at every ef of 44–60 (0.9310 / 0.9416 / 0.9496 / 0.9568 / 0.9630).
    /// </summary>
    internal const int RerankMinimumExtraInt8 = 10;

    /// <summary>
    /// The live slots the selectors allow; reused while no write has happened since (see <see cref="AllowedSlotCache"/>).
    /// <c>where</c> is evaluated by the in-memory <see cref="MetadataFilterIndex"/> (loaded or built on first use) unless
    /// it is over budget; ids and <c>where_document</c> are resolved in SQL and ANDed in.
    /// </summary>
    private AllowedSet AllowedSlots(SqliteConnection connection, IReadOnlyList<string>? ids, Where? where, WhereDocument? whereDocument)
    {
        var key = string.Concat(where?.ToJson(), "\n", whereDocument?.ToJson(), "\n", ids is null ? null : System.Text.Json.JsonSerializer.Serialize(ids));
        if (_state.FilterCache.TryGet(key, _state.LastSeq, out var cached))
        {
            return cached;
        }

        var words = _state.Live.Length;
        var index = where is null ? null : filterIndex(connection);
        ulong[] bits;
        if (index is null)
        {
            if (where is not null)
            {
                requireCheckedRows();
            }

            bits = SlotBitmap.FromSlots(RecordReader.SelectSlots(connection, _state, ids, where, whereDocument), words);
        }
        else
        {
            bits = index.Evaluate(where!, _state.Live);
            if (ids is not null || whereDocument is not null)
            {
                var rest = SlotBitmap.FromSlots(RecordReader.SelectSlots(connection, _state, ids, null, whereDocument), words);
                System.Numerics.Tensors.TensorPrimitives.BitwiseAnd(bits, rest, bits);
            }
        }

        var set = new AllowedSet(bits);
        _state.FilterCache.Add(key, _state.LastSeq, set);
        return set;
    }

    /// <summary>
    /// Tests: the slots <paramref name="where"/> selects, from the in-memory index (built if needed; null when
    /// disabled or over budget) and from SQL. Caller holds the read lock.
    /// </summary>
    public (int[]? FromIndex, int[] FromSql) EvaluateWhereBothWays(SqliteConnection connection, Where where)
    {
        var bits = filterIndex(connection)?.Evaluate(where, _state.Live);
        var fromIndex = bits is null ? null : SlotBitmap.ToSlots(bits);
        return (fromIndex, RecordReader.SelectSlots(connection, _state, null, where, null).ToArray());
    }

    private bool IsLive(int slot) => _state.IsLive(slot);
}
