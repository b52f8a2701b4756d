using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;

namespace EmbeddedChroma.Tests.Index.Hnsw;

internal static class HnswTestHelpers
{
    public static HnswIndex Build(ClusteredRows rows, DistanceSpace space, int m = 16, int efConstruction = 100, int count = -1)
    {
        var index = HnswIndex.Create(rows, space, new HnswParameters(M: m, EfConstruction: efConstruction, Ef: 64, Seed: 7));
        int n = count < 0 ? rows.SlotCount : count;
        for (int slot = 0; slot < n; slot++)
        {
            index.Insert(slot);
        }

        return index;
    }

    public static ulong[] AllSlots(int slotCount) => Bitmap(slotCount, Enumerable.Range(0, slotCount));

    public static ulong[] Bitmap(int slotCount, IEnumerable<int> slots)
    {
        var bits = new ulong[(slotCount + 63) / 64];
        foreach (int slot in slots)
        {
            bits[slot >> 6] |= 1UL << (slot & 63);
        }

        return bits;
    }

    public static Neighbor[] Exact(IVectorRows rows, DistanceSpace space, float[] query, int k, ReadOnlySpan<ulong> admitted)
    {
        var destination = new Neighbor[k];
        int n = ExactScan.Search(rows, space, query, k, SlotFilter.FromBitmap(admitted), destination);
        return destination[..n];
    }

    public static Neighbor[] Approximate(HnswIndex index, float[] query, int k, int ef, ReadOnlySpan<ulong> admitted)
    {
        var destination = new Neighbor[k];
        int n = index.Search(query, k, ef, SlotFilter.FromBitmap(admitted), destination);
        return destination[..n];
    }

    /// <summary>Mean over queries of |approximate ∩ exact| / |exact| for the top <paramref name="k"/>.</summary>
    public static double Recall(HnswIndex index, IVectorRows rows, DistanceSpace space, float[][] queries, int k, int ef, ulong[] admitted)
    {
        double sum = 0;
        int counted = 0;
        foreach (float[] query in queries)
        {
            Neighbor[] exact = Exact(rows, space, query, k, admitted);
            if (exact.Length == 0)
            {
                continue;
            }

            var truth = exact.Select(n => n.Slot).ToHashSet();
            sum += Approximate(index, query, k, ef, admitted).Count(n => truth.Contains(n.Slot)) / (double)exact.Length;
            counted++;
        }

        return counted == 0 ? 1 : sum / counted;
    }

    /// <summary>Live nodes (present, not deleted) that no level-0 walk from the entry point reaches (walks go through deleted nodes).</summary>
    public static List<int> UnreachedLive(HnswIndex index, int slotCount)
    {
        var reached = new bool[slotCount];
        var queue = new Queue<int>();
        var links = new int[2 * index.Parameters.M];
        reached[index.EntryPoint] = true;
        queue.Enqueue(index.EntryPoint);
        while (queue.Count > 0)
        {
            int count = index.GetLinks(queue.Dequeue(), 0, links);
            foreach (int link in links.AsSpan(0, count))
            {
                if (!reached[link])
                {
                    reached[link] = true;
                    queue.Enqueue(link);
                }
            }
        }

        return Enumerable.Range(0, slotCount).Where(s => !reached[s] && index.Contains(s) && !index.IsDeleted(s)).ToList();
    }

    /// <summary>
    /// Rewrites a whole version-4 file (one save, no segment) as version 3 wrote it: the same layout with XxHash3 as the
    /// base's checksum (and version 3 in its header, whose own checksum is redone).
    /// </summary>
    internal static void RewriteAsVersion(string path, int version, bool xxHash3Base)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Span<byte> header = bytes.AsSpan(0, 160); // generation 1 lives in slot 0
        System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header[128..]).Should().Be(0, "a whole file has no segment");
        long baseLength = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(header[48..]);
        if (xxHash3Base)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header[56..], System.IO.Hashing.XxHash3.HashToUInt64(bytes.AsSpan(1024, (int)baseLength)));
        }

        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header[8..], version);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header[152..], System.IO.Hashing.XxHash3.HashToUInt64(header[..152]));
        File.WriteAllBytes(path, bytes);
    }
}
