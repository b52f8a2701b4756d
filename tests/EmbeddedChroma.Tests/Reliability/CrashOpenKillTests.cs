using System.Globalization;
using EmbeddedChroma.CrashHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Kills timed during store open and derived-state rebuild: the host's "reopen" mode deletes the vector arena (and
/// every other round the HNSW graph) and opens the store again and again, so a seeded SIGKILL lands while the arena is
/// rebuilt from SQLite, the graph is loaded or rebuilt, or the store is checkpointing on close. After each kill the
/// test opens the store itself: the records are exactly those written before (open never loses or changes a record)
/// and queries agree with brute force over them, so whatever derived file the kill left behind was detected and
/// rebuilt.
/// </summary>
[Collection(CrashTestGroup.Name)]
public sealed class CrashOpenKillTests : IDisposable
{
    private const int Seed = 20_251_003;
    private const int Kills = 10;

    private readonly ITestOutputHelper _output;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.Tests", "crash-open-" + Guid.NewGuid().ToString("N"));

    public CrashOpenKillTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Open_recovers_every_record_when_killed_during_open_arena_rebuild_and_graph_rebuild()
    {
        // A store past HnswThreshold, closed cleanly.
        using (var writer = CrashHostProcess.Start(_folder, Seed, 0))
        {
            writer.WaitFor(l => l.Count(x => CrashWorkload.Parse(x) is { Acknowledged: true }) >= 15, TimeSpan.FromSeconds(60), "15 ACKs");
            writer.Stop();
            writer.ExitCode.Should().Be(0, writer.Stderr);
        }

        var expected = Snapshot();
        expected.Count.Should().BeGreaterThan(CrashWorkload.HnswThreshold, "the graph is part of what open rebuilds");
        var random = new Random(Seed);
        var roundsInterrupted = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var started = DateTime.UtcNow;
        for (var kill = 0; kill < Kills; kill++)
        {
            using (var host = CrashHostProcess.StartReopen(_folder, Seed + kill))
            {
                host.WaitFor(l => l.Any(x => x.StartsWith("OPEN ", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), "the first OPEN");
                Thread.Sleep(random.Next(0, 500));
                host.HasExited.Should().BeFalse($"the host reopens until killed (stderr: {host.Stderr})");
                host.Kill();
                // Where the kill landed: "OPEN n" = while opening / rebuilding round n, "OPENED n" = closing it, "CLOSED n" = between rounds.
                var last = string.Join(' ', (host.Lines.LastOrDefault(l => l.Split(' ').Length >= 2) ?? "none").Split(' ').Take(2));
                roundsInterrupted[last] = roundsInterrupted.GetValueOrDefault(last) + 1;
                host.Lines.Should().NotContain(l => l.StartsWith("ERROR", StringComparison.Ordinal), host.Stderr);
                host.Stderr.Should().BeEmpty();
            }

            Verify(expected, new Random(Seed ^ kill));
        }

        _output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Kills} kills, last line before each kill: {string.Join(", ", roundsInterrupted.Select(p => $"{p.Key} x{p.Value}"))}; " +
            $"{expected.Count} records verified after each; {(DateTime.UtcNow - started).TotalSeconds:F1} s"));
    }

    private Dictionary<string, (float[] Embedding, long Batch, string? Document)> Snapshot()
    {
        using var store = ChromaStore.Open(_folder, CrashWorkload.Options);
        var collection = store.GetClient(File.ReadAllText(_folder + ".key")).GetCollection(CrashWorkload.CollectionName);
        var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
        var result = new Dictionary<string, (float[], long, string?)>(StringComparer.Ordinal);
        for (var i = 0; i < all.Ids.Count; i++)
        {
            result.Add(all.Ids[i], (all.Embeddings![i], (long)all.Metadatas![i]!["batch"], all.Documents![i]));
        }

        store.Dispose();
        SqliteConnection.ClearAllPools();
        return result;
    }

    private void Verify(Dictionary<string, (float[] Embedding, long Batch, string? Document)> expected, Random random)
    {
        var store = ChromaStore.Open(_folder, CrashWorkload.Options);
        try
        {
            var collection = store.GetClient(File.ReadAllText(_folder + ".key")).GetCollection(CrashWorkload.CollectionName);
            collection.Count().Should().Be(expected.Count);
            var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
            all.Ids.Should().BeEquivalentTo(expected.Keys);
            for (var i = 0; i < all.Ids.Count; i++)
            {
                var (embedding, batch, document) = expected[all.Ids[i]];
                all.Embeddings![i].Should().Equal(embedding);
                ((long)all.Metadatas![i]!["batch"]).Should().Be(batch);
                all.Documents![i].Should().Be(document);
            }

            collection.WaitForIndex();
            var hits = 0;
            var wanted = 0;
            for (var q = 0; q < 4; q++)
            {
                var query = Enumerable.Range(0, CrashWorkload.Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
                var exact = expected.Select(e => e.Value.Embedding.Zip(query, (a, b) => (a - b) * (a - b)).Sum()).Order().Take(10).ToList();
                var result = collection.Query([query], 10, include: Include.Embeddings | Include.Distances);
                result.Ids[0].Should().HaveCount(10).And.OnlyHaveUniqueItems();
                for (var i = 0; i < result.Ids[0].Count; i++)
                {
                    // The distance comes from the arena: it must match the stored embedding (a stale arena would not).
                    var stored = expected[result.Ids[0][i]].Embedding;
                    result.Distances![0][i].Should().BeApproximately(stored.Zip(query, (a, b) => (a - b) * (a - b)).Sum(), 1e-3f);
                    hits += result.Distances[0][i] <= exact[^1] + 1e-4f ? 1 : 0;
                }

                wanted += exact.Count;
            }

            ((double)hits / wanted).Should().BeGreaterThanOrEqualTo(0.9, "the rebuilt or reloaded graph finds the nearest records");
        }
        finally
        {
            store.Dispose();
            SqliteConnection.ClearAllPools();
        }
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        File.Delete(_folder + ".key");
        for (var attempt = 0; attempt < 5 && Directory.Exists(_folder); attempt++)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
        }
    }
}
