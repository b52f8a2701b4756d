using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using EmbeddedChroma.Engine;
using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// <see cref="ChromaClient.VerifyIntegrity()"/> checks the data derived from the records — the vector arena, the HNSW
/// graph and the filter index, in memory and in their files — against the records: damage to any of them (bytes flipped
/// in rows, header or links, a truncated file, another collection's file copied over it, live memory changed) is
/// reported in the <see cref="ChromaIntegrityReport"/>, logged, and repaired, after which every read answers exactly as
/// the undamaged store did and a second check finds nothing. A sound store reports nothing.
/// </summary>
public sealed class VerifyDerivedDataTests : IDisposable
{
    private const int Dimension = 8;
    private static readonly float[][] Queries = Enumerable.Range(0, 3).Select(q => Enumerable.Range(0, Dimension).Select(i => (float)Math.Sin((q * 7) + i)).ToArray()).ToArray();
    private readonly CapturingLogger _log = new();
    private readonly HookedLogger _hook;
    private readonly StoreFixture _fx;

    public VerifyDerivedDataTests()
    {
        _hook = new HookedLogger(_log);
        _fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 10, Logger = _hook });
        var random = new Random(20261206);
        foreach (var (name, count, space) in new[] { ("alpha", 40, DistanceSpace.L2), ("beta", 30, DistanceSpace.Cosine) })
        {
            var collection = _fx.CreateCollection(name, space);
            var ids = Enumerable.Range(0, count).Select(i => $"{name}-{i:D2}").ToArray();
            collection.Add(
                ids,
                ids.Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray(),
                ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(
                    ("genre", i % 3 == 0 ? "news" : "science"), ("year", 1990L + i), ("tags", new[] { "t" + (i % 4), "x" }))).ToArray(),
                ids.Select(id => (string?)$"document {id}").ToArray());
            collection.Delete(ids: [ids[3]]);
            collection.Update(ids: [ids[5]], embeddings: [Enumerable.Repeat(0.25f, Dimension).ToArray()], metadatas: [StoreFixture.Meta(("genre", "news"))]);
            collection.Get(where: Where.Eq("genre", "news"), include: Include.None); // builds the filter index
            collection.WaitForIndex();
        }

        _fx.Client.CreateCollection("empty");
    }

    public void Dispose() => _fx.Dispose();

    private string Vectors(string name, string extension) =>
        Path.Combine(_fx.Folder, "vectors", _fx.Client.GetCollection(name).Id.ToString("N") + extension);

    private CollectionEngine Engine(string name) => _fx.Store.Catalog.All.Single(c => !c.Deleted && c.Name == name);

    private List<CapturingLogger.Entry> Warnings() => _log.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();

    private static ChromaDerivedCheck Check(ChromaIntegrityReport report, string collection, ChromaDerivedKind kind) =>
        report.Collections.Single(c => c.Name == collection).Checks.Single(c => c.Kind == kind);

    /// <summary>Every read the tests compare: all records with embeddings, nearest neighbours, filtered reads.</summary>
    private string Observe()
    {
        var text = new StringBuilder();
        foreach (var name in new[] { "alpha", "beta" })
        {
            var collection = _fx.Client.GetCollection(name);
            collection.WaitForIndex();
            var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
            for (var i = 0; i < all.Ids.Count; i++)
            {
                text.Append(all.Ids[i]).Append(' ').Append(string.Join(",", all.Embeddings![i].Select(v => BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture))))
                    .Append(' ').Append(string.Join(";", all.Metadatas![i]!.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"))).Append('\n');
            }

            var nearest = collection.Query(Queries, nResults: 5, include: Include.Distances, efSearch: 200);
            var news = collection.Query(Queries, nResults: 4, where: Where.Eq("genre", "news"), include: Include.Distances, efSearch: 200);
            for (var q = 0; q < Queries.Length; q++)
            {
                text.Append('q').Append(q).Append(' ').Append(string.Join(",", nearest.Ids[q].Zip(nearest.Distances![q], (id, d) => $"{id}:{d.ToString("R", CultureInfo.InvariantCulture)}"))).Append('\n');
                text.Append("news q").Append(q).Append(' ').Append(string.Join(",", news.Ids[q])).Append('\n');
            }

            var filtered = collection.Get(where: Where.And(Where.Gte("year", 2000L), Where.Contains("tags", "t1")), include: Include.None);
            text.Append("filtered ").Append(string.Join(",", filtered.Ids)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The check found <paramref name="kind"/> of <paramref name="collection"/> damaged and repaired it, and nothing else; reads answer as before; a second check finds nothing.</summary>
    private void ShouldBeRepairedAndSound(ChromaIntegrityReport report, string collection, ChromaDerivedKind kind, string expected, string because)
    {
        var check = Check(report, collection, kind);
        check.State.Should().Be(ChromaDerivedState.Repaired, $"{because}: {check.Detail}");
        report.Repaired.Should().BeTrue();
        report.Damaged.Should().BeFalse();
        report.Checks.Where(c => c.State == ChromaDerivedState.Repaired).Should().ContainSingle($"only the damaged {kind} differed: {report.Checks.Select(c => $"{c.Kind} {c.State} {c.Detail}").Aggregate((a, b) => a + " | " + b)}");
        Warnings().Should().NotBeEmpty("a repair is logged").And.OnlyContain(e => !e.Message.Contains(_fx.AdminKey));

        Observe().Should().Be(expected, "the repaired store answers exactly as the undamaged one");
        var again = _fx.Client.VerifyIntegrity();
        again.Repaired.Should().BeFalse($"the repair left nothing to repair: {again.Checks.Select(c => $"{c.Kind} {c.State} {c.Detail}").Aggregate((a, b) => a + " | " + b)}");
        again.Damaged.Should().BeFalse();
    }

    [Fact]
    public void VerifyIntegrity_reports_every_derived_file_checked_and_logs_nothing_when_the_store_is_sound()
    {
        var report = _fx.Client.VerifyIntegrity();

        report.RecordsChecked.Should().Be(39 + 29);
        report.Repaired.Should().BeFalse();
        report.Damaged.Should().BeFalse();
        report.Collections.Select(c => c.Name).Should().Equal("alpha", "beta", "empty");
        report.Collections.Select(c => c.Records).Should().Equal(39, 29, 0);
        report.DocumentIndex.State.Should().Be(ChromaDerivedState.Checked);
        foreach (var name in new[] { "alpha", "beta" })
        {
            Check(report, name, ChromaDerivedKind.VectorArena).State.Should().Be(ChromaDerivedState.Checked);
            Check(report, name, ChromaDerivedKind.HnswGraph).State.Should().Be(ChromaDerivedState.Checked);
            Check(report, name, ChromaDerivedKind.FilterIndex).State.Should().Be(ChromaDerivedState.Checked);
            var rows = Check(report, name, ChromaDerivedKind.FilterRows);
            rows.State.Should().Be(ChromaDerivedState.Absent, "a collection created with the in-memory filter index enabled keeps no filter rows in SQLite");
            rows.Detail.Should().Contain("not kept");
        }

        Check(report, "empty", ChromaDerivedKind.VectorArena).State.Should().Be(ChromaDerivedState.Absent);
        Check(report, "empty", ChromaDerivedKind.HnswGraph).State.Should().Be(ChromaDerivedState.Absent);

        // Closed and opened again: the saved files (arena, graph, filter index) are checked before anything loads them.
        _fx.Reopen();
        var reopened = _fx.Client.VerifyIntegrity();
        reopened.Repaired.Should().BeFalse(string.Join(" | ", reopened.Checks.Select(c => $"{c.Kind} {c.State} {c.Detail}")));
        Check(reopened, "alpha", ChromaDerivedKind.HnswGraph).Detail.Should().Contain("39 records linked, 0 pending");
        Check(reopened, "beta", ChromaDerivedKind.FilterIndex).Detail.Should().Contain("saved file is sound");
        Warnings().Should().BeEmpty();
    }

    public static TheoryData<string, string> ClosedDamage => new()
    {
        { ".vec", "rows" }, { ".vec", "header" }, { ".vec", "truncate" }, { ".vec", "foreign" },
        { ".hnsw", "rows" }, { ".hnsw", "header" }, { ".hnsw", "truncate" }, { ".hnsw", "foreign" },
        { ".flt", "rows" }, { ".flt", "header" }, { ".flt", "truncate" }, { ".flt", "foreign" },
    };

    [Theory]
    [MemberData(nameof(ClosedDamage))]
    public void VerifyIntegrity_reports_and_repairs_a_derived_file_when_it_was_damaged_while_the_store_was_closed(string extension, string damage)
    {
        var expected = Observe();
        var path = Vectors("alpha", extension);
        var foreign = Vectors("beta", extension);
        _fx.Close();
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "rows":
                // Past the header: the arena's row 7, the graph's level-0 links (the base starts after the graph file's
                // two 512-byte header slots), the filter index's body.
                var at = extension switch { ".vec" => 4096 + (7 * 16 * 4) + 5, ".hnsw" => 1024 + 40, _ => 128 + 40 };
                bytes[at] ^= 0x5A;
                File.WriteAllBytes(path, bytes);
                break;
            case "header":
                bytes[12] ^= 0x01;
                File.WriteAllBytes(path, bytes);
                break;
            case "truncate":
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            default:
                File.Copy(foreign, path, overwrite: true);
                break;
        }

        _fx.Reopen();
        var report = _fx.Client.VerifyIntegrity();

        var kind = extension switch { ".vec" => ChromaDerivedKind.VectorArena, ".hnsw" => ChromaDerivedKind.HnswGraph, _ => ChromaDerivedKind.FilterIndex };
        ShouldBeRepairedAndSound(report, "alpha", kind, expected, $"{damage} damage of the {extension} file");
    }

    [Theory]
    [InlineData("alpha")]
    [InlineData("beta")]
    public void VerifyIntegrity_rebuilds_the_arena_when_a_live_row_differs_from_its_records_embedding(string name)
    {
        var expected = Observe();
        var arena = Engine(name).State.Arena!;

        // A bit flipped in the mapped row of slot 9 (as a flip on disk or in memory would show through the mapping).
        ref var value = ref Unsafe.AsRef(in arena.GetRow(9)[2]);
        value = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(value) ^ 0x00010000);

        var report = _fx.Client.VerifyIntegrity();

        Check(report, name, ChromaDerivedKind.VectorArena).Detail.Should().Contain("another row than record");
        ShouldBeRepairedAndSound(report, name, ChromaDerivedKind.VectorArena, expected, "a live row was flipped");
    }

    [Fact]
    public void VerifyIntegrity_rebuilds_the_arena_when_its_mapped_header_is_damaged()
    {
        var expected = Observe();
        var arena = Engine("alpha").State.Arena!;
        ref var firstRow = ref Unsafe.As<float, byte>(ref Unsafe.AsRef(in arena.FirstRow));
        ref var dimension = ref Unsafe.Subtract(ref firstRow, VectorArena.HeaderSize - 12);
        dimension ^= 0x02;

        var report = _fx.Client.VerifyIntegrity();

        Check(report, "alpha", ChromaDerivedKind.VectorArena).Detail.Should().Contain("header");
        ShouldBeRepairedAndSound(report, "alpha", ChromaDerivedKind.VectorArena, expected, "the header was flipped");
    }

    [Theory]
    [InlineData("self-link")]
    [InlineData("out of range")]
    [InlineData("unlinked record")]
    public void VerifyIntegrity_rebuilds_the_graph_when_the_live_graph_is_damaged_or_misses_a_record(string damage)
    {
        var expected = Observe();
        var graph = Engine("alpha").State.Indexer!.Graph!;
        if (damage == "unlinked record")
        {
            // Index vs records: a live record marked deleted in the graph (and not queued) would never be found by it.
            graph.MarkDeleted(9).Should().BeTrue();
        }
        else
        {
            var level0 = (int[])graph.GetType().GetField("_level0", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(graph)!;
            var stride0 = 1 + (2 * 16);
            level0[(9 * stride0) + 1] = damage == "self-link" ? 9 : 1_000_000;
        }

        var report = _fx.Client.VerifyIntegrity();

        ShouldBeRepairedAndSound(report, "alpha", ChromaDerivedKind.HnswGraph, expected, $"the live graph has a {damage}");
    }

    [Fact]
    public void VerifyIntegrity_saves_the_live_graph_again_when_its_file_is_damaged_while_the_store_is_open()
    {
        _fx.Reopen();
        var expected = Observe();
        var path = Vectors("alpha", ".hnsw");
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x33;
        File.WriteAllBytes(path, bytes);

        var report = _fx.Client.VerifyIntegrity();

        Check(report, "alpha", ChromaDerivedKind.HnswGraph).Detail.Should().Contain("replaced by the live graph");
        ShouldBeRepairedAndSound(report, "alpha", ChromaDerivedKind.HnswGraph, expected, "the graph file was flipped");
        _fx.Reopen();
        _fx.Client.VerifyIntegrity().Repaired.Should().BeFalse("the file saved by the repair loads");
    }

    [Fact]
    public void VerifyIntegrity_rebuilds_the_filter_index_when_the_live_index_differs_from_the_records_metadata()
    {
        var expected = Observe();
        var state = Engine("beta").State;

        // Slot 6 ('beta-06', genre news) answers 'science' in memory.
        state.FilterIndex!.Apply([], [new MetadataFilterIndex.Row(6, "genre", false, FilterValueKind.String, "science", 0)], state.NextSlot);
        _fx.Client.GetCollection("beta").Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().NotContain("beta-06", "the damage is live");

        var report = _fx.Client.VerifyIntegrity();

        Check(report, "beta", ChromaDerivedKind.FilterIndex).Detail.Should().Contain("genre");
        ShouldBeRepairedAndSound(report, "beta", ChromaDerivedKind.FilterIndex, expected, "the live filter index was changed");
    }

    [Fact]
    public void VerifyIntegrity_saves_the_filter_index_again_when_its_file_is_damaged_while_the_store_is_open()
    {
        _fx.Reopen();
        var expected = Observe();
        var path = Vectors("beta", ".flt");
        var bytes = File.ReadAllBytes(path);
        bytes[^2] ^= 0x11;
        File.WriteAllBytes(path, bytes);

        var report = _fx.Client.VerifyIntegrity();

        Check(report, "beta", ChromaDerivedKind.FilterIndex).Detail.Should().Contain("saved again");
        ShouldBeRepairedAndSound(report, "beta", ChromaDerivedKind.FilterIndex, expected, "the filter index file was flipped");
    }

    [Fact]
    public void VerifyIntegrity_reports_a_damaged_filter_index_file_as_damaged_and_leaves_it_when_the_store_is_read_only()
    {
        var expected = Observe();
        var path = Vectors("beta", ".flt");
        _fx.Close();
        var bytes = File.ReadAllBytes(path);
        bytes[200] ^= 0x21;
        File.WriteAllBytes(path, bytes);

        ChromaIntegrityReport report;
        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { HnswThreshold = 10, ReadOnly = true, Logger = _hook }))
        {
            report = store.GetClient(_fx.AdminKey).VerifyIntegrity();
        }

        report.Damaged.Should().BeTrue(string.Join(" | ", report.Checks.Select(c => $"{c.Kind} {c.State} {c.Detail}")));
        report.Repaired.Should().BeFalse();
        Check(report, "beta", ChromaDerivedKind.FilterIndex).State.Should().Be(ChromaDerivedState.Damaged);
        Check(report, "beta", ChromaDerivedKind.FilterIndex).Detail.Should().Contain("read-only");
        File.ReadAllBytes(path).Should().Equal(bytes, "a read-only store writes nothing in its folder");
        _fx.Reopen();
        ShouldBeRepairedAndSound(_fx.Client.VerifyIntegrity(), "beta", ChromaDerivedKind.FilterIndex, expected, "opened writable, the check repairs it");
    }

    [Fact]
    public void VerifyIntegrity_stops_between_collections_when_cancelled_and_the_repairs_made_so_far_stay()
    {
        var expected = Observe();
        foreach (var name in new[] { "alpha", "beta" })
        {
            ref var value = ref Unsafe.AsRef(in Engine(name).State.Arena!.GetRow(4)[0]);
            value += 1f;
        }

        using var cancel = new CancellationTokenSource();
        var progress = new List<ChromaProgress>();
        _hook.OnLog = id =>
        {
            if (id.Id == 50)
            {
                cancel.Cancel(); // During the first repair: alpha's arena.
            }
        };

        var act = () => _fx.Client.VerifyIntegrity(new Collector(progress), cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        progress.Should().NotBeEmpty().And.NotContain(p => p.Completed == p.Total, "the check stopped after the records, before its final report");
        _hook.OnLog = null;
        var report = _fx.Client.VerifyIntegrity();
        Check(report, "alpha", ChromaDerivedKind.VectorArena).State.Should().Be(ChromaDerivedState.Checked, "alpha was repaired before the cancellation");
        ShouldBeRepairedAndSound(report, "beta", ChromaDerivedKind.VectorArena, expected, "beta's check was cancelled before it ran");
    }

    /// <summary>Passes every entry to the capturing logger, then calls <see cref="OnLog"/> (a test's hook).</summary>
    private sealed class HookedLogger(CapturingLogger inner) : ILogger
    {
        public Action<EventId>? OnLog { get; set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
            OnLog?.Invoke(eventId);
        }
    }

    private sealed class Collector(List<ChromaProgress> reports) : IProgress<ChromaProgress>
    {
        public void Report(ChromaProgress value) => reports.Add(value);
    }
}
