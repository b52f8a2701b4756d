using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Internal;

/// <summary>
/// The store's meter and activity source ("EmbeddedChroma"), read as an application's exporter would: with a
/// <see cref="MeterListener"/> and an <see cref="ActivityListener"/>. Other tests run in parallel and emit too, so every
/// assertion looks only at this test's own collection (a unique name).
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly string _name = "tel-" + Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;

    public TelemetryTests()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "EmbeddedChroma",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "EmbeddedChroma")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meters.Start();
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }

    /// <summary>This test's spans (its collection's), in the order they ended.</summary>
    private List<Activity> Spans() => _spans.Where(a => Equals(a.GetTagItem("db.collection.name"), _name)).ToList();

    private List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements(string instrument) =>
        _measurements.Where(m => m.Instrument == instrument && Equals(m.Tags.GetValueOrDefault("db.collection.name"), _name)).ToList();

    /// <summary>The handle as the client contract sees it (the async API an application codes against).</summary>
#pragma warning disable CA1859 // the point is to call through the interface
    private static IChromaCollection Contract(Collection collection) => collection;
#pragma warning restore CA1859

    private static float[] Vector(int i, int dimension = 4) =>
        Enumerable.Range(0, dimension).Select(d => (float)Math.Sin((i * 7) + d)).ToArray();

    private static void AddRecords(Collection collection, int count, int dimension = 4) =>
        collection.Add(
            Enumerable.Range(0, count).Select(i => $"id{i}").ToList(),
            Enumerable.Range(0, count).Select(i => Vector(i, dimension)).ToList(),
            Enumerable.Range(0, count).Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("group", (long)(i % 100)))).ToList());

    [Fact]
    public void Query_emits_one_client_span_with_db_attributes_and_the_exact_plan_when_an_activity_listener_listens()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 20);

        collection.Query([Vector(3)], nResults: 5);

        var query = Spans().Where(s => s.OperationName == "query").Should().ContainSingle().Subject;
        query.Source.Name.Should().Be("EmbeddedChroma");
        query.Kind.Should().Be(ActivityKind.Client);
        query.DisplayName.Should().Be($"query {_name}");
        query.Status.Should().Be(ActivityStatusCode.Unset);
        query.GetTagItem("db.system.name").Should().Be("embeddedchroma");
        query.GetTagItem("db.namespace").Should().Be("default_tenant/default_database");
        query.GetTagItem("db.operation.name").Should().Be("query");
        query.GetTagItem("db.operation.batch.size").Should().Be(1);
        query.GetTagItem("embeddedchroma.query.plan").Should().Be("exact");
        query.GetTagItem("embeddedchroma.query.filtered").Should().Be(false);
        Spans().Select(s => s.OperationName).Should().Equal("create_collection", "add", "query");
    }

    [Fact]
    public void Query_span_reports_the_filtered_plan_when_a_where_filter_allows_few_records()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 300);

        collection.Query([Vector(3)], nResults: 2, where: Where.Eq("group", 7L));

        var query = Spans().Should().ContainSingle(s => s.OperationName == "query").Subject;
        query.GetTagItem("embeddedchroma.query.plan").Should().Be("filtered");
        query.GetTagItem("embeddedchroma.query.filtered").Should().Be(true);
    }

    [Fact]
    public void Query_span_reports_the_graph_plan_when_the_collection_has_an_hnsw_graph()
    {
        using var store = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100, FilteredExactScanLimit = 10, FilteredPlan = EmbeddedChroma.Internal.FilteredPlan.Walk });
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 400, dimension: 8);
        collection.WaitForIndex();

        collection.Query([Vector(3, 8)], nResults: 3);
        collection.Query([Vector(3, 8)], nResults: 3, where: Where.Gte("group", 10L));

        var plans = Spans().Where(s => s.OperationName == "query").Select(s => (s.GetTagItem("embeddedchroma.query.plan"), s.GetTagItem("embeddedchroma.query.filtered")));
        plans.Should().Equal(("graph", false), ("graph", true));
    }

    [Fact]
    public async Task Async_contract_calls_emit_the_same_single_span_as_sync_calls_when_called_through_IChromaCollection()
    {
        using var store = new StoreFixture();
        var dimension = DeterministicEmbeddingGenerator.Dimension;
        var collection = Contract(store.CreateCollection(_name, generator: new DeterministicEmbeddingGenerator()));

        await collection.AddAsync(new RecordBatch { Ids = ["a", "b"], Embeddings = [Vector(1, dimension), Vector(2, dimension)] });
        await collection.AddAsync(new RecordBatch { Ids = ["c", "d", "e"], Documents = ["one", "two", "three"] });
        await collection.QueryAsync(new QueryRequest { QueryTexts = ["two"], NResults = 2 });
        await collection.GetAsync(new GetRequest { Ids = ["a"] });
        await collection.DeleteAsync(new DeleteRequest { Ids = ["a"] });
        await collection.CountAsync();

        var spans = Spans().Where(s => s.OperationName != "create_collection").ToList();
        spans.Select(s => s.OperationName).Should().Equal("add", "add", "query", "get", "delete", "count");
        spans.Select(s => s.GetTagItem("db.operation.batch.size")).Take(3).Should().Equal(2, 3, 1);
        spans.Should().OnlyContain(s => s.Parent == null || s.Parent.Source.Name != "EmbeddedChroma", "a text write or query is one span, embedding included, not a span inside a span");
        spans[2].GetTagItem("embeddedchroma.query.plan").Should().Be("exact");
    }

    [Fact]
    public void Failed_call_sets_error_status_and_error_type_on_span_and_metrics_when_it_throws()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 5);

        var wrongDimension = () => collection.Query([new float[] { 1, 2, 3 }]);
        wrongDimension.Should().Throw<ChromaValidationException>();

        var query = Spans().Should().ContainSingle(s => s.OperationName == "query").Subject;
        query.Status.Should().Be(ActivityStatusCode.Error);
        query.StatusDescription.Should().Be("EmbeddedChroma.ChromaValidationException", "the type only, never the message");
        query.GetTagItem("error.type").Should().Be("EmbeddedChroma.ChromaValidationException");
        query.Events.Should().BeEmpty("no exception event: its message and stack are not the exporter's business");
        var duration = Measurements("db.client.operation.duration").Should().ContainSingle(m => Equals(m.Tags["db.operation.name"], "query")).Subject;
        duration.Tags["error.type"].Should().Be("EmbeddedChroma.ChromaValidationException");
        Measurements("embeddedchroma.operations").Where(m => Equals(m.Tags["db.operation.name"], "query"))
            .Should().ContainSingle().Which.Tags["embeddedchroma.outcome"].Should().Be("error");
    }

    [Fact]
    public void Operation_duration_histogram_records_add_query_get_delete_in_seconds_with_semantic_convention_tags()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 10);
        collection.Upsert(["id1"], [Vector(1)]);
        collection.Query([Vector(1)], nResults: 3);
        collection.Get(ids: ["id1"]);
        collection.Delete(ids: ["id2"]);

        var durations = Measurements("db.client.operation.duration");
        durations.Select(m => m.Tags["db.operation.name"]).Should().Equal("create_collection", "add", "upsert", "query", "get", "delete");
        durations.Should().OnlyContain(m => m.Value >= 0 && m.Value < 60, "seconds, not milliseconds or ticks");
        durations.Should().OnlyContain(m => Equals(m.Tags["db.system.name"], "embeddedchroma") && Equals(m.Tags["db.namespace"], "default_tenant/default_database"));
        durations.Should().OnlyContain(m => !m.Tags.ContainsKey("error.type"));
        Measurements("embeddedchroma.operations").Should().HaveCount(6).And.OnlyContain(m => m.Value == 1 && Equals(m.Tags["embeddedchroma.outcome"], "success"));
    }

    [Fact]
    public void Write_wait_histogram_records_each_write_batch_wait_for_its_collection_lock_in_seconds_when_batches_commit()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        var before = _measurements.Count(m => m.Instrument == "embeddedchroma.collection.write_wait");
        AddRecords(collection, 10);
        collection.Upsert(["id1"], [Vector(1)]);
        collection.Delete(ids: ["id2"]);

        // Not tagged by collection (the wait is taken before the batch knows more than its lock): other tests' batches
        // may add measurements, never remove them.
        var waits = _measurements.Where(m => m.Instrument == "embeddedchroma.collection.write_wait").ToList();
        waits.Count.Should().BeGreaterThanOrEqualTo(before + 3, "one per batch that changed the collection");
        waits.Should().OnlyContain(m => m.Value >= 0 && m.Value < 60, "seconds, not milliseconds or ticks");
        waits.Should().OnlyContain(m => Equals(m.Tags["db.system.name"], "embeddedchroma"));
    }

    [Fact]
    public void Observable_gauges_report_records_vector_bytes_and_index_progress_of_a_loaded_collection_until_the_store_closes()
    {
        var store = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        try
        {
            var collection = store.CreateCollection(_name);
            AddRecords(collection, 150, dimension: 8);
            collection.Delete(ids: ["id0", "id1"]);
            collection.WaitForIndex();

            _meters.RecordObservableInstruments();
            Measurements("embeddedchroma.collection.records").Should().ContainSingle().Which.Value.Should().Be(148);
            Measurements("embeddedchroma.collection.size").Should().ContainSingle().Which.Value.Should().BeGreaterThanOrEqualTo(150 * 16 * sizeof(float));
            Measurements("embeddedchroma.index.linked").Should().ContainSingle().Which.Value.Should().Be(148);
            Measurements("embeddedchroma.index.pending").Should().ContainSingle().Which.Value.Should().Be(0);

            store.Close();
            _measurements.Clear();
            _meters.RecordObservableInstruments();
            Measurements("embeddedchroma.collection.records").Should().BeEmpty("a closed store is no longer observed");
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public void Index_linked_gauge_counts_live_records_only_when_records_are_deleted_after_the_graph_linked_them()
    {
        // Deleted after linking: the nodes stay in the graph, marked deleted; the gauge must not count them (before the
        // fix it read the graph's node count, 150 here, and the test above flickered with the indexer's timing).
        using var store = new StoreFixture(new ChromaStoreOptions { HnswThreshold = 100 });
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 150, dimension: 8);
        collection.WaitForIndex();
        collection.Delete(ids: ["id0", "id1"]);
        collection.WaitForIndex();

        _meters.RecordObservableInstruments();
        Measurements("embeddedchroma.index.linked").Should().ContainSingle().Which.Value.Should().Be(148);
    }

    [Fact]
    public void Compaction_duration_histogram_and_log_event_16_record_a_manual_compaction_when_a_collection_is_compacted()
    {
        var logger = new CapturingLogger();
        using var store = new StoreFixture(new ChromaStoreOptions { Logger = logger });
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 50);
        collection.Delete(where: Where.Lt("group", 25L));

        collection.Compact();

        var compaction = Measurements("embeddedchroma.compaction.duration").Should().ContainSingle().Subject;
        compaction.Value.Should().BeGreaterThanOrEqualTo(0);
        compaction.Tags["embeddedchroma.automatic"].Should().Be(false);
        compaction.Tags["db.namespace"].Should().Be("default_tenant/default_database");
        Spans().Select(s => s.OperationName).Should().Contain("compact");
        logger.Entries.Should().ContainSingle(e => e.EventId.Id == 16).Which.Message.Should().Contain(_name).And.Contain("automatic: False");
    }

    [Fact]
    public void StoreLog_event_ids_are_unique_when_every_message_is_declared()
    {
        var ids = typeof(ChromaStore).Assembly.GetType("EmbeddedChroma.Internal.StoreLog")!
            .GetMethods(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)
            .Select(m => m.GetCustomAttributes(typeof(Microsoft.Extensions.Logging.LoggerMessageAttribute), false).Cast<Microsoft.Extensions.Logging.LoggerMessageAttribute>().SingleOrDefault())
            .Where(a => a is not null).Select(a => a!.EventId).ToList();

        ids.Should().HaveCountGreaterThan(10).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public void Rebuilds_counter_counts_the_vector_arena_when_its_file_is_missing_on_open()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        AddRecords(collection, 10);
        var id = collection.Id;
        store.Close();
        File.Delete(store.ArenaPath(id));

        store.Reopen();
        store.Client.GetCollection(_name).Count().Should().Be(10);

        Measurements("embeddedchroma.rebuilds").Should().ContainSingle().Which.Tags["embeddedchroma.file"].Should().Be("arena");
    }

    [Fact]
    public void Key_ring_calls_join_the_store_meter_when_a_call_is_gated()
    {
        using var store = new StoreFixture();
        var collection = store.CreateCollection(_name);
        var keyId = store.Client.Context.KeyId;
        var before = _measurements.Count(m => m.Instrument == "embeddedchroma.keyring.calls" && Equals(m.Tags.GetValueOrDefault("key.id"), keyId) && Equals(m.Tags.GetValueOrDefault("action"), ChromaActions.Count));

        collection.Count();

        _measurements.Count(m => m.Instrument == "embeddedchroma.keyring.calls" && Equals(m.Tags.GetValueOrDefault("key.id"), keyId) && Equals(m.Tags.GetValueOrDefault("action"), ChromaActions.Count))
            .Should().Be(before + 1);
    }

    [Fact]
    public void Nothing_observed_contains_the_key_a_document_or_vector_numbers_when_spans_metrics_and_logs_are_captured()
    {
        const string document = "confidential-document-text-4711";
        var logger = new CapturingLogger();
        using var store = new StoreFixture(new ChromaStoreOptions { Logger = logger, HnswThreshold = 100 });
        var key = store.AdminKey;
        var secret = key[(key.LastIndexOf('_') + 1)..];
        var collection = store.CreateCollection(_name);
        var vectors = Enumerable.Range(0, 120).Select(i => new[] { 0.7182818f + i, 3.1415927f, 2.7182817f, 1.4142135f }).ToList();
        collection.Add(Enumerable.Range(0, 120).Select(i => $"secret-id-{i}").ToList(), vectors, documents: Enumerable.Repeat(document, 120).ToList());
        collection.Query([vectors[5]], nResults: 3, whereDocument: WhereDocument.Contains(document));
        collection.Get(ids: ["secret-id-1"], include: Include.Documents | Include.Embeddings);
        var keyAsName = () => store.Client.GetCollection(key);
        keyAsName.Should().Throw<ChromaValidationException>();
        var keyAsTenant = () => store.Client.CreateTenant(key);
        keyAsTenant.Should().Throw<ChromaValidationException>();
        var badVector = () => collection.Add(["x"], [new[] { float.NaN, 3.1415927f, 2.7182817f, 1.4142135f }]);
        badVector.Should().Throw<ChromaValidationException>();
        var id = collection.Id;
        store.Close();
        File.Delete(store.ArenaPath(id));
        store.Reopen();
        store.Client.GetCollection(_name).Count().Should().Be(120);
        _meters.RecordObservableInstruments();

        var observed = new List<string>();
        foreach (var span in _spans)
        {
            observed.Add(span.DisplayName);
            observed.Add(span.StatusDescription ?? "");
            observed.AddRange(span.TagObjects.Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}"));
            observed.AddRange(span.Events.Select(e => e.Name));
        }

        observed.AddRange(_measurements.SelectMany(m => m.Tags.Select(t => $"{t.Key}={Convert.ToString(t.Value, CultureInfo.InvariantCulture)}")));
        observed.AddRange(logger.Entries.Select(e => e.Message + e.Exception?.Message));

        Spans().Should().NotBeEmpty();
        logger.Entries.Should().Contain(e => e.EventId.Id == 1, "the arena rebuild is logged (and must be clean too)");
        observed.Should().NotContain(s => s.Contains(secret, StringComparison.Ordinal), "no key secret");
        observed.Should().NotContain(s => s.Contains(document, StringComparison.Ordinal), "no document text");
        observed.Should().NotContain(s => s.Contains("secret-id-", StringComparison.Ordinal), "no record id");
        observed.Should().NotContain(s => s.Contains("3.14159", StringComparison.Ordinal) || s.Contains("2.71828", StringComparison.Ordinal) || s.Contains("1.41421", StringComparison.Ordinal), "no vector numbers");
        _spans.Where(s => s.OperationName is "get_collection" or "create_tenant" && s.Status == ActivityStatusCode.Error)
            .Should().Contain(s => Equals(s.GetTagItem("db.collection.name"), "(invalid)") || Equals(s.GetTagItem("db.namespace"), "(invalid)"), "a key passed as a name is recorded as (invalid)");
    }

    /// <summary>The spans started under <paramref name="parent"/> (this test's own: parallel tests open stores and authenticate too).</summary>
    private List<Activity> SpansUnder(Activity parent) => _spans.Where(s => s.TraceId == parent.TraceId).ToList();

    [Fact]
    public void Create_and_open_emit_store_spans_with_read_only_and_error_type_when_an_activity_listener_listens()
    {
        using var parent = new Activity("test-open-spans").Start();
        using var folder = new TempStoreFolder("tel-open");
        var path = Path.Combine(folder.Path, "store");
        ChromaStore.Create(path, out _).Dispose();
        ChromaStore.Open(path).Dispose();
        ChromaStore.Open(path, new ChromaStoreOptions { ReadOnly = true }).Dispose();
        var missing = () => ChromaStore.Open(Path.Combine(folder.Path, "no-store-here"));
        missing.Should().Throw<ChromaNotFoundException>();
        parent.Stop();

        var spans = SpansUnder(parent);
        spans.Select(s => s.OperationName).Should().Equal("create_store", "open_store", "open_store", "open_store");
        spans.Should().OnlyContain(s => s.Source.Name == "EmbeddedChroma" && Equals(s.GetTagItem("db.system.name"), "embeddedchroma"));
        spans[0].Status.Should().Be(ActivityStatusCode.Unset);
        spans.Skip(1).Select(s => s.GetTagItem("embeddedchroma.read_only")).Should().Equal(false, true, false);
        spans[3].Status.Should().Be(ActivityStatusCode.Error);
        spans[3].GetTagItem("error.type").Should().Be(typeof(ChromaNotFoundException).FullName);
        spans.SelectMany(s => s.TagObjects).Should().NotContain(t => Convert.ToString(t.Value, CultureInfo.InvariantCulture)!.Contains(folder.Path, StringComparison.Ordinal), "no path in a tag");
    }

    [Fact]
    public void Authenticate_and_get_client_spans_carry_the_key_id_only_when_the_key_is_valid()
    {
        using var store = new StoreFixture();
        var keyId = store.Client.Context.KeyId;
        var wrong = store.AdminKey[..^4] + (store.AdminKey.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        using var parent = new Activity("test-auth-spans").Start();

        store.Store.GetClient(store.AdminKey, "default_tenant", "default_database");
        var bad = () => store.Store.Authenticate(wrong);
        bad.Should().Throw<ChromaAuthenticationException>();
        var badHeader = () => store.Store.AuthenticateHeader("Basic " + store.AdminKey);
        badHeader.Should().Throw<ChromaAuthenticationException>();
        parent.Stop();

        var spans = SpansUnder(parent);
        spans.Select(s => s.OperationName).Should().Equal("authenticate", "get_client", "authenticate", "authenticate");
        spans[0].GetTagItem("key.id").Should().Be(keyId);
        spans[0].Status.Should().Be(ActivityStatusCode.Unset);
        spans[1].GetTagItem("key.id").Should().Be(keyId);
        spans[1].GetTagItem("db.namespace").Should().Be("default_tenant/default_database");
        spans[1].DisplayName.Should().Be("get_client default_tenant/default_database");
        foreach (var failed in spans.Skip(2))
        {
            failed.Status.Should().Be(ActivityStatusCode.Error);
            failed.GetTagItem("error.type").Should().Be(typeof(ChromaAuthenticationException).FullName);
            failed.GetTagItem("key.id").Should().BeNull("a failed attempt records nothing the caller sent");
        }

        var secret = store.AdminKey[(store.AdminKey.LastIndexOf('_') + 1)..][..8];
        var sent = wrong[^12..];
        spans.SelectMany(s => s.TagObjects.Select(t => Convert.ToString(t.Value, CultureInfo.InvariantCulture)!).Append(s.DisplayName).Append(s.StatusDescription ?? ""))
            .Should().NotContain(text => text.Contains(secret, StringComparison.Ordinal) || text.Contains(sent, StringComparison.Ordinal), "no key secret, sent or stored");
    }

    [Fact]
    public void Get_client_span_records_an_out_of_scope_database_as_not_found_when_the_key_does_not_cover_it()
    {
        using var store = new StoreFixture();
        var narrow = store.Store.GetKeyRing(store.Client.Context).CreateKey(new ApiKeySpec { Name = "narrow", Actions = [ChromaActions.Count], Resources = ["default_tenant/default_database"] });
        var context = store.Store.Authenticate(narrow.Key);
        using var parent = new Activity("test-get-client-denied").Start();

        var missing = () => store.Store.GetClient(context, "default_tenant", "no_such_database");
        missing.Should().Throw<ChromaNotFoundException>();
        parent.Stop();

        var span = SpansUnder(parent).Should().ContainSingle().Subject;
        span.OperationName.Should().Be("get_client");
        span.Status.Should().Be(ActivityStatusCode.Error);
        span.GetTagItem("error.type").Should().Be(typeof(ChromaNotFoundException).FullName);
        span.GetTagItem("db.namespace").Should().Be("default_tenant/no_such_database");
        span.GetTagItem("key.id").Should().Be(context.KeyId);
    }
}
