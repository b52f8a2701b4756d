using System.Collections.Immutable;
using System.Globalization;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma;

/// <summary>The kind of a <see cref="MetadataValue"/>: Chroma's metadata types.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members name Chroma's metadata value types on purpose.")]
public enum MetadataValueKind
{
    /// <summary>A string.</summary>
    String,

    /// <summary>A 64-bit integer (Chroma's <c>int</c>).</summary>
    Int,

    /// <summary>A finite 64-bit float (Chroma's <c>float</c>).</summary>
    Float,

    /// <summary>A boolean.</summary>
    Bool,

    /// <summary>A non-empty array of strings.</summary>
    StringArray,

    /// <summary>A non-empty array of integers.</summary>
    IntArray,

    /// <summary>A non-empty array of finite floats.</summary>
    FloatArray,

    /// <summary>A non-empty array of booleans.</summary>
    BoolArray,
}

/// <summary>
/// One metadata value, as Chroma's data model allows it: a string, an integer, a finite float, a boolean, or a
/// non-empty array of one of those (all elements of one type). The rules are checked once, here, when the value is
/// made, so every implementation (the embedded codec, the wire encoder, the filters) starts from a valid value.
/// </summary>
/// <remarks>
/// <para>Write metadata with the implicit conversions: <c>new Dictionary&lt;string, MetadataValue?&gt; { ["year"] = 1999,
/// ["genre"] = "sci-fi", ["tags"] = new[] { "a", "b" } }</c>. A <see langword="null"/> value in an update removes the
/// key (Chroma's rule); in an add or upsert it is skipped.</para>
/// <para>Read it with <see cref="Kind"/> and the <c>As…</c> accessors, or <see cref="ToObject"/> for the boxed CLR
/// value (<see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/> or an array of those).</para>
/// <para>Immutable; equality is by kind and value (arrays element by element; an integer never equals a float, as in
/// Chroma's stored types). Integers and floats are kept apart: <c>5</c> and <c>5.0</c> are different values, though
/// Chroma's filters compare them numerically.</para>
/// </remarks>
public sealed class MetadataValue : IEquatable<MetadataValue>
{
    private readonly object _value;

    private MetadataValue(MetadataValueKind kind, object value)
    {
        Kind = kind;
        _value = value;
    }

    /// <summary>What this value holds.</summary>
    public MetadataValueKind Kind { get; }

    /// <summary>True for the array kinds.</summary>
    public bool IsArray => Kind >= MetadataValueKind.StringArray;

    /// <summary>A string value.</summary>
    /// <exception cref="ChromaValidationException"><paramref name="value"/> is null.</exception>
    public static MetadataValue FromString(string value) =>
        new(MetadataValueKind.String, value ?? throw new ChromaValidationException("A metadata string value cannot be null (use a null MetadataValue to leave the key out)."));

    /// <summary>An integer value.</summary>
    public static MetadataValue FromInt64(long value) => new(MetadataValueKind.Int, value);

    /// <summary>A float value.</summary>
    /// <exception cref="ChromaValidationException">The value is NaN or infinite (Chroma stores only finite floats).</exception>
    public static MetadataValue FromDouble(double value) => new(MetadataValueKind.Float, Finite(value, "metadata float"));

    /// <summary>A boolean value.</summary>
    public static MetadataValue FromBoolean(bool value) => new(MetadataValueKind.Bool, value);

    /// <summary>An array of strings.</summary>
    /// <exception cref="ChromaValidationException">The array is null or empty, or an element is null.</exception>
    public static MetadataValue FromStrings(IEnumerable<string> values) => FromStrings(values, "metadata array");

    private static MetadataValue FromStrings(IEnumerable<string> values, string where)
    {
        var array = NonEmpty(values, where);
        foreach (var value in array)
        {
            if (value is null)
            {
                throw new ChromaValidationException($"{where}: arrays may not contain null.");
            }
        }

        return new(MetadataValueKind.StringArray, array);
    }

