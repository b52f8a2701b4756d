using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// Approximate k-nearest-neighbour index over an <see cref="IVectorRows"/>: a Hierarchical Navigable Small World
/// graph (Malkov &amp; Yashunin, arXiv:1603.09320). The graph stores slots only; vectors are read from the rows
/// (the memory-mapped arena), already normalized for cosine.
/// </summary>
/// <remarks>
/// <code>
///   HnswIndex (this facade: validation, factory, load)          one virtual call per operation
///        │
///        └── HnswGraph&lt;TKernel&gt;  TKernel = L2Kernel (l2) | DotDistanceKernel (cosine) | MipsKernel (ip: links by
///               │                       L2 of x/‖x‖² (Möbius), queried by 1 − q·x; see HnswGraph remarks)
///               ├─ level 0: int[] of fixed-stride records [header|MaxM0 links]   (NodeHeader)
///               ├─ levels ≥ 1: int[] per node, [count|M links] per level
///               ├─ Insert (Alg. 1) ─┬─ SearchLayer (Alg. 2) ── SearchContext (pooled visited set + heaps)
///               ├─ Search (Alg. 5) ─┘─ SelectNeighborsHeuristic (Alg. 4)
///               └─ Save / TryLoad (checksummed file, atomic replace)
/// </code>
/// The kernel is fixed per index by the generic argument, so the inner loops call it statically.
/// </remarks>
internal abstract class HnswIndex : IDisposable
{
    private int _ef;

    private protected HnswIndex(DistanceSpace space, HnswParameters parameters)
    {
        Space = space;
        Parameters = parameters;
        _ef = parameters.Ef;
    }

    /// <summary>The distance the index ranks by.</summary>
    public DistanceSpace Space { get; }

    /// <summary>The construction parameters (M, EfConstruction, seed).</summary>
    public HnswParameters Parameters { get; }

