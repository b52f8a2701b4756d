using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EmbeddedChroma.Filtering;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The array values of one metadata key, by slot: each slot's elements lie together in one shared pool, and a
/// <see cref="SlotColumn{T}"/> maps the slot to (start, count) — sparse while few slots hold arrays, dense once common.
/// About 8 bytes per slot plus 12 per element, instead of a map entry, a list and its array per slot (~150 bytes for two
/// elements). A rewritten or cleared slot leaves its old elements behind as garbage, reclaimed once it is half the pool.
/// </summary>
/// <remarks>Not thread-safe: mutated under the collection's write lock, read under its read lock.</remarks>
internal sealed class ElementLists
{
    private const long Absent = -1;

    private SlotColumn<long> _lists = new(Absent);
    private Element[] _pool = [];
    private int _used;
    private int _garbage;

    /// <summary>Elements held (garbage excluded).</summary>
    public long Count => _used - _garbage;

    public long EstimatedBytes => _lists.EstimatedBytes + ((long)_pool.Length * Marshal.SizeOf<Element>());

    /// <summary>Appends one element to <paramref name="slot"/>'s list (moved to the pool's end first unless it is there already).</summary>
    public void Add(int slot, FilterValueKind kind, double value, int slotCapacity)
    {
        var packed = _lists.Get(slot);
        int start;
        int count;
        if (packed == Absent)
        {
            start = _used;
            count = 0;
        }
        else
        {
            (start, count) = Unpack(packed);
            if (start + count != _used)
            {
                // Not at the end: move the list there (its old place becomes garbage).
                Reserve(count + 1);
                Array.Copy(_pool, start, _pool, _used, count);
                _garbage += count;
                start = _used;
                _used += count;
            }
        }

        Reserve(1);
        _pool[_used++] = new Element(value, kind);
        _lists.Set(slot, Pack(start, count + 1), slotCapacity);
    }

    public void Clear(int slot)
    {
        var packed = _lists.Get(slot);
        if (packed == Absent)
        {
            return;
        }

        _garbage += Unpack(packed).Count;
        _lists.Clear(slot);
        if (_garbage > 1024 && _garbage > _used / 2)
        {
            Compact();
        }
    }

    /// <summary>ORs into <paramref name="result"/> the slots holding an element of <paramref name="kind"/> equal to <paramref name="wanted"/>.</summary>
    public void Match(FilterValueKind kind, double wanted, Span<ulong> result)
    {
        if (_lists.Count > 0)
        {
            _lists.Match(new ContainsPredicate(_pool, kind, wanted), result);
        }
    }

    /// <summary>The elements of <paramref name="slot"/>'s list in order (kind and value; a string's value is its id), empty when it has none.</summary>
    public (FilterValueKind Kind, double Value)[] Elements(int slot)
    {
        var packed = _lists.Get(slot);
        if (packed == Absent)
        {
            return [];
        }

        var (start, count) = Unpack(packed);
        var elements = new (FilterValueKind, double)[count];
        for (var i = 0; i < count; i++)
        {
            elements[i] = (_pool[start + i].Kind, _pool[start + i].Value);
        }

        return elements;
    }

    public void WriteTo(FilterIndexFile.Writer writer)
    {
        Compact();
        _lists.WriteTo(writer);
        writer.Int32(_used);
        writer.Values<Element>(_pool.AsSpan(0, _used));
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote; every list must lie inside the pool, every element be of a known kind (strings: an id below <paramref name="strings"/>).</summary>
    public static ElementLists ReadFrom(ref FilterIndexFile.Reader reader, int strings)
    {
        var lists = new ElementLists { _lists = SlotColumn<long>.ReadFrom(ref reader, Absent) };
        var used = reader.Count(Marshal.SizeOf<Element>());
        lists._pool = reader.Values<Element>(used);
        lists._used = used;
        foreach (var element in lists._pool)
        {
            if (element.Kind is not (FilterValueKind.String or FilterValueKind.Float or FilterValueKind.Bool)
                || (element.Kind == FilterValueKind.String && (element.Value < 0 || element.Value >= strings || element.Value != Math.Floor(element.Value))))
            {
                throw new InvalidDataException("an array element has an unknown kind or string");
            }
        }

        long total = 0;
        var valid = true;
        lists._lists.ForEach(packed =>
        {
            var (start, count) = Unpack(packed);
            valid &= count > 0 && start >= 0 && start <= used - count;
            total += count;
        });
        if (!valid || total != used)
        {
            throw new InvalidDataException("an element list lies outside the pool, or the lists do not add up to it");
        }

        return lists;
    }

    private void Reserve(int more)
    {
        if (_used + more > _pool.Length)
        {
            Array.Resize(ref _pool, Math.Max(_used + more, Math.Max(16, _pool.Length * 2)));
        }
    }

    /// <summary>Copies every live list into a fresh pool, in slot order, dropping the garbage.</summary>
    private void Compact()
    {
        if (_garbage == 0)
        {
            return;
        }

        var pool = new Element[Math.Max(16, _used - _garbage)];
        var used = 0;
        var old = _pool;
        _lists.Rewrite(packed =>
        {
            var (start, count) = Unpack(packed);
            Array.Copy(old, start, pool, used, count);
            var moved = Pack(used, count);
            used += count;
            return moved;
        });
        _pool = pool;
        _used = used;
        _garbage = 0;
    }

    private static long Pack(int start, int count) => ((long)start << 32) | (uint)count;

    private static (int Start, int Count) Unpack(long packed) => ((int)(packed >> 32), (int)(uint)packed);

    /// <summary>One array element: a string id, a bool (0/1) or a number, 12 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly record struct Element(double Value, FilterValueKind Kind);

    /// <summary>A list (packed start and count) holds the wanted element. Scalar per lane: lists are short.</summary>
    private readonly struct ContainsPredicate(Element[] pool, FilterValueKind kind, double wanted) : IColumnPredicate<long>
    {
        public bool Matches(long packed)
        {
            if (packed == Absent)
            {
                return false;
            }

            var (start, count) = Unpack(packed);
            foreach (var element in pool.AsSpan(start, count))
            {
                if (element.Kind == kind && element.Value == wanted)
                {
                    return true;
                }
            }

            return false;
        }

        public Vector256<long> Matches(Vector256<long> values) => Vector256.Create(
            Matches(values[0]) ? -1L : 0,
            Matches(values[1]) ? -1L : 0,
            Matches(values[2]) ? -1L : 0,
            Matches(values[3]) ? -1L : 0);
    }
}
