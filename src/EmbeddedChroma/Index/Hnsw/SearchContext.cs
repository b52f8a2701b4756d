using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// Per-operation scratch state of a graph walk, rented from a <see cref="SearchContextPool"/> so a query allocates
/// nothing once the pool is warm: the visited set, the candidate min-heap C and the result max-heap W of Alg. 2, and
/// buffers for link lists and neighbour selection.
/// </summary>
/// <remarks>
/// The visited set is an array of generation tags (hnswlib <c>visited_list_pool.h</c>): a node is visited when its
/// tag equals the current generation, so starting a new walk is one increment; the array is cleared only when the
/// 16-bit counter wraps. Heaps order by <see cref="Precedes"/> (distance, then slot), so walks are deterministic. Not
/// thread-safe: one context serves one operation at a time.
/// <para>The heaps index their arrays through refs without bounds checks: every index is below the element count,
/// which the push paths keep at most the array length (they grow it first).</para>
/// </remarks>
internal sealed class SearchContext
{
    private ushort[] _visited = [];
    private ushort _generation;
    private Neighbor[] _candidates = new Neighbor[64];
    private Neighbor[] _top = new Neighbor[64];

    public SearchContext(int maxM0, int m)
    {
        // Merging a level-0 list with another (an updated node's old links) needs 2·MaxM0 entries at most;
        // m ≤ MaxM0 bounds a fresh selection merged into a list.
        _ = m;
        Links = new int[maxM0];
        OldLinks = new int[maxM0];
        Merge = new Neighbor[(2 * maxM0) + 1];
        Selected = new Neighbor[(2 * maxM0) + 1];
        Repaired = new Neighbor[maxM0];
        Drained = new Neighbor[64];
        Entries = new Neighbor[64];
    }

    private float[] _queryScratch = [];
    private float[] _nodeScratch = [];
    private float[] _candidateScratch = [];

    /// <summary>A compact row decoded as the query of an insert's walks (graphs over compact rows only).</summary>
    public float[] QueryScratch(int dimension) => _queryScratch.Length >= dimension ? _queryScratch : (_queryScratch = new float[dimension]);

    /// <summary>A compact row decoded while its links are merged or repaired.</summary>
    public float[] NodeScratch(int dimension) => _nodeScratch.Length >= dimension ? _nodeScratch : (_nodeScratch = new float[dimension]);

    /// <summary>A compact row decoded by the neighbour-selection heuristic.</summary>
    public float[] CandidateScratch(int dimension) => _candidateScratch.Length >= dimension ? _candidateScratch : (_candidateScratch = new float[dimension]);

    /// <summary>Buffer for a copied link list; during a walk, the unvisited neighbours of the node being expanded.</summary>
    public int[] Links { get; }

    /// <summary>Second link buffer (the old links of a node being updated).</summary>
    public int[] OldLinks { get; }

    /// <summary>Buffer for neighbour lists being merged or pruned.</summary>
    public Neighbor[] Merge { get; }

    /// <summary>A repaired neighbour list, kept while reverse links are added (which reuse the other buffers).</summary>
    public Neighbor[] Repaired { get; }

    /// <summary>Output of the neighbour-selection heuristic.</summary>
    public Neighbor[] Selected { get; }

    /// <summary>The result set of the last layer search, best first (see <see cref="DrainTopAscending"/>).</summary>
    public Neighbor[] Drained { get; private set; }

    /// <summary>Entry points for the next layer search.</summary>
    public Neighbor[] Entries { get; private set; }

    public int CandidateCount { get; private set; }

    public int TopCount { get; private set; }

    /// <summary>The worst neighbour kept in W (its root); only meaningful when <see cref="TopCount"/> &gt; 0.</summary>
    public ref readonly Neighbor WorstTop => ref _top[0];

    /// <summary>Starts a walk over a graph of <paramref name="capacity"/> slots: empties both heaps and the visited set.</summary>
    public void BeginWalk(int capacity)
    {
        CandidateCount = 0;
        TopCount = 0;
        if (_visited.Length < capacity)
        {
            _visited = new ushort[capacity];
            _generation = 0;
        }

        if (++_generation == 0)
        {
            // Wrapped: tags from 65535 walks ago would read as visited.
            Array.Clear(_visited);
            _generation = 1;
        }
    }

    /// <summary>The visited tags (see <see cref="Generation"/>); a walk may cache it in a local between <see cref="BeginWalk"/> calls.</summary>
    public ushort[] VisitedTags => _visited;

    /// <summary>The tag of the current walk: a node is visited when its entry in <see cref="VisitedTags"/> equals it.</summary>
    public ushort Generation => _generation;

    /// <summary>Marks <paramref name="node"/> visited; returns <see langword="false"/> if it already was.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryVisit(int node)
    {
        ref ushort tag = ref _visited[node];
        if (tag == _generation)
        {
            return false;
        }

        tag = _generation;
        return true;
    }

    public void EnsureEntries(int count)
    {
        if (Entries.Length < count)
        {
            Entries = new Neighbor[Math.Max(count, Entries.Length * 2)];
        }
    }

