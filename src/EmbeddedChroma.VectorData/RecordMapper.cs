using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedChroma.VectorData;

/// <summary>
/// Moves values between a record (POCO or dictionary) and Chroma's metadata, document and embedding.
/// </summary>
/// <remarks>
/// Metadata types: string → string; int, long → integer; float, double → float; bool → bool; string[] and
/// List&lt;string&gt; → string array; DateTime → integer ticks of its UTC time (a DateTime of kind Local is converted
/// to UTC, Unspecified is taken as UTC; read back with kind Utc); DateTimeOffset → integer ticks of its UTC instant
/// (read back with offset zero: the same instant, so equal). A <see langword="null"/> value, and an empty string array
/// (Chroma has no empty arrays), store no key and read back as <see langword="null"/>.
/// </remarks>
internal static class RecordMapper
{
    public static MetadataValue? ToMetadata(object? value) => value switch
    {
        null => null,
        string s => MetadataValue.FromString(s),
        int i => MetadataValue.FromInt64(i),
        long l => MetadataValue.FromInt64(l),
        float f => MetadataValue.FromDouble(f),
        double d => MetadataValue.FromDouble(d),
        bool b => MetadataValue.FromBoolean(b),
        DateTime dt => MetadataValue.FromInt64(Ticks(dt)),
        DateTimeOffset dto => MetadataValue.FromInt64(dto.UtcTicks),
        IEnumerable<string> strings => strings.Any() ? MetadataValue.FromStrings(strings) : null,
        _ => throw new NotSupportedException($"A value of type '{value.GetType().Name}' cannot be stored in Chroma metadata; supported: {ChromaModelBuilder.SupportedDataTypes}."),
    };

    /// <summary>The UTC ticks a DateTime is stored as (Local converted, Unspecified taken as UTC).</summary>
    public static long Ticks(DateTime value) => value.Kind == DateTimeKind.Local ? value.ToUniversalTime().Ticks : value.Ticks;

    public static object? FromMetadata(MetadataValue? value, PropertyModel property)
    {
        if (value is null)
        {
            return null;
        }

        var t = Nullable.GetUnderlyingType(property.Type) ?? property.Type;
        try
        {
            if (t == typeof(string))
            {
                return value.AsString();
            }

            if (t == typeof(int))
            {
                return checked((int)value.AsInt64());
            }

            if (t == typeof(long))
            {
                return value.AsInt64();
            }

            if (t == typeof(double))
            {
                return value.AsDouble();
            }

            if (t == typeof(float))
            {
                return (float)value.AsDouble();
            }

            if (t == typeof(bool))
            {
                return value.AsBoolean();
            }

            if (t == typeof(DateTime))
            {
                return new DateTime(value.AsInt64(), DateTimeKind.Utc);
            }

            if (t == typeof(DateTimeOffset))
            {
                return new DateTimeOffset(value.AsInt64(), TimeSpan.Zero);
            }

            if (t == typeof(string[]))
            {
                return value.AsStrings().ToArray();
            }

            if (t == typeof(List<string>))
            {
                return value.AsStrings().ToList();
            }
        }
        catch (Exception e) when (e is InvalidOperationException or OverflowException or ArgumentOutOfRangeException)
        {
            throw new InvalidOperationException(
                $"Metadata key '{property.StorageName}' holds a {value.Kind} that does not fit property '{property.ModelName}' of type '{property.Type.Name}'.", e);
        }

        throw new NotSupportedException($"Property '{property.ModelName}' has unsupported type '{property.Type.Name}'.");
    }

    /// <summary>A stored embedding as the vector property's type.</summary>
    public static object ToVectorProperty(float[] embedding, Type type) =>
        type == typeof(float[]) ? embedding
        : type == typeof(Embedding<float>) ? new Embedding<float>(embedding)
        : new ReadOnlyMemory<float>(embedding);

    /// <summary>The vector property's value as an array to send, or <see langword="null"/> when it is null.</summary>
    public static float[]? FromVectorProperty(object? value) => value switch
    {
        null => null,
        float[] a => a,
        ReadOnlyMemory<float> m => m.ToArray(),
        Embedding<float> e => e.Vector.ToArray(),
        _ => throw new NotSupportedException($"Vector value of type '{value.GetType().Name}' is not supported; use {ChromaModelBuilder.SupportedVectorTypes}."),
    };
}
