using System.Security.Cryptography;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// <see cref="ChromaStoreOptions.ReadOnly"/>: a shared lock, reads answered, every write refused with
/// <see cref="ChromaReadOnlyException"/>, and not one byte written in the store folder; read-only media named as such.
/// </summary>
public sealed class ReadOnlyStoreTests
{
    private static readonly ChromaStoreOptions ReadOnly = new() { ReadOnly = true };

    /// <summary>A closed store with collection "docs" (20 records, 3-d) and a quota-limited key; returns (admin key, quota key).</summary>
    private static (string Admin, string Quota) Seed(string folder)
    {
        using var store = ChromaStore.Create(folder, out var admin);
        var client = store.GetClient(admin);
        var collection = client.CreateCollection("docs");
        collection.Add(
            Enumerable.Range(0, 20).Select(i => "r" + i).ToArray(),
            Enumerable.Range(0, 20).Select(i => new float[] { i, 1, 0 }).ToArray(),
            documents: Enumerable.Range(0, 20).Select(i => (string?)("doc " + i)).ToArray());
        var quota = store.GetKeyRing(store.Authenticate(admin)).CreateKey(new ApiKeySpec { Name = "quota", Actions = ["*"], MaxUses = 100 });
        return (admin, quota.Key);
    }

    private static Dictionary<string, string> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(folder, f),
            f => $"{File.GetLastWriteTimeUtc(f):O} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}");

    [Fact]
    public void Open_with_ReadOnly_answers_reads_refuses_every_write_and_writes_nothing_in_the_folder()
    {
        using var temp = new TempStoreFolder("ec-readonly");
        var (admin, quota) = Seed(temp.Path);
        var before = Snapshot(temp.Path);

        using (var store = ChromaStore.Open(temp.Path, ReadOnly))
        {
            var client = store.GetClient(admin);
            var collection = client.GetCollection("docs");
            collection.Count().Should().Be(20);
            collection.Get(ids: ["r3"], include: Include.Embeddings | Include.Documents).Documents![0].Should().Be("doc 3");
            collection.Query([[5f, 1, 0]], nResults: 1).Ids[0].Should().Equal("r5");
            client.ListCollections().Should().ContainSingle();
            client.GetOrCreateCollection("docs").Count().Should().Be(20);

            var writes = new (string Name, Action Write)[]
            {
                ("Add", () => collection.Add(["new"], [[1f, 2, 3]])),
                ("Upsert", () => collection.Upsert(["r1"], [[1f, 2, 3]])),
                ("Update", () => collection.Update(["r1"], documents: ["changed"])),
                ("Delete", () => collection.Delete(ids: ["r1"])),
                ("Modify", () => collection.Modify(name: "renamed")),
                ("Compact", () => collection.Compact()),
                ("CreateCollection", () => client.CreateCollection("other")),
                ("GetOrCreateCollection of a new one", () => client.GetOrCreateCollection("other")),
                ("DeleteCollection", () => client.DeleteCollection("docs")),
                ("CreateDatabase", () => client.CreateDatabase("database2")),
                ("CreateTenant", () => client.CreateTenant("tenant2")),
                ("CreateKey", () => store.GetKeyRing(store.Authenticate(admin)).CreateKey(new ApiKeySpec { Name = "k", Actions = ["*"] })),
                ("quota key", () => store.GetClient(quota).GetCollection("docs")),
            };
            foreach (var (name, write) in writes)
            {
                write.Should().Throw<ChromaReadOnlyException>(name);
            }

            collection.Count().Should().Be(20);
            collection.Get(ids: ["r1"]).Documents![0].Should().Be("doc 1");
        }

        SqliteConnection.ClearAllPools();
        Snapshot(temp.Path).Should().Equal(before);
    }

    [Fact]
    public void Open_with_ReadOnly_shares_the_lock_with_readers_and_excludes_a_writer()
    {
        using var temp = new TempStoreFolder("ec-readonly");
        var (admin, _) = Seed(temp.Path);
        using (var first = ChromaStore.Open(temp.Path, ReadOnly))
        using (var second = ChromaStore.Open(temp.Path, ReadOnly))
        {
            first.GetClient(admin).GetCollection("docs").Count().Should().Be(20);
            second.GetClient(admin).GetCollection("docs").Count().Should().Be(20);
            FluentActions.Invoking(() => ChromaStore.Open(temp.Path)).Should().Throw<ChromaStoreLockedException>();
        }

        using (ChromaStore.Open(temp.Path))
        {
            FluentActions.Invoking(() => ChromaStore.Open(temp.Path, ReadOnly)).Should().Throw<ChromaStoreLockedException>();
        }

        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void Create_throws_read_only_when_ReadOnly_is_set()
    {
        using var temp = new TempStoreFolder("ec-readonly");
        FluentActions.Invoking(() => ChromaStore.Create(Path.Combine(temp.Path, "s"), out _, ReadOnly))
            .Should().Throw<ChromaReadOnlyException>();
    }

    [RootFact]
    public void Open_on_read_only_media_throws_read_only_naming_the_option_and_opens_with_ReadOnly()
    {
        using var mount = new TmpfsMount(sizeKiB: 4096);
        var folder = Path.Combine(mount.Path, "store");
        var (admin, _) = Seed(folder);
        SqliteConnection.ClearAllPools();
        mount.RemountReadOnly();
        try
        {
            FluentActions.Invoking(() => ChromaStore.Open(folder)).Should().Throw<ChromaReadOnlyException>()
                .Which.Message.Should().Contain("ReadOnly = true");

            using (var store = ChromaStore.Open(folder, ReadOnly))
            {
                var collection = store.GetClient(admin).GetCollection("docs");
                collection.Count().Should().Be(20);
                collection.Query([[7f, 1, 0]], nResults: 1).Ids[0].Should().Equal("r7");
                collection.Invoking(c => c.Add(["x"], [[1f, 1, 1]])).Should().Throw<ChromaReadOnlyException>();
            }

            SqliteConnection.ClearAllPools();
        }
        finally
        {
            mount.RemountReadWrite();
        }
    }
}
