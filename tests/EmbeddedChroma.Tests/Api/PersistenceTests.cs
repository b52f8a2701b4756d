using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class PersistenceTests : IDisposable
{
    private static readonly DateTime OldTime = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private sealed record Snapshot(
        IReadOnlyList<CollectionInfo> Collections,
        IReadOnlyList<string> Tenants,
        IReadOnlyList<DatabaseInfo> Databases,
        Dictionary<string, GetResult> Records,
        Dictionary<string, QueryResult> Queries,
        Dictionary<string, int> Counts);

    private static readonly float[][] Probes = [[0.5f, -0.25f, 1f, 0f], [-1f, 0.5f, 0.25f, 2f]];

    /// <summary>Three collections (one per space) with every metadata type, documents, deletes and updates.</summary>
    private void Populate()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");
        var random = new Random(1234);
        foreach (var space in new[] { DistanceSpace.L2, DistanceSpace.Cosine, DistanceSpace.InnerProduct })
        {
            var c = _fx.Client.CreateCollection($"c-{CollectionConfiguration.SpaceName(space)}", new CollectionOptions
            {
                Metadata = Meta(("space", CollectionConfiguration.SpaceName(space)), ("n", 3), ("x", 3.0)),
                Configuration = new CollectionConfiguration { Space = space, EfSearch = 40 },
            });
            var ids = Enumerable.Range(0, 40).Select(i => $"id-{i}").ToArray();
            c.Add(
                ids,
                ids.Select(_ => Enumerable.Range(0, 4).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray(),
                ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)(i % 5 == 0 ? null : Meta(
                    ("i", i),
                    ("f", i + 0.5),
                    ("whole", (double)i),
                    ("s", $"s{i % 3}"),
                    ("b", i % 2 == 0),
                    ("tags", new[] { $"t{i % 4}", "all" }),
                    ("nums", new[] { i, i + 1 })))).ToArray(),
                ids.Select((_, i) => i % 7 == 0 ? null : $"document number {i}").ToArray());
            c.Delete(ids.Where((_, i) => i % 6 == 1).ToArray());
            c.Update(["id-2", "id-4"], [[1f, 1f, 1f, 1f], [-1f, 0f, 0f, 1f]], [Meta(("s", null), ("extra", "yes")), null], ["changed", null]);
            c.Add(["late-1", "late-2"], [[0.1f, 0.2f, 0.3f, 0.4f], [0.4f, 0.3f, 0.2f, 0.1f]]);
        }

        _fx.Client.WithDatabase("sales", "acme").CreateCollection("orders").Add(["o1"], [[1f]], [Meta(("total", 10))], ["first order"]);
    }

    private Snapshot Take()
    {
        var collections = _fx.Client.ListCollections();
        var records = new Dictionary<string, GetResult>();
        var queries = new Dictionary<string, QueryResult>();
        var counts = new Dictionary<string, int>();
        foreach (var info in collections)
        {
            var c = _fx.Client.GetCollection(info.Name);
            records[info.Name] = Everything(c);
            queries[info.Name] = c.Query(Probes, nResults: 15, include: Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances);
            counts[info.Name] = c.Count();
        }

        var orders = _fx.Client.WithDatabase("sales", "acme").GetCollection("orders");
        records["acme/orders"] = Everything(orders);
        return new Snapshot(collections, _fx.Client.ListTenants(), _fx.Client.ListDatabases("acme"), records, queries, counts);
    }

    private static void ShouldBeSame(Snapshot actual, Snapshot expected)
    {
        actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering().RespectingRuntimeTypes());
        foreach (var (name, result) in expected.Records)
        {
            var got = actual.Records[name].Metadatas!;
            for (var i = 0; i < result.Metadatas!.Count; i++)
            {
                if (result.Metadatas[i] is { } m)
                {
                    ShouldHaveMetadata(got[i], [.. m.Select(p => (p.Key, p.Value))]);
                }
                else
                {
                    got[i].Should().BeNull();
                }
            }
        }
    }

    [Fact]
    public void Open_returns_identical_results_when_store_is_closed_and_reopened()
    {
        Populate();
        var before = Take();

        _fx.Reopen();

        ShouldBeSame(Take(), before);
    }

    [Fact]
    public void Open_returns_identical_results_when_reopened_twice_with_writes_between()
    {
        Populate();
        _fx.Reopen();
        var c = _fx.Client.GetCollection("c-l2");
        c.Add(["after-reopen"], [[0.5f, 0.5f, 0.5f, 0.5f]], documents: ["written after reopen"]);
        c.Delete(["id-3"]);
        var before = Take();

        _fx.Reopen();

        ShouldBeSame(Take(), before);
        _fx.Client.GetCollection("c-l2").Query([[0.5f, 0.5f, 0.5f, 0.5f]], nResults: 1).Ids[0].Should().Equal("after-reopen");
    }

    [Fact]
    public void Open_keeps_collection_settings_when_they_were_modified()
    {
        var c = _fx.Client.CreateCollection("books", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine, EfConstruction = 64, MaxNeighbors = 8 } });
        c.Modify(name: "novels", metadata: Meta(("v", 2)), configuration: new CollectionConfigurationUpdate { EfSearch = 77 });

        _fx.Reopen();

        var reopened = _fx.Client.GetCollection("novels");
        reopened.Id.Should().Be(c.Id);
        reopened.Configuration.Should().Be(new CollectionConfiguration { Space = DistanceSpace.Cosine, EfConstruction = 64, EfSearch = 77, MaxNeighbors = 8 });
        ShouldHaveMetadata(reopened.Metadata, ("v", 2L));
        reopened.Dimension.Should().BeNull();
    }

    [Fact]
    public void Open_keeps_dimension_and_reuses_freed_slots_when_reopened()
    {
        var c = _fx.CreateCollection();
        c.Add(["a", "b", "c"], [[1f, 0f], [2f, 0f], [3f, 0f]]);
        c.Delete(["b"]);

        _fx.Reopen();
        var reopened = _fx.Client.GetCollection("test");
        reopened.Dimension.Should().Be(2);
        reopened.Add(["d", "e"], [[4f, 0f], [5f, 0f]]);

        reopened.Get().Ids.Should().Equal("a", "c", "d", "e");
        reopened.Query([[0f, 0f]], nResults: 10).Ids[0].Should().Equal("a", "c", "d", "e");
        var mismatch = () => reopened.Add(["f"], [[1f, 2f, 3f]]);
        mismatch.Should().Throw<ChromaValidationException>().WithMessage("*expected dimension 2, got 3 at index 0*");
    }

    [Fact]
    public void Open_reuses_arena_file_when_it_was_closed_cleanly()
    {
        var c = _fx.CreateCollection(space: DistanceSpace.Cosine);
        c.Add(["a", "b", "c"], [[1f, 0f], [0f, 1f], [1f, 1f]]);
        var expected = c.Query([[1f, 0.2f]], nResults: 3);
        var arena = _fx.ArenaPath(c.Id);
        _fx.Close();
        var length = new FileInfo(arena).Length;
        File.SetLastWriteTimeUtc(arena, OldTime);

        _fx.Reopen();
        var result = _fx.Client.GetCollection("test").Query([[1f, 0.2f]], nResults: 3);

        result.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        File.GetLastWriteTimeUtc(arena).Should().Be(OldTime, "a clean arena is mapped as is, not rebuilt");
        new FileInfo(arena).Length.Should().Be(length);
    }

    [Fact]
    public void Close_leaves_arena_file_untouched_when_nothing_was_written_since_open()
    {
        var c = _fx.CreateCollection();
        c.Add(["a", "b"], [[1f, 0f], [0f, 1f]]);
        var arena = _fx.ArenaPath(c.Id);
        _fx.Close();
        File.SetLastWriteTimeUtc(arena, OldTime);

        _fx.Reopen();
        _fx.Client.GetCollection("test").Query([[1f, 0f]], nResults: 1).Ids[0].Should().Equal("a");
        _fx.Close();

        File.GetLastWriteTimeUtc(arena).Should().Be(OldTime, "closing a store that only read must not rewrite the arena");
    }

    [Fact]
    public void Open_rebuilds_arena_when_file_was_deleted()
    {
        Populate();
        var before = Take();
        var arenas = _fx.Client.ListCollections().Select(i => _fx.ArenaPath(i.Id)).ToList();
        _fx.Close();
        foreach (var arena in arenas)
        {
            File.Delete(arena);
        }

        _fx.Reopen();

        ShouldBeSame(Take(), before);
        arenas.Should().OnlyContain(a => File.Exists(a));
    }

    public static TheoryData<string> Corruptions => new("row bytes", "header magic", "header stamp", "truncated", "emptied", "garbage", "clean flag cleared");

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Open_rebuilds_arena_when_file_is_corrupted(string corruption)
    {
        Populate();
        var before = Take();
        var arenas = _fx.Client.ListCollections().Select(i => _fx.ArenaPath(i.Id)).ToList();
        _fx.Close();
        foreach (var arena in arenas)
        {
            Corrupt(arena, corruption);
        }

        _fx.Reopen();

        ShouldBeSame(Take(), before);
        _fx.Reopen();
        ShouldBeSame(Take(), before);
    }

    internal static void Corrupt(string path, string corruption)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        switch (corruption)
        {
            case "row bytes":
                // Row 0 starts at 4096: overwrite its first float with a different finite value.
                file.Position = 4096;
                file.Write(BitConverter.GetBytes(123.25f));
                break;
            case "header magic":
                file.Position = 0;
                file.Write("XXXXXXXX"u8);
                break;
            case "header stamp":
                file.Position = 32;
                var stamp = new byte[8];
                file.ReadExactly(stamp);
                stamp[0] ^= 0x01;
                file.Position = 32;
                file.Write(stamp);
                break;
            case "truncated":
                file.SetLength(file.Length / 2);
                break;
            case "emptied":
                file.SetLength(0);
                break;
            case "garbage":
                var random = new Random(5);
                var bytes = new byte[file.Length];
                random.NextBytes(bytes);
                file.Position = 0;
                file.Write(bytes);
                break;
            case "clean flag cleared":
                file.Position = 20;
                file.Write(BitConverter.GetBytes(0));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(corruption));
        }
    }

    [Fact]
    public void Open_throws_locked_when_folder_is_already_held()
    {
        var act = () => ChromaStore.Open(_fx.Folder);

        act.Should().Throw<ChromaStoreLockedException>().WithMessage($"*{_fx.Folder}*");
        _fx.Client.ListCollections().Should().BeEmpty();
    }

    [Fact]
    public void Create_throws_locked_when_folder_is_already_held()
    {
        var act = () => ChromaStore.Create(_fx.Folder, out _);

        act.Should().Throw<ChromaStoreLockedException>();
    }

    [Fact]
    public void Open_succeeds_when_previous_store_was_disposed()
    {
        _fx.CreateCollection().Add(["a"], [[1f]]);
        _fx.Close();

        using (var store = ChromaStore.Open(_fx.Folder))
        {
            store.GetClient(_fx.AdminKey).GetCollection("test").Count().Should().Be(1);
            var second = () => ChromaStore.Open(_fx.Folder);
            second.Should().Throw<ChromaStoreLockedException>();
        }

        _fx.Reopen();
        _fx.Client.GetCollection("test").Count().Should().Be(1);
    }

    [Fact]
    public void Create_throws_conflict_when_folder_already_holds_a_store()
    {
        _fx.Close();

        var act = () => ChromaStore.Create(_fx.Folder, out _);

        act.Should().Throw<ChromaConflictException>().WithMessage("*already holds a store*");
        _fx.Reopen();
    }

    [Fact]
    public void Open_throws_not_found_when_folder_holds_no_store()
    {
        var empty = Path.Combine(_fx.Folder, "no-store-here");
        Directory.CreateDirectory(empty);

        var act = () => ChromaStore.Open(empty);

        act.Should().Throw<ChromaNotFoundException>().WithMessage("*no-store-here*");
        ChromaStore.Exists(empty).Should().BeFalse();
        ChromaStore.Exists(_fx.Folder).Should().BeTrue();
    }

    [Fact]
    public void Open_keeps_tenants_databases_and_deleted_collections_gone_when_reopened()
    {
        _fx.Client.CreateTenant("acme");
        _fx.Client.CreateDatabase("sales", "acme");
        var doomed = _fx.Client.CreateCollection("doomed");
        doomed.Add(["a"], [[1f]]);
        _fx.Client.CreateCollection("kept").Add(["b"], [[2f]]);
        _fx.Client.DeleteCollection("doomed");

        _fx.Reopen();

        _fx.Client.ListTenants().Should().Equal("default_tenant", "acme");
        _fx.Client.ListDatabases("acme").Should().Equal(new DatabaseInfo("acme", "sales"));
        _fx.Client.ListCollections().Select(c => c.Name).Should().Equal("kept");
        File.Exists(_fx.ArenaPath(doomed.Id)).Should().BeFalse();
    }
}
