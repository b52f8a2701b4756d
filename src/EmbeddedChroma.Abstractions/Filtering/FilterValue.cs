using System.Globalization;
using System.Text.Json;
using EmbeddedChroma.Filtering;

namespace EmbeddedChroma;

/// <summary>The type of a <see cref="FilterValue"/>, following Chroma's metadata value types.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Naming",
    "CA1720:Identifier contains type name",
    Justification = "The members name Chroma's metadata value types on purpose.")]
public enum FilterValueKind
{
    /// <summary>No value (<c>default(FilterValue)</c> or a null string). Every filter rejects it.</summary>
    None = 0,

    /// <summary>A string.</summary>
    String,

    /// <summary>A boolean. A bool never equals a number (<c>true</c> is not <c>1</c>).</summary>
    Bool,

    /// <summary>A 64-bit integer. Compares numerically with floats (<c>5</c> equals <c>5.0</c>).</summary>
    Int,

    /// <summary>A 64-bit float. Compares numerically with integers.</summary>
    Float,
}

/// <summary>
/// One scalar operand of a metadata filter: a string, bool, integer or float. Converts implicitly from
/// <see cref="string"/>, <see cref="bool"/>, <see cref="int"/>, <see cref="long"/>, <see cref="float"/> and
/// <see cref="double"/>, so <c>Where.Eq("year", 2001)</c> and <c>Where.In("genre", "a", "b")</c> read naturally.
/// </summary>
/// <remarks>
/// A <see cref="float"/> widens to <see cref="double"/> exactly, so <c>0.1f</c> becomes 0.100000001490116…,
/// not 0.1; write <c>0.1</c> (a double) when you mean the decimal. Integers are stored by the metadata index as
/// IEEE doubles, so integers beyond ±2^53 compare with reduced precision. NaN and infinities are representable
/// here but every filter factory rejects them.
/// </remarks>
public readonly struct FilterValue : IEquatable<FilterValue>
{
    private readonly string? _string;
    private readonly long _integer;
    private readonly double _float;

    private FilterValue(FilterValueKind kind, string? s, long i, double d)
    {
        Kind = kind;
        _string = s;
        _integer = i;
        _float = d;
    }

    /// <summary>The type of the value; <see cref="FilterValueKind.None"/> for <c>default</c> or a null string.</summary>
    public FilterValueKind Kind { get; }

    /// <summary>True for <see cref="FilterValueKind.Int"/> and <see cref="FilterValueKind.Float"/>.</summary>
    public bool IsNumber => Kind is FilterValueKind.Int or FilterValueKind.Float;

    internal string StringValue => _string!;

    internal bool BoolValue => _integer != 0;

    internal long IntValue => _integer;

    /// <summary>The numeric value as a double (ints widen); only meaningful when <see cref="IsNumber"/>.</summary>
    internal double NumberValue => Kind == FilterValueKind.Int ? _integer : _float;

    /// <summary>False only for a float that is NaN or infinite.</summary>
    internal bool IsFinite => Kind != FilterValueKind.Float || double.IsFinite(_float);

    /// <summary>A string value; <see langword="null"/> gives a <see cref="FilterValueKind.None"/> value.</summary>
    public static FilterValue FromString(string? value) =>
        value is null ? default : new FilterValue(FilterValueKind.String, value, 0, 0);

    /// <summary>A boolean value.</summary>
    public static FilterValue FromBoolean(bool value) => new(FilterValueKind.Bool, null, value ? 1 : 0, 0);

    /// <summary>An integer value.</summary>
    public static FilterValue FromInt64(long value) => new(FilterValueKind.Int, null, value, 0);

    /// <summary>A float value (NaN and infinities are rejected later by the filter factories).</summary>
    public static FilterValue FromDouble(double value) => new(FilterValueKind.Float, null, 0, value);

    /// <summary>Converts a string; <see langword="null"/> gives a <see cref="FilterValueKind.None"/> value.</summary>
    public static implicit operator FilterValue(string? value) => FromString(value);

    /// <summary>Converts a boolean.</summary>
    public static implicit operator FilterValue(bool value) => FromBoolean(value);

    /// <summary>Converts an integer.</summary>
    public static implicit operator FilterValue(int value) => FromInt64(value);

    /// <summary>Converts an integer.</summary>
    public static implicit operator FilterValue(long value) => FromInt64(value);

    /// <summary>Converts a float by exact widening (see the remarks on <see cref="FilterValue"/>).</summary>
    public static implicit operator FilterValue(float value) => FromDouble(value);

    /// <summary>Converts a double.</summary>
    public static implicit operator FilterValue(double value) => FromDouble(value);

    /// <summary>Structural equality: same kind and same value (an int never equals a float here).</summary>
    public static bool operator ==(FilterValue left, FilterValue right) => left.Equals(right);

    /// <summary>Structural inequality.</summary>
    public static bool operator !=(FilterValue left, FilterValue right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(FilterValue other) => Kind == other.Kind && Kind switch
    {
        FilterValueKind.String => string.Equals(_string, other._string, StringComparison.Ordinal),
        FilterValueKind.Float => _float.Equals(other._float),
        FilterValueKind.None => true,
        _ => _integer == other._integer,
    };

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FilterValue other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Kind switch
    {
        FilterValueKind.String => HashCode.Combine(Kind, StringComparer.Ordinal.GetHashCode(_string!)),
        FilterValueKind.Float => HashCode.Combine(Kind, _float),
        _ => HashCode.Combine(Kind, _integer),
    };

    /// <summary>The value as a JSON literal (<c>"text"</c>, <c>true</c>, <c>5</c>, <c>5.0</c>, or <c>null</c>).</summary>
    public override string ToString() => Kind switch
    {
        FilterValueKind.String => JsonSerializer.Serialize(_string, FilterJson.SerializerOptions),
        FilterValueKind.Bool => _integer != 0 ? "true" : "false",
        FilterValueKind.Int => _integer.ToString(CultureInfo.InvariantCulture),
        FilterValueKind.Float => FilterJson.FormatFloat(_float),
        _ => "null",
    };

    /// <summary>Short type name for error messages.</summary>
    internal string TypeName => Kind switch
    {
        FilterValueKind.String => "string",
        FilterValueKind.Bool => "bool",
        FilterValueKind.Int => "int",
        FilterValueKind.Float => "float",
        _ => "null",
    };

    internal void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case FilterValueKind.String: writer.WriteStringValue(_string); break;
            case FilterValueKind.Bool: writer.WriteBooleanValue(_integer != 0); break;
            case FilterValueKind.Int: writer.WriteNumberValue(_integer); break;
            // Utf8JsonWriter writes 5.0 as "5", which would parse back as an integer.
            case FilterValueKind.Float: writer.WriteRawValue(FilterJson.FormatFloat(_float), skipInputValidation: true); break;
            default: writer.WriteNullValue(); break;
        }
    }
}
