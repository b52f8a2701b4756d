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
    /// Builds the index from the collection's records: every record's payload checksum is verified first (a damaged
    /// record is a <see cref="ChromaCorruptStoreException"/>, never indexed), then its filter rows are derived from its
    /// metadata by the same SQL that writes <c>record_meta</c> (<see cref="FilterRows.Derived"/>, so SQLite's number
    /// parsing decides the values) — the stored filter rows are not read, so their damage cannot reach the index.
    /// Returns null when the index would exceed <paramref name="budgetBytes"/> (the caller then filters in SQL).
    /// Caller holds the collection's lock (read or write), so no write of it commits between the two passes.
    /// </summary>
    public static MetadataFilterIndex? TryBuild(SqliteConnection connection, SqliteTransaction? transaction, CollectionState state, long budgetBytes)
    {
        FilterRows.VerifyPayloads(connection, transaction, state);
        var index = new MetadataFilterIndex(state.NextSlot);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT slot, key, elem, s, n, b FROM (" + FilterRows.Derived("r.collection_id = $c", "r.slot AS slot") + ")";
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

    /// <summary>Writes the index's content (the body of <see cref="FilterIndexFile"/>).</summary>
    public void WriteTo(FilterIndexFile.Writer writer)
    {
        writer.Int32(_keys.Count);
        foreach (var (name, key) in _keys)
        {
            writer.String(name);
            key.WriteTo(writer);
        }
    }

    /// <summary>Reads what <see cref="WriteTo"/> wrote; <paramref name="slotCapacity"/> is the collection's slot count now.</summary>
    public static MetadataFilterIndex ReadFrom(ref FilterIndexFile.Reader reader, int slotCapacity)
    {
        var index = new MetadataFilterIndex(slotCapacity);
        var keys = reader.Count(5);
        for (var i = 0; i < keys; i++)
        {
            var name = reader.String();
            if (!index._keys.TryAdd(name, KeyIndex.ReadFrom(ref reader)))
            {
                throw new InvalidDataException("a key is repeated");
            }
        }

        index.Measure();
        return index;
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
                key.AddElement(row, _slotCapacity);
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

    /// <summary>
    /// Compares this index with <paramref name="expected"/> (built from the records) over the live slots: every key's
    /// scalar value (number bits, string text, bool) and array elements per slot. Null when they answer every filter
    /// alike, else the first difference (key and slot). <c>ChromaClient.VerifyIntegrity</c> only.
    /// </summary>
    public string? Difference(MetadataFilterIndex expected, ReadOnlySpan<ulong> live)
    {
        foreach (var name in _keys.Keys.Union(expected._keys.Keys, StringComparer.Ordinal))
        {
            _keys.TryGetValue(name, out var mine);
            expected._keys.TryGetValue(name, out var theirs);
            var myStrings = mine?.StringsById() ?? [];
            var theirStrings = theirs?.StringsById() ?? [];
            var liveSlots = live.Length * 64;
            for (var slot = 0; slot < liveSlots; slot++)
            {
                if ((live[slot >> 6] & (1UL << (slot & 63))) == 0)
                {
                    continue;
                }

                if (KeyIndex.Describe(mine, myStrings, slot) != KeyIndex.Describe(theirs, theirStrings, slot))
                {
                    return $"key '{Internal.Echo.Text(name, 100)}' of slot {slot} differs from the record's metadata";
                }
            }
        }

        return null;
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
        private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
        private ElementLists _elements = new();
        private long _stringChars;

        public KeyIndex()
            : this(new SlotColumn<double>(double.NaN), new SlotColumn<int>(-1), new SlotColumn<byte>(byte.MaxValue))
        {
        }

        private KeyIndex(SlotColumn<double> numbers, SlotColumn<int> strings, SlotColumn<byte> bools)
        {
            Numbers = numbers;
            Strings = strings;
            Bools = bools;
        }

        public SlotColumn<double> Numbers { get; }

        public SlotColumn<int> Strings { get; }

        public SlotColumn<byte> Bools { get; }

        public void WriteTo(FilterIndexFile.Writer writer)
        {
            var strings = new string[_stringIds.Count];
            foreach (var (text, id) in _stringIds)
            {
                strings[id] = text;
            }

            writer.Int32(strings.Length);
            foreach (var text in strings)
            {
                writer.String(text);
            }

            Numbers.WriteTo(writer);
            Strings.WriteTo(writer);
            Bools.WriteTo(writer);
            _elements.WriteTo(writer);
        }

        public static KeyIndex ReadFrom(ref FilterIndexFile.Reader reader)
        {
            var stringCount = reader.Count(4);
            var strings = new string[stringCount];
            for (var i = 0; i < stringCount; i++)
            {
                strings[i] = reader.String();
            }

            var key = new KeyIndex(
                SlotColumn<double>.ReadFrom(ref reader, double.NaN),
                SlotColumn<int>.ReadFrom(ref reader, -1),
                SlotColumn<byte>.ReadFrom(ref reader, byte.MaxValue));
            foreach (var text in strings)
            {
                if (!key._stringIds.TryAdd(text, key._stringIds.Count))
                {
                    throw new InvalidDataException("a string is repeated");
                }

                key._stringChars += text.Length;
            }

            key._elements = ElementLists.ReadFrom(ref reader, stringCount);
            return key;
        }

        /// <summary>The strings by id.</summary>
        public string[] StringsById()
        {
            var strings = new string[_stringIds.Count];
            foreach (var (text, id) in _stringIds)
            {
                strings[id] = text;
            }

            return strings;
        }

        /// <summary>The values <paramref name="key"/> holds for <paramref name="slot"/> as text (null key: none), for <see cref="Difference"/>.</summary>
        public static string Describe(KeyIndex? key, string[] strings, int slot)
        {
            if (key is null)
            {
                return string.Empty;
            }

            string Text(double id) => id >= 0 && id < strings.Length ? strings[(int)id] : "(unknown string id)";

            var text = new StringBuilder();
            var number = key.Numbers.Get(slot);
            if (!double.IsNaN(number))
            {
                text.Append("n:").Append(BitConverter.DoubleToInt64Bits(number)).Append(';');
            }

            var id = key.Strings.Get(slot);
            if (id >= 0)
            {
                text.Append("s:").Append(Text(id)).Append(';');
            }

            var flag = key.Bools.Get(slot);
            if (flag != byte.MaxValue)
            {
                text.Append("b:").Append(flag).Append(';');
            }

            foreach (var (kind, value) in key._elements.Elements(slot))
            {
                text.Append("e:").Append(kind).Append('=')
                    .Append(kind == FilterValueKind.String ? Text(value) : BitConverter.DoubleToInt64Bits(value).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(';');
            }

            return text.ToString();
        }

        public long EstimatedBytes =>
            Numbers.EstimatedBytes + Strings.EstimatedBytes + Bools.EstimatedBytes
            + (_stringIds.Count * (long)StringEntryBytes) + (2 * _stringChars)
            + _elements.EstimatedBytes;

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

        public void AddElement(Row row, int slotCapacity) =>
            _elements.Add(row.Slot, row.Kind, row.Kind == FilterValueKind.String ? StringId(row.Text!) : row.Number, slotCapacity);

        public void Clear(int slot)
        {
            Numbers.Clear(slot);
            Strings.Clear(slot);
            Bools.Clear(slot);
            _elements.Clear(slot);
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

            _elements.Match(kind, wanted, result);
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
}
