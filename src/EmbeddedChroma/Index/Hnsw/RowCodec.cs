using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EmbeddedChroma.Index.Hnsw;

/// <summary>Decodes a stored row (float32 or float16) into floats.</summary>
internal static class RowCodec
{
    /// <summary>Writes <paramref name="row"/> as floats into <paramref name="destination"/> (same length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode<TElement>(ReadOnlySpan<TElement> row, Span<float> destination)
        where TElement : unmanaged
    {
        if (typeof(TElement) == typeof(float))
        {
            MemoryMarshal.Cast<TElement, float>(row).CopyTo(destination);
        }
        else if (typeof(TElement) == typeof(Half))
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<TElement, Half>(row), destination);
        }
        else
        {
            throw new NotSupportedException($"Rows of {typeof(TElement).Name} cannot be decoded.");
        }
    }
}
