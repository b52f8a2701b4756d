using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// An immutable store file or folder (<c>chattr +i</c> on a real ext4 file system, loop-mounted; root only) is reported as
/// what it is — read-only, naming <see cref="ChromaStoreOptions.ReadOnly"/> — never as "in use by another process" or
/// "corrupt"; opened with <see cref="ChromaStoreOptions.ReadOnly"/> the store answers reads and refuses writes.
/// </summary>
public sealed class ImmutableFileTests
{
    private static readonly ChromaStoreOptions ReadOnly = new() { ReadOnly = true };

    public static TheoryData<string> ImmutablePaths => new("chroma.sqlite3", "chroma.lock", "keyring.sqlite3", ".");

    [RootTheory]
    [MemberData(nameof(ImmutablePaths))]
    public void Open_throws_read_only_naming_the_option_and_opens_with_ReadOnly_when_a_store_file_is_immutable(string immutable)
    {
        using var mount = new Ext4LoopMount(sizeMiB: 16);
        var folder = Path.Combine(mount.Path, "store");
        string key;
        using (var store = ChromaStore.Create(folder, out key))
        {
            var collection = store.GetClient(key).CreateCollection("docs");
            collection.Add(
                Enumerable.Range(0, 20).Select(i => "r" + i).ToArray(),
                Enumerable.Range(0, 20).Select(i => new[] { (float)i, 1f, 0f }).ToArray(),
                Enumerable.Range(0, 20).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("even", i % 2 == 0))).ToArray(),
                Enumerable.Range(0, 20).Select(i => (string?)$"document {i}").ToArray());
        }

        SqliteConnection.ClearAllPools();
        Ext4LoopMount.SetImmutable(Path.Combine(folder, immutable), immutable: true);

        var open = () => ChromaStore.Open(folder);
        var refused = open.Should().Throw<ChromaReadOnlyException>().Which;
        refused.Message.Should().Contain("ReadOnly = true").And.NotContain("another process").And.NotContain("corrupt");
        SqliteConnection.ClearAllPools();

        using (var store = ChromaStore.Open(folder, ReadOnly))
        {
            var collection = store.GetClient(key).GetCollection("docs");
            collection.Count().Should().Be(20);
            collection.Query([[7f, 1f, 0f]], nResults: 1).Ids[0].Should().Equal("r7");
            collection.Get(where: Where.Eq("even", true), whereDocument: WhereDocument.Contains("document 1"), include: Include.None).Ids
                .Should().Equal("r10", "r12", "r14", "r16", "r18");
            collection.Invoking(c => c.Add(["x"], [[1f, 1f, 1f]])).Should().Throw<ChromaReadOnlyException>();
        }

        SqliteConnection.ClearAllPools();
    }
}