    /// <summary>An array of integers.</summary>
    /// <exception cref="ChromaValidationException">The array is null or empty.</exception>
    public static MetadataValue FromInt64s(IEnumerable<long> values) => FromInt64s(values, "metadata array");

    private static MetadataValue FromInt64s(IEnumerable<long> values, string where) => new(MetadataValueKind.IntArray, NonEmpty(values, where));

    /// <summary>An array of floats.</summary>
    /// <exception cref="ChromaValidationException">The array is null or empty, or an element is NaN or infinite.</exception>
    public static MetadataValue FromDoubles(IEnumerable<double> values) => FromDoubles(values, "metadata array");

    private static MetadataValue FromDoubles(IEnumerable<double> values, string where)
    {
        var array = NonEmpty(values, where);
        foreach (var value in array)
        {
            Finite(value, where);
        }

        return new(MetadataValueKind.FloatArray, array);
    }

    /// <summary>An array of booleans.</summary>
    /// <exception cref="ChromaValidationException">The array is null or empty.</exception>
    public static MetadataValue FromBooleans(IEnumerable<bool> values) => new(MetadataValueKind.BoolArray, NonEmpty(values, "metadata array"));

    /// <summary>
    /// Converts a CLR value: <see cref="string"/>; <see cref="long"/>, <see cref="int"/>, <see cref="short"/>,
    /// <see cref="sbyte"/>, <see cref="byte"/>, <see cref="ushort"/>, <see cref="uint"/> (and <see cref="ulong"/> up to
    /// <see cref="long.MaxValue"/>); <see cref="double"/>, <see cref="float"/>, <see cref="decimal"/>; <see cref="bool"/>;
    /// or a non-empty sequence of one of those kinds; or a <see cref="MetadataValue"/> itself.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <param name="where">Where the value came from, for the message (for example <c>metadatas[3]['year']</c>).</param>
    /// <exception cref="ChromaValidationException">Any other type, null, a non-finite float, or an empty or mixed array.</exception>
    public static MetadataValue FromObject(object? value, string where = "metadata value")
    {
        ArgumentNullException.ThrowIfNull(where);
        switch (value)
        {
            case null:
                throw new ChromaValidationException($"{where}: null is not a metadata value (arrays may not contain null).");
            case MetadataValue metadata:
                return metadata;
            case string s:
                return FromString(s);
            case bool b:
                return FromBoolean(b);
            case long or int or short or sbyte or byte or ushort or uint:
                return FromInt64(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case ulong u:
                return u <= long.MaxValue ? FromInt64((long)u) : throw new ChromaValidationException($"{where}: integer {u} is out of the 64-bit signed range.");
            case double or float or decimal:
                return new(MetadataValueKind.Float, Finite(Convert.ToDouble(value, CultureInfo.InvariantCulture), where));
            case System.Text.Json.JsonElement json:
                return FromJson(json, where);
            // Exact types only: the runtime lets a ulong[] (or an enum array) pass a test for long[], which would wrap
            // values above long.MaxValue to negatives; anything else goes element by element through FromSequence.
            case string[] strings when value.GetType() == typeof(string[]):
                return FromStrings(strings, where);
            case long[] longs when value.GetType() == typeof(long[]):
                return FromInt64s(longs, where);
            case double[] doubles when value.GetType() == typeof(double[]):
                return FromDoubles(doubles, where);
            case bool[] bools when value.GetType() == typeof(bool[]):
                return new(MetadataValueKind.BoolArray, NonEmpty(bools, where));
            case System.Collections.IEnumerable sequence:
                return FromSequence(sequence, where);
            default:
                throw new ChromaValidationException(
                    $"{where}: a value of type {value.GetType().Name} is not allowed as metadata; use a string, integer, float, bool or a non-empty array of one of those.");
        }
    }

    /// <summary>A JSON value: a number without '.' or exponent is an integer, any other a float (as Chroma's wire format keeps them apart).</summary>
    private static MetadataValue FromJson(System.Text.Json.JsonElement json, string where)
    {
        switch (json.ValueKind)
        {
            case System.Text.Json.JsonValueKind.String:
                try
                {
                    return FromString(json.GetString()!);
                }
                catch (InvalidOperationException ex)
                {
                    // A JSON escape such as "\ud800" decodes to an unpaired surrogate, which System.Text.Json refuses.
                    throw new ChromaValidationException($"{where}: the JSON string is not valid UTF-16.", ex);
                }

            case System.Text.Json.JsonValueKind.True:
                return FromBoolean(true);
            case System.Text.Json.JsonValueKind.False:
                return FromBoolean(false);
            case System.Text.Json.JsonValueKind.Number:
                var raw = json.GetRawText();
                if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0)
                {
                    // An integer literal stays an integer or is refused: it never turns into a float.
                    return json.TryGetInt64(out var integer)
                        ? FromInt64(integer)
                        : throw new ChromaValidationException($"{where}: the JSON integer {Echo.Text(raw, 64)} is out of the 64-bit signed range.");
                }

                return json.TryGetDouble(out var number) && double.IsFinite(number)
                    ? FromDouble(number)
                    : throw new ChromaValidationException($"{where}: the JSON number {Echo.Text(raw, 64)} is not a finite 64-bit float (NaN and infinite numbers are not allowed).");
            case System.Text.Json.JsonValueKind.Array:
                var elements = new List<object>();
                foreach (var element in json.EnumerateArray())
                {
                    elements.Add(element);
                }

                return FromSequence(elements, where);
            default:
                throw new ChromaValidationException($"{where}: a JSON {json.ValueKind} is not a metadata value.");
        }
    }

