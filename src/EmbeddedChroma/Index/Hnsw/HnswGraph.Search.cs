using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

internal sealed partial class HnswGraph<TKernel, TElement>
{
    public override int Search(ReadOnlySpan<float> query, int k, int ef, SlotFilter filter, Span<Neighbor> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1);
        if (query.Length != _rows.Dimension)
        {
            ThrowDimensionMismatch(query.Length, _rows.Dimension, nameof(query));
        }

        int keep = k;
        if (destination.Length < k)
        {
            // Someone will ask for k = 1000 on a 3-row collection; like ExactScan, a buffer sized to the admitted
            // count is enough. Counting costs a pass over the filter, so only do it when the buffer is short.
            keep = Math.Min(k, filter.Kind == SlotFilterKind.Slots ? filter.Slots.Length : PopCount(filter.Bitmap));
            if (destination.Length < keep)
            {
                throw new ArgumentException($"Destination holds {destination.Length} neighbours; {keep} are needed.", nameof(destination));
            }
        }

        if (keep == 0)
        {
            return 0;
        }

        if (filter.Kind == SlotFilterKind.Bitmap)
        {
            return SearchAdmitted(query, keep, Math.Max(ef, keep), filter.Bitmap, destination);
        }

        // The walk needs O(1) membership: turn the slot list into a bitmap rented for this query.
        int slotCount = _rows.SlotCount;
        int words = (slotCount + 63) >> 6;
        ulong[] bitmap = ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            Array.Clear(bitmap, 0, words);
            foreach (int slot in filter.Slots)
            {
                if ((uint)slot >= (uint)slotCount)
                {
                    throw new ArgumentOutOfRangeException(nameof(filter), slot, $"Candidate slot {slot} is outside [0, {slotCount}).");
                }

                bitmap[slot >> 6] |= 1UL << (slot & 63);
            }

            return SearchAdmitted(query, keep, Math.Max(ef, keep), bitmap.AsSpan(0, words), destination);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(bitmap);
        }
    }

    /// <summary>K-NN-SEARCH (Alg. 5): greedy descent to level 1, then a filtered SEARCH-LAYER at level 0 with ef.</summary>
    private int SearchAdmitted(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, Span<Neighbor> destination) =>
        WalkAdmitted(query, k, ef, admitted, destination, Level0Walk.Plain, default);

    /// <summary>Which level-0 walk <see cref="WalkAdmitted"/> runs.</summary>
    private enum Level0Walk
    {
        /// <summary><see cref="SearchQueryLevel0"/>: every crossed node's distance exact, admitted ones returned.</summary>
        Plain,

        /// <summary><see cref="SearchFilteredLevel0"/>: over admitted nodes, through disallowed ones (two hops).</summary>
        TwoHop,

        /// <summary><see cref="SearchSketchedLevel0"/>: as <see cref="Plain"/>, disallowed nodes by their sketch estimate.</summary>
        Sketched,
    }

    /// <summary>
    /// The k-NN walks' shared frame (arguments already checked, ef ≥ k): the greedy descent from the entry point to level 1,
    /// the seed, the chosen level-0 walk with ef, and its k best into <paramref name="destination"/>. Returns how many.
    /// </summary>
    private int WalkAdmitted(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, Span<Neighbor> destination, Level0Walk walk, scoped in SignSketch.Estimator estimator)
    {
        _resizeLock.EnterReadLock();
        SearchContext context = _contexts.Rent();
        try
        {
            long entry = Volatile.Read(ref _entry);
            int entryNode = EntryNode(entry);
            if (entryNode < 0)
            {
                return 0;
            }

            if (IsByte)
            {
                query = Prepare(query, context.QueryScratch(QueryLength));
            }

            var nearest = new Neighbor(entryNode, Distance(query, entryNode));
            nearest = GreedyDescend(query, nearest, EntryLevel(entry), 0, exclude: -1);

            // With nothing deleted, admission is the filter bitmap alone: skip the header read per candidate. A delete
            // racing with this query may or may not be seen, as with any concurrent write.
            bool checkDeleted = Volatile.Read(ref _deletedCount) != 0;
            context.BeginWalk(_capacity);
            Seed(context, nearest, admitted, filtered: true, exclude: -1);
            switch (walk)
            {
                case Level0Walk.TwoHop:
                    SearchFilteredLevel0(query, context, ef, admitted, checkDeleted);
                    break;
                case Level0Walk.Sketched:
                    SearchSketchedLevel0(query, context, ef, admitted, checkDeleted, estimator);
                    break;
                default:
                    SearchQueryLevel0(query, context, ef, admitted, checkDeleted);
                    break;
            }

            return DrainTop(context, k, destination);
        }
        finally
        {
            _contexts.Return(context);
            _resizeLock.ExitReadLock();
        }
    }

    /// <summary>
    /// Greedy search with ef = 1 from level <paramref name="fromLevel"/> down to <paramref name="toLevel"/> + 1
    /// (Alg. 1 lines 5–7, Alg. 5 lines 1–4; hnswlib does the ef = 1 layers as a plain greedy walk). Deleted nodes
    /// are walked through like any other; <paramref name="exclude"/> is never moved to. <paramref name="exclude"/> is the
