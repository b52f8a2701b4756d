using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// The FTS5 document index is checked in full (FTS5's <c>integrity-check</c>, seconds per 100,000 documents) only when
/// nothing vouches for it: a check that passed, or an open that kept it in step with its own writes, is remembered in the
/// database with the store's last write and a digest of the index's tables, so a clean reopen skips the check — while an
/// index changed behind the store's back (a different digest) or a store written after the stamp is checked again, and a
/// damaged index still never gives a silent wrong answer.
/// </summary>
public sealed class DocumentIndexStampTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;

    public DocumentIndexStampTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private string DatabaseFile => Path.Combine(_fx.Folder, "chroma.sqlite3");

    private Collection Populate()
    {
        var collection = _fx.CreateCollection("docs");
        string[] ids = ["a", "b", "c", "d", "e", "f"];
        collection.Add(
            ids,
            ids.Select((_, i) => new[] { (float)i, 1f, 0f }).ToArray(),
            documents: ["alpha one", "beta two", "gamma three", "delta four", "epsilon five", "zeta six"]);
        // The documents into the FTS5 index now (the store indexes them after the batch, when writes pause): the tests
        // damage the index's entries.
        collection.BuildIndex();
        return collection;
    }

    private void EditClosed(string sql)
    {
        _fx.Close();
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string Rid(string id) => $"(SELECT rid FROM records WHERE id = '{id}')";

    private List<CapturingLogger.Entry> Warnings(int eventId) => _log.Entries.Where(e => e.Level >= LogLevel.Warning && e.EventId.Id == eventId).ToList();

    private int FullChecks => _fx.Store.Db.DocumentIndexFullChecks;

    [Fact]
    public void First_where_document_read_skips_the_full_check_when_the_store_reopens_after_a_session_that_kept_its_index_in_step()
    {
        Populate();
        _fx.Reopen();

        var collection = _fx.Client.GetCollection("docs");
        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        collection.Get(whereDocument: WhereDocument.NotContains("e"), include: Include.None).Ids.Should().BeEmpty();
        FullChecks.Should().Be(0, "the creating session's writes kept the index in step and its close stamped it");

        collection.Add(["g"], [[6f, 1f, 0f]], documents: ["eta seven"]);
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(whereDocument: WhereDocument.Contains("seven"), include: Include.None).Ids.Should().Equal("g");
        FullChecks.Should().Be(0, "the session trusted the index, so its close stamped it again after its write");
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
    }

    [Fact]
    public void Get_with_where_document_finds_a_record_the_stamped_document_index_lost_while_closed_and_logs_a_rebuild()
    {
        Populate();
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        FullChecks.Should().Be(0);

        // The stamp still names the last write: only the digest of the index can tell.
        EditClosed($"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three')");
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("docs");

        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        collection.Query([[2f, 1f, 0f]], nResults: 1, whereDocument: WhereDocument.Contains("three"), include: Include.None).Ids[0].Should().Equal("c");
        collection.Get(whereDocument: WhereDocument.NotContains("gamma"), include: Include.None).Ids.Should().Equal("a", "b", "d", "e", "f");
        FullChecks.Should().Be(1);
        Warnings(31).Should().ContainSingle().Which.Message.Should().Contain("document index").And.Contain("rebuilt");

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        FullChecks.Should().Be(0, "the rebuilt index was stamped");
        Warnings(31).Should().HaveCount(1);
    }

    [Fact]
    public void First_where_document_read_runs_the_full_check_when_the_store_was_written_after_its_stamp_by_a_session_that_ended_without_closing()
    {
        Populate();
        _fx.Reopen();
        // This session writes without reading by document, and ends without a close (as a killed process): its writes
        // are after the stamp, and no close stamped the index again.
        _fx.Client.GetCollection("docs").Add(["g"], [[6f, 1f, 0f]], documents: ["eta seven"]);
        using var copy = new TempStoreFolder("ec-fts-stamp");
        CopyAsKilled(_fx.Folder, copy.Path);
        using (var store = ChromaStore.Open(copy.Path, new ChromaStoreOptions { Logger = _log }))
        {
            store.GetClient(_fx.AdminKey).GetCollection("docs").Get(whereDocument: WhereDocument.Contains("seven"), include: Include.None).Ids.Should().Equal("g");
            store.Db.DocumentIndexFullChecks.Should().Be(1);
        }

        _log.Entries.Where(e => e.Level >= LogLevel.Warning && e.EventId.Id == 31).Should().BeEmpty();
    }

    [Fact]
    public void First_where_document_read_skips_the_full_check_after_a_session_that_only_wrote_to_a_stamped_index()
    {
        Populate();
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Add(["g"], [[6f, 1f, 0f]], documents: ["eta seven"]);
        _fx.Reopen();

        _fx.Client.GetCollection("docs").Get(whereDocument: WhereDocument.Contains("seven"), include: Include.None).Ids.Should().Equal("g");
        FullChecks.Should().Be(0, "the writing session compared the index with its stamp before its first write, and its close stamped it again");
    }

    [Fact]
    public void Get_with_where_document_finds_a_record_the_index_lost_while_closed_when_the_next_session_only_wrote_before_closing()
    {
        Populate();
        EditClosed($"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three')");
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Add(["g"], [[6f, 1f, 0f]], documents: ["eta seven"]);
        _fx.Reopen();

        var collection = _fx.Client.GetCollection("docs");
        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        collection.Get(whereDocument: WhereDocument.Contains("seven"), include: Include.None).Ids.Should().Equal("g");
        FullChecks.Should().Be(1, "the damaged index no longer matched its stamp, so the writing session's close could not vouch for it");
        Warnings(31).Should().ContainSingle();
    }

    [Fact]
    public void Read_only_store_answers_where_document_from_a_stamped_document_index_and_from_the_documents_when_it_was_changed()
    {
        Populate();
        _fx.Close();
        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log }))
        {
            var collection = store.GetClient(_fx.AdminKey).GetCollection("docs");
            collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
            store.Catalog.All.Single(c => c.Name == "docs").State.ScanDocuments.Should().BeFalse("the stamp vouches for the index");
        }

        EditClosed($"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three')");
        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log }))
        {
            var collection = store.GetClient(_fx.AdminKey).GetCollection("docs");
            collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
            collection.Get(whereDocument: WhereDocument.NotContains("gamma"), include: Include.None).Ids.Should().Equal("a", "b", "d", "e", "f");
            store.Catalog.All.Single(c => c.Name == "docs").State.ScanDocuments.Should().BeTrue("the index no longer matches its stamp");
        }
    }

    private static void CopyAsKilled(string from, string to)
    {
        // As a killed process leaves the folder (the lock and the mapped arena left out: the open rebuilds what it needs).
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("chroma.lock", StringComparison.Ordinal) && !f.EndsWith(".vec", StringComparison.Ordinal)))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