    /// <summary>Pushes onto the candidate min-heap C (unbounded; grows and keeps its storage).</summary>
    public void PushCandidate(Neighbor item)
    {
        int index = CandidateCount;
        if (index == _candidates.Length)
        {
            Array.Resize(ref _candidates, _candidates.Length * 2);
        }

        CandidateCount = index + 1;
        ref Neighbor heap = ref MemoryMarshal.GetArrayDataReference(_candidates);
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            ref Neighbor above = ref Unsafe.Add(ref heap, parent);
            if (!Precedes(item, above))
            {
                break;
            }

            Unsafe.Add(ref heap, index) = above;
            index = parent;
        }

        Unsafe.Add(ref heap, index) = item;
    }

    /// <summary>The nearest candidate; only meaningful when <see cref="CandidateCount"/> &gt; 0.</summary>
    public ref readonly Neighbor NearestCandidate => ref _candidates[0];

    public Neighbor PopCandidate()
    {
        ref Neighbor heap = ref MemoryMarshal.GetArrayDataReference(_candidates);
        Neighbor result = heap;
        int count = --CandidateCount;
        if (count > 0)
        {
            Neighbor item = Unsafe.Add(ref heap, count);
            int index = 0;
            int child;
            while ((child = (2 * index) + 1) < count)
            {
                ref Neighbor smaller = ref Unsafe.Add(ref heap, child);
                if (child + 1 < count && Precedes(Unsafe.Add(ref smaller, 1), smaller))
                {
                    child++;
                    smaller = ref Unsafe.Add(ref smaller, 1);
                }

                if (!Precedes(smaller, item))
                {
                    break;
                }

                Unsafe.Add(ref heap, index) = smaller;
                index = child;
            }

            Unsafe.Add(ref heap, index) = item;
        }

        return result;
    }

    /// <summary>Pushes onto the result max-heap W (the caller bounds it with <see cref="PopWorstTop"/> or uses <see cref="ReplaceWorstTop"/>).</summary>
    public void PushTop(Neighbor item)
    {
        int index = TopCount;
        if (index == _top.Length)
        {
            Array.Resize(ref _top, _top.Length * 2);
        }

        TopCount = index + 1;
        ref Neighbor heap = ref MemoryMarshal.GetArrayDataReference(_top);
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            ref Neighbor above = ref Unsafe.Add(ref heap, parent);
            if (!Precedes(above, item))
            {
                break;
            }

            Unsafe.Add(ref heap, index) = above;
            index = parent;
        }

        Unsafe.Add(ref heap, index) = item;
    }

    /// <summary>Removes and returns the worst neighbour of W.</summary>
    public Neighbor PopWorstTop()
    {
        ref Neighbor heap = ref MemoryMarshal.GetArrayDataReference(_top);
        Neighbor result = heap;
        int count = --TopCount;
        if (count > 0)
        {
            SiftDownTop(ref heap, Unsafe.Add(ref heap, count), count);
        }

        return result;
    }

    /// <summary>
    /// Replaces the worst neighbour of a non-empty W by <paramref name="item"/>, which must precede it: the same set
    /// as <see cref="PushTop"/> then <see cref="PopWorstTop"/>, with one sift instead of two.
    /// </summary>
    public void ReplaceWorstTop(Neighbor item) => SiftDownTop(ref MemoryMarshal.GetArrayDataReference(_top), item, TopCount);

    /// <summary>Empties W into <see cref="Drained"/>, best first; returns the count.</summary>
    public int DrainTopAscending()
    {
        int count = TopCount;
        if (Drained.Length < count)
        {
            Drained = new Neighbor[Math.Max(count, Drained.Length * 2)];
        }

        for (int i = count - 1; i >= 0; i--)
        {
            Drained[i] = PopWorstTop();
        }

        return count;
    }

    /// <summary>
    /// The walk order: distance ascending, equal distances by slot ascending (the order of
    /// <see cref="BoundedMaxHeap.Precedes"/> without its NaN rule). Distances in a walk are never NaN: stored and query
    /// vectors are validated finite before they reach the graph. Were one NaN anyway, it would precede nothing and
    /// nothing would precede it, which misorders a heap but cannot take an index out of bounds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Precedes(in Neighbor a, in Neighbor b) =>
        a.Distance < b.Distance || (a.Distance == b.Distance && a.Slot < b.Slot);

    /// <summary>Puts <paramref name="item"/> at the root of the max-heap W of <paramref name="count"/> elements and sifts it down.</summary>
    private static void SiftDownTop(ref Neighbor heap, Neighbor item, int count)
    {
        int index = 0;
        int child;
        while ((child = (2 * index) + 1) < count)
        {
            ref Neighbor larger = ref Unsafe.Add(ref heap, child);
            if (child + 1 < count && Precedes(larger, Unsafe.Add(ref larger, 1)))
            {
                child++;
                larger = ref Unsafe.Add(ref larger, 1);
            }

            if (!Precedes(item, larger))
            {
                break;
            }

            Unsafe.Add(ref heap, index) = larger;
            index = child;
        }

        Unsafe.Add(ref heap, index) = item;
    }
}