/// node being linked (its row is <paramref name="query"/>) or −1 for a query; see <see cref="WalkDistance"/>.
    /// </summary>
    private Neighbor GreedyDescend(ReadOnlySpan<float> query, Neighbor nearest, int fromLevel, int toLevel, int exclude)
    {
        for (int level = fromLevel; level > toLevel; level--)
        {
            bool moved = true;
            while (moved)
            {
                moved = false;
                ReadOnlySpan<int> links = LinksInPlace(nearest.Slot, level);
                for (int i = 0; i < links.Length; i++)
                {
                    int node = links[i];
                    if (node == exclude)
                    {
                        continue;
                    }

                    float distance = WalkDistance(query, node, exclude);
                    if (distance < nearest.Distance)
                    {
                        nearest = new Neighbor(node, distance);
                        moved = true;
                    }
                }
            }
        }

        return nearest;
    }

    /// <summary>Puts an entry point into C (and into W when admitted) and marks it visited.</summary>
    private void Seed(SearchContext context, Neighbor entry, ReadOnlySpan<ulong> admitted, bool filtered, int exclude)
    {
        if (!context.TryVisit(entry.Slot) || entry.Slot == exclude)
        {
            return;
        }

        context.PushCandidate(entry);
        if (IsAdmitted(entry.Slot, admitted, filtered, exclude, checkDeleted: true))
        {
            context.PushTop(entry);
        }
    }

    /// <summary>
    /// SEARCH-LAYER (Alg. 2) of an insert over <paramref name="level"/>, starting from the entries already seeded into
    /// the context. Every reached node may become a candidate (C), so the walk goes through deleted nodes; only live
    /// ones enter the result set W, which is capped at <paramref name="ef"/>. The stop test of line 7 compares with
    /// W's furthest element once W is full (hnswlib <c>searchBaseLayerST</c>). The node <paramref name="exclude"/>
    /// (the one being linked, whose row is <paramref name="query"/>) is neither expanded nor returned.
    /// </summary>
    /// <remarks>
    /// Hot loop (most of a build): arrays and the row base held in locals, links read in place without the link lock
    /// (see <see cref="LinksInPlace"/>), rows addressed from <see cref="IRowBlock{TElement}.FirstRow"/> (the caller's locks
    /// keep the rows from moving). Each expansion runs in two passes: the first marks the unvisited neighbours and
    /// prefetches all their rows (up to <see cref="_prefetchLines"/> lines each), the second computes the distances, so
    /// the rows' cache misses overlap instead of one row ahead as in hnswlib; the nearest candidate's record is
    /// prefetched too. At 100k rows every row is a cache miss, and the walk is bound by their latency. Queries
    /// have their own copy, <see cref="SearchQueryLevel0"/>: one method serving both (even as two generic
    /// instantiations) ran queries 15–20% slower in paired runs against hnswlib.
    /// </remarks>
    private void SearchLayer(ReadOnlySpan<float> query, SearchContext context, int level, int ef, int exclude)
    {
        while (context.TopCount > ef)
        {
            context.PopWorstTop();
        }

        int[] level0 = _level0;
        int stride = _stride0;
        int maxLinks = _maxM0;
        ref TElement firstRow = ref Unsafe.AsRef(in _rows.FirstRow);
        nint rowStride = _rowStride;
        int dimension = IsByte ? _dimension : query.Length; // = _dimension, in a form that lets the JIT drop the kernel's length check
        int prefetchLines = _prefetchLines;
        Span<int> pending = context.Links;
        ushort[] visited = context.VisitedTags;
        ushort generation = context.Generation;
        float bound = context.TopCount > 0 ? context.WorstTop.Distance : float.PositiveInfinity;
        while (context.CandidateCount > 0)
        {
            if (context.NearestCandidate.Distance > bound && context.TopCount >= ef)
            {
                break;
            }

            int current = context.PopCandidate().Slot;
            ReadOnlySpan<int> links;
            if (level == 0)
            {
                int start = current * stride;
                int count = Math.Min(Volatile.Read(ref level0[start]) & NodeHeader.CountMask, maxLinks);
                links = new ReadOnlySpan<int>(level0, start + 1, count);
            }
            else
            {
                links = LinksInPlace(current, level);
            }

            int fresh = MarkUnvisited(links, visited, generation, exclude, pending, ref firstRow, rowStride, prefetchLines);

            for (int j = 0; j < fresh; j++)
            {
                int node = pending[j];
                float distance = IsMips
                    ? MobiusDistance(exclude, query, node)
                    : RowDistance(query, ref Unsafe.Add(ref firstRow, node * rowStride), dimension);
                if (context.TopCount < ef || distance < bound)
                {
                    var neighbor = new Neighbor(node, distance);
                    context.PushCandidate(neighbor);
                    if (level == 0)
                    {
                        // The walk will likely expand the nearest candidate next: fetch its record (hnswlib does the same).
                        PrefetchLinks(context.NearestCandidate.Slot);
                    }

                    if (!IsDeletedNode(node))
                    {
                        if (context.TopCount < ef)
                        {
                            context.PushTop(neighbor);
                        }
                        else
                        {
                            // W is full and the neighbour is strictly nearer than its worst: swap them in one sift.
                            context.ReplaceWorstTop(neighbor);
                        }

                        bound = context.WorstTop.Distance;
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="SearchLayer"/> for a query at level 0 (no node excluded, filter bitmap always given): the
    /// same walk and result, with the arrays it touches per neighbour held in locals.
    /// </summary>
    private void SearchQueryLevel0(ReadOnlySpan<float> query, SearchContext context, int ef, ReadOnlySpan<ulong> admitted, bool checkDeleted)
    {
        while (context.TopCount > ef)
        {
            context.PopWorstTop();
        }

        int[] level0 = _level0;
        int stride = _stride0;
        int maxLinks = _maxM0;
        ref TElement firstRow = ref Unsafe.AsRef(in _rows.FirstRow);
        nint rowStride = _rowStride;
        int dimension = IsByte ? _dimension : query.Length;
        int prefetchLines = _prefetchLines;
        Span<int> pending = context.Links;
        ushort[] visited = context.VisitedTags;
        ushort generation = context.Generation;
        float bound = context.TopCount > 0 ? context.WorstTop.Distance : float.PositiveInfinity;
        while (context.CandidateCount > 0)
        {
            if (context.NearestCandidate.Distance > bound && context.TopCount >= ef)
            {
                break;
            }

            // Links read in place, without the link lock (see LinksInPlace).
            int start = context.PopCandidate().Slot * stride;
            int count = Math.Min(Volatile.Read(ref level0[start]) & NodeHeader.CountMask, maxLinks);
            ReadOnlySpan<int> links = new(level0, start + 1, count);

            int fresh = MarkUnvisited(links, visited, generation, -1, pending, ref firstRow, rowStride, prefetchLines);

            for (int j = 0; j < fresh; j++)
            {
                int node = pending[j];
                float distance = RowDistance(query, ref Unsafe.Add(ref firstRow, node * rowStride), dimension);
                if (context.TopCount < ef || distance < bound)
                {
                    var neighbor = new Neighbor(node, distance);
                    context.PushCandidate(neighbor);
                    PrefetchLinks(context.NearestCandidate.Slot);
                    int word = node >> 6;
                    if ((uint)word < (uint)admitted.Length && ((admitted[word] >> (node & 63)) & 1) != 0 && (!checkDeleted || !IsDeletedNode(node)))
                    {
                        if (context.TopCount < ef)
                        {
                            context.PushTop(neighbor);
                        }
                        else
                        {
                            context.ReplaceWorstTop(neighbor);
                        }

                        bound = context.WorstTop.Distance;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The first pass of an expansion: marks each neighbour in <paramref name="links"/> not yet visited (and not
    /// <paramref name="exclude"/>) as visited, lists it in <paramref name="pending"/> and starts fetching its row, so
    /// the rows' cache misses overlap before any distance is computed. Returns how many were listed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MarkUnvisited(ReadOnlySpan<int> links, ushort[] visited, ushort generation, int exclude, Span<int> pending, ref TElement firstRow, nint rowStride, int prefetchLines)
    {
        int fresh = 0;
        for (int i = 0; i < links.Length; i++)
        {
            int node = links[i];

            // Bounds-checked: a torn read still names a slot below the capacity, but the check keeps it so.
            ref ushort tag = ref visited[node];
            if (tag != generation && node != exclude)
            {
                tag = generation;
                pending[fresh++] = node;
                PrefetchRowLines(ref firstRow, node * rowStride, prefetchLines);
            }
        }

        return fresh;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsAdmitted(int node, ReadOnlySpan<ulong> admitted, bool filtered, int exclude, bool checkDeleted)
    {
        if (node == exclude)
        {
            return false;
        }

        if (filtered)
        {
            int word = node >> 6;
            if ((uint)word >= (uint)admitted.Length || ((admitted[word] >> (node & 63)) & 1) == 0)
            {
                return false;
            }
        }

        return !checkDeleted || !IsDeletedNode(node);
    }

    private static int PopCount(ReadOnlySpan<ulong> bits)
    {
        int count = 0;
        foreach (ulong word in bits)
        {
            count += BitOperations.PopCount(word);
        }

        return count;
    }

    [DoesNotReturn]
    private static void ThrowDimensionMismatch(int actual, int expected, string paramName) =>
        throw new ArgumentException($"Query has {actual} dimensions; the index has {expected}.", paramName);
}
