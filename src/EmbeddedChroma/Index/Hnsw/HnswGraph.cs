using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using EmbeddedChroma.Distance;

namespace EmbeddedChroma.Index.Hnsw;

/// <summary>
/// The HNSW graph specialised for one distance kernel. See <see cref="HnswIndex"/> for the overview and
/// <see cref="NodeHeader"/> for the record layout.
/// </summary>
/// <remarks>
/// <para>Locks, always taken in this order and never two of one kind at once (so no cycle can form):</para>
/// <list type="number">
/// <item><c>_resizeLock</c> (reader/writer): every operation holds it for reading; only growth of the slot
/// capacity takes it for writing, so arrays never move under a walk.</item>
/// <item><c>_opLocks</c> (striped by slot): held for a whole Insert, Update or MarkDeleted of that slot, so two
/// writers of one slot serialize (hnswlib <c>label_op_locks_</c>).</item>
/// <item><c>_entryLock</c>: held for a whole insert whose level exceeds the current top level (rare), and
/// briefly when setting the first node (hnswlib's <c>global</c> mutex).</item>
/// <item><c>_linkLocks</c> (striped by node): held only while writing one node's link lists or reading one that
/// must be stable (neighbour pruning runs under the lock of the node being pruned and takes no other lock). The walks
/// of queries and inserts read lists in place without it (see <see cref="LinksInPlace"/>): search holds only the
/// resize lock, for reading.</item>
/// </list>
/// <para><b>Inner product</b> (<typeparamref name="TKernel"/> = <see cref="MipsKernel"/>). Raw inner product is not a
/// metric (a point need not be its own nearest neighbour), and a graph whose links are chosen by it navigates badly
/// when queries lie away from the data (recall levelled off near 0.84 on such data, whatever ef). The links are chosen
/// instead by squared L2 between the Möbius-transformed points y = x / ‖x‖² (Zhou et al., NeurIPS 2019):
/// ‖y_a − y_b‖² = 1/‖a‖² + 1/‖b‖² − 2 a·b / (‖a‖²‖b‖²), from cached squared norms (<see cref="NodeDistance"/>);
/// queries walk that graph by Chroma's ip distance 1 − q·x, so results and distances are ip's. The transform needs no
/// global bound, so inserts, updates and deletes in any order leave it exact. Bachrach et al.'s reduction
/// (x' = [x, √(M² − ‖x‖²)], q' = [q, 0]) was implemented first and measured worse: at ef 100 on 24-d clustered
/// vectors with norms spread over 25×, recall@10 0.943 (Möbius 0.999, raw ip 0.991), and 0.75 when inserts raised M
/// after the graph existed (Möbius 1.000); see benchmarks/HNSW.md.</para>
/// </remarks>
internal sealed partial class HnswGraph<TKernel, TElement> : HnswIndex
    where TKernel : struct, IDistanceKernel
    where TElement : unmanaged
{
    // Size: about 1,600 lines over four partial files (this one: layout and locks; .Insert: Alg. 1 and 4; .Search: Alg. 2
    // and 5; .Persistence: the file; .Reach: the reachability repair). One type on purpose: every part reads the same fixed-stride level-0 records and
    // per-node locks, and splitting it into classes would spread that unsafe layout and its lock rules over several types.

    private const int LockStripes = 1 << 12;
    private const long EmptyEntry = uint.MaxValue; // node −1 at level 0
    private const float MinimumSquaredNorm = 1e-30f;

    private readonly IRowBlock<TElement> _rows;

    /// <summary>Per-dimension code parameters of 8-bit rows (<see cref="IAffineRows"/>); empty otherwise.</summary>
    private readonly float[] _codeLow = [];
    private readonly float[] _codeStep = [];
    private readonly nint _rowStride;
    private readonly int _dimension;

    /// <summary>
    /// Cache lines fetched ahead per neighbour's row in a walk: the whole row up to 8 (512 bytes). Paired runs against
    /// hnswlib at 384-d: 4 lines 0.94–0.98×, 8 lines 0.96–1.02×, 12 or all 24 lines 0.89–0.91×; at 128-d (8 lines a
    /// row) 1, 2, 4 and 8 were within noise (benchmarks/HNSW.md).
    /// </summary>
    private readonly int _prefetchLines;
    private readonly int _m;
    private readonly int _maxM0;
    private readonly int _efConstruction;
    private readonly int _stride0;
    private readonly int _strideUpper;
    private readonly double _levelMultiplier;
    private readonly ulong _seed;
    private readonly Lock[] _linkLocks = CreateLocks();
    private readonly Lock[] _opLocks = CreateLocks();
    private readonly Lock _entryLock = new();
    private readonly ReaderWriterLockSlim _resizeLock = new(LockRecursionPolicy.NoRecursion);
    private readonly SearchContextPool _contexts;

    private int[] _level0;
    private int[]?[] _upper;

    /// <summary>‖x‖² per slot, inner-product graphs only (empty otherwise).</summary>
    private float[] _squaredNorms;
    private int _capacity;

    /// <summary>Entry point and top level packed as <c>(level &lt;&lt; 32) | (uint)node</c>, read and written as one.</summary>
    private long _entry = EmptyEntry;
    private int _count;
    private int _deletedCount;
    private int _slotHighWater;

    public HnswGraph(IRowBlock<TElement> rows, DistanceSpace space, HnswParameters parameters)
        : this(rows, space, parameters, Math.Max(parameters.InitialCapacity, 1))
    {
    }

    private HnswGraph(IRowBlock<TElement> rows, DistanceSpace space, HnswParameters parameters, int capacity)
        : base(space, parameters)
    {
        _rows = rows;
        if (rows is IAffineRows affine)
        {
            _codeLow = affine.Low.ToArray();
            _codeStep = affine.Step.ToArray();
        }

        _rowStride = rows.RowStride;
        _dimension = rows.Dimension;
        _prefetchLines = Math.Min(8, ((rows.Dimension * Unsafe.SizeOf<TElement>()) + 63) / 64);
        _m = parameters.M;
        _maxM0 = parameters.MaxM0;
        _efConstruction = parameters.EfConstruction;
        _stride0 = 1 + _maxM0;
        _strideUpper = 1 + _m;
        _levelMultiplier = parameters.LevelMultiplier;
        _seed = parameters.Seed;
        _contexts = new SearchContextPool(_maxM0, _m);
        _capacity = capacity;
        _level0 = AllocateLevel0(capacity);
        _upper = new int[]?[capacity];
        _squaredNorms = IsMips ? new float[capacity] : [];
    }

    public override int Count => Volatile.Read(ref _count);

    public override int DeletedCount => Volatile.Read(ref _deletedCount);

    public override int MaxLevel
    {
        get
        {
            long entry = Volatile.Read(ref _entry);
            return EntryNode(entry) < 0 ? -1 : EntryLevel(entry);
        }
    }

    public override int Capacity => Volatile.Read(ref _capacity);

    public override long MemoryBytes
    {
        get
        {
            _resizeLock.EnterReadLock();
            try
            {
                long bytes = ((long)_level0.Length * sizeof(int)) + ((long)_upper.Length * IntPtr.Size) + ((long)_squaredNorms.Length * sizeof(float));
                foreach (int[]? upper in _upper)
                {
                    if (upper is not null)
                    {
                        bytes += ((long)upper.Length * sizeof(int)) + 24; // + array object header
                    }
                }

                return bytes;
            }
            finally
            {
                _resizeLock.ExitReadLock();
            }
        }
    }

    public override bool Contains(int slot) => NodeHeader.IsPresent(ReadHeader(slot));

    public override bool IsDeleted(int slot) => NodeHeader.IsDeleted(ReadHeader(slot));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per reopen, over every slot: never as tier-0 code
    public override void CollectVanished(ReadOnlySpan<ulong> live, int slotCount, ISet<int> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        _resizeLock.EnterReadLock();
        try
        {
            int end = Math.Min(slotCount, _capacity);
            for (int slot = 0; slot < end; slot++)
            {
                int header = Volatile.Read(ref _level0[slot * _stride0]);
                if (NodeHeader.IsPresent(header) && !NodeHeader.IsDeleted(header) && !SlotBitmap.Contains(live, slot))
                {
                    destination.Add(slot);
                }
            }
        }
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }

    public override int GetLinks(int slot, int level, Span<int> destination)
    {
        _resizeLock.EnterReadLock();
        try
        {
            if ((uint)slot >= (uint)_capacity || (uint)level > NodeHeader.MaxLevel)
            {
                return 0;
            }

            int header = Volatile.Read(ref _level0[slot * _stride0]);
            return NodeHeader.IsPresent(header) && NodeHeader.Level(header) >= level ? CopyLinks(slot, level, destination) : 0;
        }
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _resizeLock.Dispose();
        }
    }

    private static Lock[] CreateLocks()
    {
        var locks = new Lock[LockStripes];
        for (int i = 0; i < locks.Length; i++)
        {
            locks[i] = new Lock();
        }

        return locks;
    }

    // Pinned: the block is large and long-lived; keep the GC from ever moving it (FASTER MallocFixedPageSize).
    private int[] AllocateLevel0(int capacity)
    {
        if (capacity > int.MaxValue / _stride0)
        {
            throw new InvalidOperationException($"An HNSW graph with M = {_m} holds at most {int.MaxValue / _stride0} slots.");
        }

        return GC.AllocateArray<int>(capacity * _stride0, pinned: true);
    }

    private int ReadHeader(int slot)
    {
        _resizeLock.EnterReadLock();
        try
        {
            return (uint)slot < (uint)_capacity ? Volatile.Read(ref _level0[slot * _stride0]) : 0;
        }
        finally
        {
            _resizeLock.ExitReadLock();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EntryNode(long entry) => (int)(uint)entry;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EntryLevel(long entry) => (int)(entry >> 32);

    private static long PackEntry(int node, int level) => ((long)level << 32) | (uint)node;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Lock LinkLock(int node) => _linkLocks[node & (LockStripes - 1)];

    /// <summary>True for an inner-product graph (a JIT-time constant per instantiation).</summary>
    private static bool IsMips => typeof(TKernel) == typeof(MipsKernel);

    /// <summary>
    /// The row of <paramref name="node"/>, addressed from <see cref="IRowBlock{TElement}.FirstRow"/> with the stride fixed at
    /// construction: no bounds check or per-row interface call beyond that one property (a node in the graph always
    /// has a row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<TElement> Row(int node) =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref Unsafe.AsRef(in _rows.FirstRow), node * _rowStride), _dimension);

    /// <summary>True for a graph over float32 rows (a JIT-time constant per instantiation).</summary>
    private static bool IsFloat => typeof(TElement) == typeof(float);

    /// <summary>
    /// True for a graph over 8-bit affine codes (<see cref="IAffineRows"/>). Its walks take the query in a prepared
    /// form (<see cref="Prepare"/>): weights q ⊙ step, then Σ q·low, then ‖q‖², then — where integer multiply-adds are
    /// accelerated (<see cref="QuantizedMath.IntegerDotAccelerated"/>) — the weights' scale and the weights as 16-bit
    /// integers (two per float); the float32 and float16 graphs take the query itself.
    /// </summary>
    private static bool IsByte => typeof(TElement) == typeof(byte);

    /// <summary>Length of the query form the walks take (see <see cref="IsByte"/>).</summary>
    private int QueryLength => IsByte ? IntegerWeightsAt + ((_dimension + 1) / 2) : _dimension;

    /// <summary>Where the prepared query's 16-bit weights start (after the float weights, Σ q·low, ‖q‖² and the scale).</summary>
    private int IntegerWeightsAt => _dimension + 3;

    /// <summary>
    /// Writes the prepared form of <paramref name="query"/> for 8-bit rows into <paramref name="destination"/>
    /// (<see cref="IsByte"/>); <paramref name="destination"/> may hold <paramref name="query"/> itself in its first elements.
    /// With room for them (<see cref="QueryLength"/>) and integer multiply-adds accelerated, the weights are also kept as
    /// 16-bit integers at a common scale, which <see cref="RowDistance"/> then uses: q·x̂ = Σ q·low + scale · Σ w16ᵢ·codeᵢ,
    /// off by at most scale / 2 per code unit (~1/65,000 of the largest weight), against the float path's rounding.
    /// </summary>
    private ReadOnlySpan<float> Prepare(ReadOnlySpan<float> query, Span<float> destination)
    {
        float bias = VectorMath.Dot(query, _codeLow);
        float squared = VectorMath.Dot(query, query);
        System.Numerics.Tensors.TensorPrimitives.Multiply(query, _codeStep, destination[.._dimension]);
        destination[_dimension] = bias;
        destination[_dimension + 1] = squared;
        if (!QuantizedMath.IntegerDotAccelerated || destination.Length < QueryLength)
        {
            return destination[..(_dimension + 2)];
        }

        var weights = MemoryMarshal.Cast<float, short>(destination[IntegerWeightsAt..QueryLength])[.._dimension];
        destination[_dimension + 2] = QuantizedMath.QuantizeWeights(destination[.._dimension], weights);
        return destination[..QueryLength];
    }

    /// <summary>
    /// The row of <paramref name="node"/> as floats: the row itself for float32 rows (no copy), else decoded into
    /// <paramref name="scratch"/> (at least <see cref="_dimension"/> long). Used by inserts, which take a node's row as
    /// the query of their walks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<float> FloatRow(int node, float[] scratch)
    {
        if (IsFloat)
        {
            return MemoryMarshal.Cast<TElement, float>(Row(node));
        }

        Span<float> destination = scratch.AsSpan(0, _dimension);
        if (IsByte)
        {
            // The values the codes stand for, in the prepared query form the walks of 8-bit rows take.
            QuantizedMath.DequantizeU8(MemoryMarshal.Cast<TElement, byte>(Row(node)), _codeLow, _codeStep, destination);
            return Prepare(destination, scratch.AsSpan(0, QueryLength));
        }

        RowCodec.Decode(Row(node), destination);
        return destination;
    }

    /// <summary>
    /// Distance from a float query to the row starting at <paramref name="row"/> (<paramref name="dimension"/> elements):
    /// the kernel itself for float32 rows; for compact rows the same definition computed against the stored values
    /// (squared L2 for <see cref="L2Kernel"/>, else 1 − dot).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowDistance(ReadOnlySpan<float> query, ref TElement row, int dimension)
    {
        if (IsFloat)
        {
            return TKernel.Distance(query, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TElement, float>(ref row), dimension));
        }

        if (IsByte)
        {
            // query is the prepared form: q·x̂ = Σ q·low + Σ (q ⊙ step)·code; ‖q − x̂‖² = ‖q‖² − 2 q·x̂ + ‖x̂‖² (stored after the codes).
            ref byte codes = ref Unsafe.As<TElement, byte>(ref row);
            var codeSpan = MemoryMarshal.CreateReadOnlySpan(ref codes, dimension);
            float dot = QuantizedMath.IntegerDotAccelerated && query.Length > dimension + 2
                ? query[dimension] + (query[dimension + 2] * QuantizedMath.DotU8S16(MemoryMarshal.Cast<float, short>(query[(dimension + 3)..])[..dimension], codeSpan))
                : query[dimension] + QuantizedMath.DotU8(query[..dimension], codeSpan);
            return typeof(TKernel) == typeof(L2Kernel)
                ? MathF.Max(query[dimension + 1] - (2f * dot) + Unsafe.ReadUnaligned<float>(ref Unsafe.Add(ref codes, IAffineRows.NormOffset(dimension))), 0f)
                : 1f - dot;
        }

        ReadOnlySpan<Half> half = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TElement, Half>(ref row), dimension);
        return typeof(TKernel) == typeof(L2Kernel) ? QuantizedMath.SquaredL2F16(query, half) : 1f - QuantizedMath.DotF16(query, half);
    }

    /// <summary>a · the row of <paramref name="node"/> (inner-product graphs: the Möbius link distance).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float RowDot(ReadOnlySpan<float> a, int node) =>
        IsFloat ? VectorMath.Dot(a, MemoryMarshal.Cast<TElement, float>(Row(node)))
        : IsByte ? a[_dimension] + QuantizedMath.DotU8(a[.._dimension], MemoryMarshal.Cast<TElement, byte>(Row(node)))
        : QuantizedMath.DotF16(a, MemoryMarshal.Cast<TElement, Half>(Row(node)));

    /// <summary>Query-to-node distance (Chroma's definition for the space).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Distance(ReadOnlySpan<float> query, int node) =>
        RowDistance(query, ref Unsafe.Add(ref Unsafe.AsRef(in _rows.FirstRow), node * _rowStride), _dimension);

    /// <summary>
    /// Distance used by a walk: from the query when <paramref name="linking"/> is −1, else from node
    /// <paramref name="linking"/> (whose row is <paramref name="query"/>) being inserted or relinked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float WalkDistance(ReadOnlySpan<float> query, int node, int linking) =>
        IsMips && linking >= 0 ? MobiusDistance(linking, query, node) : Distance(query, node);

    /// <summary>Node-to-node distance used to build the graph: the kernel's, or <see cref="MobiusDistance"/> for an inner-product graph.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float NodeDistance(int a, ReadOnlySpan<float> rowA, int b) =>
        IsMips ? MobiusDistance(a, rowA, b) : Distance(rowA, b);

    /// <summary>
    /// ‖a/‖a‖² − b/‖b‖²‖² (see the remarks on the class). A zero vector counts as norm² 1e−30: it lands far from
    /// every other point, as its inner product with any query is 0. Clamped at 0 against rounding.
    /// </summary>
    private float MobiusDistance(int a, ReadOnlySpan<float> rowA, int b)
    {
        float inverseA = 1f / MathF.Max(Volatile.Read(ref _squaredNorms[a]), MinimumSquaredNorm);
        float inverseB = 1f / MathF.Max(Volatile.Read(ref _squaredNorms[b]), MinimumSquaredNorm);
        float dot = RowDot(rowA, b);
        return MathF.Max(inverseA + inverseB - (2f * dot * inverseA * inverseB), 0f);
    }

    /// <summary>Records the squared norm of <paramref name="slot"/>'s (new) row. Inner-product graphs only.</summary>
    private void SetSquaredNorm(int slot, ReadOnlySpan<float> row) => Volatile.Write(ref _squaredNorms[slot], VectorMath.Dot(row, row));

    /// <summary>Records the squared norm of <paramref name="slot"/>'s (new) row, read from the rows. Inner-product graphs only.</summary>
    private void SetSquaredNorm(int slot)
    {
        if (IsFloat)
        {
            SetSquaredNorm(slot, MemoryMarshal.Cast<TElement, float>(Row(slot)));
            return;
        }

        if (IsByte)
        {
            // ‖x̂‖² is stored after the codes.
            ref byte row = ref Unsafe.As<TElement, byte>(ref Unsafe.Add(ref Unsafe.AsRef(in _rows.FirstRow), slot * _rowStride));
            Volatile.Write(ref _squaredNorms[slot], Unsafe.ReadUnaligned<float>(ref Unsafe.Add(ref row, IAffineRows.NormOffset(_dimension))));
            return;
        }

        float[] scratch = System.Buffers.ArrayPool<float>.Shared.Rent(_dimension);
        SetSquaredNorm(slot, FloatRow(slot, scratch));
        System.Buffers.ArrayPool<float>.Shared.Return(scratch);
    }

    /// <summary>
    /// Hints the CPU to load the first <paramref name="lines"/> cache lines of the row <paramref name="offset"/> floats
    /// past <paramref name="firstRow"/> (no-op without SSE). A hint never faults, so a row of an array the GC may move
    /// is fine to name.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchRowLines(ref TElement firstRow, nint offset, int lines)
    {
        if (Sse.IsSupported)
        {
            byte* row = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref firstRow, offset));
            for (int l = 0; l < lines; l++)
            {
                Sse.Prefetch0(row + (l * 64));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int MaxLinks(int level) => level == 0 ? _maxM0 : _m;

    /// <summary>The record <c>[count or header][links]</c> of <paramref name="node"/> at <paramref name="level"/>. Caller holds the node's link lock or only reads immutable bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<int> Record(int node, int level) =>
        level == 0
            ? _level0.AsSpan(node * _stride0, _stride0)
            : _upper[node].AsSpan((level - 1) * _strideUpper, _strideUpper);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NodeLevel(int node) => NodeHeader.Level(Volatile.Read(ref _level0[node * _stride0]));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsDeletedNode(int node) => NodeHeader.IsDeleted(Volatile.Read(ref _level0[node * _stride0]));

    /// <summary>Copies the links of <paramref name="node"/> at <paramref name="level"/> into <paramref name="destination"/>, under the node's link lock.</summary>
    private int CopyLinks(int node, int level, Span<int> destination)
    {
        lock (LinkLock(node))
        {
            Span<int> record = Record(node, level);
            int count = Math.Min(record[0] & NodeHeader.CountMask, destination.Length);
            record.Slice(1, count).CopyTo(destination);
            return count;
        }
    }

    /// <summary>
    /// The links of <paramref name="node"/> at <paramref name="level"/>, read in place without the link lock (queries
    /// and the walks of inserts, as hnswlib's query walk): the count is read once with acquire
    /// semantics and clamped to the list's capacity, so the span never leaves the node's record. A list rewritten
    /// concurrently may be seen half old, half new; every int ever stored in a list is the slot of a present node
    /// whose level is high enough for that list, and the walk's visited-set lookup bounds-checks each one anyway.
    /// Caller holds the resize lock, so the arrays do not move.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<int> LinksInPlace(int node, int level)
    {
        if (level == 0)
        {
            int start = node * _stride0;
            int count = Math.Min(Volatile.Read(ref _level0[start]) & NodeHeader.CountMask, _maxM0);
            return new ReadOnlySpan<int>(_level0, start + 1, count);
        }

        int[]? upper = _upper[node];
        if (upper is null)
        {
            return default;
        }

        int offset = (level - 1) * _strideUpper;
        if ((uint)offset >= (uint)upper.Length)
        {
            return default;
        }

        int n = Math.Min(Volatile.Read(ref upper[offset]) & NodeHeader.CountMask, _m);
        return new ReadOnlySpan<int>(upper, offset + 1, n);
    }

    /// <summary>Hints the CPU to load the level-0 record (header and links) of <paramref name="node"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchLinks(int node)
    {
        if (Sse.IsSupported)
        {
            int start = node * _stride0;
            if ((uint)start < (uint)_level0.Length)
            {
                // The record is (1 + MaxM0) ints: 132 bytes at M 16, three cache lines; a prefetch never faults, so the
                // lines past a short record are fine to name.
                byte* record = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_level0), start));
                Sse.Prefetch0(record);
                Sse.Prefetch0(record + 64);
                Sse.Prefetch0(record + 128);
            }
        }
    }

    public override void Reserve(int slots) => EnsureCapacity(slots);

    /// <summary>
    /// Grows the slot capacity (doubling) to hold <paramref name="needed"/> slots. The new arrays are allocated, and the
    /// pages the copy fills touched, before the resize lock is taken for writing (growing from 640,000 to 1,280,000
    /// slots at M 16 took 305 ms to allocate on this machine). When no change to the graph is under way (the indexer
    /// making room between its chunks, <see cref="HnswIndex.Reserve"/>), the arrays are copied before the lock too, while
    /// searches go on, and the lock is held only to swap them in, unless a change began meanwhile (then the copy is made
    /// again under the lock, as when a link itself needs the room): that copy held every search for 21 ms at that size.
    /// </summary>
    private void EnsureCapacity(int needed)
    {
        int current = Volatile.Read(ref _capacity);
        if (needed <= current)
        {
            return;
        }

        int capacity = (int)Math.Min(Math.Max((long)needed, 2L * current), int.MaxValue / _stride0);
        capacity = Math.Max(capacity, needed);
        int[] level0 = AllocateLevel0(capacity);
        Touch(level0.AsSpan(0, Math.Min(level0.Length, current * _stride0)));
        int[]?[] upper = new int[]?[capacity];
        float[] norms = IsMips ? new float[capacity] : [];

        // Copied ahead when no change is under way: a change holds the resize lock for reading from its first write to
        // its last, and counts itself as started before its first write and as ended after its last.
        // The three arrays are read one by one outside the lock: a growth by another thread may swap them meanwhile, so
        // they are copied ahead only when each fits, and kept only when all three are still the graph's under the lock.
        long started = Interlocked.Read(ref _changesStarted);
        var (sourceLevel0, sourceUpper, sourceNorms) = (Volatile.Read(ref _level0), Volatile.Read(ref _upper), Volatile.Read(ref _squaredNorms));
        bool copiedAhead = started == Interlocked.Read(ref _changesEnded)
            && sourceLevel0.Length <= level0.Length && sourceUpper.Length <= upper.Length && (!IsMips || sourceNorms.Length <= norms.Length);
        if (copiedAhead)
        {
            CopyInto(sourceLevel0, sourceUpper, sourceNorms, level0, upper, norms);
            CopiedAhead?.Invoke();
        }

        _resizeLock.EnterWriteLock();
        try
        {
            if (needed <= _capacity)
            {
                return;
            }

            // Another thread may have grown them meanwhile without reaching `needed`: the new arrays, sized for `needed`,
            // are still larger than the current ones, so the copy fits.
            if (!copiedAhead || Interlocked.Read(ref _changesStarted) != started
                || !ReferenceEquals(sourceLevel0, _level0) || !ReferenceEquals(sourceUpper, _upper) || !ReferenceEquals(sourceNorms, _squaredNorms))
            {
                CopyInto(_level0, _upper, _squaredNorms, level0, upper, norms);
            }

            if (IsMips)
            {
                _squaredNorms = norms;
            }

            _level0 = level0;
            _upper = upper;
            Volatile.Write(ref _capacity, capacity);
        }
        finally
        {
            _resizeLock.ExitWriteLock();
        }
    }

    /// <summary>Copies the graph's arrays into larger ones (<see cref="EnsureCapacity"/>).</summary>
    private static void CopyInto(int[] fromLevel0, int[]?[] fromUpper, float[] fromNorms, int[] level0, int[]?[] upper, float[] norms)
    {
        fromLevel0.AsSpan().CopyTo(level0);
        fromUpper.AsSpan().CopyTo(upper);
        if (IsMips)
        {
            fromNorms.AsSpan().CopyTo(norms);
        }
    }

    /// <summary>Changes to the graph begun and ended (inserts, updates, deletions, reachability repairs): see <see cref="EnsureCapacity"/>.</summary>
    private long _changesStarted;

    private long _changesEnded;

    private void BeginChange() => Interlocked.Increment(ref _changesStarted);

    private void EndChange() => Interlocked.Increment(ref _changesEnded);

    /// <summary>
    /// Writes a zero into every 4 KiB page of <paramref name="array"/> (already zero), so the pages the copy will fill are
    /// resident before the lock is taken; the room beyond stays untouched until links reach it.
    /// </summary>
    private static void Touch(Span<int> array)
    {
        const int IntsPerPage = 4096 / sizeof(int);
        for (int i = 0; i < array.Length; i += IntsPerPage)
        {
            array[i] = 0;
        }
    }

    /// <summary>
    /// The level of a new node, ⌊−ln(u)·mL⌋ (paper §4.1, Alg. 1 line 4), with u drawn from a counter-based generator
    /// (SplitMix64 of seed and slot): reproducible for a fixed seed whatever the insertion order or thread count.
    /// </summary>
    private int RandomLevel(int slot)
    {
        ulong z = _seed + ((ulong)(uint)slot * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double u = ((z >> 11) + 1) * (1.0 / (1UL << 53)); // (0, 1]
        double level = -Math.Log(u) * _levelMultiplier;
        return level >= NodeHeader.MaxLevel ? NodeHeader.MaxLevel : (int)level;
    }

    private void ValidateSlot(int slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, _rows.SlotCount);
    }
}
