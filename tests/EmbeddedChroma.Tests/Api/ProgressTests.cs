using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Api;

/// <summary>
/// Long operations take an <see cref="IProgress{T}"/> of <see cref="ChromaProgress"/> and a cancellation token: bulk
/// add/upsert, compaction, backup, the integrity check and the index build. Progress starts at 0, never decreases,
/// ends at Total and comes at a bounded rate; a token cancelled from the progress callback (at the first, a middle or
/// the last report before the commit) stops the operation with <see cref="OperationCanceledException"/> and leaves the
/// documented state, proven by reopening the store.
/// </summary>
public sealed class ProgressTests : IDisposable
{
    private const int Dimension = 8;
    private readonly TempStoreFolder _backups = new("ec-progress");

    public void Dispose() => _backups.Dispose();

    /// <summary>A synchronous progress sink (Progress&lt;T&gt; would post the reports elsewhere): records every report and
    /// cancels <see cref="Cancel"/> at report number <c>cancelAt</c> (0 = the first).</summary>
    private sealed class Recorder(int cancelAt = -1) : IProgress<ChromaProgress>
    {
        public List<ChromaProgress> Reports { get; } = [];

        public CancellationTokenSource Cancel { get; } = new();

        public void Report(ChromaProgress value)
        {
            Reports.Add(value);
            if (Reports.Count - 1 == cancelAt)
            {
                Cancel.Cancel();
            }
        }
    }

