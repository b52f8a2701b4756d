using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Derived files (vector arena, HNSW graph) belong to one collection of one store's history: a file of another
/// collection, of a copy whose history diverged, or newer than the database is rebuilt with a warning, never used. A
/// replay of later writes over a saved graph is logged; a database that lost acknowledged writes (its -wal deleted)
/// refuses to open.
/// </summary>
public sealed class DerivedFileOwnerTests : IDisposable
{
    private const int Count = 200;
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;
    private readonly TempStoreFolder _scratch = new("ec-owner");

    public DerivedFileOwnerTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log, HnswThreshold = 50 });

    public void Dispose()
    {
        _fx.Dispose();
        SqliteConnection.ClearAllPools();
        _scratch.Dispose();
    }

    private static float[][] Vectors(int seed, int count = Count)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    private Collection Populate(string name, int seed, string prefix = "v")
    {
        var collection = _fx.CreateCollection(name);
        var vectors = Vectors(seed);
        collection.Add(Enumerable.Range(0, Count).Select(i => prefix + i).ToArray(), vectors);
        collection.WaitForIndex();
        return collection;
    }

    private string GraphPath(Guid id) => Path.Combine(_fx.VectorsFolder, id.ToString("N") + ".hnsw");

    private List<CapturingLogger.Entry> Warnings() => _log.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();

    private static void CopyFolder(string from, string to, Func<string, bool>? include = null)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "chroma.lock" || (include is not null && !include(file)))
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            // Owner-only like the store's own folders, so the copy opens without a permission warning.
            var folder = Path.GetDirectoryName(target)!;
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            File.Copy(file, target, overwrite: true);
        }
    }

    [Fact]
    public void Graph_of_another_collection_with_the_same_dimension_is_rebuilt_with_a_warning_when_swapped_in()
    {
        // "second" is written first, so its graph's stamp is older than "first"'s last write: only the owner stamp tells them apart.
        var second = Populate("second", seed: 2);
        var first = Populate("first", seed: 1);
        var (firstId, secondId) = (first.Id, second.Id);
        _fx.Close();
        File.Copy(GraphPath(secondId), GraphPath(firstId), overwrite: true);

        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("first");
        var vectors = Vectors(1);
        reopened.Query([vectors[17]], 1).Ids[0].Should().Equal("v17");
        reopened.Indexer!.LoadedFromFile.Should().BeFalse();
        reopened.WaitForIndex();
        for (var i = 0; i < Count; i += 13)
        {
            reopened.Query([vectors[i]], 1).Ids[0].Should().Equal("v" + i);
        }

        var warning = Warnings().Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(2);
        warning.Message.Should().Contain(GraphPath(firstId)).And.Contain("another collection");
    }

    [Fact]
    public void Arena_and_graph_from_a_diverged_copy_of_the_store_are_rebuilt_with_warnings()
    {
        var collection = Populate("docs", seed: 3);
        var id = collection.Id;
        _fx.Close();
        var copy = Path.Combine(_scratch.Path, "copy");
        CopyFolder(_fx.Folder, copy);

        // Both copies write one batch after the split: equal sequence numbers, different histories.
        var other = Vectors(99, 60);
        using (var store = ChromaStore.Open(copy, _fx.Options))
        {
            var c = store.GetClient(_fx.AdminKey).GetCollection("docs");
            c.Upsert(Enumerable.Range(0, 60).Select(i => "v" + i).ToArray(), other);
            c.WaitForIndex();
        }

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Add(["extra"], [[0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f]]);
        _fx.Close();
        SqliteConnection.ClearAllPools();
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
        CopyFolder(copy, _fx.Folder, f => f.Contains("vectors", StringComparison.Ordinal));

        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("docs");
        var vectors = Vectors(3);
        var hit = reopened.Query([vectors[5]], 1, include: Include.Distances);
        hit.Ids[0].Should().Equal("v5");
        hit.Distances![0][0].Should().Be(0f, "this store's embedding of v5, not the copy's");
        reopened.WaitForIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeFalse();
        var warnings = Warnings();
        warnings.Should().Contain(w => w.EventId.Id == 1 && w.Message.Contains(id.ToString("N") + ".vec", StringComparison.Ordinal) && w.Message.Contains("another copy", StringComparison.Ordinal));
        warnings.Should().Contain(w => w.EventId.Id == 2 && w.Message.Contains(id.ToString("N") + ".hnsw", StringComparison.Ordinal));
    }

    [Fact]
    public void Graph_newer_than_the_database_is_rebuilt_with_a_warning()
    {
        var collection = Populate("docs", seed: 4);
        var id = collection.Id;
        _fx.Close();
        var olderDatabase = Path.Combine(_scratch.Path, "chroma.sqlite3");
        File.Copy(Path.Combine(_fx.Folder, "chroma.sqlite3"), olderDatabase);

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Upsert(Enumerable.Range(0, 80).Select(i => "v" + i).ToArray(), Vectors(44, 80));
        _fx.Client.GetCollection("docs").WaitForIndex();
        _fx.Close();
        SqliteConnection.ClearAllPools();

        // An operator puts the older database under the newer vectors/ and accepts it (deletes chroma.seq).
        File.Copy(olderDatabase, Path.Combine(_fx.Folder, "chroma.sqlite3"), overwrite: true);
        File.Delete(Path.Combine(_fx.Folder, "chroma.seq"));
        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("docs");
        var vectors = Vectors(4);
        reopened.Query([vectors[7]], 1, include: Include.Distances).Distances![0][0].Should().Be(0f);
        reopened.WaitForIndex();
        reopened.Indexer!.LoadedFromFile.Should().BeFalse();
        for (var i = 0; i < Count; i += 11)
        {
            reopened.Query([vectors[i]], 1).Ids[0].Should().Equal("v" + i);
        }

        Warnings().Should().Contain(w => w.EventId.Id == 2 && w.Message.Contains(id.ToString("N") + ".hnsw", StringComparison.Ordinal) && w.Message.Contains("newer than the database", StringComparison.Ordinal));
        Warnings().Should().Contain(w => w.EventId.Id == 1 && w.Message.Contains("newer than the database", StringComparison.Ordinal));
    }

    [Fact]
    public void Open_throws_corrupt_store_when_the_database_lost_acknowledged_writes()
    {
        Populate("docs", seed: 5);
        _fx.Reopen(); // closing checkpoints the WAL into chroma.sqlite3: the writes below live only in the -wal
        var collection = _fx.Client.GetCollection("docs");
        collection.Add(["late"], [[0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f]]);

        // As a killed process leaves the folder, minus the -wal file an operator deleted: the last commits are gone.
        var copy = Path.Combine(_scratch.Path, "lost-wal");
        CopyFolder(_fx.Folder, copy, f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal) && !f.EndsWith(".vec", StringComparison.Ordinal));
        var open = () => ChromaStore.Open(copy, _fx.Options);
        open.Should().Throw<ChromaCorruptStoreException>().Which.Message
            .Should().Contain("acknowledged writes").And.Contain("-wal").And.Contain("backup");

        // With its -wal the same kill leaves a store that opens with every acknowledged write.
        var intact = Path.Combine(_scratch.Path, "intact");
        CopyFolder(_fx.Folder, intact, f => !f.EndsWith(".vec", StringComparison.Ordinal));
        using var store = ChromaStore.Open(intact, _fx.Options);
        store.GetClient(_fx.AdminKey).GetCollection("docs").Get(ids: ["late"]).Ids.Should().Equal("late");
    }

    [Fact]
    public void Stale_graph_from_an_earlier_close_is_replayed_with_an_information_entry_and_deleted_graph_rebuilt_with_a_warning()
    {
        var collection = Populate("docs", seed: 6);
        var graph = GraphPath(collection.Id);
        _fx.Close();
        var saved = Path.Combine(_scratch.Path, "saved.hnsw");
        File.Copy(graph, saved);
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Add(["w1", "w2"], [[0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.1f], [0.1f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f]]);
        _fx.Close();
        File.Copy(saved, graph, overwrite: true);

        var before = _log.Entries.Count;
        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("docs");
        reopened.Query([[0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.1f]], 1).Ids[0].Should().Equal("w1");
        reopened.Indexer!.LoadedFromFile.Should().BeTrue();
        var entries = _log.Entries.Skip(before).ToList();
        var replay = entries.Should().ContainSingle(e => e.EventId.Id == 5).Subject;
        replay.Level.Should().Be(LogLevel.Information);
        replay.Message.Should().Contain(graph).And.Contain("2 later upserts");
        entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();

        _fx.Close();
        File.Delete(graph);
        before = _log.Entries.Count;
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[0.1f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f, 0.9f]], 1).Ids[0].Should().Equal("w2");
        var warning = _log.Entries.Skip(before).Where(e => e.Level >= LogLevel.Warning).Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(6);
        warning.Message.Should().Contain(graph).And.Contain("missing");
    }
}
