using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann-gen</c>: deterministic clustered Gaussian data in big-ann-benchmarks format. Cluster centres are
/// N(0, 1) per component; every base vector and query is a centre (chosen uniformly) plus N(0, σ²) noise with
/// σ = 0.6 by default (intra-cluster distances well below inter-cluster ones, but clusters are not trivially
/// separable for ANN). Writes base.fbin, queries.fbin and the exact squared-L2 top-k ground truth truth.ibin.
/// </summary>
internal static class AnnDataGenerator
{
    public static int Run(AnnArguments options)
    {
        int n = options.Int("n");
        int dimension = options.Int("dim");
        int queryCount = options.Int("queries", 1000);
        int clusters = options.Int("clusters", 100);
        int seed = options.Int("seed", 1);
        int k = options.Int("k", 100);
        double sigma = double.Parse(options.String("sigma", "0.6"), System.Globalization.CultureInfo.InvariantCulture);
        string output = options.String("out");
        options.ThrowIfUnused();
        Directory.CreateDirectory(output);

        var random = new Random(seed);
        var centres = new float[clusters * dimension];
        FillGaussian(random, centres, 1.0);
        var data = new float[(long)n * dimension];
        var queries = new float[queryCount * dimension];
        FillClustered(random, data, n, dimension, centres, clusters, sigma);
        FillClustered(random, queries, queryCount, dimension, centres, clusters, sigma);

        BigAnnFiles.WriteFbin(Path.Combine(output, "base.fbin"), data, n, dimension);
        BigAnnFiles.WriteFbin(Path.Combine(output, "queries.fbin"), queries, queryCount, dimension);

        int[] truth = ExactTruth(new ArrayVectorRows(data, dimension, dimension), DistanceSpace.L2, queries, dimension, Math.Min(k, n));
        BigAnnFiles.WriteIbin(Path.Combine(output, "truth.ibin"), truth, queryCount, Math.Min(k, n));
        Console.WriteLine($"ann-gen: {n} × {dimension} base, {queryCount} queries, {clusters} clusters, σ = {sigma}, seed {seed}, k = {k} → {output}");
        return 0;
    }

    /// <summary>
    /// Exact top-k slots per query by <see cref="ExactScan"/> (brute force over the slots set in
    /// <paramref name="admitted"/>, all slots when null), queries in parallel.
    /// </summary>
    public static int[] ExactTruth(IVectorRows rows, DistanceSpace space, float[] queries, int dimension, int k, ulong[]? admitted = null)
    {
        int queryCount = queries.Length / dimension;
        var truth = new int[queryCount * k];
        ulong[] all = admitted ?? AllSlots(rows.SlotCount);
        Parallel.For(0, queryCount, () => new Neighbor[k], (q, _, buffer) =>
        {
            int found = ExactScan.Search(rows, space, queries.AsSpan(q * dimension, dimension), k, SlotFilter.FromBitmap(all), buffer);
            for (int i = 0; i < k; i++)
            {
                truth[(q * k) + i] = i < found ? buffer[i].Slot : -1;
            }

            return buffer;
        }, _ => { });
        return truth;
    }

    public static ulong[] AllSlots(int count)
    {
        var bits = new ulong[(count + 63) / 64];
        bits.AsSpan().Fill(ulong.MaxValue);
        if ((count & 63) != 0)
        {
            bits[^1] = (1UL << (count & 63)) - 1;
        }

        return bits;
    }

    /// <summary>
    /// A bitmap with exactly round(<paramref name="fraction"/> · <paramref name="count"/>) of the slots [0, count)
    /// set, chosen uniformly by a partial Fisher–Yates shuffle seeded with <paramref name="seed"/> (the same subset on
    /// every run and machine, since <see cref="Random(int)"/> is deterministic for a seed).
    /// </summary>
    public static ulong[] RandomSubset(int count, double fraction, int seed)
    {
        if (fraction is <= 0 or > 1)
        {
            throw new ArgumentException($"--filter-selectivity must be in (0, 1]; got {fraction}.");
        }

        int chosen = (int)Math.Round(fraction * count);
        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        var random = new Random(seed);
        var bits = new ulong[(count + 63) / 64];
        for (int i = 0; i < chosen; i++)
        {
            int j = random.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
            bits[order[i] >> 6] |= 1UL << (order[i] & 63);
        }

        return bits;
    }

    private static void FillClustered(Random random, float[] target, int count, int dimension, float[] centres, int clusters, double sigma)
    {
        for (int i = 0; i < count; i++)
        {
            int c = random.Next(clusters);
            for (int d = 0; d < dimension; d++)
            {
                target[((long)i * dimension) + d] = centres[(c * dimension) + d] + (float)(NextGaussian(random) * sigma);
            }
        }
    }

    private static void FillGaussian(Random random, float[] target, double sigma)
    {
        for (int i = 0; i < target.Length; i++)
        {
            target[i] = (float)(NextGaussian(random) * sigma);
        }
    }

    private static double NextGaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