    /// <summary>The ef used by <see cref="Search(ReadOnlySpan{float}, int, SlotFilter, Span{Neighbor})"/>. Thread-safe to set.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public int Ef
    {
        get => Volatile.Read(ref _ef);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref _ef, value);
        }
    }

    /// <summary>
    /// Loaded from a file of an earlier format version (still read): the next save rewrites it whole in the current one,
    /// and the owner should save it even when nothing changed, so that later loads take the current (faster) path.
    /// </summary>
    public bool LoadedFromOlderFormat { get; private protected set; }

    /// <summary>Number of nodes in the graph, including the ones marked deleted.</summary>
    public abstract int Count { get; }

    /// <summary>Number of nodes marked deleted (their slots await reuse).</summary>
    public abstract int DeletedCount { get; }

    /// <summary>The entry point's level, or −1 when the graph is empty.</summary>
    public abstract int MaxLevel { get; }

    /// <summary>Approximate bytes held by the graph (link blocks and per-node arrays; not the vectors).</summary>
    public abstract long MemoryBytes { get; }

    /// <summary>Slots the graph's arrays hold before they grow (<see cref="Reserve"/>, or an insert past them).</summary>
    public abstract int Capacity { get; }

    /// <summary>Creates an empty index over <paramref name="rows"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> or <paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex Create(IVectorRows rows, DistanceSpace space, HnswParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => new HnswGraph<L2Kernel, float>(rows, space, parameters),
            DistanceSpace.Cosine => new HnswGraph<DotDistanceKernel, float>(rows, space, parameters),
            DistanceSpace.InnerProduct => new HnswGraph<MipsKernel, float>(rows, space, parameters),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>
    /// Creates an empty index over compact float16 <paramref name="rows"/> (a quantized collection): walks and links use
    /// the float16 values; results carry distances to them, which the caller re-ranks with the float32 rows.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> or <paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex Create(IRowBlock<Half> rows, DistanceSpace space, HnswParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => new HnswGraph<L2Kernel, Half>(rows, space, parameters),
            DistanceSpace.Cosine => new HnswGraph<DotDistanceKernel, Half>(rows, space, parameters),
            DistanceSpace.InnerProduct => new HnswGraph<MipsKernel, Half>(rows, space, parameters),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>
    /// Loads a graph written by <see cref="Save"/>, or returns <see langword="null"/> when the file is missing,
    /// truncated, of another format version, space, M or dimension, stamped other than
    /// <paramref name="expectedStamp"/>, fails its checksum, or describes an inconsistent graph (for example a link
    /// to a slot outside the file), or saved with another owner stamp than <paramref name="expectedOwner"/> (opaque bytes
    /// naming whose graph it is; see <see cref="Save"/>). The caller then rebuilds from the source of truth. Never throws on file content.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex? TryLoad(string path, IVectorRows rows, DistanceSpace space, HnswParameters parameters, long expectedStamp, ReadOnlySpan<byte> expectedOwner = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => HnswGraph<L2Kernel, float>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.Cosine => HnswGraph<DotDistanceKernel, float>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.InnerProduct => HnswGraph<MipsKernel, float>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>
    /// Creates an empty index over 8-bit affine <paramref name="rows"/> (a quantized collection): walks and links use the
    /// values the codes stand for, with the query kept in float (asymmetric distances); the caller re-ranks with float32 rows.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> or <paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex Create(IAffineRows rows, DistanceSpace space, HnswParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => new HnswGraph<L2Kernel, byte>(rows, space, parameters),
            DistanceSpace.Cosine => new HnswGraph<DotDistanceKernel, byte>(rows, space, parameters),
            DistanceSpace.InnerProduct => new HnswGraph<MipsKernel, byte>(rows, space, parameters),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>Loads a graph file over 8-bit affine <paramref name="rows"/>; see the float32 overload.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex? TryLoad(string path, IAffineRows rows, DistanceSpace space, HnswParameters parameters, long expectedStamp, ReadOnlySpan<byte> expectedOwner = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => HnswGraph<L2Kernel, byte>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.Cosine => HnswGraph<DotDistanceKernel, byte>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.InnerProduct => HnswGraph<MipsKernel, byte>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>Loads a graph file over compact float16 <paramref name="rows"/>; see the float32 overload.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="space"/> is not defined or a parameter is out of range.</exception>
    public static HnswIndex? TryLoad(string path, IRowBlock<Half> rows, DistanceSpace space, HnswParameters parameters, long expectedStamp, ReadOnlySpan<byte> expectedOwner = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        return space switch
        {
            DistanceSpace.L2 => HnswGraph<L2Kernel, Half>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.Cosine => HnswGraph<DotDistanceKernel, Half>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            DistanceSpace.InnerProduct => HnswGraph<MipsKernel, Half>.Load(path, rows, space, parameters, expectedStamp, expectedOwner),
            _ => throw new ArgumentOutOfRangeException(nameof(space), space, "Unknown distance space."),
        };
    }

    /// <summary>
    /// The stamp of the graph file at <paramref name="path"/> when its header is intact, else <see langword="null"/>
    /// (missing, truncated, another format). The body is only checked by <see cref="TryLoad(string, IVectorRows, DistanceSpace, HnswParameters, long, ReadOnlySpan{byte})"/>.
    /// </summary>
    public static long? ReadStamp(string path) => HnswGraph<L2Kernel, float>.ReadHeaderStamp(path);

    /// <summary>
    /// Checks a graph file without loading it (no rows needed): an intact current header, the base's checksum, and each
    /// appended segment's checksums and their chain. It does not check the links themselves (<see cref="TryLoad(string, IVectorRows, DistanceSpace, HnswParameters, long, ReadOnlySpan{byte})"/> does).
    /// Never throws on file content; an unreadable file is reported as a problem.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    public static GraphFileCheck VerifyFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return HnswGraph<L2Kernel, float>.Verify(path);
    }

    /// <summary>Bytes the last <see cref="Save"/> wrote (base or appended segment, and header).</summary>
    public long LastSaveBytes { get; private protected set; }

    /// <summary>Nodes the last <see cref="Save"/> wrote: every node of a whole save, the changed ones of an appended save.</summary>
    public int LastSaveNodes { get; private protected set; }

    /// <summary>Bytes a whole save of the graph as it is now would write (benchmarks: the cost of a save before segments).</summary>
    public abstract long WholeSaveBytes { get; }

    /// <summary>Whether the last <see cref="Save"/> appended the changed nodes to the file rather than rewriting it whole.</summary>
    public bool LastSaveAppended { get; private protected set; }

    /// <summary>
    /// Runs during an appending <see cref="Save"/> once the segment is flushed and before the header that commits it is
    /// written (tests: an exception thrown here leaves the file as a crash at that point would).
    /// </summary>
    internal Action? SegmentWritten { get; set; }

    /// <summary>
    /// Adds <paramref name="slot"/> (its vector is read from the rows) per Alg. 1. If the slot is in the graph but
    /// marked deleted, the slot is reused: its links are rebuilt for the new vector and the mark is cleared.
    /// </summary>
    /// <remarks>Thread-safe with other inserts, updates, deletes (of other slots) and searches.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slot"/> is outside [0, rows.SlotCount).</exception>
    /// <exception cref="InvalidOperationException">The slot is already in the graph and not deleted.</exception>
    public abstract void Insert(int slot);

    /// <summary>
    /// Makes room for slots [0, <paramref name="slots"/>) ahead of the inserts that will need it (growth doubles, as an
    /// insert past the capacity does). The new arrays are allocated outside the graph's locks; when no change is under way
    /// they are also filled there, and other operations wait only for the swap (else for the copy); call it from the
    /// thread that inserts, before it takes locks of its own.
    /// </summary>
    /// <remarks>Thread-safe with every other operation.</remarks>
    public abstract void Reserve(int slots);

    /// <summary>Called when a growth has copied the graph's arrays ahead of its lock, before it takes it (tests: a change begun then).</summary>
    internal Action? CopiedAhead { get; set; }

    /// <summary>
    /// Rebuilds the links of <paramref name="slot"/> after its vector changed in the rows: new neighbours are searched
    /// as in Alg. 1 and linked both ways; old neighbours that now reach it through a dominated link drop it.
    /// </summary>
    /// <remarks>Thread-safe as <see cref="Insert"/>. Links into the slot from nodes it did not link to stay (as long edges).</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slot"/> is outside [0, rows.SlotCount).</exception>
    /// <exception cref="InvalidOperationException">The slot is not in the graph.</exception>
    public abstract void Update(int slot);

    /// <summary>
    /// Marks <paramref name="slot"/> deleted: searches still walk through it but never return it. Returns
    /// <see langword="false"/> when the slot is not in the graph or already deleted.
    /// </summary>
    /// <remarks>Thread-safe as <see cref="Insert"/>.</remarks>
    public abstract bool MarkDeleted(int slot);

    /// <summary>Whether <paramref name="slot"/> is in the graph (deleted or not).</summary>
    public abstract bool Contains(int slot);

    /// <summary>Whether <paramref name="slot"/> is in the graph and marked deleted.</summary>
    public abstract bool IsDeleted(int slot);

    /// <summary>
    /// Adds to <paramref name="destination"/> every slot below <paramref name="slotCount"/> that is in the graph, not
    /// marked deleted, and not in <paramref name="live"/>: the nodes whose records vanished since the graph was saved.
    /// One pass over the node headers under one lock (a reopen's replay, over every slot).
    /// </summary>
    public abstract void CollectVanished(ReadOnlySpan<ulong> live, int slotCount, ISet<int> destination);

    /// <summary>
    /// Checks the graph's structure in memory (<c>ChromaClient.VerifyIntegrity</c>): every node's header, level and upper
    /// levels, link counts within Mmax, every link to another present node of a high enough level and none twice in a
    /// list, the counters, and the entry point on the top level. Null when sound, else the first problem. Caller keeps
    /// inserts, updates and deletes out.
    /// </summary>
    public abstract string? VerifyStructure();

    /// <summary>The entry point's slot, or −1 when the graph is empty (diagnostics and tests).</summary>
    public abstract int EntryPoint { get; }

    /// <summary>
    /// Makes every live (present, not deleted) node reachable from the entry point over level-0 links. Neighbour pruning
    /// (Alg. 4) can drop the last link into a node, and concurrent inserts can leave early nodes without in-links: such a
    /// node is never found, not even by its own vector. This floods level 0 from the entry point (through deleted nodes,
    /// as walks go) and links each live node not reached from its nearest reached node (found by an insert's walk):
    /// appended when that node's list has room, else in place of the link whose target has the most in-links, so no
    /// node loses its last one; then floods again, until everything is reached or a few passes are spent. Costs one
    /// flood, O(N·M) reads of the link lists, when nothing needs repair; allocates nothing once warm (pooled arrays).
    /// </summary>
    /// <remarks>Thread-safe with searches (each changed list is written under its link lock, one link at a time); the
    /// caller keeps inserts, updates and deletes out while it runs. Changed lists are saved by the next <see cref="Save"/>
    /// like any other link change.</remarks>
    /// <param name="shouldStop">Asked every few thousand nodes and before each repair: true stops the pass early
    /// (<see cref="ReachabilityRepair.Completed"/> false); the links added so far stay.</param>
    public abstract ReachabilityRepair RepairReachability(Func<bool>? shouldStop = null);

    /// <summary>
    /// Copies the links of <paramref name="slot"/> at <paramref name="level"/> (diagnostics and tests). Returns 0 when
    /// the slot is not in the graph or its level is below <paramref name="level"/>.
    /// </summary>
    /// <remarks>Thread-safe; the copy is a consistent snapshot of that one list.</remarks>
    public abstract int GetLinks(int slot, int level, Span<int> destination);

    /// <summary>
    /// Finds up to <paramref name="k"/> admitted slots nearest to <paramref name="query"/> with the index's <see cref="Ef"/>,
    /// best first (distance ascending, ties by slot ascending); see the overload taking ef.
    /// </summary>
    /// <returns>The number of neighbours written (an approximate search may return fewer than min(k, admitted)).</returns>
    public int Search(ReadOnlySpan<float> query, int k, SlotFilter filter, Span<Neighbor> destination) =>
        Search(query, k, Ef, filter, destination);

    /// <summary>
    /// Finds up to <paramref name="k"/> nodes near <paramref name="query"/> that the filter admits and that are not
    /// deleted (Alg. 5, with the filtered layer walk of hnswlib: every node may be traversed, only admitted ones
    /// enter the result set). Results are best first, ties by slot.
    /// </summary>
    /// <param name="query">The query; already normalized for cosine.</param>
    /// <param name="k">How many neighbours to return; 0 returns none.</param>
    /// <param name="ef">Size of the dynamic candidate list; raised to <paramref name="k"/> when smaller.</param>
    /// <param name="filter">The admitted slots. A slot list is turned into a pooled bitmap for the walk.</param>
    /// <param name="destination">Receives the neighbours; must hold min(<paramref name="k"/>, admitted slots).</param>
    /// <returns>The number written; may be less than min(k, admitted) since the search is approximate (a selective
    /// filter is better served by <see cref="ExactScan"/>).</returns>
    /// <remarks>Thread-safe with every other operation except <see cref="Save"/> running concurrently with writers.
    /// Allocates nothing once warm, except a slot-list filter rents a bitmap from <see cref="System.Buffers.ArrayPool{T}"/>.</remarks>
    /// <exception cref="ArgumentException">Wrong query dimension or too small a destination.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative, <paramref name="ef"/> is below 1,
    /// or a listed slot is out of range.</exception>
    public abstract int Search(ReadOnlySpan<float> query, int k, int ef, SlotFilter filter, Span<Neighbor> destination);

    /// <summary>
    /// Finds up to <paramref name="k"/> admitted, non-deleted nodes near <paramref name="query"/> with a walk that
    /// moves over admitted nodes only, reaching them through disallowed neighbours (two hops) without computing a
    /// distance for a disallowed node (ACORN-1 style; see <c>SearchFilteredLevel0</c>). For a selective filter (a small
    /// share of the graph admitted) it costs about what an unfiltered walk does, where <see cref="Search(ReadOnlySpan{float}, int, int, SlotFilter, Span{Neighbor})"/>
    /// computes distances for every disallowed node it crosses. Results best first, ties by slot.
    /// </summary>
    /// <param name="query">The query; already normalized for cosine.</param>
    /// <param name="k">How many neighbours to return; 0 returns none.</param>
    /// <param name="ef">Size of the dynamic candidate list; raised to <paramref name="k"/> when smaller.</param>
    /// <param name="admitted">Bitmap of admitted slots (bit s of word s / 64); slots past its end are not admitted.</param>
    /// <param name="destination">Receives the neighbours; must hold <paramref name="k"/>.</param>
    /// <returns>The number written; may be less than min(k, admitted) when the admitted subgraph is not reachable within
    /// two hops (a very selective filter; the caller falls back to <see cref="ExactScan"/>).</returns>
    /// <remarks>Thread-safe as <see cref="Search(ReadOnlySpan{float}, int, int, SlotFilter, Span{Neighbor})"/>; allocates nothing once warm.</remarks>
    /// <exception cref="ArgumentException">Wrong query dimension or too small a destination.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is negative or <paramref name="ef"/> is below 1.</exception>
    public abstract int SearchFiltered(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, Span<Neighbor> destination);

    /// <summary>
    /// As <see cref="Search(ReadOnlySpan{float}, int, int, SlotFilter, Span{Neighbor})"/> with a bitmap, but a node the
    /// bitmap does not admit is steered by its <paramref name="sketch"/> estimate (<see cref="SignSketch.Estimator"/>)
    /// instead of its exact distance: its row is never read. Admitted nodes, the only results, keep exact distances.
    /// A graph over compact rows walks as the plain filtered search.
    /// </summary>
    internal abstract int SearchSketched(ReadOnlySpan<float> query, int k, int ef, ReadOnlySpan<ulong> admitted, SignSketch sketch, Span<Neighbor> destination);

    /// <summary>
    /// Writes the graph to <paramref name="path"/> with <paramref name="stamp"/>, <paramref name="owner"/> (at most 48
    /// opaque bytes saying whose graph this is, e.g. a store and collection identity; <see cref="TryLoad(string, IVectorRows, DistanceSpace, HnswParameters, long, ReadOnlySpan{byte})"/> loads it only
    /// for the same bytes) and checksums. When the file is the one this graph last wrote or loaded, only the nodes changed
    /// since are appended as a segment (flushed, then committed by a new header written beside the current one); otherwise,
    /// or when the segments would exceed half the base, the whole graph is written atomically (temporary file, flush to
    /// disk, rename). Either way a crash leaves the previous graph loadable. See the layout on <c>HnswGraph</c>'s persistence.
    /// </summary>
    /// <remarks>Thread-safe with searches; the caller must keep inserts, updates and deletes out while it runs,
    /// or the file may hold a graph that matches no stamp. Two saves to one path must not overlap (they share the
    /// temporary file).</remarks>
    /// <param name="path">The graph file.</param>
    /// <param name="stamp">The last write sequence number the graph covers.</param>
    /// <param name="owner">Whose graph this is.</param>
    /// <param name="cancellationToken">Checked between blocks of the body: a cancelled save deletes its temporary file
    /// (or trims its uncommitted segment) and leaves the previous graph file in place.</param>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="owner"/> is longer than 48 bytes.</exception>
    public abstract void Save(string path, long stamp, ReadOnlySpan<byte> owner = default, CancellationToken cancellationToken = default);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the graph's locks.</summary>
    protected abstract void Dispose(bool disposing);
}

/// <summary>What <see cref="HnswIndex.VerifyFile"/> found.</summary>
/// <param name="Stamp">The stamp of the current header, or null when no header is intact.</param>
/// <param name="Segments">Appended segments checked (all of them when the file is intact).</param>
/// <param name="Problem">What is wrong, or null when every checksum holds.</param>
internal readonly record struct GraphFileCheck(long? Stamp, int Segments, string? Problem)
{
    /// <summary>Every checksum holds.</summary>
    public bool Intact => Problem is null;
}

/// <summary>What <see cref="HnswIndex.RepairReachability"/> did.</summary>
/// <param name="Unreached">Live nodes the first flood did not reach.</param>
/// <param name="LinksAdded">Level-0 links added (appended or put in place of another).</param>
/// <param name="Remaining">Live nodes still not reached at the end (0 unless the passes ran out); −1 when stopped early.</param>
/// <param name="Completed">False when the caller's stop request cut the pass short.</param>
internal readonly record struct ReachabilityRepair(int Unreached, int LinksAdded, int Remaining, bool Completed);
