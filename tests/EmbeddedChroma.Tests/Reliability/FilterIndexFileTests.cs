using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// The saved in-memory filter index (<c>vectors/&lt;collection&gt;.flt</c>): written on close, used by the next open as it
/// is when intact and stamped with the collection's last write, and otherwise (stale after writes of a session that
/// ended before saving it, damaged, missing) discarded with a warning and built again from the checksummed records —
/// never trusted. Read-only opens use a valid file and never write one.
/// </summary>
public sealed class FilterIndexFileTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;

    public FilterIndexFileTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private static readonly Where News = Where.Eq("genre", "news");

    private string FilterIndexFile(Collection collection) => Path.Combine(_fx.Folder, "vectors", collection.Id.ToString("N") + ".flt");

    private List<CapturingLogger.Entry> Warnings(int eventId) => _log.Entries.Where(e => e.Level >= LogLevel.Warning && e.EventId.Id == eventId).ToList();

    private Collection Populate()
    {
        var collection = _fx.CreateCollection("docs");
        string[] ids = ["a", "b", "c", "d", "e", "f"];
        collection.Add(
            ids,
            ids.Select((_, i) => new[] { (float)i, 1f, 0f }).ToArray(),
            ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(
                ("genre", i % 2 == 0 ? "news" : "science"), ("year", 2000L + i), ("tags", new[] { "t" + (i % 3), "x" }))).ToArray(),
            ["alpha one", "beta two", "gamma three", "delta four", "epsilon five", "zeta six"]);
        collection.Query([[0f, 1f, 0f]], nResults: 6, where: News, include: Include.None).Ids[0].Should().BeEquivalentTo(["a", "c", "e"]);
        return collection;
    }

    private Collection Reopen()
    {
        _fx.Reopen();
        return _fx.Client.GetCollection("docs");
    }

    [Fact]
    public void Reopen_answers_filtered_reads_from_the_saved_filter_index_when_it_covers_the_last_write()
    {
        var collection = Populate();
        _fx.Close();
        File.Exists(FilterIndexFile(collection)).Should().BeTrue("closing saves the filter index beside the arena");

        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "c", "e");
        collection.FilterIndexMatchesFile.Should().BeTrue("the saved index was loaded, not built again");
        collection.Query([[5f, 1f, 0f]], nResults: 2, where: Where.And(Where.Gte("year", 2002L), Where.Contains("tags", "t1")), include: Include.None)
            .Ids[0].Should().Equal("e");
        collection.Delete(where: Where.Eq("genre", "science")).Should().Be(3);
        collection.FilterIndexMatchesFile.Should().BeFalse("a write changed the index");
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().BeEmpty();
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();

        collection = Reopen();
        collection.Get(where: Where.Lt("year", 2003L), include: Include.None).Ids.Should().Equal("a", "c");
        collection.FilterIndexMatchesFile.Should().BeTrue("the close after the delete saved the index again");

        _fx.Client.DeleteCollection("docs");
        File.Exists(FilterIndexFile(collection)).Should().BeFalse("a deleted collection's derived files go with it");
    }

    [Fact]
    public void Writes_of_a_session_without_filtered_reads_keep_the_saved_filter_index_current_for_the_next_open()
    {
        var collection = Populate();
        collection = Reopen();
        collection.Add(["g"], [[6f, 1f, 0f]], [StoreFixture.Meta(("genre", "news"), ("tags", new[] { "t2" }))]);
        collection.Update(ids: ["a"], metadatas: [StoreFixture.Meta(("genre", "science"))]);
        collection.Delete(ids: ["c"]);

        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("e", "g");
        collection.Get(where: Where.Contains("tags", "t2"), include: Include.None).Ids.Should().Equal("f", "g");
        collection.FilterIndexMatchesFile.Should().BeTrue("the writing session loaded the saved index, kept it in step and saved it on close");
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
    }

    [Fact]
    public void Reopen_rebuilds_the_filter_index_from_the_records_when_its_file_predates_writes_of_a_session_that_ended_before_saving_it()
    {
        var collection = Populate();
        _fx.Close();
        var path = FilterIndexFile(collection);
        var before = File.ReadAllBytes(path);

        // A session writes (committed in SQLite) and is killed before its close saves the index: the old file stays.
        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "c", "e");
        collection.FilterIndexMatchesFile.Should().BeTrue();
        collection.Update(ids: ["b"], metadatas: [StoreFixture.Meta(("genre", "news"))]);
        collection.Delete(ids: ["c"]);
        collection.Add(["g"], [[6f, 1f, 0f]], [StoreFixture.Meta(("genre", "news"), ("year", 1999L))]);
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "b", "e", "g");
        _fx.Close();
        File.WriteAllBytes(path, before);

        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "b", "e", "g");
        collection.FilterIndexMatchesFile.Should().BeFalse("a stale file is never used");
        collection.Query([[0f, 1f, 0f]], nResults: 10, where: Where.Lt("year", 2001L), include: Include.None).Ids[0].Should().BeEquivalentTo(["a", "g"]);
        collection.Delete(where: Where.Eq("genre", "science")).Should().Be(2);
        Warnings(40).Should().ContainSingle().Which.Message.Should().Contain("docs").And.Contain("covers another write").And.NotContain(_fx.AdminKey);

        collection = Reopen();
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().BeEmpty();
        collection.FilterIndexMatchesFile.Should().BeTrue("the rebuilt index was saved on close");
        Warnings(40).Should().HaveCount(1);
    }

    [Theory]
    [InlineData(20, 4)] // the stamp, in the header
    [InlineData(-3, 2)] // the last bytes of the body
    [InlineData(140, 1)] // the first key's name, in the body
    public void Filtered_reads_answer_from_the_records_and_log_a_rebuild_when_the_saved_filter_index_is_damaged(int offset, int length)
    {
        var collection = Populate();
        _fx.Close();
        var path = FilterIndexFile(collection);
        var bytes = File.ReadAllBytes(path);
        var at = offset < 0 ? bytes.Length + offset : offset;
        for (var i = at; i < at + length; i++)
        {
            bytes[i] ^= 0x5A;
        }

        File.WriteAllBytes(path, bytes);

        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "c", "e");
        collection.Query([[0f, 1f, 0f]], nResults: 6, where: Where.Contains("tags", "t2"), include: Include.None).Ids[0].Should().BeEquivalentTo(["c", "f"]);
        collection.FilterIndexMatchesFile.Should().BeFalse();
        Warnings(40).Should().ContainSingle().Which.Message.Should().Contain("docs");

        collection = Reopen();
        collection.Get(where: News, include: Include.None).Ids.Should().Equal("a", "c", "e");
        collection.FilterIndexMatchesFile.Should().BeTrue("the rebuilt index replaced the damaged file on close");
    }

    [Fact]
    public void Filtered_reads_after_a_compaction_rebuild_the_index_over_the_new_slots_without_a_warning()
    {
        var collection = Populate();
        collection.Delete(ids: ["a", "b"]);
        collection = Reopen();
        collection.Compact().RecordsMoved.Should().BeGreaterThan(0);

        collection.Get(where: News, include: Include.None).Ids.Should().Equal("c", "e");
        collection.Query([[0f, 1f, 0f]], nResults: 6, where: Where.Contains("tags", "t2"), include: Include.None).Ids[0].Should().BeEquivalentTo(["c", "f"]);
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty("the saved file describes the slots before the compaction: not read, not warned about");

        collection = Reopen();
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().Equal("d", "f");
        collection.FilterIndexMatchesFile.Should().BeTrue();
    }

    [Fact]
    public void Read_only_store_uses_a_valid_saved_filter_index_builds_a_stale_one_again_and_never_writes_the_file()
    {
        var collection = Populate();
        _fx.Close();
        var path = FilterIndexFile(collection);
        var saved = File.ReadAllBytes(path);

        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log }))
        {
            var readOnly = store.GetClient(_fx.AdminKey).GetCollection("docs");
            readOnly.Get(where: News, include: Include.None).Ids.Should().Equal("a", "c", "e");
            readOnly.FilterIndexMatchesFile.Should().BeTrue();
        }

        // Writes after the file was saved (a session killed before its close), then read-only opens.
        collection = Reopen();
        collection.Delete(ids: ["a"]);
        _fx.Close();
        File.WriteAllBytes(path, saved);
        SqliteConnection.ClearAllPools();
        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log }))
        {
            var readOnly = store.GetClient(_fx.AdminKey).GetCollection("docs");
            readOnly.Get(where: News, include: Include.None).Ids.Should().Equal("c", "e");
            readOnly.Query([[0f, 1f, 0f]], nResults: 6, where: Where.Gte("year", 2000L), include: Include.None).Ids[0].Should().HaveCount(5);
            readOnly.FilterIndexMatchesFile.Should().BeFalse();
        }

        File.ReadAllBytes(path).Should().Equal(saved, "a read-only open never writes the store's files");
        Warnings(40).Should().ContainSingle();
    }
}
