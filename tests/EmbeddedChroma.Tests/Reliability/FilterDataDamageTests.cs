using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// The filter rows (<c>record_meta</c>) and the FTS5 document index are derived from the checksummed records. Damaged,
/// they never change an answer: a <c>where</c> is answered by the in-memory filter index, itself derived from the records
/// (or its checksummed file), so damaged filter rows are not read at all; when filters run in SQL (the index disabled or
/// over budget), before a collection's first filtered read of an open the rows are compared with the records and rebuilt
/// (with a warning) when they differ; a record a damaged row still leads a read to is refused by the read's own check on
/// its verified fields (<see cref="ChromaCorruptStoreException"/> naming it); a read-only store reports the damage;
/// <see cref="ChromaClient.VerifyIntegrity"/> checks and rebuilds all of it.
/// </summary>
public sealed class FilterDataDamageTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private StoreFixture _fx;

    public FilterDataDamageTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private ChromaStoreOptions SqlFilterOptions(bool readOnly = false) => new() { Logger = _log, FilterIndexMemoryBudget = 0, ReadOnly = readOnly };

    /// <summary>Starts over with a store whose <c>where</c> filters run in SQL on the filter rows (no in-memory index).</summary>
    private void UseSqlFilters()
    {
        _fx.Dispose();
        _fx = new StoreFixture(SqlFilterOptions());
    }

    private static readonly string[] News = ["a", "c", "e"];

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
        // The documents into the FTS5 index now (the store indexes them after the batch, when writes pause): the tests
        // damage the index's entries.
        collection.BuildIndex();
        return collection;
    }

    /// <summary>
    /// Populates the collection and has its filter rows derived into SQLite, as a store does for a read that must filter
    /// in SQL (opened once without the in-memory index), then opens it again with the test's options: a collection
    /// created with the index enabled keeps no filter rows until then, and keeps them from then on.
    /// </summary>
    private void PopulateWithKeptRows()
    {
        Populate();
        var options = _fx.Options;
        _fx.Options = SqlFilterOptions();
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        _fx.Options = options;
        _fx.Reopen();
    }

    private static string Rid(string id) => $"(SELECT rid FROM records WHERE id = '{id}')";

    /// <summary>Runs <paramref name="sql"/> on the database file from another connection (the store may be open: WAL mode).</summary>
    private void Edit(string sql) => StoreDatabase.Execute(_fx.Folder, sql);

    private void EditClosed(string sql)
    {
        _fx.Close();
        SqliteConnection.ClearAllPools();
        Edit(sql);
    }

    /// <summary>Record a (news) loses its genre row's value, record b (science) gets news: a filter on genre would miss a and include b.</summary>
    private static readonly string DamageGenreRows =
        $"UPDATE record_meta SET s = 'other' WHERE key = 'genre' AND rid = {Rid("a")}; UPDATE record_meta SET s = 'news' WHERE key = 'genre' AND rid = {Rid("b")};";

    private List<CapturingLogger.Entry> Warnings(int eventId) => _log.Entries.Where(e => e.Level >= LogLevel.Warning && e.EventId.Id == eventId).ToList();

    [Fact]
    public void Get_Query_and_Delete_answer_from_the_records_without_reading_the_filter_rows_when_they_were_damaged_while_closed()
    {
        PopulateWithKeptRows();
        EditClosed(DamageGenreRows);
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("docs");

        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        collection.Query([[0f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(News);
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().Equal("b", "d", "f");
        collection.Delete(where: Where.Eq("genre", "news")).Should().Be(3);
        collection.Get(include: Include.None).Ids.Should().Equal("b", "d", "f");
        Warnings(30).Should().BeEmpty("the in-memory filter index answers where; the damaged rows were not needed");

        _fx.Client.VerifyIntegrity();
        Warnings(30).Should().ContainSingle("VerifyIntegrity checks the rows and rebuilds them");
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(where: Where.Eq("genre", "science"), include: Include.None).Ids.Should().Equal("b", "d", "f");
    }

    [Fact]
    public void Get_Query_and_Delete_answer_from_the_records_and_log_one_rebuild_when_filter_rows_were_damaged_while_closed_and_filters_run_in_sql()
    {
        UseSqlFilters();
        Populate();
        EditClosed(DamageGenreRows);
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("docs");

        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        collection.Query([[0f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(News);
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().Equal("b", "d", "f");

        var warning = Warnings(30).Should().ContainSingle().Subject;
        warning.Message.Should().Contain("docs").And.Contain("2 record(s)").And.Contain("rebuilt");
        warning.Message.Should().NotContain(_fx.AdminKey);

        collection.Delete(where: Where.Eq("genre", "news")).Should().Be(3);
        collection.Get(include: Include.None).Ids.Should().Equal("b", "d", "f");
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(where: Where.Eq("genre", "science"), include: Include.None).Ids.Should().Equal("b", "d", "f");
        Warnings(30).Should().HaveCount(1, "the rebuilt rows were kept");
    }

    [Fact]
    public void Get_and_Delete_throw_corrupt_store_naming_the_record_when_a_filter_row_is_damaged_while_open_then_the_next_read_rebuilds()
    {
        UseSqlFilters();
        var collection = Populate();
        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News); // rows verified for this open
        Edit(DamageGenreRows);

        var get = () => collection.Get(where: Where.Eq("genre", "news"));
        get.Should().Throw<ChromaCorruptStoreException>()
            .Which.Message.Should().Contain("'docs'").And.Contain("'b'").And.Contain("filter rows").And.Contain("intact").And.NotContain("backup");

        // The next filtered read checks the rows again and rebuilds them.
        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        Warnings(30).Should().ContainSingle();

        Edit(DamageGenreRows);
        var delete = () => collection.Delete(where: Where.Eq("genre", "news"));
        delete.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'b'");
        collection.Count().Should().Be(6, "a refused delete deletes nothing");
        collection.Delete(where: Where.Eq("genre", "news")).Should().Be(3);
        collection.Get(include: Include.None).Ids.Should().Equal("b", "d", "f");
    }

    [Fact]
    public void Query_and_Get_answer_from_the_records_when_a_filter_row_is_damaged_while_open()
    {
        PopulateWithKeptRows();
        var collection = _fx.Client.GetCollection("docs");
        Edit(DamageGenreRows);

        collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(News);
        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        collection.Delete(where: Where.Eq("genre", "science")).Should().Be(3);
        collection.Get(include: Include.None).Ids.Should().Equal(News);
    }

    [Fact]
    public void Query_throws_corrupt_store_naming_the_record_when_a_filter_row_is_damaged_while_open_and_filters_run_in_sql()
    {
        UseSqlFilters();
        var collection = Populate();
        collection.Get(where: Where.Eq("genre", "news"), include: Include.None); // rows verified for this open
        Edit($"UPDATE record_meta SET s = 'news' WHERE key = 'genre' AND rid = {Rid("b")}");

        var query = () => collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None);
        query.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'docs'").And.Contain("'b'");
        collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(News);
    }

    [Fact]
    public void Query_throws_corrupt_store_when_a_filter_row_is_damaged_while_open_even_for_a_record_an_earlier_filtered_query_returned()
    {
        UseSqlFilters();
        var collection = Populate();
        collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "science"), include: Include.None).Ids[0].Should().BeEquivalentTo(["b", "d", "f"]);
        Edit($"UPDATE record_meta SET s = 'news' WHERE key = 'genre' AND rid = {Rid("b")}");

        // b's row was read (and kept) by the first query; the damaged filter row leads the next one to it, and its
        // kept metadata (science) is checked again against the filter.
        var query = () => collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None);
        query.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'docs'").And.Contain("'b'");
        collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Eq("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(News);
    }

    [Fact]
    public void Get_with_where_document_finds_a_record_the_document_index_lost_and_logs_a_rebuild()
    {
        Populate();
        EditClosed($"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three')");
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("docs");

        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        collection.Get(whereDocument: WhereDocument.NotContains("gamma"), include: Include.None).Ids.Should().Equal("a", "b", "d", "e", "f");
        Warnings(31).Should().ContainSingle().Which.Message.Should().Contain("document index").And.Contain("rebuilt");
    }

    [Fact]
    public void Filtered_reads_answer_from_the_records_when_a_read_only_store_has_damaged_filter_rows()
    {
        PopulateWithKeptRows();
        EditClosed(DamageGenreRows);
        using var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log });
        var collection = store.GetClient(_fx.AdminKey).GetCollection("docs");

        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().Equal(News);
        collection.Query([[1f, 1f, 0f]], nResults: 6, where: Where.Ne("genre", "news"), include: Include.None).Ids[0].Should().BeEquivalentTo(["b", "d", "f"]);
        var verify = () => store.GetClient(_fx.AdminKey).VerifyIntegrity();
        verify.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("reads only");
    }

    [Fact]
    public void Filtered_read_throws_corrupt_store_saying_to_open_writable_when_a_read_only_store_has_damaged_filter_rows_and_filters_run_in_sql()
    {
        PopulateWithKeptRows();
        EditClosed(DamageGenreRows);
        using var store = ChromaStore.Open(_fx.Folder, SqlFilterOptions(readOnly: true));
        var collection = store.GetClient(_fx.AdminKey).GetCollection("docs");

        collection.Get(include: Include.None).Ids.Should().HaveCount(6, "unfiltered reads do not use the filter rows");
        var get = () => collection.Get(where: Where.Eq("genre", "news"));
        get.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'docs'").And.Contain("reads only").And.Contain("'a'");
        var verify = () => store.GetClient(_fx.AdminKey).VerifyIntegrity();
        verify.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("reads only");
    }

    [Fact]
    public void Get_with_where_document_answers_from_the_documents_when_a_read_only_store_cannot_check_its_document_index()
    {
        Populate();
        EditClosed($"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three')");
        using var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true, Logger = _log });
        var collection = store.GetClient(_fx.AdminKey).GetCollection("docs");

        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        collection.Query([[2f, 1f, 0f]], nResults: 1, whereDocument: WhereDocument.Contains("three"), include: Include.None).Ids[0].Should().Equal("c");
        collection.Get(whereDocument: WhereDocument.NotContains("gamma"), include: Include.None).Ids.Should().Equal("a", "b", "d", "e", "f");
    }

    [Fact]
    public void VerifyIntegrity_rebuilds_damaged_filter_rows_and_document_index_with_warnings_then_finds_nothing()
    {
        PopulateWithKeptRows();
        EditClosed(DamageGenreRows + $"INSERT INTO documents_fts(documents_fts, rowid, document) VALUES ('delete', {Rid("c")}, 'gamma three');");
        _fx.Reopen();

        _fx.Client.VerifyIntegrity();
        Warnings(30).Should().ContainSingle().Which.Message.Should().Contain("docs");
        Warnings(31).Should().ContainSingle();

        var collection = _fx.Client.GetCollection("docs");
        collection.Get(where: Where.Eq("genre", "news"), whereDocument: WhereDocument.Contains("e"), include: Include.None).Ids.Should().Equal("a", "c", "e");
        collection.Get(whereDocument: WhereDocument.Contains("gamma"), include: Include.None).Ids.Should().Equal("c");
        _fx.Client.VerifyIntegrity();
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().HaveCount(2, "the second check found nothing");
    }

    [Fact]
    public void Sound_store_logs_nothing_when_filtered_reads_check_its_filter_data()
    {
        var collection = Populate();
        _fx.Reopen();
        collection = _fx.Client.GetCollection("docs");
        collection.Get(where: Where.And(Where.Gte("year", 2002L), Where.Contains("tags", "x")), whereDocument: WhereDocument.Contains("o"), include: Include.None)
            .Ids.Should().Equal("d", "e");
        collection.Query([[5f, 1f, 0f]], nResults: 2, where: Where.In("genre", ["news", "none"]), whereDocument: WhereDocument.Regex("^e"), include: Include.None)
            .Ids[0].Should().Equal("e");
        _fx.Client.VerifyIntegrity();
        _log.Entries.Where(e => e.Level >= LogLevel.Warning).Should().BeEmpty();
    }
}
