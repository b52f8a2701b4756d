using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using EmbeddedChroma.CrashHost;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A concurrency stress run against a reference model. Writer threads add, upsert, update and delete whole
/// <em>groups</em> of records on several collections; every record of a group carries the group's tag (metadata
/// <c>tag</c>), an embedding and a document that are pure functions of (id, tag). Reader threads query (with and
/// without where / where_document), get by ids, count and peek concurrently and check what must hold under snapshot
/// semantics: a read sees every record of a tag or none of them, every record read is internally consistent (its
/// embedding and document are the ones its tag wrote, a query's distance matches its embedding), results are sorted,
/// filters hold. Some reads take a per-collection test lock that writers also take, so they see a quiescent
/// collection (the background HNSW indexer still runs): then the query must equal brute force over what a get
/// returns (exactly below HnswThreshold, within recall tolerance above) and count must equal the get's size.
/// At the end the store equals the model, before and after a reopen.
/// </summary>
internal sealed class StressRun
{
    public const int Dimension = 8;
    public const int HnswThreshold = 150;

    private static readonly string[] CollectionNames = ["graph-l2", "graph-cosine", "small-l2"];

    private readonly int _seed;
    private readonly int _readers;
    private readonly int _writers;
    private readonly TimeSpan _duration;
    private readonly int _batchesPerWriter;
    private readonly ConcurrentDictionary<string, int> _groupSizes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _failures = new();
    private Target[] _targets = [];
    private volatile bool _stop;
    private long _reads;
    private long _checks;
    private long _writes;
    private long _lockedChecks;
    private long _graphChecks;
    private double _recallSum;
    private readonly object _recallLock = new();
    private readonly ConcurrentQueue<string> _poorRecall = new();

    public StressRun(int seed, int readers, int writers, TimeSpan duration, int batchesPerWriter)
    {
        _seed = seed;
        _readers = readers;
        _writers = writers;
        _duration = duration;
        _batchesPerWriter = batchesPerWriter;
    }

    public static ChromaStoreOptions Options { get; } = new() { HnswThreshold = HnswThreshold, FilteredExactScanLimit = 40 };

    /// <summary>One collection, its model (id → tag of the group that last wrote it) and the test lock around writes.</summary>
    private sealed class Target(Collection collection, DistanceSpace space)
    {
        public Collection Collection { get; set; } = collection;

        public DistanceSpace Space { get; } = space;

        public ReaderWriterLockSlim Lock { get; } = new();

        public Dictionary<string, string> Model { get; } = new(StringComparer.Ordinal);

        /// <summary>Live groups per writer: tag → ids (only that writer touches its groups).</summary>
        public ConcurrentDictionary<string, string[]> Groups { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Figures of a run; <see cref="PoorRecall"/> lists graph queries with recall below 0.5 at k ≥ 5 (reported, not failures).</summary>
    public sealed record Result(long Writes, long Reads, long Checks, long LockedChecks, long GraphChecks, double MeanGraphRecall, TimeSpan Elapsed, IReadOnlyList<string> Failures, IReadOnlyList<string> PoorRecall);

    public Result Execute()
    {
        using var fixture = new StoreFixture(Options);
        _targets =
        [
            new Target(fixture.Client.CreateCollection(CollectionNames[0]), DistanceSpace.L2),
            new Target(fixture.Client.CreateCollection(CollectionNames[1], new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } }), DistanceSpace.Cosine),
            new Target(fixture.Client.CreateCollection(CollectionNames[2]), DistanceSpace.L2),
        ];

        var watch = Stopwatch.StartNew();
        var threads = new List<Thread>();
        var writersLeft = _writers;
        for (var w = 0; w < _writers; w++)
        {
            var writer = w;
            threads.Add(new Thread(() =>
            {
                Guard($"writer {writer}", () => Writer(writer));
                if (Interlocked.Decrement(ref writersLeft) == 0)
                {
                    _stop = true;
                }
            }));
        }

        for (var r = 0; r < _readers; r++)
        {
            var reader = r;
            threads.Add(new Thread(() => Guard($"reader {reader}", () => Reader(reader))));
        }

        foreach (var thread in threads)
        {
            thread.Start();
        }

