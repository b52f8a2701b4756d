using System.Runtime.InteropServices;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// The big-ann-benchmarks binary formats: <c>.fbin</c> = int32 count, int32 dim, then count × dim float32;
/// <c>.ibin</c> = int32 count, int32 k, then count × k int32. Little-endian (as the benchmark files are).
/// </summary>
internal static class BigAnnFiles
{
    /// <summary>Reads an .fbin into rows padded to <paramref name="stride"/> floats (0 = no padding).</summary>
    public static (float[] Data, int Count, int Dimension, int Stride) ReadFbin(string path, int paddingMultiple = 16, int maxCount = int.MaxValue)
    {
        using var file = File.OpenRead(path);
        Span<int> header = stackalloc int[2];
        file.ReadExactly(MemoryMarshal.AsBytes(header));
        int count = header[0];
        int dimension = header[1];
        if (count < 0 || dimension <= 0 || file.Length != 8 + ((long)count * dimension * sizeof(float)))
        {
            throw new InvalidDataException($"{path} is not an .fbin file (count {count}, dim {dimension}, length {file.Length}).");
        }

        count = Math.Min(count, maxCount);
        int stride = (dimension + paddingMultiple - 1) / paddingMultiple * paddingMultiple;
        var data = new float[(long)count * stride];
        for (int i = 0; i < count; i++)
        {
            file.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan(i * stride, dimension)));
        }

        return (data, count, dimension, stride);
    }

    public static void WriteFbin(string path, ReadOnlySpan<float> rows, int count, int dimension)
    {
        using var file = File.Create(path);
        ReadOnlySpan<int> header = [count, dimension];
        file.Write(MemoryMarshal.AsBytes(header));
        file.Write(MemoryMarshal.AsBytes(rows[..(count * dimension)]));
    }

    public static (int[] Ids, int Count, int K) ReadIbin(string path)
    {
        using var file = File.OpenRead(path);
        Span<int> header = stackalloc int[2];
        file.ReadExactly(MemoryMarshal.AsBytes(header));
        int count = header[0];
        int k = header[1];
        if (count < 0 || k <= 0 || file.Length != 8 + ((long)count * k * sizeof(int)))
        {
            throw new InvalidDataException($"{path} is not an .ibin file (count {count}, k {k}, length {file.Length}).");
        }

        var ids = new int[count * k];
        file.ReadExactly(MemoryMarshal.AsBytes(ids.AsSpan()));
        return (ids, count, k);
    }

    public static void WriteIbin(string path, ReadOnlySpan<int> ids, int count, int k)
    {
        using var file = File.Create(path);
        ReadOnlySpan<int> header = [count, k];
        file.Write(MemoryMarshal.AsBytes(header));
        file.Write(MemoryMarshal.AsBytes(ids[..(count * k)]));
    }
}