    private static MetadataValue FromSequence(System.Collections.IEnumerable sequence, string where)
    {
        var items = new List<MetadataValue>();
        foreach (var item in sequence)
        {
            var element = FromObject(item, $"{where}[{items.Count}]");
            if (element.IsArray)
            {
                throw new ChromaValidationException($"{where}[{items.Count}]: a metadata array cannot hold arrays (no nesting).");
            }

            items.Add(element);
        }

        if (items.Count == 0)
        {
            throw new ChromaValidationException($"{where}: arrays must be non-empty.");
        }

        var kind = items[0].Kind;
        for (var i = 1; i < items.Count; i++)
        {
            if (items[i].Kind != kind)
            {
                throw new ChromaValidationException($"{where}: metadata array elements must all have the same type, but element 0 is {Name(kind)} and element {i} is {Name(items[i].Kind)}.");
            }
        }

        return kind switch
        {
            MetadataValueKind.String => new(MetadataValueKind.StringArray, items.Select(v => (string)v._value).ToImmutableArray()),
            MetadataValueKind.Int => new(MetadataValueKind.IntArray, items.Select(v => (long)v._value).ToImmutableArray()),
            MetadataValueKind.Float => new(MetadataValueKind.FloatArray, items.Select(v => (double)v._value).ToImmutableArray()),
            _ => new(MetadataValueKind.BoolArray, items.Select(v => (bool)v._value).ToImmutableArray()),
        };
    }

    /// <summary>The string.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public string AsString() => Kind == MetadataValueKind.String ? (string)_value : throw WrongKind(MetadataValueKind.String);

    /// <summary>The integer.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public long AsInt64() => Kind == MetadataValueKind.Int ? (long)_value : throw WrongKind(MetadataValueKind.Int);

    /// <summary>The number: a float, or an integer widened to a float.</summary>
    /// <exception cref="InvalidOperationException">The value is not a number.</exception>
    public double AsDouble() => Kind switch
    {
        MetadataValueKind.Float => (double)_value,
        MetadataValueKind.Int => (long)_value,
        _ => throw WrongKind(MetadataValueKind.Float),
    };

    /// <summary>The boolean.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public bool AsBoolean() => Kind == MetadataValueKind.Bool ? (bool)_value : throw WrongKind(MetadataValueKind.Bool);

    /// <summary>The array of strings.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public ImmutableArray<string> AsStrings() => Kind == MetadataValueKind.StringArray ? (ImmutableArray<string>)_value : throw WrongKind(MetadataValueKind.StringArray);

