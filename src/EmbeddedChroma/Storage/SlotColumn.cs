using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedChroma.Storage;

/// <summary>A test on one column value, scalar and 256-bit wide (lane set ⇔ the value matches).</summary>
internal interface IColumnPredicate<T>
    where T : unmanaged
{
    bool Matches(T value);

    Vector256<T> Matches(Vector256<T> values);
}

/// <summary>
/// One value per slot of one metadata key and one value type (numbers as doubles, strings as dictionary ids,
/// bools as bytes), with a sentinel for "no value of this type". Sparse (a slot → value map) while few slots
/// hold a value, so many rarely used keys stay small; dense (an array indexed by slot, scanned 256 bits at a
/// time) once the key is common.
/// </summary>
/// <remarks>Not thread-safe: mutated only under the collection's write lock, read under its read lock.</remarks>
internal sealed class SlotColumn<T>
    where T : unmanaged, IEquatable<T>
{
    /// <summary>Bytes a sparse entry costs, roughly (key, value, hash bucket and chain).</summary>
    private const int SparseEntryBytes = 24;

    private readonly T _absent;
    private Dictionary<int, T>? _sparse = [];
    private T[]? _dense;

    public SlotColumn(T absent) => _absent = absent;

    /// <summary>Slots holding a value.</summary>
    public int Count { get; private set; }

    public bool IsDense => _dense is not null;

    public long EstimatedBytes => _dense is not null
        ? (long)_dense.Length * Unsafe.SizeOf<T>()
        : (long)_sparse!.Count * SparseEntryBytes;

    /// <summary>Sets the value of <paramref name="slot"/>; <paramref name="slotCapacity"/> (one past the highest slot in use) sizes a dense column.</summary>
    public void Set(int slot, T value, int slotCapacity)
    {
        if (_dense is not null)
        {
            if (slot >= _dense.Length)
            {
                Grow(Math.Max(slot + 1, _dense.Length * 2));
            }

            if (_dense[slot].Equals(_absent))
            {
                Count++;
            }

            _dense[slot] = value;
            return;
        }

        if (_sparse!.TryAdd(slot, value))
        {
            Count++;
        }
        else
        {
            _sparse[slot] = value;
        }

        // Dense pays once the map holds a sixteenth of the slots: scans then beat map walks, at ≤ 5× the bytes.
        if (Count >= 64 && Count >= slotCapacity / 16)
        {
            var dense = new T[RoundUp(Math.Max(slotCapacity, slot + 1))];
            dense.AsSpan().Fill(_absent);
            foreach (var (s, v) in _sparse)
            {
                dense[s] = v;
            }

            _dense = dense;
            _sparse = null;
        }
    }

    public void Clear(int slot)
    {
        if (_dense is not null)
        {
            if (slot < _dense.Length && !_dense[slot].Equals(_absent))
            {
                _dense[slot] = _absent;
                Count--;
            }
        }
        else if (_sparse!.Remove(slot))
        {
            Count--;
        }
    }

    /// <summary>ORs into <paramref name="result"/> the slots whose value satisfies <paramref name="predicate"/>.</summary>
    public void Match<TPredicate>(TPredicate predicate, Span<ulong> result)
        where TPredicate : struct, IColumnPredicate<T>
    {
        if (Count == 0)
        {
            return;
        }

        if (_dense is null)
        {
            foreach (var (slot, value) in _sparse!)
            {
                if ((slot >> 6) < result.Length && predicate.Matches(value))
                {
                    result[slot >> 6] |= 1UL << slot;
                }
            }

            return;
        }

        var data = _dense;
        var words = Math.Min(result.Length, data.Length >> 6);
        var lanes = Vector256<T>.Count;
        ref var origin = ref data[0];
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (var w = 0; w < words; w++)
            {
                ulong bits = 0;
                var start = w << 6;
                for (var j = 0; j < 64; j += lanes)
                {
                    var values = Vector256.LoadUnsafe(ref origin, (nuint)(start + j));
                    bits |= (ulong)predicate.Matches(values).ExtractMostSignificantBits() << j;
                }

                result[w] |= bits;
            }
        }
        else
        {
            for (var w = 0; w < words; w++)
            {
                ulong bits = 0;
                var start = w << 6;
                for (var j = 0; j < 64; j++)
                {
                    if (predicate.Matches(data[start + j]))
                    {
                        bits |= 1UL << j;
                    }
                }

                result[w] |= bits;
            }
        }
    }

    /// <summary>The value of <paramref name="slot"/>, or the absent value.</summary>
    public T Get(int slot)
    {
        if (_dense is not null)
        {
            return slot < _dense.Length ? _dense[slot] : _absent;
        }

        return _sparse!.TryGetValue(slot, out var value) ? value : _absent;
    }

    /// <summary>Calls <paramref name="visit"/> with every value present.</summary>
    public void ForEach(Action<T> visit)
    {
        if (_dense is null)
        {
            foreach (var value in _sparse!.Values)
            {
                visit(value);
            }

            return;
        }

        foreach (var value in _dense)
        {
            if (!value.Equals(_absent))
            {
                visit(value);
            }
        }
    }

    /// <summary>Replaces every value present by <paramref name="map"/> of it, in slot order (dense) or map order (sparse).</summary>
    public void Rewrite(Func<T, T> map)
    {
        if (_dense is null)
        {
            foreach (var slot in _sparse!.Keys.Order().ToArray())
            {
                _sparse[slot] = map(_sparse[slot]);
            }

            return;
        }

        for (var slot = 0; slot < _dense.Length; slot++)
        {
            if (!_dense[slot].Equals(_absent))
            {
                _dense[slot] = map(_dense[slot]);
            }
        }
    }

    /// <summary>Writes the column (<see cref="FilterIndexFile"/>): dense as its array, sparse as (slot, value) pairs.</summary>
    public void WriteTo(FilterIndexFile.Writer writer)
    {
        if (_dense is not null)
        {
            writer.Bytes([1]);
            writer.Int32(_dense.Length);
            writer.Values<T>(_dense);
            return;
        }

        writer.Bytes([0]);
        writer.Int32(_sparse!.Count);
        foreach (var (slot, value) in _sparse)
        {
            writer.Int32(slot);
            writer.Values(new ReadOnlySpan<T>(in value));
        }
    }

    /// <summary>Reads a column <see cref="WriteTo"/> wrote (counting its values again).</summary>
    public static SlotColumn<T> ReadFrom(ref FilterIndexFile.Reader reader, T absent)
    {
        var column = new SlotColumn<T>(absent);
        var size = Unsafe.SizeOf<T>();
        if (reader.Byte() == 1)
        {
            var length = reader.Count(size);
            if (length % 64 != 0)
            {
                throw new InvalidDataException("a dense column is not whole words long");
            }

            column._dense = reader.Values<T>(length);
            column._sparse = null;
            foreach (var value in column._dense)
            {
                if (!value.Equals(absent))
                {
                    column.Count++;
                }
            }

            return column;
        }

        var count = reader.Count(4 + size);
        for (var i = 0; i < count; i++)
        {
            var slot = reader.Int32();
            var value = MemoryMarshal.Read<T>(reader.Bytes(size));
            if (slot < 0 || value.Equals(absent) || !column._sparse!.TryAdd(slot, value))
            {
                throw new InvalidDataException("a sparse column holds a bad or repeated slot");
            }

            column.Count++;
        }

        return column;
    }

    private void Grow(int slots)
    {
        var length = RoundUp(slots);
        var old = _dense!.Length;
        Array.Resize(ref _dense, length);
        _dense.AsSpan(old).Fill(_absent);
    }

    /// <summary>Whole 64-slot words, so scans need no tail.</summary>
    private static int RoundUp(int slots) => Math.Max(64, (slots + 63) & ~63);
}

