using EmbeddedChroma.Tests.Api;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A derived file that cannot be used is rebuilt from SQLite with a logged warning naming the file and the reason;
/// a sound store logs nothing. No entry carries a key.
/// </summary>
public sealed class DerivedFileLogTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;

    public DerivedFileLogTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private (Collection Collection, string Arena) Populate()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(["a", "b", "c"], [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f]], documents: ["alpha", "beta", "gamma"]);
        return (collection, _fx.ArenaPath(collection.Id));
    }

    private List<CapturingLogger.Entry> Warnings() => _log.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();

    [Fact]
    public void Sound_store_logs_no_warning_when_reopened()
    {
        Populate();
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[1f, 0f, 0f]], 1).Ids[0].Should().Equal("a");
        Warnings().Should().BeEmpty();
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "row bytes", "checksum" },
        { "header magic", "damaged header" },
        { "header stamp", "damaged header" },
        { "truncated", "wrong length" },
        { "emptied", "truncated" },
        { "garbage", "damaged header" },
        { "deleted", "missing" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void Damaged_arena_is_rebuilt_with_a_warning_naming_file_and_reason(string damage, string reason)
    {
        var (_, arena) = Populate();
        _fx.Close();
        if (damage == "deleted")
        {
            File.Delete(arena);
        }
        else
        {
            PersistenceTests.Corrupt(arena, damage);
        }

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[0f, 1f, 0f]], 1).Ids[0].Should().Equal("b");

        var warning = Warnings().Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(1);
        warning.Message.Should().Contain(arena).And.Contain(reason).And.Contain("docs").And.Contain("rebuilding");
        warning.Message.Should().NotContain(_fx.AdminKey);
    }

    [Fact]
    public void Arena_of_the_previous_format_is_rebuilt_once_with_a_warning_then_opens_clean()
    {
        // Version 1 arenas (XxHash3 rows checksum) predate RowChecksum: an upgraded store rebuilds them from SQLite.
        var (_, arena) = Populate();
        _fx.Close();
        using (var file = new FileStream(arena, FileMode.Open, FileAccess.ReadWrite))
        {
            var header = new byte[64];
            file.ReadExactly(header);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(56), System.IO.Hashing.XxHash3.HashToUInt64(header.AsSpan(0, 56)));
            file.Position = 0;
            file.Write(header);
        }

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[0f, 0f, 1f]], 1).Ids[0].Should().Equal("c");
        var warning = Warnings().Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(1);
        warning.Message.Should().Contain("older format");

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[0f, 1f, 0f]], 1).Ids[0].Should().Equal("b");
        Warnings().Should().HaveCount(1, "the rebuilt arena is in the current format");
    }

    [Fact]
    public void Damaged_graph_file_is_rebuilt_with_a_warning_naming_file_and_reason()
    {
        using var log = new StoreFixtureWithGraph();
        var vectors = log.PopulateAndClose(seed: 3);
        var file = Directory.GetFiles(log.Fixture.VectorsFolder, "*.hnsw").Should().ContainSingle().Subject;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.SetLength(stream.Length / 2);
        }

        log.Fixture.Reopen();
        var reopened = log.Fixture.Client.GetCollection("graphs");
        reopened.Query([vectors[42]], 1).Ids[0].Should().Equal("v42");
        reopened.WaitForIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeFalse();

        var warning = log.Logger.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(2);
        warning.Message.Should().Contain(file).And.Contain("graphs").And.Contain("rebuilding");
    }

    [Fact]
    public void Graph_of_the_previous_format_is_rebuilt_once_with_a_warning_then_loads_from_its_file()
    {
        // Version 1 graphs had no owner stamp: an upgraded store rebuilds them once, then saves the current format.
        using var log = new StoreFixtureWithGraph();
        var vectors = log.PopulateAndClose(seed: 5);
        var file = Directory.GetFiles(log.Fixture.VectorsFolder, "*.hnsw").Should().ContainSingle().Subject;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            var header = new byte[128];
            stream.ReadExactly(header);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), 1);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(120), System.IO.Hashing.XxHash3.HashToUInt64(header.AsSpan(0, 120)));
            stream.Position = 0;
            stream.Write(header);
        }

        log.Fixture.Reopen();
        var reopened = log.Fixture.Client.GetCollection("graphs");
        reopened.Query([vectors[7]], 1).Ids[0].Should().Equal("v7");
        reopened.WaitForIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeFalse();
        var warning = log.Logger.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(2);
        warning.Message.Should().Contain(file).And.Contain("older format");

        log.Fixture.Reopen();
        reopened = log.Fixture.Client.GetCollection("graphs");
        reopened.Query([vectors[7]], 1).Ids[0].Should().Equal("v7");
        reopened.WaitForIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeTrue("the rebuilt graph was saved in the current format on close");
        log.Logger.Entries.Where(e => e.Level >= LogLevel.Warning).Should().HaveCount(1);
    }

    [Fact]
    public void Damaged_arena_rows_beside_a_sound_graph_file_rebuild_the_arena_and_answer_from_the_true_rows()
    {
        // The arena's checksum runs beside the graph's load; damaged rows must still win over the preloaded graph.
        using var log = new StoreFixtureWithGraph();
        var vectors = log.PopulateAndClose(seed: 4);
        var arena = Directory.GetFiles(log.Fixture.VectorsFolder, "*.vec").Should().ContainSingle().Subject;
        PersistenceTests.Corrupt(arena, "row bytes"); // row 0's first component becomes 123.25

        log.Fixture.Reopen();
        var reopened = log.Fixture.Client.GetCollection("graphs");
        var hit = reopened.Query([vectors[0]], 1, include: Include.Distances | Include.Embeddings);
        hit.Ids[0].Should().Equal("v0");
        hit.Distances![0][0].Should().Be(0f, "the rebuilt arena holds the stored embedding, not the damaged row");
        reopened.Indexer!.LoadedFromFile.Should().BeTrue("the graph file itself was sound");
        for (var i = 0; i < 300; i += 37)
        {
            reopened.Query([vectors[i]], 1).Ids[0].Should().Equal("v" + i);
        }

        var warning = log.Logger.Entries.Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(1);
        warning.Message.Should().Contain(arena).And.Contain("checksum");
    }

    private sealed class StoreFixtureWithGraph : IDisposable
    {
        public CapturingLogger Logger { get; } = new();

        public StoreFixture Fixture { get; }

        public StoreFixtureWithGraph() => Fixture = new StoreFixture(new ChromaStoreOptions { Logger = Logger, HnswThreshold = 100 });

        /// <summary>Adds 300 seeded 8-d records ("v0"…) to a "graphs" collection, waits for its graph, and closes the store (saving the graph).</summary>
        public float[][] PopulateAndClose(int seed)
        {
            var collection = Fixture.CreateCollection("graphs");
            var random = new Random(seed);
            var vectors = Enumerable.Range(0, 300).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
            collection.Add(Enumerable.Range(0, 300).Select(i => "v" + i).ToArray(), vectors);
            collection.WaitForIndex();
            Fixture.Close();
            return vectors;
        }

        public void Dispose() => Fixture.Dispose();
    }
}
