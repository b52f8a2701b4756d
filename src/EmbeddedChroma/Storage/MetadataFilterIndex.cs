using System.Numerics;
using System.Text;
using System.Text.Json;
using EmbeddedChroma.Filtering;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// The metadata filter rows of one collection (the <c>record_meta</c> table) held in memory by slot, so a
/// <see cref="Where"/> evaluates to a slot bitmap in microseconds instead of an SQL query per filtered search.
/// </summary>
/// <remarks>
/// <para>Built from <c>record_meta</c> on the first filtered query (<see cref="TryBuild"/>), then kept in step by
/// <c>Engine.RecordWriter</c> after each commit from the rows the batch wrote, read back inside its transaction —
/// so the values here are exactly SQLite's (its number parsing, its REAL affinity) and a failed batch changes
/// nothing.</para>
/// <para>Semantics mirror <see cref="SqlFilterBuilder"/> exactly: a comparison selects the slots with a row of the
/// key (elem 0 for scalars, elem 1 for <c>$contains</c>/<c>$not_contains</c>) whose value of the operand's type
/// matches — numbers as doubles (an int equals an equal float), bools never equal to numbers, strings by ordinal
/// equality; <c>$ne</c>/<c>$nin</c>/<c>$not_contains</c> select every live slot outside that set, so records
/// without the key match.</para>
/// <para>Per key: a <see cref="SlotColumn{T}"/> per value type (sparse until common, then dense) and, for array
/// values, a slot → elements map. Not thread-safe: mutated under the collection's write lock, read under its
/// read lock.</para>
/// </remarks>
internal sealed class MetadataFilterIndex
{
    // Size: About 420 lines: the in-memory filter index (build from SQL, evaluate a where tree, apply a committed
    // batch) over one column layout.

    private const int StringEntryBytes = 48;
    private const int KeyBytes = 256;

    private readonly Dictionary<string, KeyIndex> _keys = new(StringComparer.Ordinal);
    private int _slotCapacity;

    private MetadataFilterIndex(int slotCapacity) => _slotCapacity = slotCapacity;

    /// <summary>Approximate bytes held (columns, element maps, string dictionaries).</summary>
    public long EstimatedBytes { get; private set; }

    /// <summary>Keys indexed (for tests and diagnostics).</summary>
    public int KeyCount => _keys.Count;

    /// <summary>Dense columns (for tests and diagnostics).</summary>
    public int DenseColumns => _keys.Values.Sum(k => (k.Numbers.IsDense ? 1 : 0) + (k.Strings.IsDense ? 1 : 0) + (k.Bools.IsDense ? 1 : 0));