    private static float[] Vector(int i)
    {
        var random = new Random(i);
        return Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private static RecordBatch Batch(int from, int count, string document = "doc") => new()
    {
        Ids = Enumerable.Range(from, count).Select(i => $"id{i}").ToArray(),
        Embeddings = Enumerable.Range(from, count).Select(Vector).ToArray(),
        Metadatas = Enumerable.Range(from, count).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("i", (long)i))).ToArray(),
        Documents = Enumerable.Range(from, count).Select(i => $"{document} {i} " + new string('x', 200)).ToArray(),
    };

    /// <summary>Starts at 0, never decreases, ends at the constant Total, and comes at most ~100 times (plus first and last).</summary>
    private static void ShouldBeWellFormed(List<ChromaProgress> reports, string operation, string unit, long? total = null)
    {
        reports.Should().NotBeEmpty();
        reports.Should().OnlyContain(r => r.Operation == operation && r.Unit == unit);
        reports.Select(r => r.Total).Distinct().Should().ContainSingle("Total does not change within one operation");
        var expected = total ?? reports[0].Total;
        reports[0].Total.Should().Be(expected);
        reports[0].Completed.Should().Be(0);
        reports[^1].Completed.Should().Be(expected);
        reports[^1].Fraction.Should().Be(1.0);
        reports.Select(r => r.Completed).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        reports.Count.Should().BeLessThanOrEqualTo(101, "reported at a bounded rate, not per record");
    }

    // ---- bulk add / upsert ----

    [Fact]
    public void Add_reports_records_written_from_zero_to_total_at_a_bounded_rate_when_a_large_batch_is_added()
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        var progress = new Recorder();

        collection.Add(Batch(0, 5_000), progress);

        ShouldBeWellFormed(progress.Reports, "add", "records", total: 5_000);
        progress.Reports.Count.Should().BeGreaterThan(50, "a report per hundredth of the batch");
        collection.Count().Should().Be(5_000);
    }

    [Theory]
    [InlineData(0)] // at the first report (0 of Total), before any record
    [InlineData(1)] // after the first hundredth
    [InlineData(60)] // in the middle
    [InlineData(99)] // at the last report before the commit
    public void Add_cancelled_from_the_progress_callback_writes_nothing_of_the_batch_when_reopened(int cancelAt)
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 10));
        var progress = new Recorder(cancelAt);

        var act = () => collection.Add(Batch(10, 2_000), progress, progress.Cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        progress.Reports.Should().HaveCount(cancelAt + 1);
        progress.Reports[^1].Completed.Should().BeLessThan(2_000);
        collection.Count().Should().Be(10);
        fx.Reopen();
        var reopened = fx.Client.GetCollection("docs");
        reopened.Count().Should().Be(10, "a cancelled batch is a failed batch: nothing of it is written");
        reopened.Get(ids: ["id10", "id2009"]).Ids.Should().BeEmpty();
        reopened.Query([Vector(5)], nResults: 1).Ids[0].Should().Equal("id5");
        reopened.Add(Batch(10, 2_000));
        reopened.Count().Should().Be(2_010, "the same batch goes in whole afterwards");
    }

    [Fact]
    public void Add_completes_and_keeps_every_record_when_cancelled_at_the_final_report_after_the_commit()
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        var probe = new Recorder();
        collection.Add(Batch(0, 500), probe);
        var count = probe.Reports.Count;
        var progress = new Recorder(cancelAt: count - 1);

        collection.Add(Batch(500, 500), progress, progress.Cancel.Token);

        progress.Reports[^1].Should().Be(new ChromaProgress("add", 500, 500, "records"));
        fx.Reopen();
        fx.Client.GetCollection("docs").Count().Should().Be(1_000);
    }

    [Fact]
    public async Task UpsertAsync_cancelled_mid_batch_returns_a_cancelled_task_and_leaves_existing_records_unchanged()
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 1_000, document: "old"));
        var progress = new Recorder(cancelAt: 40);

        var task = collection.UpsertAsync(Batch(500, 1_000, document: "new"), progress, progress.Cancel.Token);

        await FluentActions.Awaiting(() => task).Should().ThrowAsync<OperationCanceledException>();
        task.IsCanceled.Should().BeTrue();
        progress.Reports.Should().OnlyContain(r => r.Operation == "upsert");
        fx.Reopen();
        var reopened = fx.Client.GetCollection("docs");
        reopened.Count().Should().Be(1_000);
        reopened.Get(ids: ["id500", "id999"]).Documents!.Should().OnlyContain(d => d!.StartsWith("old ", StringComparison.Ordinal));
    }

    // ---- compaction ----

    /// <summary>A collection of 3,000 records with every other one deleted (1,500 live, holes below the count).</summary>
    private static Collection Holey(StoreFixture fx)
    {
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 3_000));
        collection.Delete(ids: Enumerable.Range(0, 3_000).Where(i => i % 2 == 0).Select(i => $"id{i}").ToArray());
        return collection;
    }

    [Fact]
    public void Compact_reports_records_moved_and_copied_from_zero_to_total_when_a_collection_has_holes()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { AutoCompaction = false });
        var collection = Holey(fx);
        var progress = new Recorder();

        var result = collection.Compact(progress);

        result.RecordsMoved.Should().BeGreaterThan(0);
        ShouldBeWellFormed(progress.Reports, "compact", "records", total: result.RecordsMoved + 1_500);
        collection.Count().Should().Be(1_500);
    }

    [Theory]
    [InlineData(0)] // before the first move
    [InlineData(30)] // while records move in SQLite
    [InlineData(80)] // while the new vector file is written
    public void Compact_cancelled_from_the_progress_callback_rolls_back_and_leaves_the_store_as_before_when_reopened(int cancelAt)
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { AutoCompaction = false });
        var collection = Holey(fx);
        var before = StoreFixture.Everything(collection);
        var arena = fx.ArenaPath(collection.Id);
        var arenaLength = new FileInfo(arena).Length;
        var progress = new Recorder(cancelAt);

        var act = () => collection.Compact(progress, progress.Cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        Directory.GetFiles(fx.VectorsFolder).Should().NotContain(f => f.EndsWith(".compact", StringComparison.Ordinal), "the temporary vector file is deleted");
        new FileInfo(arena).Length.Should().Be(arenaLength, "the live vector file is not replaced");
        collection.Query([Vector(7)], nResults: 1).Ids[0].Should().Equal("id7");
        fx.Reopen();
        var reopened = fx.Client.GetCollection("docs");
        StoreFixture.Everything(reopened).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        reopened.Compact().RecordsMoved.Should().BeGreaterThan(0, "nothing moved before: the compaction is still to do");
        reopened.Query([Vector(7)], nResults: 1).Ids[0].Should().Equal("id7");
    }

    // ---- backup ----

    /// <summary>A store big enough for several steps of the page copy (a few MB).</summary>
    private static void FillForBackup(StoreFixture fx) => fx.CreateCollection("docs").Add(Batch(0, 6_000));

    [Fact]
    public void Backup_reports_pages_copied_from_zero_to_total_and_the_copy_opens_when_not_cancelled()
    {
        using var fx = new StoreFixture();
        FillForBackup(fx);
        var progress = new Recorder();

        var result = fx.Client.Backup(Path.Combine(_backups.Path, "copy"), progress);

        ShouldBeWellFormed(progress.Reports, "backup", "pages");
        progress.Reports.Count.Should().BeGreaterThan(2, "the database is copied a step of pages at a time");
        using var copy = ChromaStore.Open(result.Path);
        copy.GetClient(fx.AdminKey).GetCollection("docs").Count().Should().Be(6_000);
    }

    [Theory]
    [InlineData(0, true)] // at the first report: snapshot pinned, vectors not copied yet
    [InlineData(1, true)] // during the page copy
    [InlineData(1, false)] // the same into an empty folder the caller gave
    [InlineData(-2, true)] // at the last report before the copy completes (-2: the one before the final report)
    public void Backup_cancelled_from_the_progress_callback_leaves_no_backup_behind_and_the_store_unchanged(int cancelAt, bool newFolder)
    {
        using var fx = new StoreFixture();
        FillForBackup(fx);
        var probe = new Recorder();
        fx.Client.Backup(Path.Combine(_backups.Path, "probe"), probe);
        var at = cancelAt >= 0 ? cancelAt : probe.Reports.Count + cancelAt;
        var destination = Path.Combine(_backups.Path, "copy");
        if (!newFolder)
        {
            Directory.CreateDirectory(destination);
        }

        var progress = new Recorder(at);

        var act = () => fx.Client.Backup(destination, progress, progress.Cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        if (newFolder)
        {
            Directory.Exists(destination).Should().BeFalse("a folder the backup created is removed");
        }
        else
        {
            Directory.EnumerateFileSystemEntries(destination).Should().BeEmpty("the empty folder given is emptied again");
        }

        fx.Reopen();
        fx.Client.GetCollection("docs").Count().Should().Be(6_000);
        var again = fx.Client.Backup(destination);
        using var copy = ChromaStore.Open(again.Path);
        copy.GetClient(fx.AdminKey).GetCollection("docs").Count().Should().Be(6_000, "the same destination takes a backup afterwards");
    }

    [Fact]
    public void Backup_with_a_token_already_cancelled_creates_nothing()
    {
        using var fx = new StoreFixture();
        FillForBackup(fx);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var destination = Path.Combine(_backups.Path, "never");

        var act = () => fx.Client.Backup(destination, null, cancelled.Token);

        act.Should().Throw<OperationCanceledException>();
        Directory.Exists(destination).Should().BeFalse();
    }

    // ---- integrity check ----

    [Fact]
    public void VerifyIntegrity_reports_records_checked_from_zero_to_total_when_the_store_is_sound()
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("docs").Add(Batch(0, 3_000));
        fx.CreateCollection("more").Add(Batch(0, 1_000));
        var progress = new Recorder();

        fx.Client.VerifyIntegrity(progress);

        ShouldBeWellFormed(progress.Reports, "verify_integrity", "records", total: 4_000);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(50)]
    public void VerifyIntegrity_cancelled_from_the_progress_callback_stops_and_the_store_is_sound_when_checked_again(int cancelAt)
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("docs").Add(Batch(0, 3_000));
        var progress = new Recorder(cancelAt);

        var act = () => fx.Client.VerifyIntegrity(progress, progress.Cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        progress.Reports.Should().HaveCount(cancelAt + 1);
        fx.Reopen();
        fx.Client.VerifyIntegrity();
        fx.Client.GetCollection("docs").Count().Should().Be(3_000);
    }

    [Fact]
    public void VerifyIntegrity_interrupts_sqlites_page_check_when_the_token_is_cancelled_meanwhile()
    {
        using var fx = new StoreFixture();
        fx.CreateCollection("docs").Add(Batch(0, 3_000));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        // Cancelled already: the page check (the first step, before any report) must not run to its end.
        var act = () => fx.Client.VerifyIntegrity(null, cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        var direct = () => fx.Store.Db.Check(full: true, cancel.Token);
        direct.Should().Throw<OperationCanceledException>("SQLite's progress handler stops the PRAGMA");
        fx.Store.Db.Check(full: true).Should().BeEmpty("the handler is removed afterwards");
    }

    // ---- index build ----

    [Fact]
    public void BuildIndex_reports_records_linked_and_returns_a_caught_up_status_when_the_graph_lags()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 3_000));
        var progress = new Recorder();

        var status = collection.BuildIndex(progress);

        status.UnindexedRecords.Should().Be(0);
        status.TotalRecords.Should().Be(3_000);
        ShouldBeWellFormed(progress.Reports, "build_index", "records");
        collection.GetIndexingStatus().UnindexedRecords.Should().Be(0);
    }

    [Fact]
    public void BuildIndex_cancelled_from_the_progress_callback_leaves_the_collection_queryable_and_the_build_resumes_after_reopening()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 3_000));
        var progress = new Recorder(cancelAt: 0);

        var act = () => collection.BuildIndex(progress, progress.Cancel.Token);

        act.Should().Throw<OperationCanceledException>();
        progress.Reports.Should().ContainSingle().Which.Completed.Should().Be(0);
        // The background indexer keeps linking after the cancelled wait, so an unfiltered query meets a graph under
        // construction (approximate by nature); a filter that admits one record is answered exactly either way.
        for (var i = 0; i < 3_000; i += 500)
        {
            collection.Query([Vector(i)], nResults: 1).Ids[0].Should().ContainSingle();
            var exact = collection.Query([Vector(i)], nResults: 1, where: Where.Eq("i", (long)i));
            exact.Ids[0].Should().Equal($"id{i}");
            exact.Distances![0][0].Should().Be(0f);
        }

        fx.Reopen();
        var reopened = fx.Client.GetCollection("docs");
        reopened.BuildIndex().UnindexedRecords.Should().Be(0);
        reopened.Count().Should().Be(3_000);
        reopened.Query([Vector(1_234)], nResults: 1, where: Where.Eq("i", 1_234L)).Ids[0].Should().Equal("id1234");
    }

    [Fact]
    public void BuildIndex_returns_at_once_with_every_record_indexed_when_the_collection_is_below_the_graph_threshold()
    {
        using var fx = new StoreFixture();
        var collection = fx.CreateCollection("docs");
        collection.Add(Batch(0, 50));
        var progress = new Recorder();

        collection.BuildIndex(progress).Should().Be(new IndexingStatus(50, 0, 50));

        progress.Reports.Should().Equal(new ChromaProgress("build_index", 0, 0, "records"));
    }

    [Fact]
    public void ChromaProgress_fraction_is_clamped_and_one_when_there_is_nothing_to_do()
    {
        new ChromaProgress("add", 0, 0, "records").Fraction.Should().Be(1.0);
        new ChromaProgress("add", 25, 100, "records").Fraction.Should().Be(0.25);
        new ChromaProgress("backup", 7, 10, "pages").ToString().Should().Be("backup: 7/10 pages");
    }
}
