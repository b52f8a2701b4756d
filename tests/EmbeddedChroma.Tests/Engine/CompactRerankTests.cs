using System.Buffers.Binary;
using System.IO.Hashing;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Index;
using EmbeddedChroma.Index.Hnsw;
using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// The re-rank of a quantized collection's candidates reads the float32 rows only of candidates that can reach the
/// results, and answers exactly as re-ranking every candidate would: same records, same exact distances, same order.
/// </summary>
public sealed class CompactRerankTests
{
    private const int Dimension = 48;

    public static TheoryData<DistanceSpace, VectorStorage> Cases()
    {
        var data = new TheoryData<DistanceSpace, VectorStorage>();
        foreach (var space in new[] { DistanceSpace.L2, DistanceSpace.Cosine, DistanceSpace.InnerProduct })
        {
            foreach (var storage in new[] { VectorStorage.Int8, VectorStorage.Float16 })
            {
                data.Add(space, storage);
            }
        }

        return data;
    }

    /// <summary>Clustered rows (seeded), values within about ±(spread + 0.1).</summary>
    private static float[][] Clustered(int n, int seed, float spread = 0.5f)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1) * spread).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ => centres[random.Next(centres.Length)].Select(x => x + ((float)(random.NextDouble() - 0.5) * 0.2f)).ToArray()).ToArray();
    }

    /// <summary>
    /// An arena of <paramref name="trained"/> rows with its compact copy of <paramref name="storage"/> made from them
    /// (int8 ranges trained on them), then <paramref name="late"/> rows written after (outside the int8 ranges when they
    /// lie outside the trained rows' values), and a graph over the compact rows.
    /// </summary>
    private static (VectorArena Arena, HnswIndex Graph) Build(string folder, DistanceSpace space, VectorStorage storage, float[][] trained, float[][] late)
    {
        var arena = VectorArena.Create(Path.Combine(folder, "rows.vec"), Dimension, 64);
        for (var i = 0; i < trained.Length; i++)
        {
            arena.WriteVector(i, trained[i], space);
        }

        object compact = storage == VectorStorage.Int8 ? arena.EnsureCodes() : arena.EnsureCompact();
        for (var i = 0; i < late.Length; i++)
        {
            arena.WriteVector(trained.Length + i, late[i], space);
        }

        var parameters = new HnswParameters(M: 8, EfConstruction: 64, Seed: 3);
        var graph = compact is ByteRows codes ? HnswIndex.Create((IAffineRows)codes, space, parameters) : HnswIndex.Create((IRowBlock<Half>)compact, space, parameters);
        for (var slot = 0; slot < arena.SlotCount; slot++)
        {
            graph.Insert(slot);
        }

        return (arena, graph);
    }

    private static float[] Prepared(float[] query, DistanceSpace space)
    {
        var prepared = query.ToArray();
        if (space == DistanceSpace.Cosine)
        {
            VectorMath.Normalize(query, prepared);
        }

        return prepared;
    }

    /// <summary>The candidates a walk at ef = <paramref name="pool"/> returns, with their compact distances.</summary>
    private static Neighbor[] Candidates(HnswIndex graph, int slots, float[] query, int pool)
    {
        var all = Enumerable.Range(0, slots).ToArray();
        var found = new Neighbor[pool];
        var n = graph.Search(query, pool, pool, SlotFilter.FromSlots(all), found);
        return found[..n];
    }

    /// <summary>Every candidate's float32 row read and its exact distance computed, best k by distance then slot.</summary>
    private static Neighbor[] Reference(VectorArena arena, DistanceSpace space, float[] query, Neighbor[] candidates, int k)
    {
        var row = new float[Dimension];
        return candidates.Select(c =>
        {
            arena.ReadRow(c.Slot, row);
            return new Neighbor(c.Slot, space == DistanceSpace.L2 ? VectorMath.SquaredL2(query, row) : 1f - VectorMath.Dot(query, row));
        }).OrderBy(n => n.Distance).ThenBy(n => n.Slot).Take(k).ToArray();
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rerank_answers_exactly_as_re_ranking_every_candidate_and_reads_fewer_rows(DistanceSpace space, VectorStorage storage)
    {
        using var folder = new TempStoreFolder();
        var trained = Clustered(300, 11);

        // Written after the int8 ranges were trained: rows far outside them (clamped codes, large residuals) and rows
        // close to trained ones.
        var random = new Random(12);
        var late = Enumerable.Range(0, 30).Select(i => i % 3 == 0
            ? Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1) * 4f).ToArray()
            : trained[random.Next(trained.Length)].Select(x => x + ((float)random.NextDouble() * 0.05f)).ToArray()).ToArray();
        var (arena, graph) = Build(folder.Path, space, storage, trained, late);
        using (arena)
        using (graph)
        {
            // Queries near trained rows, near late ones, and exactly at the clamped outliers (nearest by far in float32,
            // not by their codes).
            var queries = Enumerable.Range(0, 24).Select(i => i % 4 == 3 ? late[(i / 4) * 3].ToArray() : Clustered(1, 100 + i)[0]).ToArray();
            long reads = 0, candidates = 0;
            foreach (var raw in queries)
            {
                var query = Prepared(raw, space);
                foreach (var k in new[] { 1, 10, 25 })
                {
                    var found = Candidates(graph, arena.SlotCount, query, 60);
                    var expected = Reference(arena, space, query, found, k);
                    var destination = new Neighbor[k];
                    var n = CompactRerank.Run(arena, space, query, found.ToArray(), destination, out var read);
                    destination[..n].Should().Equal(expected, $"k = {k}: pruning must not change the answer");
                    read.Should().BeGreaterThanOrEqualTo(Math.Min(k, found.Length));
                    reads += read;
                    candidates += found.Length;
                }
            }

            reads.Should().BeLessThan(candidates / 2, "most candidates beyond the k-th lie further than their rows' error bounds");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rerank_is_exact_whatever_order_the_candidates_come_in_and_with_fewer_candidates_than_k(DistanceSpace space, VectorStorage storage)
    {
        using var folder = new TempStoreFolder();
        var (arena, graph) = Build(folder.Path, space, storage, Clustered(200, 21), []);
        using (arena)
        using (graph)
        {
            var query = Prepared(Clustered(1, 22)[0], space);
            var found = Candidates(graph, arena.SlotCount, query, 40);
            var shuffled = found.OrderBy(n => (n.Slot * 7919) % 101).ToArray();
            var destination = new Neighbor[10];
            CompactRerank.Run(arena, space, query, shuffled, destination, out _).Should().Be(10);
            destination.Should().Equal(Reference(arena, space, query, found, 10));

            var few = found[..4];
            var wide = new Neighbor[10];
            CompactRerank.Run(arena, space, query, few.ToArray(), wide, out var read).Should().Be(4);
            read.Should().Be(4);
            wide[..4].Should().Equal(Reference(arena, space, query, few, 10));
            CompactRerank.Run(arena, space, query, [], wide, out read).Should().Be(0);
        }
    }

    [Fact]
    public void An_int8_rows_error_bound_is_never_below_its_residual_inside_or_outside_the_trained_range()
    {
        var random = new Random(31);
        var training = Enumerable.Range(0, 100).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()).ToArray();
        var rows = ByteRows.Train(Dimension, 8, training.Select(r => (ReadOnlyMemory<float>)r));
        float[][] written = [.. training, Enumerable.Repeat(3f, Dimension).ToArray(), Enumerable.Repeat(-1e6f, Dimension).ToArray(), new float[Dimension]];
        for (var slot = 0; slot < written.Length; slot++)
        {
            rows.Write(slot, written[slot]);
            var codes = rows.GetCodes(slot).ToArray();
            var residual = Math.Sqrt(Enumerable.Range(0, Dimension).Sum(d => Math.Pow(written[slot][d] - (rows.Low[d] + ((double)rows.Step[d] * codes[d])), 2)));
            ((double)rows.ErrorBound(slot)).Should().BeGreaterThanOrEqualTo(residual, $"slot {slot}");
            ((double)rows.ErrorBound(slot)).Should().BeLessThanOrEqualTo((residual * 1.001) + 1e-6, "the bound is tight, so it prunes");
        }

        rows.ErrorBound(100).Should().BeGreaterThan(1f, "a row clamped to the range is far from its codes");
    }

    [Fact]
    public void An_int8_file_saved_before_rows_carried_their_error_bound_is_rebuilt_and_a_float16_one_still_read()
    {
        using var folder = new TempStoreFolder();
        var trained = Clustered(100, 41);
        foreach (var storage in new[] { VectorStorage.Int8, VectorStorage.Float16 })
        {
            var (arena, graph) = Build(folder.Path, DistanceSpace.L2, storage, trained, []);
            graph.Dispose();
            using (arena)
            {
                var path = Path.Combine(folder.Path, storage + ".qvec");
                CompactRowsFile.Save((object?)arena.Codes ?? arena.Compact!, path, 5, [1, 2, 3]);
                CompactRowsFile.TryLoad(path, storage, Dimension, trained.Length, trained.Length, 5, [1, 2, 3], out var problem).Should().NotBeNull(problem);

                // The same file as the previous format numbered it (header checksum kept valid).
                var bytes = File.ReadAllBytes(path);
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 2);
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(120), XxHash3.HashToUInt64(bytes.AsSpan(0, 120)));
                File.WriteAllBytes(path, bytes);
                var loaded = CompactRowsFile.TryLoad(path, storage, Dimension, trained.Length, trained.Length, 5, [1, 2, 3], out problem);
                if (storage == VectorStorage.Int8)
                {
                    loaded.Should().BeNull();
                    problem.Should().Contain("error bound");
                }
                else
                {
                    loaded.Should().NotBeNull("float16 rows are laid out as before");
                }
            }

            File.Delete(Path.Combine(folder.Path, "rows.vec"));
        }
    }
}