        var deadline = _duration;
        while (!_stop && watch.Elapsed < deadline && _failures.IsEmpty)
        {
            Thread.Sleep(20);
        }

        _stop = true;
        foreach (var thread in threads)
        {
            thread.Join();
        }

        var elapsed = watch.Elapsed;
        if (_failures.IsEmpty)
        {
            Guard("final check", () => FinalCheck(fixture));
        }

        foreach (var target in _targets)
        {
            target.Lock.Dispose();
        }

        var mean = _graphChecks == 0 ? 1 : _recallSum / _graphChecks;
        return new Result(_writes, _reads, _checks, _lockedChecks, _graphChecks, mean, elapsed, [.. _failures], [.. _poorRecall]);
    }

    private void Guard(string who, Action action)
    {
        try
        {
            action();
        }
        catch (Exception ex)
        {
            _failures.Enqueue($"{who}: {ex}");
            _stop = true;
        }
    }

    private void Fail(string message)
    {
        _failures.Enqueue(message);
        _stop = true;
    }

    // ---------------------------------------------------------------- content

    public static float[] Embedding(string id, string tag) =>
        CrashWorkload.Embedding(id + "|" + tag, 0).AsSpan(0, Dimension).ToArray();

    public static string Document(string id, string tag) => $"doc {id} {tag}";

    private static Dictionary<string, MetadataValue?> Metadata(string tag, int writer, int group) => new(StringComparer.Ordinal)
    {
        ["tag"] = tag,
        ["w"] = (long)writer,
        ["g"] = (long)(group % 5),
    };

    // ---------------------------------------------------------------- writers

    private void Writer(int writer)
    {
        var random = new Random(_seed * 31 + writer);
        for (var batch = 0; batch < _batchesPerWriter && !_stop; batch++)
        {
            var target = _targets[random.Next(_targets.Length)];
            var mine = target.Groups.Where(g => g.Key.StartsWith($"w{writer}-", StringComparison.Ordinal)).Select(g => g.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
            var live = target.Model.Count;
            var tag = string.Create(CultureInfo.InvariantCulture, $"w{writer}-b{batch}");
            var roll = random.NextDouble();
            var small = target.Collection.Name == CollectionNames[2];
            var wantMore = live < (small ? 60 : HnswThreshold * 2);
            if (mine.Count == 0 || roll < (wantMore ? 0.6 : 0.25))
            {
                var size = random.Next(3, 30);
                var ids = Enumerable.Range(0, size).Select(i => string.Create(CultureInfo.InvariantCulture, $"w{writer}-b{batch}-{i}")).ToArray();
                Write(target, tag, ids, writer, batch, "add");
                continue;
            }

            var old = mine[random.Next(mine.Count)];
            var members = target.Groups[old];
            var op = roll < 0.5 ? "upsert" : roll < 0.75 ? "update" : "delete";
            if (op == "delete")
            {
                target.Lock.EnterWriteLock();
                try
                {
                    var removed = random.Next(2) == 0 ? target.Collection.Delete(members) : target.Collection.Delete(where: Where.Eq("tag", old));
                    if (removed != members.Length)
                    {
                        Fail($"delete of group {old} removed {removed} records, expected {members.Length}");
                    }

                    foreach (var id in members)
                    {
                        target.Model.Remove(id);
                    }

                    target.Groups.TryRemove(old, out _);
                }
                finally
                {
                    target.Lock.ExitWriteLock();
                }

                Interlocked.Increment(ref _writes);
                continue;
            }

            // Rewrite the whole group under a new tag (the old tag vanishes atomically).
            target.Lock.EnterWriteLock();
            try
            {
                target.Groups.TryRemove(old, out _);
            }
            finally
            {
                target.Lock.ExitWriteLock();
            }

            Write(target, tag, members, writer, batch, op);
        }
    }

    private void Write(Target target, string tag, string[] ids, int writer, int batch, string op)
    {
        _groupSizes[tag] = ids.Length;
        var embeddings = ids.Select(id => Embedding(id, tag)).ToArray();
        var metadatas = ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)Metadata(tag, writer, batch)).ToArray();
        var documents = ids.Select(id => (string?)Document(id, tag)).ToArray();
        target.Lock.EnterWriteLock();
        try
        {
            switch (op)
            {
                case "add": target.Collection.Add(ids, embeddings, metadatas, documents); break;
                case "upsert": target.Collection.Upsert(ids, embeddings, metadatas, documents); break;
                default: target.Collection.Update(ids, embeddings, metadatas, documents); break;
            }

            foreach (var id in ids)
            {
                target.Model[id] = tag;
            }

            target.Groups[tag] = ids;
        }
        finally
        {
            target.Lock.ExitWriteLock();
        }

