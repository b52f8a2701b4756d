using EmbeddedChroma.Distance;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

internal sealed partial class HnswGraph<TKernel, TElement>
{
    public override int SearchFiltered(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, Span<Neighbor> destination)
    {
        CheckWalkArguments(query, k, ef, destination);

        if (k == 0)
        {
            return 0;
        }

        return WalkAdmitted(query, k, Math.Max(ef, k), admitted, destination, Level0Walk.TwoHop, default);
    }

    /// <summary>
    /// The filtered SEARCH-LAYER at level 0 (ACORN-1 style, Patel et al., SIGMOD 2024): the walk moves over admitted
    /// nodes only. Expanding a node lists its admitted unvisited neighbours, then, while fewer than MaxM0 are listed,
    /// the admitted unvisited neighbours of its disallowed neighbours (two hops); a disallowed node's row is never read
    /// and no distance is computed for it, only its link record. So the walk sees an admitted subgraph whose degree
    /// stays near the full graph's even when few nodes are admitted, instead of computing distances for the ~1/s
    /// disallowed nodes it would otherwise cross per admitted one. The entry point (the greedy descent's nearest node,
    /// admitted or not) and, while W holds fewer than ef nodes, the bridges are candidates too (so the walk can cross a
    /// region with no admitted node near and, at ef ≥ the admitted count, reaches all that the plain walk reaches). Result:
    /// the ef nearest admitted nodes the walk reached, as <see cref="SearchQueryLevel0"/>.
    /// </summary>
    private void SearchFilteredLevel0(ReadOnlySpan<float> query, SearchContext context, int ef, ReadOnlySpan<ulong> admitted, bool checkDeleted)
    {
        int[] level0 = _level0;
        int stride = _stride0;
        int maxLinks = _maxM0;
        ref TElement firstRow = ref Unsafe.AsRef(in _rows.FirstRow);
        nint rowStride = _rowStride;
        int dimension = IsByte ? _dimension : query.Length;
        int prefetchLines = _prefetchLines;
        Span<int> pending = context.Links;
        Span<int> bridges = context.OldLinks;
        ushort[] visited = context.VisitedTags;
        ushort generation = context.Generation;
        float bound = context.TopCount > 0 ? context.WorstTop.Distance : float.PositiveInfinity;
        while (context.CandidateCount > 0)
        {
            if (context.NearestCandidate.Distance > bound && context.TopCount >= ef)
            {
                break;
            }

            int start = context.PopCandidate().Slot * stride;
            int count = Math.Min(Volatile.Read(ref level0[start]) & NodeHeader.CountMask, maxLinks);
            ReadOnlySpan<int> links = new(level0, start + 1, count);

            // While W is not full yet, disallowed neighbours are also walked through as candidates (see below).
            bool filling = context.TopCount < ef;

            // One hop: admitted neighbours become pending (rows prefetched); disallowed ones are bridges (records prefetched).
            int fresh = 0;
            int bridgeCount = 0;
            for (int i = 0; i < links.Length; i++)
            {
                int node = links[i];
                ref ushort tag = ref visited[node];
                if (tag == generation)
                {
                    continue;
                }

                if (Admits(admitted, node) && (!checkDeleted || !IsDeletedNode(node)))
                {
                    tag = generation;
                    pending[fresh++] = node;
                    PrefetchRowLines(ref firstRow, node * rowStride, prefetchLines);
                }
                else
                {
                    bridges[bridgeCount++] = node;
                    PrefetchLinks(node);
                    if (filling)
                    {
                        PrefetchRowLines(ref firstRow, node * rowStride, prefetchLines);
                    }
                }
            }

            // Two hops through the bridges, until MaxM0 admitted nodes are listed. A bridge is marked visited once its
            // list has been read, so no later expansion reads it again; one left unread stays open.
            for (int b = 0; b < bridgeCount && fresh < pending.Length; b++)
            {
                int bridge = bridges[b];
                visited[bridge] = generation;
                int bridgeStart = bridge * stride;
                int bridgeLinks = Math.Min(Volatile.Read(ref level0[bridgeStart]) & NodeHeader.CountMask, maxLinks);
                for (int i = 1; i <= bridgeLinks && fresh < pending.Length; i++)
                {
                    int node = level0[bridgeStart + i];
                    ref ushort tag = ref visited[node];
                    if (tag != generation && Admits(admitted, node) && (!checkDeleted || !IsDeletedNode(node)))
                    {
                        tag = generation;
                        pending[fresh++] = node;
                        PrefetchRowLines(ref firstRow, node * rowStride, prefetchLines);
                    }
                }
            }

            for (int j = 0; j < fresh; j++)
            {
                int node = pending[j];
                float distance = RowDistance(query, ref Unsafe.Add(ref firstRow, node * rowStride), dimension);
                if (context.TopCount < ef || distance < bound)
                {
                    var neighbor = new Neighbor(node, distance);
                    context.PushCandidate(neighbor);
                    PrefetchLinks(context.NearestCandidate.Slot);
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

            // Until W holds ef admitted nodes, the bridges are candidates too (distances computed, never results): the
            // walk must be able to leave a region with no admitted node within two hops (a filter whose rows lie away
            // from the query) and, with ef at least the admitted count, it reaches every node as the plain walk does.
            // Once W is full only admitted nodes are computed, so this costs a few expansions per query.
            if (filling)
            {
                for (int b = 0; b < bridgeCount; b++)
                {
                    int node = bridges[b];
                    visited[node] = generation;
                    float distance = RowDistance(query, ref Unsafe.Add(ref firstRow, node * rowStride), dimension);
                    if (context.TopCount < ef || distance < bound)
                    {
                        context.PushCandidate(new Neighbor(node, distance));
                    }
                }
            }
        }
    }

    internal override int SearchSketched(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, SignSketch sketch, Span<Neighbor> destination)
    {
        ArgumentNullException.ThrowIfNull(sketch);
        if (!IsFloat || sketch.Dimension != _dimension)
        {
            return Search(query, k, ef, SlotFilter.FromBitmap(admitted), destination);
        }

        CheckWalkArguments(query, k, ef, destination);

        if (k == 0)
        {
            return 0;
        }

        ef = Math.Max(ef, k);
        Span<ulong> planes = stackalloc ulong[sketch.EstimatorPlaneWords <= 256 ? sketch.EstimatorPlaneWords : 0];
        if (planes.Length == 0)
        {
            planes = new ulong[sketch.EstimatorPlaneWords];
        }

        var estimator = sketch.PrepareEstimator(query, typeof(TKernel) == typeof(L2Kernel), planes);
        return WalkAdmitted(query, k, ef, admitted, destination, Level0Walk.Sketched, estimator);
    }

    /// <summary>
    /// <see cref="SearchQueryLevel0"/> with the disallowed (or deleted) nodes' distances estimated from the sign sketch:
    /// they are candidates by their estimate and never results; the admitted ones are computed exactly, first, so the
    /// bound the estimates are held to is the exact ef-th result's.
    /// </summary>
    private void SearchSketchedLevel0(ReadOnlySpan<float> query, SearchContext context, int ef, ReadOnlySpan<ulong> admitted, bool checkDeleted, scoped in SignSketch.Estimator estimator)
    {
        int[] level0 = _level0;
        int stride = _stride0;
        int maxLinks = _maxM0;
        ref TElement firstRow = ref Unsafe.AsRef(in _rows.FirstRow);
        nint rowStride = _rowStride;
        int dimension = query.Length;
        int prefetchLines = _prefetchLines;
        int sketched = estimator.SlotCount;
        Span<int> exact = context.Links;
        Span<int> estimated = context.OldLinks;
        ushort[] visited = context.VisitedTags;
        ushort generation = context.Generation;
        float bound = context.TopCount > 0 ? context.WorstTop.Distance : float.PositiveInfinity;
        while (context.CandidateCount > 0)
        {
            if (context.NearestCandidate.Distance > bound && context.TopCount >= ef)
            {
                break;
            }

            int start = context.PopCandidate().Slot * stride;
            int count = Math.Min(Volatile.Read(ref level0[start]) & NodeHeader.CountMask, maxLinks);
            ReadOnlySpan<int> links = new(level0, start + 1, count);
            int exactCount = 0;
            int estimatedCount = 0;
            for (int i = 0; i < links.Length; i++)
            {
                int node = links[i];
                ref ushort tag = ref visited[node];
                if (tag == generation)
                {
                    continue;
                }

                tag = generation;
                if (node >= sketched || (Admits(admitted, node) && (!checkDeleted || !IsDeletedNode(node))))
                {
                    exact[exactCount++] = node;
                    PrefetchRowLines(ref firstRow, node * rowStride, prefetchLines);
                }
                else
                {
                    estimated[estimatedCount++] = node;
                    estimator.Prefetch(node);
                }
            }

            for (int j = 0; j < exactCount; j++)
            {
                int node = exact[j];
                float distance = RowDistance(query, ref Unsafe.Add(ref firstRow, node * rowStride), dimension);
                if (context.TopCount < ef || distance < bound)
                {
                    var neighbor = new Neighbor(node, distance);
                    context.PushCandidate(neighbor);
                    PrefetchLinks(context.NearestCandidate.Slot);
                    if (Admits(admitted, node) && (!checkDeleted || !IsDeletedNode(node)))
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

            for (int j = 0; j < estimatedCount; j++)
            {
                int node = estimated[j];
                float distance = estimator.Estimate(node);
                if (context.TopCount < ef || distance < bound)
                {
                    context.PushCandidate(new Neighbor(node, distance));
                    PrefetchLinks(context.NearestCandidate.Slot);
                }
            }
        }
    }

    /// <summary>The checks every k-NN walk makes of its arguments (see <see cref="HnswIndex.SearchFiltered"/>).</summary>
    private void CheckWalkArguments(ReadOnlySpan<float> query, int k, int ef, Span<Neighbor> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1);
        if (query.Length != _rows.Dimension)
        {
            ThrowDimensionMismatch(query.Length, _rows.Dimension, nameof(query));
        }

        if (destination.Length < k)
        {
            throw new ArgumentException($"Destination holds {destination.Length} neighbours; {k} are needed.", nameof(destination));
        }
    }

    /// <summary>The k best of a walk's W into <paramref name="destination"/>, best first; returns how many.</summary>
    private static int DrainTop(SearchContext context, int k, Span<Neighbor> destination)
    {
        while (context.TopCount > k)
        {
            context.PopWorstTop();
        }

        int count = context.TopCount;
        for (int i = count - 1; i >= 0; i--)
        {
            destination[i] = context.PopWorstTop();
        }

        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Admits(ReadOnlySpan<ulong> admitted, int node)
    {
        int word = node >> 6;
        return (uint)word < (uint)admitted.Length && ((admitted[word] >> (node & 63)) & 1) != 0;
    }
}
