using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

/// <summary>The obvious LINQ search the scan must agree with.</summary>
internal static class BruteForce
{
    public static Neighbor[] Search(PaddedVectorRows rows, DistanceSpace space, float[] query, int k, IEnumerable<int> candidates) =>
        candidates
            .Select(slot => new Neighbor(slot, Distance(space, query, rows.RowArray(slot))))
            .OrderBy(n => n.Distance)
            .ThenBy(n => n.Slot)
            .Take(k)
            .ToArray();

    public static float Distance(DistanceSpace space, float[] a, float[] b) => space switch
    {
        DistanceSpace.L2 => L2Kernel.Distance(a, b),
        _ => DotDistanceKernel.Distance(a, b),
    };

    /// <summary>Chroma's definitions computed in double, independently of the kernels.</summary>
    public static double ReferenceDistance(DistanceSpace space, float[] a, float[] b) => space switch
    {
        DistanceSpace.L2 => a.Zip(b, (x, y) => ((double)x - y) * ((double)x - y)).Sum(),
        _ => 1 - a.Zip(b, (x, y) => (double)x * y).Sum(),
    };

    public static ulong[] Bitmap(int slotCount, IEnumerable<int> live)
    {
        var bits = new ulong[(slotCount + 63) / 64];
        foreach (int slot in live)
        {
            bits[slot >> 6] |= 1UL << (slot & 63);
        }

        return bits;
    }

    public static float[] Query(int seed, int dimension, DistanceSpace space)
    {
        var random = new Random(seed);
        var query = Enumerable.Range(0, dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        if (space == DistanceSpace.Cosine)
        {
            VectorMath.Normalize(query, query);
        }

        return query;
    }
}
