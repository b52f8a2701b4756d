using System.Buffers;

namespace EmbeddedChroma.Index.Hnsw;

// Reachability repair: every live node gets a level-0 path from the entry point (see RepairReachability).
internal sealed partial class HnswGraph<TKernel, TElement>
{
    /// <summary>Flood passes at most: a link replaced by one pass may cut off a node the next pass reconnects.</summary>
    private const int MaxReachPasses = 8;

    /// <summary>Nodes a flood dequeues between two looks at the caller's stop request.</summary>
    private const int StopCheckInterval = 4096;

    public override int EntryPoint => EntryNode(Volatile.Read(ref _entry));

    /// <inheritdoc />
    public override ReachabilityRepair RepairReachability(Func<bool>? shouldStop = null)
    {
        _resizeLock.EnterReadLock();
        BeginChange();
        ulong[]? reached = null;
        int[]? queue = null;
        int[]? inDegree = null;
        SearchContext? context = null;
        try
        {
            int entryNode = EntryNode(Volatile.Read(ref _entry));
            int n = Volatile.Read(ref _slotHighWater);
            if (entryNode < 0 || n == 0)
            {
                return new ReachabilityRepair(0, 0, 0, Completed: true);
            }

            int words = (n + 63) >> 6;
            reached = ArrayPool<ulong>.Shared.Rent(words);
            queue = ArrayPool<int>.Shared.Rent(n);
            int found = 0;
            int linksAdded = 0;
            int unreached = 0;
            for (int pass = 0; pass < MaxReachPasses; pass++)
            {
                Array.Clear(reached, 0, words);
                if (!Flood(entryNode, n, reached, queue, shouldStop))
                {
                    return new ReachabilityRepair(found, linksAdded, -1, Completed: false);
                }

                unreached = CountUnreachedLive(reached, n);
                found = pass == 0 ? unreached : found;
                if (unreached == 0)
                {
                    break;
                }

                if (inDegree is null)
                {
                    inDegree = ArrayPool<int>.Shared.Rent(n);
                    CountInDegrees(inDegree, n);
                }

                context ??= _contexts.Rent();
                for (int node = 0; node < n; node++)
                {
                    if (IsReached(reached, node) || !IsLiveHeader(Volatile.Read(ref _level0[node * _stride0])))
                    {
                        continue;
                    }

                    if (shouldStop?.Invoke() == true)
                    {
                        return new ReachabilityRepair(found, linksAdded, -1, Completed: false);
                    }

                    if (LinkFromReached(node, reached, inDegree, context))
                    {
                        linksAdded++;

                        // Everything the node leads to is reached now too: the next unreached nodes may be among them.
                        if (!Flood(node, n, reached, queue, shouldStop))
                        {
                            return new ReachabilityRepair(found, linksAdded, -1, Completed: false);
                        }
                    }
                }
            }

            if (unreached != 0)
            {
                // The last pass linked nodes without checking what its replaced links cut off: count once more.
                Array.Clear(reached, 0, words);
                if (!Flood(entryNode, n, reached, queue, shouldStop))
                {
                    return new ReachabilityRepair(found, linksAdded, -1, Completed: false);
                }

                unreached = CountUnreachedLive(reached, n);
            }

            return new ReachabilityRepair(found, linksAdded, unreached, Completed: true);
        }
        finally
        {
            if (context is not null)
            {
                _contexts.Return(context);
            }

            if (reached is not null)
            {
                ArrayPool<ulong>.Shared.Return(reached);
            }

            if (queue is not null)
            {
                ArrayPool<int>.Shared.Return(queue);
            }

            if (inDegree is not null)
            {
                ArrayPool<int>.Shared.Return(inDegree);
            }

            EndChange();
            _resizeLock.ExitReadLock();
        }
    }

    private static bool IsLiveHeader(int header) => NodeHeader.IsPresent(header) && !NodeHeader.IsDeleted(header);

    private static bool IsReached(ulong[] reached, int node) => ((reached[node >> 6] >> (node & 63)) & 1) != 0;

