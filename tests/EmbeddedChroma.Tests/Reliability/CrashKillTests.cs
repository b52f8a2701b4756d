using EmbeddedChroma.CrashHost;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Crash safety: a child process (<see cref="CrashHostProcess"/>) writes seeded batches and acknowledges each one
/// after it returned; the test kills it with SIGKILL at a seeded random moment, then opens the store itself and checks
/// that every acknowledged batch survived, that the batch in flight is all there or not at all, and that queries
/// (arena and HNSW graph, both derived) agree with exact search over the recovered records.
/// </summary>
[Collection(CrashTestGroup.Name)]
public sealed class CrashKillTests : IDisposable
{
    private const int Seed = 20_250_917;

    /// <summary>Soak knob: <c>EMBEDDEDCHROMA_SOAK_KILLS=500</c> runs that many kills instead of the default 50.</summary>
    public const string SoakKillsVariable = "EMBEDDEDCHROMA_SOAK_KILLS";

    private static readonly int Kills =
        int.TryParse(Environment.GetEnvironmentVariable(SoakKillsVariable), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var kills) && kills > 0
            ? kills
            : 50;

    private readonly ITestOutputHelper _output;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.Tests", "crash-" + Guid.NewGuid().ToString("N"));

    public CrashKillTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Open_recovers_every_acknowledged_batch_when_host_is_killed_repeatedly()
    {
        var random = new Random(Seed);
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        var stats = new Stats();
        long nextBatch = 0;
        var started = DateTime.UtcNow;
        for (var kill = 0; kill < Kills; kill++)
        {
            var delay = random.Next(50, 601);
            IReadOnlyList<string> lines;
            using (var host = CrashHostProcess.Start(_folder, Seed + kill, nextBatch))
            {
                // Most kills land at a random moment; every tenth during open (before READY, once the store exists),
                // and every tenth a few milliseconds into an explicit compaction.
                var target = kill % 10 == 5 && kill > 0 ? "open" : kill % 10 == 8 ? "compact" : kill % 10 == 2 ? "persist" : "random";
                if (target == "open")
                {
                    Thread.Sleep(random.Next(80, 400));
                    stats.OpenKills += host.Lines.Contains("READY") ? 0 : 1;
                }
                else if (target == "persist")
                {
                    // A reopen closes the store first: the graph and the arena are saved then (index persistence).
                    host.WaitFor(l => l.Any(x => CrashWorkload.Parse(x) is { Acknowledged: false, Operation: "reopen" }), TimeSpan.FromSeconds(60), "a reopen");
                    Thread.Sleep(random.Next(0, 15));
                    stats.PersistKills += CrashWorkload.Parse(host.Lines[^1]) is { Acknowledged: false, Operation: "reopen" } ? 1 : 0;
                }
                else if (target == "compact")
                {
                    host.WaitFor(l => l.Any(x => CrashWorkload.Parse(x) is { Acknowledged: false, Operation: "compact" }), TimeSpan.FromSeconds(60), "a compaction");
                    Thread.Sleep(random.Next(0, 15));
                    stats.CompactionKills += CrashWorkload.Parse(host.Lines[^1]) is { Acknowledged: false, Operation: "compact" } ? 1 : 0;
                }
                else
                {
                    host.WaitFor(l => l.Contains("READY"), TimeSpan.FromSeconds(60), "READY");
                    Thread.Sleep(delay);
                }

                host.HasExited.Should().BeFalse($"the host runs until killed (stderr: {host.Stderr})");
                host.Kill();
                lines = host.Lines;
                lines.Should().NotContain(l => l.StartsWith("ERROR", StringComparison.Ordinal), host.Stderr);
            }

            var (acked, inFlight, last) = Replay(lines, expected);
            stats.Kills++;
            stats.BatchesAcknowledged += acked;
            nextBatch = Math.Max(nextBatch, last + 1);
            Verify(expected, inFlight, stats, new Random(Seed ^ kill));
        }

        _output.WriteLine($"kills survived {stats.Kills}, acknowledged batches verified {stats.BatchesAcknowledged}, " +
            $"in-flight batches present {stats.InFlightPresent} / absent {stats.InFlightAbsent}, records lost {stats.RecordsLost}, " +
            $"final records {expected.Count}, query checks {stats.QueryChecks} (graph-sized {stats.GraphSizedChecks}), " +
            $"recall {stats.MeanRecall:F3}, kills during open {stats.OpenKills}, during compaction {stats.CompactionKills}, during close/persist {stats.PersistKills}, {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        stats.Kills.Should().Be(Kills);
        stats.BatchesAcknowledged.Should().BeGreaterThanOrEqualTo(Kills, "the host acknowledges batches between kills");
        stats.RecordsLost.Should().Be(0);
        stats.GraphSizedChecks.Should().BeGreaterThan(0, "the collection grows past HnswThreshold, so the graph serves queries");
        (stats.GraphRecallSum / stats.GraphSizedChecks).Should().BeGreaterThanOrEqualTo(0.95, "the graph's mean recall@10 over every check after a kill");
    }

    [Fact]
    public void Open_throws_locked_when_another_process_holds_the_store_and_holder_continues()
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        using var host = CrashHostProcess.Start(_folder, Seed, 0);
        host.WaitFor(l => l.Count(x => CrashWorkload.Parse(x) is { Acknowledged: true }) >= 3, TimeSpan.FromSeconds(60), "3 ACKs");

        var open = () => ChromaStore.Open(_folder, CrashWorkload.Options);
        open.Should().Throw<ChromaStoreLockedException>();
        var create = () => ChromaStore.Create(_folder, out _);
        create.Should().Throw<ChromaStoreLockedException>();

        var acks = host.AckCount;
        host.WaitFor(l => l.Count(x => CrashWorkload.Parse(x) is { Acknowledged: true }) >= acks + 3, TimeSpan.FromSeconds(60), "3 more ACKs after the refused open");
        host.Stop();

        host.ExitCode.Should().Be(0, host.Stderr);
        host.Lines[^1].Should().Be("BYE");
        var (acked, inFlight, _) = Replay(host.Lines, expected);
        inFlight.Should().BeNull("a clean stop finishes the batch it runs");
        var stats = new Stats();
        Verify(expected, null, stats, new Random(Seed));
        stats.RecordsLost.Should().Be(0);
        acked.Should().BeGreaterThanOrEqualTo(acks + 3);
    }

