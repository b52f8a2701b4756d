using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// A collection created while the in-memory filter index is enabled keeps no filter rows (<c>record_meta</c>) in SQLite:
/// its writes skip them, and its <c>where</c> is answered by the index, derived from the records. When a read must filter
/// in SQL (index disabled or over budget), the rows are derived from the verified records in one write transaction and
/// kept from then on; a store that cannot write derives them inside each such read. Every answer stays exact.
/// </summary>
public sealed class FilterRowsKeptTests : IDisposable
{
    private static readonly string[] Genres = ["news", "science", "sport"];

    private readonly StoreFixture _fx = new();

    /// <summary>What the test wrote: id → (genre, year, tags), to compute every expected answer.</summary>
    private readonly SortedDictionary<string, (string Genre, long Year, string[] Tags)> _records = new(StringComparer.Ordinal);

    public void Dispose() => _fx.Dispose();

    private static ChromaStoreOptions SqlFilters(bool readOnly = false) => new() { FilterIndexMemoryBudget = 0, ReadOnly = readOnly };

    private static IReadOnlyDictionary<string, MetadataValue?> Meta((string Genre, long Year, string[] Tags) value) =>
        StoreFixture.Meta(("genre", value.Genre), ("year", value.Year), ("tags", value.Tags));

    private static (string, long, string[]) Describe(int i) => (Genres[i % 3], 1990L + (i * 7 % 30), ["t" + (i % 4), "all"]);

    private static float[] Vector(int i) => [i % 10, i / 10f, 1f];

    /// <summary>Adds records <paramref name="from"/>..<paramref name="to"/> (exclusive) with metadata and documents.</summary>
    private void AddRecords(Collection collection, int from, int to)
    {
        var ids = Enumerable.Range(from, to - from).Select(i => $"r{i:D3}").ToArray();
        var values = Enumerable.Range(from, to - from).Select(Describe).ToArray();
        collection.Add(ids, Enumerable.Range(from, to - from).Select(Vector).ToArray(), values.Select(v => (IReadOnlyDictionary<string, MetadataValue?>?)Meta(v)).ToArray(), ids.Select(id => "document of " + id).ToArray());
        for (var i = 0; i < ids.Length; i++)
        {
            _records[ids[i]] = values[i];
        }
    }

    /// <summary>Updates, upserts and deletes some records, keeping <see cref="_records"/> in step.</summary>
    private void Rewrite(Collection collection)
    {
        collection.Update(["r003", "r004"], metadatas: [Meta(("sport", 2025L, ["new"])), Meta(("news", 1991L, ["t1"]))]);
        _records["r003"] = ("sport", 2025L, ["new"]);
        _records["r004"] = ("news", 1991L, ["t1"]);
        collection.Upsert(["r005", "u001"], [Vector(5), Vector(77)], [Meta(("science", 2001L, ["all"])), Meta(("news", 2024L, ["fresh"]))]);
        _records["r005"] = ("science", 2001L, ["all"]);
        _records["u001"] = ("news", 2024L, ["fresh"]);
        collection.Delete(["r006", "r007"]);
        _records.Remove("r006");
        _records.Remove("r007");
    }

    private long ExpectedRowCount => _records.Values.Sum(v => 2L + v.Tags.Length);

    private long FilterRowCount() => (long)StoreDatabase.Scalar(_fx.Folder, "SELECT count(*) FROM record_meta")!;

    private void Tamper(string sql) => StoreDatabase.Execute(_fx.Folder, sql);

