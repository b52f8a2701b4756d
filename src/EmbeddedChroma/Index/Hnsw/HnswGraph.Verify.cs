namespace EmbeddedChroma.Index.Hnsw;

// The structural check of a live graph (ChromaClient.VerifyIntegrity): the rules a loaded file must pass
// (ValidateLoaded), applied to the graph in memory without changing it.
internal sealed partial class HnswGraph<TKernel, TElement>
{
    /// <inheritdoc />
    public override string? VerifyStructure()
    {
        const int KnownBits = NodeHeader.PresentBit | NodeHeader.DeletedBit | (NodeHeader.LevelMask << NodeHeader.LevelShift) | NodeHeader.CountMask;
        _resizeLock.EnterReadLock();
        try
        {
            int slotCount = Volatile.Read(ref _slotHighWater);
            long entry = Volatile.Read(ref _entry);
            int entryNode = EntryNode(entry);
            int maxLevel = entryNode < 0 ? -1 : EntryLevel(entry);
            int present = 0;
            int deleted = 0;
            int[] sorted = new int[Math.Max(_maxM0, _m)];
            for (int slot = 0; slot < _capacity; slot++)
            {
                int header = _level0[slot * _stride0];
                if (!NodeHeader.IsPresent(header))
                {
                    if (header != 0 || _upper[slot] is not null)
                    {
                        return $"slot {slot} is not in the graph but its record is not empty";
                    }

                    continue;
                }

                int level = NodeHeader.Level(header);
                if (slot >= slotCount)
                {
                    return $"node {slot} lies past the graph's slot count ({slotCount})";
                }

                if ((header & ~KnownBits) != 0 || level > NodeHeader.MaxLevel)
                {
                    return $"node {slot} has an invalid header";
                }

                if (level > maxLevel)
                {
                    return $"node {slot} has level {level}, above the entry point's ({maxLevel})";
                }

                if ((level > 0) != (_upper[slot] is not null) || (_upper[slot] is { } upper && upper.Length != level * _strideUpper))
                {
                    return $"node {slot}'s upper levels do not match its level {level}";
                }

                present++;
                deleted += NodeHeader.IsDeleted(header) ? 1 : 0;
                for (int lc = 0; lc <= level; lc++)
                {
                    Span<int> record = Record(slot, lc);
                    int count = lc == 0 ? NodeHeader.Count(record[0]) : record[0];
                    if ((uint)count > (uint)MaxLinks(lc))
                    {
                        return $"node {slot} has {count} links at level {lc}, more than {MaxLinks(lc)}";
                    }

                    Span<int> links = sorted.AsSpan(0, count);
                    record.Slice(1, count).CopyTo(links);
                    links.Sort();
                    for (int i = 0; i < links.Length; i++)
                    {
                        int link = links[i];
                        if ((uint)link >= (uint)slotCount || link == slot)
                        {
                            return $"node {slot} links to {(link == slot ? "itself" : $"slot {link}, outside the graph")} at level {lc}";
                        }

                        int linkHeader = _level0[link * _stride0];
                        if (!NodeHeader.IsPresent(linkHeader) || NodeHeader.Level(linkHeader) < lc)
                        {
                            return $"node {slot} links at level {lc} to slot {link}, which is not a node of that level";
                        }

                        if (i > 0 && links[i - 1] == link)
                        {
                            return $"node {slot} links to slot {link} twice at level {lc}";
                        }
                    }
                }
            }

            if (present != Volatile.Read(ref _count) || deleted != Volatile.Read(ref _deletedCount))
            {
                return $"its counters ({Count} nodes, {DeletedCount} deleted) differ from its nodes ({present}, {deleted} deleted)";
            }

            if (present == 0)
            {
                return entryNode < 0 ? null : $"it has no node but an entry point ({entryNode})";
            }

            return (uint)entryNode >= (uint)slotCount
                || !NodeHeader.IsPresent(_level0[entryNode * _stride0])
                || NodeHeader.Level(_level0[entryNode * _stride0]) != maxLevel
                ? $"its entry point ({entryNode}, level {maxLevel}) is not a node of the top level"
                : null;
        }
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }
}