    /// <summary>
    /// Reads every filter row of the collection. Returns null when the index would exceed
    /// <paramref name="budgetBytes"/> (the caller then keeps filtering in SQL).
    /// </summary>
    public static MetadataFilterIndex? TryBuild(SqliteConnection connection, CollectionState state, long budgetBytes)
    {
        var index = new MetadataFilterIndex(state.NextSlot);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT r.slot, m.key, m.elem, m.s, m.n, m.b
            FROM record_meta m JOIN records r ON r.rid = m.rid
            WHERE m.collection_id = $c
            """;
        command.Parameters.AddWithValue("$c", state.Id);
        using var reader = command.ExecuteReader();
        var rows = new List<Row>();
        while (reader.Read())
        {
            rows.Add(ReadRow(reader));
            if (rows.Count == 1 << 16)
            {
                index.AddRows(rows);
                rows.Clear();
                if (index.Measure() > budgetBytes)
                {
                    return null;
                }
            }
        }

        index.AddRows(rows);
        return index.Measure() > budgetBytes ? null : index;
    }

    /// <summary>One filter row: key, array element or scalar, and a value (kind None for a JSON null, which no filter matches).</summary>
    internal readonly record struct Row(int Slot, string Key, bool Element, FilterValueKind Kind, string? Text, double Number);

    internal static Row ReadRow(SqliteDataReader reader)
    {
        var slot = reader.GetInt32(0);
        var key = reader.GetString(1);
        var element = reader.GetInt64(2) != 0;
        if (!reader.IsDBNull(3))
        {
            return new Row(slot, key, element, FilterValueKind.String, reader.GetString(3), 0);
        }

        if (!reader.IsDBNull(4))
        {
            return new Row(slot, key, element, FilterValueKind.Float, null, reader.GetDouble(4));
        }

        return reader.IsDBNull(5)
            ? new Row(slot, key, element, FilterValueKind.None, null, 0)
            : new Row(slot, key, element, FilterValueKind.Bool, null, reader.GetInt64(5));
    }

    /// <summary>
    /// Applies a committed batch: the old values of <paramref name="cleared"/> (slot and the metadata JSON it had)
    /// are dropped, then <paramref name="rows"/> (every filter row of the records the batch wrote) are added.
    /// Returns the new estimated size.
    /// </summary>
    public long Apply(IReadOnlyList<(int Slot, string? MetadataJson)> cleared, List<Row> rows, int slotCapacity)
    {
        _slotCapacity = Math.Max(_slotCapacity, slotCapacity);
        foreach (var (slot, json) in cleared)
        {
            ClearSlot(slot, json);
        }

        AddRows(rows);
        return Measure();
    }

    private void ClearSlot(int slot, string? metadataJson)
    {
        if (metadataJson is null)
        {
            return;
        }

        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(metadataJson));
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (_keys.TryGetValue(key, out var index))
            {
                index.Clear(slot);
            }

            reader.Skip();
        }
    }

    private void AddRows(List<Row> rows)
    {
        foreach (var row in rows)
        {
            if (row.Kind == FilterValueKind.None)
            {
                continue;
            }

            if (!_keys.TryGetValue(row.Key, out var key))
            {
                key = new KeyIndex();
                _keys.Add(row.Key, key);
            }

            if (row.Element)
            {
                key.AddElement(row);
            }
            else
            {
                key.SetScalar(row, _slotCapacity);
            }
        }
    }

    private long Measure()
    {
        var bytes = 0L;
        foreach (var (name, key) in _keys)
        {
            bytes += KeyBytes + (2L * name.Length) + key.EstimatedBytes;
        }

        EstimatedBytes = bytes;
        return bytes;
    }

    /// <summary>The live slots <paramref name="where"/> selects, as a bitmap as long as <paramref name="live"/>.</summary>
    public ulong[] Evaluate(Where where, ReadOnlySpan<ulong> live)
    {
        var result = new ulong[live.Length];
        Evaluate(where, live, result);
        return result;
    }

    private void Evaluate(Where where, ReadOnlySpan<ulong> live, Span<ulong> result)
    {
        switch (where)
        {
            case WhereLogical logical:
                Evaluate(logical.Clauses[0], live, result);
                var scratch = new ulong[result.Length];
                for (var i = 1; i < logical.Clauses.Length; i++)
                {
                    if (logical.Operator == LogicalOperator.And && IsEmpty(result))
                    {
                        return;
                    }

                    scratch.AsSpan().Clear();
                    Evaluate(logical.Clauses[i], live, scratch);
                    Combine(result, scratch, logical.Operator == LogicalOperator.And);
                }

                break;
            case WhereComparison comparison:
                var negated = comparison.Operator is WhereOperator.Ne or WhereOperator.Nin or WhereOperator.NotContains;
                if (_keys.TryGetValue(comparison.Key, out var key))
                {
                    key.Match(comparison, result);
                }

                if (negated)
                {
                    for (var w = 0; w < result.Length; w++)
                    {
                        result[w] = live[w] & ~result[w];
                    }
                }
                else
                {
                    for (var w = 0; w < result.Length; w++)
                    {
                        result[w] &= live[w];
                    }
                }

                break;
            default:
                throw new InvalidOperationException($"Unexpected where node {where.GetType().Name}.");
        }
    }

    private static bool IsEmpty(ReadOnlySpan<ulong> bits) => bits.IndexOfAnyExcept(0UL) < 0;

    private static void Combine(Span<ulong> into, ReadOnlySpan<ulong> other, bool and)
    {
        if (and)
        {
            System.Numerics.Tensors.TensorPrimitives.BitwiseAnd(into, other, into);
        }
        else
        {
            System.Numerics.Tensors.TensorPrimitives.BitwiseOr(into, other, into);
        }
    }

    /// <summary>The values of one metadata key.</summary>
    private sealed class KeyIndex
    {
        public SlotColumn<double> Numbers { get; } = new(double.NaN);

        public SlotColumn<int> Strings { get; } = new(-1);

        public SlotColumn<byte> Bools { get; } = new(byte.MaxValue);

        private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
        private readonly Dictionary<int, List<Element>> _elements = [];
        private long _elementCount;
        private long _stringChars;

        public long EstimatedBytes =>
            Numbers.EstimatedBytes + Strings.EstimatedBytes + Bools.EstimatedBytes
            + (_stringIds.Count * (long)StringEntryBytes) + (2 * _stringChars)
            + (_elements.Count * 64L) + (_elementCount * 16);

        public void SetScalar(Row row, int slotCapacity)
        {
            switch (row.Kind)
            {
                case FilterValueKind.String:
                    Strings.Set(row.Slot, StringId(row.Text!), slotCapacity);
                    break;
                case FilterValueKind.Bool:
                    Bools.Set(row.Slot, (byte)row.Number, slotCapacity);
                    break;
                default:
                    Numbers.Set(row.Slot, row.Number, slotCapacity);
                    break;
            }
        }

        public void AddElement(Row row)
        {
            if (!_elements.TryGetValue(row.Slot, out var list))
            {
                list = [];
                _elements.Add(row.Slot, list);
            }

            list.Add(new Element(row.Kind, row.Kind == FilterValueKind.String ? StringId(row.Text!) : row.Number));
            _elementCount++;
        }

        public void Clear(int slot)
        {
            Numbers.Clear(slot);
            Strings.Clear(slot);
            Bools.Clear(slot);
            if (_elements.Remove(slot, out var list))
            {
                _elementCount -= list.Count;
            }
        }

        /// <summary>ORs into <paramref name="result"/> the slots the comparison selects before negation.</summary>
        public void Match(WhereComparison comparison, Span<ulong> result)
        {
            var op = comparison.Operator;
            var first = comparison.Value;
            if (op is WhereOperator.Contains or WhereOperator.NotContains)
            {
                MatchElements(first, result);
                return;
            }

            if (op.IsRange())
            {
                Numbers.Match(new RangePredicate(op, first.NumberValue), result);
                return;
            }

            var values = comparison.Values;
            switch (first.Kind)
            {
                case FilterValueKind.String:
                    var ids = new List<int>(values.Length);
                    foreach (var value in values)
                    {
                        if (_stringIds.TryGetValue(value.StringValue, out var id))
                        {
                            ids.Add(id);
                        }
                    }

                    MatchAny(Strings, ids.ToArray(), result);
                    break;
                case FilterValueKind.Bool:
                    MatchAny(Bools, values.Select(v => v.BoolValue ? (byte)1 : (byte)0).Distinct().ToArray(), result);
                    break;
                default:
                    MatchAny(Numbers, values.Select(v => v.NumberValue).Distinct().ToArray(), result);
                    break;
            }
        }

        private static void MatchAny<T>(SlotColumn<T> column, T[] operands, Span<ulong> result)
            where T : unmanaged, IEquatable<T>, IEqualityOperators<T, T, bool>
        {
            if (operands.Length == 1)
            {
                column.Match(new EqualsPredicate<T>(operands[0]), result);
            }
            else if (operands.Length > 1)
            {
                column.Match(new InPredicate<T>(operands), result);
            }
        }

        private void MatchElements(FilterValue operand, Span<ulong> result)
        {
            if (_elements.Count == 0)
            {
                return;
            }

            var kind = operand.Kind == FilterValueKind.Int ? FilterValueKind.Float : operand.Kind;
            double wanted;
            switch (kind)
            {
                case FilterValueKind.String:
                    if (!_stringIds.TryGetValue(operand.StringValue, out var id))
                    {
                        return;
                    }

                    wanted = id;
                    break;
                case FilterValueKind.Bool:
                    wanted = operand.BoolValue ? 1 : 0;
                    break;
                default:
                    wanted = operand.NumberValue;
                    break;
            }

            foreach (var (slot, elements) in _elements)
            {
                if ((slot >> 6) >= result.Length)
                {
                    continue;
                }

                foreach (var element in elements)
                {
                    if (element.Kind == kind && element.Value == wanted)
                    {
                        result[slot >> 6] |= 1UL << slot;
                        break;
                    }
                }
            }
        }

        private int StringId(string text)
        {
            if (!_stringIds.TryGetValue(text, out var id))
            {
                id = _stringIds.Count;
                _stringIds.Add(text, id);
                _stringChars += text.Length;
            }

            return id;
        }
    }

    /// <summary>One array element: kind String (value = string id), Bool (0/1) or Float (any number).</summary>
    private readonly record struct Element(FilterValueKind Kind, double Value);
}
