namespace EmbeddedChroma.Index.Hnsw;

internal sealed partial class HnswGraph<TKernel, TElement>
{
    public override void Insert(int slot)
    {
        ValidateSlot(slot);
        EnsureCapacity(slot + 1);
        _resizeLock.EnterReadLock();
        BeginChange();
        try
        {
            lock (_opLocks[slot & (LockStripes - 1)])
            {
                int header = Volatile.Read(ref _level0[slot * _stride0]);
                if (NodeHeader.IsPresent(header))
                {
                    if (!NodeHeader.IsDeleted(header))
                    {
                        throw new InvalidOperationException($"Slot {slot} is already in the graph; use Update to change its vector.");
                    }

                    // The store reuses a deleted slot for a new record: rebuild its links in place, then revive it.
                    Relink(slot);
                    lock (LinkLock(slot))
                    {
                        Volatile.Write(ref _level0[slot * _stride0], _level0[slot * _stride0] & ~NodeHeader.DeletedBit);
                    }

                    Interlocked.Decrement(ref _deletedCount);
                    return;
                }

                InsertNew(slot);
            }
        }
        finally
        {
            EndChange();
            _resizeLock.ExitReadLock();
        }
    }

    public override void Update(int slot)
    {
        ValidateSlot(slot);
        _resizeLock.EnterReadLock();
        BeginChange();
        try
        {
            lock (_opLocks[slot & (LockStripes - 1)])
            {
                if ((uint)slot >= (uint)_capacity || !NodeHeader.IsPresent(Volatile.Read(ref _level0[slot * _stride0])))
                {
                    throw new InvalidOperationException($"Slot {slot} is not in the graph; use Insert.");
                }

                Relink(slot);
            }
        }
        finally
        {
            EndChange();
            _resizeLock.ExitReadLock();
        }
    }

    public override bool MarkDeleted(int slot)
    {
        _resizeLock.EnterReadLock();
        BeginChange();
        try
        {
            if ((uint)slot >= (uint)_capacity)
            {
                return false;
            }

            lock (_opLocks[slot & (LockStripes - 1)])
            {
                lock (LinkLock(slot))
                {
                    ref int header = ref _level0[slot * _stride0];
                    if (!NodeHeader.IsPresent(header) || NodeHeader.IsDeleted(header))
                    {
                        return false;
                    }

                    Volatile.Write(ref header, header | NodeHeader.DeletedBit);
                }

                Interlocked.Increment(ref _deletedCount);
                return true;
            }
        }
        finally
        {
            EndChange();
            _resizeLock.ExitReadLock();
        }
    }

    /// <summary>
    /// INSERT (Alg. 1). Caller holds the resize lock (read) and the slot's op lock; this takes the entry lock when
    /// the new level tops the graph, and link locks one at a time.
    /// </summary>
    private void InsertNew(int slot)
    {
        int level = RandomLevel(slot);
        if (IsMips)
        {
            SetSquaredNorm(slot);
        }

        lock (LinkLock(slot))
        {
            _upper[slot] = level > 0 ? new int[level * _strideUpper] : null;
            Volatile.Write(ref _level0[slot * _stride0], NodeHeader.NewNode(level));
        }

        Interlocked.Increment(ref _count);
        int highWater;
        while ((highWater = Volatile.Read(ref _slotHighWater)) <= slot)
        {
            Interlocked.CompareExchange(ref _slotHighWater, slot + 1, highWater);
        }

        long entry = Volatile.Read(ref _entry);
        bool holdsEntryLock = false;
        if (EntryNode(entry) < 0 || level > EntryLevel(entry))
        {
            _entryLock.Enter();
            holdsEntryLock = true;
            entry = _entry;
            if (EntryNode(entry) < 0)
            {
                // The first node: nothing to link to.
                Volatile.Write(ref _entry, PackEntry(slot, level));
                _entryLock.Exit();
                return;
            }

            if (level <= EntryLevel(entry))
            {
                // Another insert raised the top level meanwhile; no need to serialize with it any more.
                _entryLock.Exit();
                holdsEntryLock = false;
            }
        }

        try
        {
            Connect(slot, level, entry, replaceLinks: false);
            if (holdsEntryLock)
            {
                // Alg. 1 lines 17–18: the new node becomes the entry point.
                Volatile.Write(ref _entry, PackEntry(slot, level));
            }
        }
        finally
        {
            if (holdsEntryLock)
            {
                _entryLock.Exit();
            }
        }
    }