    /// <summary>
    /// Applies the complete ACK lines to <paramref name="expected"/> (id → batch that last wrote it) and returns their
    /// count, the batch begun but not acknowledged (null if none) and the highest batch number begun.
    /// </summary>
    private static (int Acked, BatchLine? InFlight, long Last) Replay(IReadOnlyList<string> lines, Dictionary<string, long> expected)
    {
        BatchLine? begun = null;
        var acked = 0;
        long last = -1;
        foreach (var line in lines)
        {
            // A line cut by the kill has no END and parses to null: a cut BEGIN never ran, a cut ACK leaves its batch in flight.
            switch (CrashWorkload.Parse(line))
            {
                case { Acknowledged: false } begin:
                    begun.Should().BeNull("the host acknowledges a batch before beginning the next");
                    begun = begin;
                    last = Math.Max(last, begin.Batch);
                    break;
                case { Acknowledged: true } ack:
                    begun.Should().NotBeNull();
                    (ack.Batch, ack.Operation).Should().Be((begun!.Batch, begun.Operation));
                    ack.Ids.Should().Equal(begun.Ids);
                    Apply(expected, ack);
                    acked++;
                    begun = null;
                    break;
            }
        }

        return (acked, begun, last);
    }

    private static void Apply(Dictionary<string, long> state, BatchLine batch)
    {
        foreach (var id in batch.Ids)
        {
            switch (batch.Operation)
            {
                case "add":
                    state.TryAdd(id, batch.Batch);
                    break;
                case "upsert":
                    state[id] = batch.Batch;
                    break;
                case "delete":
                    state.Remove(id);
                    break;
                default:
                    throw new InvalidOperationException($"unknown operation {batch.Operation}");
            }
        }
    }