    /// <summary>
    /// Marks every node reachable from <paramref name="start"/> over level-0 links (through deleted nodes too, as walks
    /// go) in <paramref name="reached"/>, stopping at nodes already marked. False when <paramref name="shouldStop"/> asked to stop.
    /// </summary>
    private bool Flood(int start, int n, ulong[] reached, int[] queue, Func<bool>? shouldStop)
    {
        if (IsReached(reached, start))
        {
            return true;
        }

        reached[start >> 6] |= 1UL << (start & 63);
        queue[0] = start;
        int head = 0;
        int tail = 1;
        while (head < tail)
        {
            if ((head & (StopCheckInterval - 1)) == StopCheckInterval - 1 && shouldStop?.Invoke() == true)
            {
                return false;
            }

            ReadOnlySpan<int> links = LinksInPlace(queue[head++], 0);
            foreach (int link in links)
            {
                // A link names a present node; the bound only guards against an insert racing with the repair.
                if ((uint)link < (uint)n && !IsReached(reached, link))
                {
                    reached[link >> 6] |= 1UL << (link & 63);
                    queue[tail++] = link;
                }
            }
        }

        return true;
    }

    private int CountUnreachedLive(ulong[] reached, int n)
    {
        int count = 0;
        for (int node = 0; node < n; node++)
        {
            if (!IsReached(reached, node) && IsLiveHeader(Volatile.Read(ref _level0[node * _stride0])))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Level-0 in-links of every node, counted over every present node's list (deleted ones included).</summary>
    private void CountInDegrees(int[] inDegree, int n)
    {
        Array.Clear(inDegree, 0, n);
        for (int node = 0; node < n; node++)
        {
            if (!NodeHeader.IsPresent(Volatile.Read(ref _level0[node * _stride0])))
            {
                continue;
            }

            foreach (int link in LinksInPlace(node, 0))
            {
                if ((uint)link < (uint)n)
                {
                    inDegree[link]++;
                }
            }
        }
    }

    /// <summary>
    /// Links the unreached live <paramref name="node"/> from its nearest reached node that can take the link: the walk of
    /// an insert (descent, then SEARCH-LAYER at level 0 with efConstruction) finds its nearest nodes, which the walk reached
    /// from the entry point; the first one marked reached whose list has room, or holds a link whose target keeps another
    /// in-link, gets the link (<see cref="TryAddRepairLink"/>); failing all, the entry point. False when none could take it.
    /// </summary>
    private bool LinkFromReached(int node, ulong[] reached, int[] inDegree, SearchContext context)
    {
        long entry = Volatile.Read(ref _entry);
        int entryNode = EntryNode(entry);
        ReadOnlySpan<float> query = FloatRow(node, context.QueryScratch(QueryLength));
        var nearest = new Neighbor(entryNode, WalkDistance(query, entryNode, node));
        nearest = GreedyDescend(query, nearest, EntryLevel(entry), 0, exclude: node);
        context.BeginWalk(_capacity);
        Seed(context, nearest, default, filtered: false, exclude: node);
        SearchLayer(query, context, 0, Math.Max(_efConstruction, _maxM0), exclude: node);
        int found = context.DrainTopAscending();
        foreach (Neighbor candidate in context.Drained.AsSpan(0, found))
        {
            if ((uint)candidate.Slot < (uint)inDegree.Length && IsReached(reached, candidate.Slot) && TryAddRepairLink(candidate.Slot, node, inDegree))
            {
                return true;
            }
        }

        return TryAddRepairLink(entryNode, node, inDegree);
    }

    /// <summary>
    /// Adds the level-0 link <paramref name="from"/> → <paramref name="to"/>: appended when the list has room, else in
    /// place of the link whose target has the most in-links (at least two, so no node loses its last one). Takes the
    /// link lock of <paramref name="from"/>; a walk reading the list meanwhile sees the old or the new target.
    /// </summary>
    private bool TryAddRepairLink(int from, int to, int[] inDegree)
    {
        lock (LinkLock(from))
        {
            Span<int> record = Record(from, 0);
            int count = record[0] & NodeHeader.CountMask;
            Span<int> links = record.Slice(1, count);
            if (links.Contains(to))
            {
                return true;
            }

            if (count < _maxM0)
            {
                record[1 + count] = to;
                PublishCount(record, 0, count + 1);
                inDegree[to]++;
                return true;
            }

            int replaced = -1;
            int most = 1;
            for (int i = 0; i < links.Length; i++)
            {
                int target = links[i];
                if ((uint)target < (uint)inDegree.Length && inDegree[target] > most)
                {
                    most = inDegree[target];
                    replaced = i;
                }
            }

            if (replaced < 0)
            {
                return false;
            }

            inDegree[links[replaced]]--;
            Volatile.Write(ref links[replaced], to);
            inDegree[to]++;
            return true;
        }
    }
}