    /// <summary>The array of integers.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public ImmutableArray<long> AsInt64s() => Kind == MetadataValueKind.IntArray ? (ImmutableArray<long>)_value : throw WrongKind(MetadataValueKind.IntArray);

    /// <summary>The array of floats.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public ImmutableArray<double> AsDoubles() => Kind == MetadataValueKind.FloatArray ? (ImmutableArray<double>)_value : throw WrongKind(MetadataValueKind.FloatArray);

    /// <summary>The array of booleans.</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public ImmutableArray<bool> AsBooleans() => Kind == MetadataValueKind.BoolArray ? (ImmutableArray<bool>)_value : throw WrongKind(MetadataValueKind.BoolArray);

    /// <summary>
    /// The boxed CLR value: <see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>, or a new
    /// <c>string[]</c>, <c>long[]</c>, <c>double[]</c> or <c>bool[]</c>.
    /// </summary>
    public object ToObject() => Kind switch
    {
        MetadataValueKind.StringArray => AsStrings().ToArray(),
        MetadataValueKind.IntArray => AsInt64s().ToArray(),
        MetadataValueKind.FloatArray => AsDoubles().ToArray(),
        MetadataValueKind.BoolArray => AsBooleans().ToArray(),
        _ => _value,
    };

    /// <summary>A string value.</summary>
    public static implicit operator MetadataValue(string value) => FromString(value);

    /// <summary>An integer value.</summary>
    public static implicit operator MetadataValue(long value) => FromInt64(value);

    /// <summary>An integer value.</summary>
    public static implicit operator MetadataValue(int value) => FromInt64(value);

    /// <summary>A float value.</summary>
    public static implicit operator MetadataValue(double value) => FromDouble(value);

    /// <summary>A float value.</summary>
    public static implicit operator MetadataValue(float value) => FromDouble(value);

    /// <summary>A boolean value.</summary>
    public static implicit operator MetadataValue(bool value) => FromBoolean(value);

    /// <summary>An array of strings.</summary>
    public static implicit operator MetadataValue(string[] values) => FromStrings(values);

    /// <summary>An array of integers.</summary>
    public static implicit operator MetadataValue(long[] values) => FromInt64s(values);

    /// <summary>An array of integers.</summary>
    public static implicit operator MetadataValue(int[] values) => FromInt64s(NonEmpty(values, "metadata array").Select(v => (long)v));

    /// <summary>An array of floats.</summary>
    public static implicit operator MetadataValue(double[] values) => FromDoubles(values);

    /// <summary>An array of floats.</summary>
    public static implicit operator MetadataValue(float[] values) => FromDoubles(NonEmpty(values, "metadata array").Select(v => (double)v));

    /// <summary>An array of booleans.</summary>
    public static implicit operator MetadataValue(bool[] values) => FromBooleans(values);

    /// <summary>The string (see <see cref="AsString"/>).</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public static explicit operator string(MetadataValue value) => NotNull(value).AsString();

    /// <summary>The integer (see <see cref="AsInt64"/>).</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public static explicit operator long(MetadataValue value) => NotNull(value).AsInt64();

    /// <summary>The number (see <see cref="AsDouble"/>).</summary>
    /// <exception cref="InvalidOperationException">The value is not a number.</exception>
    public static explicit operator double(MetadataValue value) => NotNull(value).AsDouble();

    /// <summary>The boolean (see <see cref="AsBoolean"/>).</summary>
    /// <exception cref="InvalidOperationException">The value is of another kind.</exception>
    public static explicit operator bool(MetadataValue value) => NotNull(value).AsBoolean();

    private static MetadataValue NotNull(MetadataValue value) => value ?? throw new InvalidOperationException("The metadata value is null.");

    /// <summary>A metadata dictionary from CLR values (see <see cref="FromObject"/>); null values stay null.</summary>
    /// <exception cref="ChromaValidationException">A value is not a metadata value.</exception>
    public static Dictionary<string, MetadataValue?> Map(IEnumerable<KeyValuePair<string, object?>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var map = new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            map[key] = value is null ? null : FromObject(value, $"metadata['{Echo.Text(key)}']");
        }