    /// <summary>Every filter shape the SQL and the index translate differently is compared with the records the test wrote.</summary>
    private void ShouldAnswerExactly(Collection collection)
    {
        string[] Expected(Func<(string Genre, long Year, string[] Tags), bool> match) => _records.Where(p => match(p.Value)).Select(p => p.Key).ToArray();

        collection.Get(where: Where.Eq("genre", "news"), include: Include.None).Ids.Should().BeEquivalentTo(Expected(v => v.Genre == "news"));
        collection.Get(where: Where.Ne("genre", "news"), include: Include.None).Ids.Should().BeEquivalentTo(Expected(v => v.Genre != "news"));
        collection.Get(where: Where.And(Where.Gte("year", 2000L), Where.Lt("year", 2010L)), include: Include.None).Ids
            .Should().BeEquivalentTo(Expected(v => v.Year is >= 2000 and < 2010));
        collection.Get(where: Where.Contains("tags", "t1"), include: Include.None).Ids.Should().BeEquivalentTo(Expected(v => v.Tags.Contains("t1")));
        collection.Get(where: Where.Or(Where.In("genre", ["sport"]), Where.Eq("year", 2024L)), include: Include.None).Ids
            .Should().BeEquivalentTo(Expected(v => v.Genre == "sport" || v.Year == 2024));
        var science = Expected(v => v.Genre == "science");
        collection.Query([[1f, 1f, 1f]], nResults: 200, where: Where.Eq("genre", "science"), include: Include.None).Ids[0].Should().BeEquivalentTo(science);
    }

    private bool FilterRowMark() => (long)StoreDatabase.Scalar(_fx.Folder, "SELECT count(*) FROM store_meta WHERE key LIKE 'filter_rows:%'")! > 0;

    /// <summary>
    /// A collection that keeps its filter rows, as every collection of a store written before they were derived did:
    /// created while the in-memory filter index is disabled, holding records 0..<paramref name="count"/>, then the store
    /// reopened with <paramref name="options"/> (default: the index enabled).
    /// </summary>
    private Collection CollectionKeepingRows(int count, ChromaStoreOptions? options = null)
    {
        _fx.Options = SqlFilters();
        _fx.Reopen();
        AddRecords(_fx.CreateCollection("docs"), 0, count);
        _fx.Options = options;
        _fx.Reopen();
        FilterRowCount().Should().Be(count * 4L);
        FilterRowMark().Should().BeFalse();
        return _fx.Client.GetCollection("docs");
    }

    /// <summary>Cancels its token at the report numbered <paramref name="cancelAt"/> (0: the first).</summary>
    private sealed class CancelAt(int cancelAt) : IProgress<ChromaProgress>
    {
        private int _reports;

        public CancellationTokenSource Cancel { get; } = new();

        public void Report(ChromaProgress value)
        {
            if (_reports++ == cancelAt)
            {
                Cancel.Cancel();
            }
        }
    }

    [Fact]
    public void Compact_drops_the_filter_rows_of_a_collection_that_keeps_them_when_the_in_memory_filter_index_answers_where()
    {
        var collection = CollectionKeepingRows(60);
        Rewrite(collection);
        FilterRowCount().Should().Be(ExpectedRowCount, "the collection keeps its rows until it is compacted");
        ShouldAnswerExactly(collection);

        collection.Compact().RecordsMoved.Should().BeGreaterThan(0);

        FilterRowCount().Should().Be(0);
        FilterRowMark().Should().BeTrue("the mark is set with the rows' deletion");
        ShouldAnswerExactly(collection);
        AddRecords(collection, 60, 70);
        collection.Update(["r010"], metadatas: [Meta(("sport", 1999L, ["t3"]))]);
        _records["r010"] = ("sport", 1999L, ["t3"]);
        FilterRowCount().Should().Be(0, "later batches skip the rows");
        ShouldAnswerExactly(collection);

        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
        FilterRowCount().Should().Be(0);
        _fx.Client.VerifyIntegrity().Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows).State.Should().Be(ChromaDerivedState.Absent);

