using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index.Hnsw;

/// <summary>
/// Thread-safe in-memory rows for the HNSW tests: clustered Gaussian points (cluster centres N(0, 1), spread
/// <c>sigma</c> around them), seeded, normalized for cosine as the store does. Rows can be rewritten for update tests.
/// </summary>
internal sealed class ClusteredRows : IVectorRows
{
    private readonly float[] _data;

    private ClusteredRows(int dimension, int slotCount)
    {
        Dimension = dimension;
        SlotCount = slotCount;
        _data = new float[dimension * slotCount];
    }

    public int Dimension { get; }

    public int SlotCount { get; }

    public ReadOnlySpan<float> GetRow(int slot) => _data.AsSpan(slot * Dimension, Dimension);

    public ref readonly float FirstRow => ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_data);

    public int RowStride => Dimension;

    public void SetRow(int slot, ReadOnlySpan<float> values) => values.CopyTo(_data.AsSpan(slot * Dimension, Dimension));

    /// <summary>
    /// Uniform [0, 1) values drawn from <c>new Random(seed)</c>, not normalized: low-dimensional uniform data is where
    /// neighbour pruning leaves nodes without in-links most often (no clusters to hold them).
    /// </summary>
    public static ClusteredRows CreateUniform(int seed, int dimension, int slotCount)
    {
        var random = new Random(seed);
        var rows = new ClusteredRows(dimension, slotCount);
        for (int i = 0; i < rows._data.Length; i++)
        {
            rows._data[i] = (float)random.NextDouble();
        }

        return rows;
    }

    public static ClusteredRows Create(int seed, int dimension, int slotCount, DistanceSpace space, int clusters = 16, double sigma = 0.35)
    {
        var random = new Random(seed);
        var centres = new float[clusters][];
        for (int c = 0; c < clusters; c++)
        {
            centres[c] = Gaussian(random, dimension, 0, 1);
        }

        var rows = new ClusteredRows(dimension, slotCount);
        for (int slot = 0; slot < slotCount; slot++)
        {
            float[] centre = centres[random.Next(clusters)];
            var row = new float[dimension];
            for (int i = 0; i < dimension; i++)
            {
                row[i] = centre[i] + (float)(NextGaussian(random) * sigma);
            }

            rows.SetRow(slot, Prepare(row, space));
        }

        return rows;
    }

    /// <summary>Queries near randomly chosen rows (Gaussian noise of <paramref name="sigma"/>), seeded.</summary>
    public float[][] Queries(int seed, int count, DistanceSpace space, double sigma = 0.2)
    {
        var random = new Random(seed);
        var queries = new float[count][];
        for (int q = 0; q < count; q++)
        {
            ReadOnlySpan<float> near = GetRow(random.Next(SlotCount));
            var query = new float[Dimension];
            for (int i = 0; i < Dimension; i++)
            {
                query[i] = near[i] + (float)(NextGaussian(random) * sigma);
            }

            queries[q] = Prepare(query, space);
        }

        return queries;
    }

    public static float[] Prepare(float[] vector, DistanceSpace space)
    {
        if (space == DistanceSpace.Cosine)
        {
            VectorMath.Normalize(vector, vector);
        }

        return vector;
    }

    private static float[] Gaussian(Random random, int dimension, double mean, double sigma)
    {
        var values = new float[dimension];
        for (int i = 0; i < dimension; i++)
        {
            values[i] = (float)(mean + (NextGaussian(random) * sigma));
        }

        return values;
    }

    private static double NextGaussian(Random random)
    {
        // Box–Muller; 1 − NextDouble() is in (0, 1], so the log is finite.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