        return map;
    }

    /// <inheritdoc/>
    public bool Equals(MetadataValue? other)
    {
        if (other is null || other.Kind != Kind)
        {
            return false;
        }

        return Kind switch
        {
            MetadataValueKind.StringArray => AsStrings().SequenceEqual(other.AsStrings(), StringComparer.Ordinal),
            MetadataValueKind.IntArray => AsInt64s().SequenceEqual(other.AsInt64s()),
            MetadataValueKind.FloatArray => AsDoubles().SequenceEqual(other.AsDoubles()),
            MetadataValueKind.BoolArray => AsBooleans().SequenceEqual(other.AsBooleans()),
            _ => _value.Equals(other._value),
        };
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is MetadataValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Kind);
        switch (Kind)
        {
            case MetadataValueKind.StringArray:
                foreach (var s in AsStrings())
                {
                    hash.Add(s, StringComparer.Ordinal);
                }

                break;
            case MetadataValueKind.IntArray:
                foreach (var l in AsInt64s())
                {
                    hash.Add(l);
                }

                break;
            case MetadataValueKind.FloatArray:
                foreach (var d in AsDoubles())
                {
                    hash.Add(d);
                }

                break;
            case MetadataValueKind.BoolArray:
                foreach (var b in AsBooleans())
                {
                    hash.Add(b);
                }

                break;
            default:
                hash.Add(_value);
                break;
        }

        return hash.ToHashCode();
    }

    /// <summary>Equal kind and value.</summary>
    public static bool operator ==(MetadataValue? left, MetadataValue? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Not <c>==</c>.</summary>
    public static bool operator !=(MetadataValue? left, MetadataValue? right) => !(left == right);

    /// <summary>The value for display, shaped like JSON: strings quoted, escaped and cut to 64 characters (and any API key in them masked), floats round-trippable. Use <see cref="ToObject"/> or the accessors for the value itself.</summary>
    public override string ToString() => Kind switch
    {
        MetadataValueKind.String => Echo.Quoted(AsString()),
        MetadataValueKind.Int => AsInt64().ToString(CultureInfo.InvariantCulture),
        MetadataValueKind.Float => AsDouble().ToString("R", CultureInfo.InvariantCulture),
        MetadataValueKind.Bool => AsBoolean() ? "true" : "false",
        MetadataValueKind.StringArray => "[" + string.Join(", ", AsStrings().Select(s => Echo.Quoted(s))) + "]",
        MetadataValueKind.IntArray => "[" + string.Join(", ", AsInt64s().Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]",
        MetadataValueKind.FloatArray => "[" + string.Join(", ", AsDoubles().Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]",
        _ => "[" + string.Join(", ", AsBooleans().Select(b => b ? "true" : "false")) + "]",
    };

    private InvalidOperationException WrongKind(MetadataValueKind wanted) =>
        new($"This metadata value is {Name(Kind)}, not {Name(wanted)}.");

    private static string Name(MetadataValueKind kind) => kind switch
    {
        MetadataValueKind.String => "a string",
        MetadataValueKind.Int => "an integer",
        MetadataValueKind.Float => "a float",
        MetadataValueKind.Bool => "a bool",
        MetadataValueKind.StringArray => "an array of strings",
        MetadataValueKind.IntArray => "an array of integers",
        MetadataValueKind.FloatArray => "an array of floats",
        _ => "an array of bools",
    };

    private static double Finite(double value, string where) =>
        double.IsFinite(value) ? value : throw new ChromaValidationException($"{where}: NaN and infinite numbers are not allowed (got {value.ToString(CultureInfo.InvariantCulture)}).");

    private static ImmutableArray<T> NonEmpty<T>(IEnumerable<T> values, string where)
    {
        if (values is null)
        {
            throw new ChromaValidationException($"{where}: an array cannot be null.");
        }

        var array = values.ToImmutableArray();
        return array.Length > 0 ? array : throw new ChromaValidationException($"{where}: arrays must be non-empty.");
    }
}