        // Filtering in SQL later (index disabled) derives them again from the records.
        _fx.Options = SqlFilters();
        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
        FilterRowCount().Should().Be(ExpectedRowCount);
        FilterRowMark().Should().BeFalse();
    }

    [Fact]
    public void Compact_drops_the_filter_rows_when_the_collection_has_no_freed_slot_and_a_read_only_store_keeps_them()
    {
        CollectionKeepingRows(40);
        _fx.Close();
        SqliteConnection.ClearAllPools();
        using (var store = ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true }))
        {
            var readOnly = store.GetClient(_fx.AdminKey).GetCollection("docs");
            readOnly.Invoking(c => c.Compact()).Should().Throw<ChromaReadOnlyException>();
            ShouldAnswerExactly(readOnly);
        }

        SqliteConnection.ClearAllPools();
        FilterRowCount().Should().Be(40 * 4, "a store opened read-only never changes");
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("docs");

        collection.Compact().RecordsMoved.Should().Be(0);

        FilterRowCount().Should().Be(0);
        FilterRowMark().Should().BeTrue();
        ShouldAnswerExactly(collection);
        AddRecords(collection, 40, 45);
        FilterRowCount().Should().Be(0);
        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
    }

    [Fact]
    public void Compact_cancelled_before_its_commit_keeps_the_filter_rows_and_the_next_compaction_drops_them()
    {
        var collection = CollectionKeepingRows(60);
        Rewrite(collection);
        var progress = new CancelAt(30); // while the vectors are copied, after the slots moved in the transaction

        collection.Invoking(c => c.Compact(progress, progress.Cancel.Token)).Should().Throw<OperationCanceledException>();

        FilterRowCount().Should().Be(ExpectedRowCount);
        FilterRowMark().Should().BeFalse();
        AddRecords(collection, 60, 65);
        FilterRowCount().Should().Be(ExpectedRowCount, "batches keep the rows as before");
        ShouldAnswerExactly(collection);
        _fx.Reopen();
        collection = _fx.Client.GetCollection("docs");
        FilterRowCount().Should().Be(ExpectedRowCount);

        collection.Compact();

        FilterRowCount().Should().Be(0);
        ShouldAnswerExactly(collection);
    }

    [Fact]
    public void Compact_keeps_the_filter_rows_while_the_in_memory_filter_index_is_over_its_budget()
    {
        var collection = CollectionKeepingRows(40, new ChromaStoreOptions { FilterIndexMemoryBudget = 1 });
        Rewrite(collection);

        collection.Compact();

        FilterRowCount().Should().Be(ExpectedRowCount, "the rows answer 'where' while the index is over its budget");
        FilterRowMark().Should().BeFalse();
        ShouldAnswerExactly(collection);
        _fx.Options = null;
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Compact();
        FilterRowCount().Should().Be(0, "within its budget the index answers 'where'");
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
    }

    [Fact]
    public void Writes_keep_no_filter_rows_and_filters_stay_exact_when_the_in_memory_filter_index_is_enabled()
    {
        var collection = _fx.CreateCollection("docs");
        AddRecords(collection, 0, 60);
        ShouldAnswerExactly(collection);
        Rewrite(collection);
        AddRecords(collection, 60, 90);

        ShouldAnswerExactly(collection);
        FilterRowCount().Should().Be(0, "the collection was created with the in-memory filter index enabled");
        var report = _fx.Client.VerifyIntegrity();
        report.Repaired.Should().BeFalse();
        var rows = report.Checks.Should().ContainSingle(c => c.Kind == ChromaDerivedKind.FilterRows).Subject;
        rows.State.Should().Be(ChromaDerivedState.Absent);
        rows.Detail.Should().Contain("not kept");

        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
        FilterRowCount().Should().Be(0);
    }

    [Fact]
    public void First_read_filtering_in_sql_derives_the_filter_rows_and_later_writes_keep_them_when_the_index_is_disabled()
    {
        AddRecords(_fx.CreateCollection("docs"), 0, 60);
        _fx.Options = SqlFilters();
        _fx.Reopen();
        FilterRowCount().Should().Be(0);

        var collection = _fx.Client.GetCollection("docs");
        ShouldAnswerExactly(collection);
        FilterRowCount().Should().Be(60 * 4, "genre, year and two tags per record");
        Rewrite(collection);
        AddRecords(collection, 60, 70);
        ShouldAnswerExactly(collection);
        FilterRowCount().Should().Be(ExpectedRowCount, "a row for the genre, one for the year, one per tag");

        var report = _fx.Client.VerifyIntegrity();
        report.Repaired.Should().BeFalse();
        report.Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows).State.Should().Be(ChromaDerivedState.Checked);

        // Kept from then on, whatever the options of later opens.
        _fx.Options = null;
        _fx.Reopen();
        collection = _fx.Client.GetCollection("docs");
        AddRecords(collection, 70, 75);
        FilterRowCount().Should().Be(ExpectedRowCount);
        _fx.Client.VerifyIntegrity().Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows).State.Should().Be(ChromaDerivedState.Checked);
        ShouldAnswerExactly(collection);
    }

    [Fact]
    public void Collection_keeps_filter_rows_from_its_first_write_when_it_is_created_with_the_index_disabled()
    {
        _fx.Options = SqlFilters();
        _fx.Reopen();
        var collection = _fx.CreateCollection("docs");
        AddRecords(collection, 0, 20);

        FilterRowCount().Should().Be(20 * 4);
        ShouldAnswerExactly(collection);
        _fx.Client.VerifyIntegrity().Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows).State.Should().Be(ChromaDerivedState.Checked);
    }

    [Fact]
    public void Read_filtering_in_sql_derives_the_rows_when_the_index_outgrows_its_budget()
    {
        _fx.Options = new ChromaStoreOptions { FilterIndexMemoryBudget = 1 };
        _fx.Reopen();
        var collection = _fx.CreateCollection("docs");
        AddRecords(collection, 0, 40);
        FilterRowCount().Should().Be(0, "the index is enabled (if over budget) when the collection is created");

        ShouldAnswerExactly(collection);
        FilterRowCount().Should().Be(40 * 4);
        Rewrite(collection);
        ShouldAnswerExactly(collection);
        FilterRowCount().Should().Be(ExpectedRowCount);
    }

    [Fact]
    public void Read_only_store_filtering_in_sql_answers_exactly_and_writes_no_filter_rows_when_the_collection_keeps_none()
    {
        var collection = _fx.CreateCollection("docs");
        AddRecords(collection, 0, 50);
        Rewrite(collection);
        _fx.Close();
        SqliteConnection.ClearAllPools();

        using (var store = ChromaStore.Open(_fx.Folder, SqlFilters(readOnly: true)))
        {
            ShouldAnswerExactly(store.GetClient(_fx.AdminKey).GetCollection("docs"));
        }

        SqliteConnection.ClearAllPools();
        FilterRowCount().Should().Be(0);
        _fx.Reopen();
    }

    [Fact]
    public void Read_filtering_in_sql_throws_corrupt_store_naming_the_record_and_derives_nothing_when_a_records_metadata_was_damaged()
    {
        AddRecords(_fx.CreateCollection("docs"), 0, 10);
        _fx.Close();
        SqliteConnection.ClearAllPools();
        Tamper("UPDATE records SET metadata = '{\"genre\":\"news\"}' WHERE id = 'r001'");
        _fx.Options = SqlFilters();
        _fx.Reopen();

        var get = () => _fx.Client.GetCollection("docs").Get(where: Where.Eq("genre", "news"));
        get.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'r001'");
        FilterRowCount().Should().Be(0);
    }

    [Fact]
    public void VerifyIntegrity_drops_filter_rows_left_for_a_collection_that_keeps_none_and_reads_never_use_them()
    {
        AddRecords(_fx.CreateCollection("docs"), 0, 30);
        _fx.Close();
        SqliteConnection.ClearAllPools();

        // Rows an older library (which kept them for every collection) would have written, one of them wrong.
        Tamper("""
            INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b)
            SELECT collection_id, rid, 'genre', 0, CASE WHEN id = 'r001' THEN 'news' ELSE json_extract(metadata, '$.genre') END, NULL, NULL FROM records
            """);
        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
        _fx.Options = SqlFilters();
        _fx.Reopen();
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
        FilterRowCount().Should().Be(30 * 4, "the first read filtering in SQL derived them again from the records");

        _fx.Options = null;
        _fx.Reopen();
        _fx.Client.VerifyIntegrity().Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows).State.Should().Be(ChromaDerivedState.Checked);
    }

    [Fact]
    public void VerifyIntegrity_drops_stray_filter_rows_of_a_collection_that_keeps_none()
    {
        AddRecords(_fx.CreateCollection("docs"), 0, 30);
        _fx.Close();
        SqliteConnection.ClearAllPools();
        Tamper("INSERT INTO record_meta(collection_id, rid, key, elem, s, n, b) SELECT collection_id, rid, 'genre', 0, 'news', NULL, NULL FROM records");
        _fx.Reopen();

        var rows = _fx.Client.VerifyIntegrity().Checks.Single(c => c.Kind == ChromaDerivedKind.FilterRows);
        rows.State.Should().Be(ChromaDerivedState.Absent);
        FilterRowCount().Should().Be(0);
        ShouldAnswerExactly(_fx.Client.GetCollection("docs"));
    }
}