/// <summary>value == operand (NaN, the absent number, equals nothing).</summary>
internal readonly struct EqualsPredicate<T>(T operand) : IColumnPredicate<T>
    where T : unmanaged, IEqualityOperators<T, T, bool>
{
    private readonly Vector256<T> _operand = Vector256.Create(operand);

    public bool Matches(T value) => value == operand;

    public Vector256<T> Matches(Vector256<T> values) => Vector256.Equals(values, _operand);
}

/// <summary>value equals one of a few operands.</summary>
internal readonly struct InPredicate<T>(T[] operands) : IColumnPredicate<T>
    where T : unmanaged, IEqualityOperators<T, T, bool>
{
    public bool Matches(T value)
    {
        foreach (var operand in operands)
        {
            if (value == operand)
            {
                return true;
            }
        }

        return false;
    }

    public Vector256<T> Matches(Vector256<T> values)
    {
        var any = Vector256<T>.Zero;
        foreach (var operand in operands)
        {
            any |= Vector256.Equals(values, Vector256.Create(operand));
        }

        return any;
    }
}

/// <summary>Numeric range comparison; NaN (no number) never matches, as SQL's NULL never does.</summary>
internal readonly struct RangePredicate(Filtering.WhereOperator op, double operand) : IColumnPredicate<double>
{
    private readonly Vector256<double> _operand = Vector256.Create(operand);

    public bool Matches(double value) => op switch
    {
        Filtering.WhereOperator.Gt => value > operand,
        Filtering.WhereOperator.Gte => value >= operand,
        Filtering.WhereOperator.Lt => value < operand,
        _ => value <= operand,
    };

    public Vector256<double> Matches(Vector256<double> values) => op switch
    {
        Filtering.WhereOperator.Gt => Vector256.GreaterThan(values, _operand),
        Filtering.WhereOperator.Gte => Vector256.GreaterThanOrEqual(values, _operand),
        Filtering.WhereOperator.Lt => Vector256.LessThan(values, _operand),
        _ => Vector256.LessThanOrEqual(values, _operand),
    };
}