    /// <summary>
    /// Opens the store and checks it against <paramref name="expected"/> (before <paramref name="inFlight"/>) or that
    /// state with the in-flight batch applied; on success <paramref name="expected"/> becomes the state found.
    /// </summary>
    private void Verify(Dictionary<string, long> expected, BatchLine? inFlight, Stats stats, Random random)
    {
        var key = File.ReadAllText(_folder + ".key");
        var store = ChromaStore.Open(_folder, CrashWorkload.Options);
        try
        {
            var collection = store.GetClient(key).GetCollection(CrashWorkload.CollectionName);
            var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
            var actual = new Dictionary<string, long>(StringComparer.Ordinal);
            var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (var i = 0; i < all.Ids.Count; i++)
            {
                var id = all.Ids[i];
                var batch = (long)all.Metadatas![i]!["batch"];
                actual.Add(id, batch);
                vectors.Add(id, all.Embeddings![i]);
                all.Embeddings[i].Should().Equal(CrashWorkload.Embedding(id, batch), $"record '{id}' holds the embedding batch {batch} wrote");
                all.Documents![i].Should().Be(CrashWorkload.Document(id, batch), $"record '{id}' holds the document batch {batch} wrote");
                all.Metadatas[i]!["k"].Should().Be(CrashWorkload.Metadata(id, batch)["k"]);
            }

            collection.Count().Should().Be(actual.Count);

            var touched = inFlight is null || inFlight.Operation is "reopen" or "compact" ? [] : new HashSet<string>(inFlight.Ids, StringComparer.Ordinal);
            var lost = expected.Count(e => !touched.Contains(e.Key) && (!actual.TryGetValue(e.Key, out var b) || b != e.Value));
            stats.RecordsLost += lost;
            lost.Should().Be(0, "every acknowledged batch is durable");

            var after = new Dictionary<string, long>(expected, StringComparer.Ordinal);
            if (touched.Count > 0)
            {
                Apply(after, inFlight!);
            }

            var isBefore = Same(actual, expected);
            var isAfter = Same(actual, after);
            (isBefore || isAfter).Should().BeTrue(
                $"in-flight batch {inFlight?.Batch} ({inFlight?.Operation}, {touched.Count} ids) is all there or not at all; " +
                $"ids of it as before: {touched.Count(id => Get(actual, id) == Get(expected, id))}, as after: {touched.Count(id => Get(actual, id) == Get(after, id))}; " +
                $"unexpected ids: {string.Join(' ', actual.Keys.Where(id => !expected.ContainsKey(id) && !after.ContainsKey(id)).Take(5))}");
            if (touched.Count > 0 && !Same(expected, after))
            {
                if (isAfter)
                {
                    stats.InFlightPresent++;
                }
                else
                {
                    stats.InFlightAbsent++;
                }
            }

            expected.Clear();
            foreach (var (id, batch) in actual)
            {
                expected[id] = batch;
            }

            CheckQueries(collection, vectors, stats, random);
        }
        finally
        {
            store.Dispose();
            SqliteConnection.ClearAllPools();
        }
    }

    private static long? Get(Dictionary<string, long> map, string id) => map.TryGetValue(id, out var v) ? v : null;

    private static bool Same(Dictionary<string, long> a, Dictionary<string, long> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var v) && v == e.Value);

    /// <summary>Top-10 of Query against brute force over the recovered embeddings (l2 squared), ties allowed.</summary>
    private static void CheckQueries(Collection collection, Dictionary<string, float[]> vectors, Stats stats, Random random)
    {
        const int k = 10;
        var queries = new List<float[]>();
        for (var q = 0; q < 4; q++)
        {
            queries.Add(Enumerable.Range(0, CrashWorkload.Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray());
        }

        var result = collection.Query(queries, nResults: k, include: Include.Distances);
        var graphSized = vectors.Count >= CrashWorkload.HnswThreshold;
        var hits = 0;
        var wanted = 0;
        for (var q = 0; q < queries.Count; q++)
        {
            var exact = vectors.ToDictionary(v => v.Key, v => SquaredL2(queries[q], v.Value), StringComparer.Ordinal);
            var limit = exact.Values.Order().Take(k).ToList();
            var ids = result.Ids[q];
            ids.Should().HaveCount(Math.Min(k, vectors.Count)).And.OnlyHaveUniqueItems();
            for (var i = 0; i < ids.Count; i++)
            {
                exact.Should().ContainKey(ids[i], "a query returns only live records");
                var distance = exact[ids[i]];
                result.Distances![q][i].Should().BeApproximately(distance, 1e-4f * Math.Max(1, distance), $"the arena row of '{ids[i]}' matches its stored embedding");
                if (distance <= limit[^1] + 1e-5f)
                {
                    hits++;
                }
            }

            wanted += limit.Count;
        }

        var recall = wanted == 0 ? 1 : (double)hits / wanted;
        stats.QueryChecks++;
        stats.RecallSum += recall;
        if (graphSized)
        {
            // Four queries make one check's recall coarse (steps of 0.025): each check has a floor that a broken graph
            // misses by far, and the mean over all graph-sized checks must meet the graph's usual recall.
            stats.GraphSizedChecks++;
            stats.GraphRecallSum += recall;
            recall.Should().BeGreaterThanOrEqualTo(0.75, "even an unlucky check of a sound graph at 16 dimensions finds most neighbours");
        }
        else
        {
            recall.Should().Be(1, "below HnswThreshold queries scan exactly");
        }
    }

    private static float SquaredL2(float[] a, float[] b) => (float)Index.BruteForce.ReferenceDistance(DistanceSpace.L2, a, b);

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

    private sealed class Stats
    {
        public int Kills { get; set; }

        public int BatchesAcknowledged { get; set; }

        public int InFlightPresent { get; set; }

        public int InFlightAbsent { get; set; }

        public int RecordsLost { get; set; }

        public int QueryChecks { get; set; }

        public int GraphSizedChecks { get; set; }

        public int OpenKills { get; set; }

        public int CompactionKills { get; set; }

        public int PersistKills { get; set; }

        public double RecallSum { get; set; }

        public double GraphRecallSum { get; set; }

        public double MeanRecall => QueryChecks == 0 ? 1 : RecallSum / QueryChecks;
    }
}
