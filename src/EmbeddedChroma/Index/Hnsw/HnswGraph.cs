using System.Runtime.CompilerServices;
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
/// <item><c>_linkLocks</c> (striped by node): held only while reading or writing one node's link lists; an
/// insert's walk copies a list under the lock and computes distances after releasing it, except neighbour pruning,
/// which needs the list stable and runs under the lock of the node being pruned (it takes no other lock). Queries
/// read lists without it (see <see cref="CopyLinks"/>): search holds only the resize lock, for reading.</item>
/// </list>
/// </remarks>
internal sealed partial class HnswGraph<TKernel> : HnswIndex
    where TKernel : struct, IDistanceKernel
{
    private const int LockStripes = 1 << 12;
    private const long EmptyEntry = uint.MaxValue; // node −1 at level 0

    private readonly IVectorRows _rows;
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
    private int _capacity;

    /// <summary>Entry point and top level packed as <c>(level &lt;&lt; 32) | (uint)node</c>, read and written as one.</summary>
    private long _entry = EmptyEntry;
    private int _count;
    private int _deletedCount;
    private int _slotHighWater;

    public HnswGraph(IVectorRows rows, DistanceSpace space, HnswParameters parameters)
        : this(rows, space, parameters, Math.Max(parameters.InitialCapacity, 1))
    {
    }

    private HnswGraph(IVectorRows rows, DistanceSpace space, HnswParameters parameters, int capacity)
        : base(space, parameters)
    {
        _rows = rows;
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

    public override long MemoryBytes
    {
        get
        {
            _resizeLock.EnterReadLock();
            try
            {
                long bytes = ((long)_level0.Length * sizeof(int)) + ((long)_upper.Length * IntPtr.Size);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Distance(ReadOnlySpan<float> query, int node) => TKernel.Distance(query, _rows.GetRow(node));

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

    /// <summary>
    /// Copies the links of <paramref name="node"/> at <paramref name="level"/> into <paramref name="destination"/>.
    /// Under the node's link lock by default. Queries pass <paramref name="locked"/> = false (hnswlib's query walk
    /// takes no locks either): a list being rewritten concurrently may then be seen half old, half new, which only
    /// perturbs the walk — every int ever stored in a list is the slot of a present node with a level high enough
    /// for that list, the count is clamped, and the count is published after the links it covers.
    /// </summary>
    private int CopyLinks(int node, int level, Span<int> destination, bool locked = true)
    {
        if (!locked)
        {
            Span<int> unlocked = Record(node, level);
            int n = Math.Min(Volatile.Read(ref unlocked[0]) & NodeHeader.CountMask, destination.Length);
            unlocked.Slice(1, n).CopyTo(destination);
            return n;
        }

        lock (LinkLock(node))
        {
            Span<int> record = Record(node, level);
            int count = Math.Min(record[0] & NodeHeader.CountMask, destination.Length);
            record.Slice(1, count).CopyTo(destination);
            return count;
        }
    }

    /// <summary>Grows the slot capacity (doubling) to hold <paramref name="needed"/> slots. Takes the resize lock for writing.</summary>
    private void EnsureCapacity(int needed)
    {
        if (needed <= Volatile.Read(ref _capacity))
        {
            return;
        }

        _resizeLock.EnterWriteLock();
        try
        {
            if (needed <= _capacity)
            {
                return;
            }

            int capacity = (int)Math.Min(Math.Max((long)needed, 2L * _capacity), int.MaxValue / _stride0);
            capacity = Math.Max(capacity, needed);
            int[] level0 = AllocateLevel0(capacity);
            _level0.AsSpan().CopyTo(level0);
            int[]?[] upper = new int[]?[capacity];
            _upper.AsSpan().CopyTo(upper);
            _level0 = level0;
            _upper = upper;
            Volatile.Write(ref _capacity, capacity);
        }
        finally
        {
            _resizeLock.ExitWriteLock();
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