    /// <summary>
    /// Rebuilds the links of a node whose vector changed (update or reuse of a deleted slot), keeping its level.
    /// Its new neighbours are found and linked as in Alg. 1; then each old neighbour is repaired
    /// (<see cref="RepairNeighbor"/>). Caller holds the resize lock (read) and the slot's op lock.
    /// </summary>
    private void Relink(int slot)
    {
        if (IsMips)
        {
            SetSquaredNorm(slot);
        }

        long entry = Volatile.Read(ref _entry);
        Connect(slot, NodeLevel(slot), entry, replaceLinks: true);
    }

    /// <summary>
    /// Alg. 1 lines 5–16: descend greedily to the node's level, then per level find efConstruction candidates
    /// (SEARCH-LAYER, Alg. 2), keep M by the heuristic (Alg. 4), link both ways and shrink overfull neighbour lists.
    /// </summary>
    private void Connect(int slot, int level, long entry, bool replaceLinks)
    {
        int entryNode = EntryNode(entry);
        int topLevel = EntryLevel(entry);
        SearchContext context = _contexts.Rent();
        try
        {
            ReadOnlySpan<float> query = FloatRow(slot, context.QueryScratch(QueryLength));
            if (entryNode == slot)
            {
                // Relinking the entry point itself: start from one of its (stale but valid) neighbours instead.
                entryNode = -1;
                for (int lc = topLevel; lc >= 0 && entryNode < 0; lc--)
                {
                    if (CopyLinks(slot, lc, context.Links) > 0)
                    {
                        entryNode = context.Links[0];
                        topLevel = lc;
                    }
                }

                if (entryNode < 0)
                {
                    return; // Alone in the graph: nothing to link to.
                }
            }

            // The node's own links are stale when relinking: the walks never expand it (exclude), or a walk that
            // reaches it at distance 0 would be led back to where the vector used to be.
            var nearest = new Neighbor(entryNode, WalkDistance(query, entryNode, slot));
            nearest = GreedyDescend(query, nearest, topLevel, level, exclude: slot);
            context.EnsureEntries(1);
            context.Entries[0] = nearest;
            int entryCount = 1;

            for (int lc = Math.Min(level, topLevel); lc >= 0; lc--)
            {
                context.BeginWalk(_capacity);
                for (int i = 0; i < entryCount; i++)
                {
                    Seed(context, context.Entries[i], default, filtered: false, exclude: slot);
                }

                // The new node is not linked from anywhere yet, but an updated one is: exclude it from its own W.
                SearchLayer(query, context, lc, _efConstruction, exclude: slot);
                int found = context.DrainTopAscending();

                int oldCount = replaceLinks ? CopyLinks(slot, lc, context.OldLinks) : 0;
                int selected = SelectNeighborsHeuristic(context.Drained.AsSpan(0, found), _m, context.Selected, context);
                SetLinks(slot, lc, context.Selected.AsSpan(0, selected), replaceLinks, context);

                // Copy the selection before AddLink reuses context.Selected for pruning.
                context.EnsureEntries(Math.Max(found, selected));
                Span<Neighbor> chosen = context.Entries.AsSpan(0, selected);
                context.Selected.AsSpan(0, selected).CopyTo(chosen);
                for (int i = 0; i < selected; i++)
                {
                    AddLink(chosen[i].Slot, lc, new Neighbor(slot, chosen[i].Distance), context);
                }

                for (int i = 0; i < oldCount; i++)
                {
                    int old = context.OldLinks[i];
                    if (!Contains(chosen, old))
                    {
                        RepairNeighbor(old, lc, slot, context.OldLinks.AsSpan(0, oldCount), context);
                    }
                }

                // Alg. 1 line 14: ep ← W. When W is empty (every reached node is deleted), restart the next level
                // from the greedy descent's result, which may itself be deleted: walks pass through deleted nodes.
                if (found > 0)
                {
                    context.Drained.AsSpan(0, found).CopyTo(context.Entries);
                    entryCount = found;
                }
                else
                {
                    context.Entries[0] = nearest;
                    entryCount = 1;
                }
            }
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    private static bool Contains(ReadOnlySpan<Neighbor> neighbors, int slot)
    {
        foreach (Neighbor n in neighbors)
        {
            if (n.Slot == slot)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// SELECT-NEIGHBORS-HEURISTIC (Alg. 4) without extendCandidates and keepPrunedConnections (as hnswlib): walking
    /// the candidates nearest first, keep one only if it is closer to the base than to every neighbour kept so far.
    /// </summary>
    /// <param name="ascending">Candidates with their distance to the base, sorted best first.</param>
    /// <param name="m">How many to keep at most.</param>
    /// <param name="selected">Receives the kept neighbours, best first.</param>
    /// <param name="context">The caller's context (its scratch row decodes compact candidates).</param>
    private int SelectNeighborsHeuristic(ReadOnlySpan<Neighbor> ascending, int m, Span<Neighbor> selected, SearchContext context)
    {
        int count = 0;
        foreach (Neighbor candidate in ascending)
        {
            if (count >= m)
            {
                break;
            }

            ReadOnlySpan<float> row = FloatRow(candidate.Slot, context.CandidateScratch(QueryLength));
            bool keep = true;
            for (int j = 0; j < count; j++)
            {
                if (NodeDistance(candidate.Slot, row, selected[j].Slot) < candidate.Distance)
                {
                    keep = false;
                    break;
                }
            }

            if (keep)
            {
                selected[count++] = candidate;
            }
        }

        return count;
    }

    /// <summary>
    /// Sets the links of <paramref name="node"/> at <paramref name="level"/> (Alg. 1 line 11). A new node's list is
    /// normally empty, but a concurrent insert that reached it through a higher level may already have added a
    /// reverse link; merge rather than overwrite, so that link is not lost. Takes the node's link lock.
    /// </summary>
    private void SetLinks(int node, int level, ReadOnlySpan<Neighbor> neighbors, bool replace, SearchContext context)
    {
        lock (LinkLock(node))
        {
            Span<int> record = Record(node, level);
            int existing = replace ? 0 : record[0] & NodeHeader.CountMask;
            if (existing == 0)
            {
                for (int i = 0; i < neighbors.Length; i++)
                {
                    record[1 + i] = neighbors[i].Slot;
                }

                PublishCount(record, level, neighbors.Length);
                return;
            }

            MergeLocked(node, level, record, existing, neighbors, context);
        }
    }

    /// <summary>
    /// Adds the link <paramref name="node"/> → <paramref name="link"/> (Alg. 1 lines 12–16): append if the list has
    /// room, else re-select the list plus the new link with the heuristic (Alg. 4) down to Mmax. Takes the link lock
    /// of <paramref name="node"/> only.
    /// </summary>
    private void AddLink(int node, int level, Neighbor link, SearchContext context)
    {
        lock (LinkLock(node))
        {
            Span<int> record = Record(node, level);
            int count = record[0] & NodeHeader.CountMask;
            if (record.Slice(1, count).Contains(link.Slot))
            {
                return;
            }

            if (count < MaxLinks(level))
            {
                record[1 + count] = link.Slot;
                PublishCount(record, level, count + 1);
                return;
            }

            MergeLocked(node, level, record, count, new ReadOnlySpan<Neighbor>(in link), context);
        }
    }

    /// <summary>Union of the current list and <paramref name="additions"/>, shrunk by Alg. 4 when over Mmax. Caller holds the node's link lock.</summary>
    private void MergeLocked(int node, int level, Span<int> record, int existing, ReadOnlySpan<Neighbor> additions, SearchContext context)
    {
        ReadOnlySpan<float> row = FloatRow(node, context.NodeScratch(QueryLength));
        Span<Neighbor> merged = context.Merge;
        int total = 0;
        for (int i = 0; i < existing; i++)
        {
            int link = record[1 + i];
            merged[total++] = new Neighbor(link, NodeDistance(node, row, link));
        }

        foreach (Neighbor addition in additions)
        {
            if (addition.Slot != node && !Contains(merged[..total], addition.Slot))
            {
                merged[total++] = addition;
            }
        }

        int maxLinks = MaxLinks(level);
        int kept = total;
        Span<Neighbor> result = merged;
        if (total > maxLinks)
        {
            InsertionSort(merged[..total]);
            kept = SelectNeighborsHeuristic(merged[..total], maxLinks, context.Selected.AsSpan(context.Selected.Length - maxLinks), context);
            result = context.Selected.AsSpan(context.Selected.Length - maxLinks);
        }

        for (int i = 0; i < kept; i++)
        {
            record[1 + i] = result[i].Slot;
        }

        PublishCount(record, level, kept);
    }

    /// <summary>
    /// Repair after an update: <paramref name="node"/> was a neighbour of <paramref name="moved"/> before it moved
    /// and may have relied on it for its place in the graph. Re-select its list with the heuristic (Alg. 4) from its
    /// current links plus the moved node's old links (its two-hop neighbourhood there, as hnswlib
    /// <c>updatePoint</c> does), then link the kept neighbours back to it, so it keeps in-links near its own vector.
    /// Takes the link lock of <paramref name="node"/>, then (released) of each kept neighbour in turn.
    /// </summary>
    private void RepairNeighbor(int node, int level, int moved, ReadOnlySpan<int> movedOldLinks, SearchContext context)
    {
        int kept;
        lock (LinkLock(node))
        {
            if (NodeLevel(node) < level)
            {
                return;
            }

            ReadOnlySpan<float> row = FloatRow(node, context.NodeScratch(QueryLength));
            Span<int> record = Record(node, level);
            int count = record[0] & NodeHeader.CountMask;
            Span<Neighbor> merged = context.Merge;
            int total = 0;
            foreach (int link in record.Slice(1, count))
            {
                merged[total++] = new Neighbor(link, NodeDistance(node, row, link));
            }

            foreach (int link in movedOldLinks)
            {
                if (link != node && link != moved && !Contains(merged[..total], link))
                {
                    merged[total++] = new Neighbor(link, NodeDistance(node, row, link));
                }
            }

            InsertionSort(merged[..total]);
            kept = SelectNeighborsHeuristic(merged[..total], MaxLinks(level), context.Repaired, context);
            for (int i = 0; i < kept; i++)
            {
                record[1 + i] = context.Repaired[i].Slot;
            }

            PublishCount(record, level, kept);
        }

        for (int i = 0; i < kept; i++)
        {
            Neighbor neighbor = context.Repaired[i];
            AddLink(neighbor.Slot, level, new Neighbor(node, neighbor.Distance), context);
        }
    }

    private static void PublishCount(Span<int> record, int level, int count)
    {
        int word = level == 0 ? NodeHeader.WithCount(record[0], count) : count;
        Volatile.Write(ref record[0], word);
    }

    private static void InsertionSort(Span<Neighbor> items)
    {
        for (int i = 1; i < items.Length; i++)
        {
            Neighbor item = items[i];
            int j = i - 1;
            while (j >= 0 && SearchContext.Precedes(item, items[j]))
            {
                items[j + 1] = items[j];
                j--;
            }

            items[j + 1] = item;
        }
    }
}