        Interlocked.Increment(ref _writes);
    }

    // ---------------------------------------------------------------- readers

    private void Reader(int reader)
    {
        var random = new Random(_seed * 977 + reader);
        while (!_stop)
        {
            var target = _targets[random.Next(_targets.Length)];
            var kind = random.Next(10);
            switch (kind)
            {
                case 0:
                    LockedCheck(target, random);
                    break;
                case 1:
                    CheckGroups(target.Collection.Get(include: Include.Metadatas | Include.Documents | Include.Embeddings), $"full get of {target.Collection.Name}", complete: true);
                    break;
                case 2:
                    {
                        var query = RandomVector(random);
                        var result = target.Collection.Query([query], random.Next(1, 25), include: Include.Metadatas | Include.Documents | Include.Embeddings | Include.Distances);
                        CheckQuery(target, query, result, null, "unfiltered query");
                        break;
                    }

                case 3:
                    {
                        var g = random.Next(5);
                        var query = RandomVector(random);
                        var result = target.Collection.Query([query], random.Next(1, 25), where: Where.Eq("g", g), include: Include.Metadatas | Include.Documents | Include.Embeddings | Include.Distances);
                        CheckQuery(target, query, result, m => (long)m["g"] == g, $"query where g={g}");
                        break;
                    }

                case 4:
                    {
                        var w = random.Next(Math.Max(1, _writers));
                        var query = RandomVector(random);
                        var result = target.Collection.Query(
                            [query],
                            random.Next(1, 25),
                            where: Where.Ne("g", 0L) & Where.Eq("w", (long)w),
                            whereDocument: WhereDocument.Contains($" w{w}-"),
                            include: Include.Metadatas | Include.Documents | Include.Embeddings | Include.Distances);
                        CheckQuery(target, query, result, m => (long)m["g"] != 0 && (long)m["w"] == w, $"query where g != 0 and w = {w} and document contains w{w}-");
                        break;
                    }

                case 5:
                    {
                        // A group by its tag: all of it or none of it.
                        var groups = target.Groups.Keys.ToArray();
                        if (groups.Length == 0)
                        {
                            break;
                        }

                        var tag = groups[random.Next(groups.Length)];
                        var got = target.Collection.Get(where: Where.Eq("tag", tag), include: Include.Metadatas | Include.Documents | Include.Embeddings);
                        CheckGroups(got, $"get where tag={tag}", complete: true);
                        break;
                    }

                case 6:
                    {
                        var ids = target.Groups.Values.SelectMany(g => g).OrderBy(_ => random.Next()).Take(random.Next(1, 40)).Distinct(StringComparer.Ordinal).ToArray();
                        if (ids.Length > 0)
                        {
                            CheckGroups(target.Collection.Get(ids: ids, include: Include.Metadatas | Include.Documents | Include.Embeddings), "get by ids", complete: false);
                        }

                        break;
                    }

                case 7:
                    CheckGroups(target.Collection.Peek(random.Next(1, 30)), "peek", complete: false);
                    break;
                case 8:
                    if (target.Collection.Count() < 0)
                    {
                        Fail("negative count");
                    }

                    break;
                default:
                    {
                        var query = RandomVector(random);
                        var result = target.Collection.Query([query, RandomVector(random)], random.Next(1, 12), whereDocument: WhereDocument.Contains("-b1"), include: Include.Metadatas | Include.Documents | Include.Embeddings | Include.Distances);
                        CheckQuery(target, query, result, null, "query where_document contains -b1", documentMustContain: "-b1");
                        break;
                    }
            }

            Interlocked.Increment(ref _reads);
        }
    }

    private static float[] RandomVector(Random random) =>
        Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    /// <summary>Every record read carries its tag's content; with <paramref name="complete"/>, every tag seen is there whole.</summary>
    private void CheckGroups(GetResult result, string what, bool complete)
    {
        var perTag = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < result.Ids.Count; i++)
        {
            var id = result.Ids[i];
            var tag = (string)result.Metadatas![i]!["tag"];
            CheckRecord(id, tag, result.Embeddings![i], result.Documents![i], what);
            perTag[tag] = perTag.GetValueOrDefault(tag) + 1;
        }

        if (complete)
        {
            foreach (var (tag, count) in perTag)
            {
                if (_groupSizes.TryGetValue(tag, out var size) && size != count)
                {
                    Fail($"{what}: saw {count} of the {size} records of batch {tag} (a read must see a whole batch or none)");
                }
            }
        }

        Interlocked.Increment(ref _checks);
    }

    private void CheckRecord(string id, string tag, float[] embedding, string? document, string what)
    {
        if (!embedding.AsSpan().SequenceEqual(Embedding(id, tag)))
        {
            Fail($"{what}: record {id} has tag {tag} but not the embedding that batch wrote");
        }

        if (document != Document(id, tag))
        {
            Fail($"{what}: record {id} has tag {tag} but document '{document}'");
        }
    }

    private void CheckQuery(Target target, float[] query, QueryResult result, Func<IReadOnlyDictionary<string, MetadataValue>, bool>? filter, string what, string? documentMustContain = null)
    {
        var ids = result.Ids[0];
        var distances = result.Distances![0];
        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Count)
        {
            Fail($"{what}: duplicate ids in a result");
        }

        for (var i = 0; i < ids.Count; i++)
        {
            var metadata = result.Metadatas![0][i]!;
            var tag = (string)metadata["tag"];
            CheckRecord(ids[i], tag, result.Embeddings![0][i], result.Documents![0][i], what);
            var expected = Distance(target.Space, query, result.Embeddings[0][i]);
            if (Math.Abs(expected - distances[i]) > 1e-3f * Math.Max(1f, Math.Abs(expected)))
            {
                Fail($"{what}: distance {distances[i]} of {ids[i]} does not match its embedding ({expected})");
            }

            if (i > 0 && distances[i] < distances[i - 1] - 1e-6f)
            {
                Fail($"{what}: results are not sorted by distance ({distances[i - 1]} then {distances[i]})");
            }

            if (filter is not null && !filter(metadata))
            {
                Fail($"{what}: record {ids[i]} does not match the filter");
            }

            if (documentMustContain is not null && !result.Documents![0][i]!.Contains(documentMustContain, StringComparison.Ordinal))
            {
                Fail($"{what}: record {ids[i]} does not match the document filter");
            }
        }

        Interlocked.Increment(ref _checks);
    }

    /// <summary>With writers of this collection held off: count = get = model, and query = brute force over the get.</summary>
    private void LockedCheck(Target target, Random random)
    {
        target.Lock.EnterReadLock();
        try
        {
            var all = target.Collection.Get(include: Include.Metadatas | Include.Documents | Include.Embeddings);
            var count = target.Collection.Count();
            if (count != all.Ids.Count || count != target.Model.Count)
            {
                Fail($"{target.Collection.Name}: count {count}, get {all.Ids.Count}, model {target.Model.Count}");
            }

            CheckGroups(all, $"locked get of {target.Collection.Name}", complete: true);
            CompareWithBruteForce(target, all, RandomVector(random), random.Next(1, 20), "locked query");
            Interlocked.Increment(ref _lockedChecks);
        }
        finally
        {
            target.Lock.ExitReadLock();
        }
    }

    private void CompareWithBruteForce(Target target, GetResult all, float[] query, int k, string what)
    {
        var result = target.Collection.Query([query], k, include: Include.Distances);
        var exact = Enumerable.Range(0, all.Ids.Count)
            .Select(i => (Id: all.Ids[i], Distance: Distance(target.Space, query, all.Embeddings![i])))
            .OrderBy(p => p.Distance).ToList();
        var wanted = Math.Min(k, exact.Count);
        if (result.Ids[0].Count != wanted)
        {
            Fail($"{what} on {target.Collection.Name}: {result.Ids[0].Count} results, expected {wanted}");
            return;
        }

        if (wanted == 0)
        {
            return;
        }

        var kth = exact[wanted - 1].Distance;
        var hits = result.Distances![0].Count(d => d <= kth + 1e-4f * Math.Max(1f, Math.Abs(kth)));
        var recall = (double)hits / wanted;
        if (all.Ids.Count < HnswThreshold || target.Space == DistanceSpace.InnerProduct)
        {
            if (recall < 1)
            {
                Fail($"{what} on {target.Collection.Name} ({all.Ids.Count} records, exact scan): recall {recall}, expected exact results");
            }
        }
        else
        {
            lock (_recallLock)
            {
                _graphChecks++;
                _recallSum += recall;
            }

            if (recall < 0.5 && wanted >= 5)
            {
                // ANN misses are legitimate one query at a time (the run asserts the mean); keep the worst for the report.
                var indexer = target.Collection.Indexer;
                _poorRecall.Enqueue($"{what} on {target.Collection.Name} ({all.Ids.Count} records): recall {recall:F2} of top-{wanted}; " +
                    $"got [{string.Join(", ", result.Distances[0].Take(5).Select(d => d.ToString("F3", CultureInfo.InvariantCulture)))}], " +
                    $"exact [{string.Join(", ", exact.Take(5).Select(e => e.Distance.ToString("F3", CultureInfo.InvariantCulture)))}], " +
                    $"pending {indexer?.PendingSnapshot().Length}, error {indexer?.LastError?.Message}");
            }
        }
    }

    private static float Distance(DistanceSpace space, float[] a, float[] b)
    {
        switch (space)
        {
            case DistanceSpace.Cosine:
                {
                    double dot = 0, na = 0, nb = 0;
                    for (var i = 0; i < a.Length; i++)
                    {
                        dot += a[i] * b[i];
                        na += a[i] * a[i];
                        nb += b[i] * b[i];
                    }

                    return (float)(1 - (dot / (Math.Sqrt(na) * Math.Sqrt(nb))));
                }

            case DistanceSpace.InnerProduct:
                return 1 - a.Zip(b, (x, y) => x * y).Sum();
            default:
                return a.Zip(b, (x, y) => (x - y) * (x - y)).Sum();
        }
    }

    // ---------------------------------------------------------------- end

    private void FinalCheck(StoreFixture fixture)
    {
        foreach (var target in _targets)
        {
            target.Collection.WaitForIndex();
            CompareWithModel(target, "after the run");
        }

        fixture.Reopen();
        for (var i = 0; i < _targets.Length; i++)
        {
            _targets[i].Collection = fixture.Client.GetCollection(CollectionNames[i]);
            CompareWithModel(_targets[i], "after reopening");
        }
    }

    private void CompareWithModel(Target target, string when)
    {
        var all = target.Collection.Get(include: Include.Metadatas | Include.Documents | Include.Embeddings);
        var actual = Enumerable.Range(0, all.Ids.Count).ToDictionary(i => all.Ids[i], i => (string)all.Metadatas![i]!["tag"], StringComparer.Ordinal);
        if (actual.Count != target.Model.Count || actual.Any(p => !target.Model.TryGetValue(p.Key, out var tag) || tag != p.Value))
        {
            Fail($"{target.Collection.Name} {when}: store has {actual.Count} records, model {target.Model.Count}; first differences: " +
                string.Join(", ", actual.Where(p => target.Model.GetValueOrDefault(p.Key) != p.Value).Take(5).Select(p => $"{p.Key}={p.Value}/{target.Model.GetValueOrDefault(p.Key)}")));
        }

        if (target.Collection.Count() != target.Model.Count)
        {
            Fail($"{target.Collection.Name} {when}: count {target.Collection.Count()} != model {target.Model.Count}");
        }

        CheckGroups(all, $"{target.Collection.Name} {when}", complete: true);
        var random = new Random(_seed);
        for (var q = 0; q < 5; q++)
        {
            CompareWithBruteForce(target, all, RandomVector(random), 10, $"query {when}");
        }
    }
}
