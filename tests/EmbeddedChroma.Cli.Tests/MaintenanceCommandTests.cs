using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EmbeddedChroma.Cli.Tests;

/// <summary><c>stats</c>, <c>verify</c>, <c>compact</c>, <c>backup</c> and <c>serve</c>.</summary>
public sealed partial class MaintenanceCommandTests : IDisposable
{
    private readonly TempStore _store = new();

    public MaintenanceCommandTests()
    {
        var lines = Enumerable.Range(0, 40).Select(i => $"{{\"id\": \"r{i}\", \"embedding\": [{i}, 1, 0], \"document\": \"doc {i}\"}}");
        File.WriteAllLines(_store.File("r.jsonl"), lines);
        _store.Run("import", _store.File("r.jsonl"), "--collection", "books", "--create").ExitCode.Should().Be(0);
    }

    public void Dispose() => _store.Dispose();

    private static JsonElement Json(CliResult result)
    {
        result.ExitCode.Should().Be(0, result.ToString());
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }

    [Fact]
    public void Stats_reports_records_bytes_per_file_kind_and_index_state_as_json_and_a_table()
    {
        var stats = Json(_store.Run("stats", "--json"));

        stats.GetProperty("records").GetInt64().Should().Be(40);
        stats.GetProperty("bytes").GetProperty("database").GetInt64().Should().BePositive();
        stats.GetProperty("bytes").GetProperty("keyring").GetInt64().Should().BePositive();
        stats.GetProperty("bytes").GetProperty("vectors").GetInt64().Should().BePositive();
        var books = stats.GetProperty("collectionStats").EnumerateArray().Single();
        books.GetProperty("name").GetString().Should().Be("books");
        books.GetProperty("records").GetInt32().Should().Be(40);
        books.GetProperty("dimension").GetInt32().Should().Be(3);
        (books.GetProperty("indexed").GetInt64() + books.GetProperty("unindexed").GetInt64()).Should().Be(40);
        books.GetProperty("deadSlots").GetInt32().Should().Be(0);
        _store.Run("stats").Stdout.Should().Contain("default_tenant/default_database/books").And.Contain("file kind").And.Contain("dead slots");

        // Deleted records leave dead slots in the vector file until a compaction.
        using (var store = ChromaStore.Open(_store.Path_))
        {
            store.GetClient(_store.AdminKey).GetCollection("books").Delete(ids: ["r1", "r2", "r3", "r4"]);
        }

        var after = Json(_store.Run("stats", "--json"));
        after.GetProperty("records").GetInt64().Should().Be(36);
        after.GetProperty("collectionStats").EnumerateArray().Single().GetProperty("deadSlots").GetInt32().Should().Be(4);
        after.GetProperty("bytes").TryGetProperty("filterIndex", out _).Should().BeTrue("the saved filter index (.flt) is its own file kind");
        _store.Run("compact").ExitCode.Should().Be(0);
        Json(_store.Run("stats", "--json")).GetProperty("collectionStats").EnumerateArray().Single().GetProperty("deadSlots").GetInt32().Should().Be(0);
    }

    [Fact]
    public void Verify_exits_0_on_a_sound_store_and_5_when_the_database_file_is_damaged()
    {
        var ok = _store.Run("verify");
        ok.ExitCode.Should().Be(0, ok.ToString());
        ok.Stdout.Should().Contain("database: ok").And.Contain("key ring: ok");
        Json(_store.Run("verify", "--json")).GetProperty("auditChain").GetBoolean().Should().BeTrue();

        // Scribble over every page but the first (the header): SQLite reports the damage on open or on the full check.
        var database = Path.Combine(_store.Path_, "chroma.sqlite3");
        var bytes = File.ReadAllBytes(database);
        var random = new Random(3);
        for (var i = 4096; i < bytes.Length; i += 97)
        {
            bytes[i] = (byte)random.Next(256);
        }

        File.WriteAllBytes(database, bytes);
        var damaged = _store.Run("verify");
        damaged.ExitCode.Should().Be(5, damaged.ToString());
        damaged.Stderr.Should().Contain("hint: restore");
    }

    [Fact]
    public void Verify_reports_a_damaged_vector_file_repaired_with_exit_0_as_json_and_as_lines_and_finds_nothing_when_run_again()
    {
        var sound = _store.Run("verify");
        sound.ExitCode.Should().Be(0, sound.ToString());
        sound.Stdout.Should().Contain("database: ok (every page; 40 records' checksums)").And.Contain("derived data: ok (1 collections agree with their records)");
        sound.Stdout.Should().Contain("collection\tdata\tstate\tdetail").And.Contain("default_tenant/default_database/books\tvectors\tok\t40 rows equal the records' embeddings");

        // Flip a byte of the vector file's row 7 (the store is closed between runs): derived from the records, so repaired.
        var books = ChromaStoreOpen(s => s.GetClient(_store.AdminKey).GetCollection("books").Id);
        var arena = Path.Combine(_store.Path_, "vectors", books.ToString("N") + ".vec");
        var bytes = File.ReadAllBytes(arena);
        bytes[4096 + (7 * 16 * 4) + 2] ^= 0x40;
        File.WriteAllBytes(arena, bytes);

        var repaired = Json(_store.Run("verify", "--json"));
        repaired.GetProperty("repaired").GetBoolean().Should().BeTrue();
        repaired.GetProperty("recordsChecked").GetInt64().Should().Be(40);
        var checks = repaired.GetProperty("collections").EnumerateArray().Single().GetProperty("checks").EnumerateArray().ToList();
        checks.Select(c => c.GetProperty("kind").GetString()).Should().Equal("vectors", "graph", "filterIndex", "filterRows");
        checks[0].GetProperty("state").GetString().Should().Be("repaired");
        checks[0].GetProperty("detail").GetString().Should().Contain("fails its checksum");
        checks.Skip(1).Select(c => c.GetProperty("state").GetString()).Should().NotContain("repaired");
        repaired.GetProperty("documentIndex").GetProperty("state").GetString().Should().Be("ok");

        var again = _store.Run("verify");
        again.ExitCode.Should().Be(0, again.ToString());
        again.Stdout.Should().Contain("derived data: ok");
        Json(_store.Run("query", "--collection", "books", "--vector", "[7, 1, 0]", "--n-results", "1", "--json")).ToString().Should().Contain("r7");
    }

    private TResult ChromaStoreOpen<TResult>(Func<ChromaStore, TResult> read)
    {
        using var store = ChromaStore.Open(_store.Path_);
        return read(store);
    }

    [Fact]
    public void Compact_reports_each_collections_records_slots_and_bytes_as_json_and_exits_2_for_a_missing_collection()
    {
        File.WriteAllLines(_store.File("more.jsonl"), Enumerable.Range(0, 10).Select(i => $"{{\"id\": \"r{i}\", \"embedding\": [0, 0, {i}]}}"));
        _store.Run("import", _store.File("more.jsonl"), "--collection", "books", "--on-existing", "upsert").ExitCode.Should().Be(0);

        var compact = Json(_store.Run("compact", "--json"));
        var books = compact.EnumerateArray().Single();
        books.GetProperty("collection").GetString().Should().Be("default_tenant/default_database/books");
        books.GetProperty("records").GetInt32().Should().Be(40);
        books.GetProperty("slotsAfter").GetInt32().Should().BeLessThanOrEqualTo(books.GetProperty("slotsBefore").GetInt32());
        _store.Run("compact", "--collection", "books").ExitCode.Should().Be(0);
        _store.Run("compact", "--collection", "nope").ExitCode.Should().Be(2);
    }

    [Fact]
    public void Backup_writes_a_copy_that_opens_with_the_same_key_and_refuses_a_destination_inside_the_store()
    {
        var destination = _store.File("backup");
        var backup = Json(_store.Run("backup", destination, "--json"));
        backup.GetProperty("bytes").GetInt64().Should().BePositive();

        var copy = CliRunner.Run(["stats", "--store", destination, "--json"], key: _store.AdminKey);
        Json(copy).GetProperty("records").GetInt64().Should().Be(40);
        _store.Run("backup", Path.Combine(_store.Path_, "inside")).ExitCode.Should().Be(1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_answers_chroma_requests_holds_the_store_and_stops_gracefully_when_sent_sigint(bool dashboard)
    {
        string[] arguments = dashboard ? ["serve", "--store", _store.Path_, "--port", "0", "--dashboard"] : ["serve", "--store", _store.Path_, "--port", "0"];
        var start = CliRunner.Start(arguments, key: null, workingDirectory: null);
        using var server = Process.Start(start)!;
        var address = new TaskCompletionSource<string>();
        var stderr = new System.Text.StringBuilder();
        server.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }

            if (ListeningOn().Match(e.Data) is { Success: true } match)
            {
                address.TrySetResult(match.Value);
            }
        };
        server.BeginErrorReadLine();
        server.BeginOutputReadLine();
        try
        {
            var listening = await address.Task.WaitAsync(TimeSpan.FromSeconds(60));
            listening.Should().StartWith("http://127.0.0.1:", "loopback by default");
            using var http = new HttpClient { BaseAddress = new Uri(listening) };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v2/heartbeat");
            request.Headers.Add("X-Chroma-Token", _store.AdminKey);
            using var response = await http.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            (await http.GetAsync("/api/v2/heartbeat")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            using (var page = await http.GetAsync("/dashboard/"))
            {
                // The keys page (its login form) only with --dashboard.
                page.StatusCode.Should().Be(dashboard ? HttpStatusCode.OK : HttpStatusCode.NotFound);
                if (dashboard)
                {
                    page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
                    (await page.Content.ReadAsStringAsync()).Should().Contain("login");
                }
            }

            var busy = _store.Run("stats");
            busy.ExitCode.Should().Be(6, "serve holds the store: " + busy);
            busy.Stderr.Should().Contain("another process");

            using (var kill = Process.Start("kill", ["-INT", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                kill.WaitForExit();
            }

            using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await server.WaitForExitAsync(exited.Token);
            server.ExitCode.Should().Be(0, stderr.ToString());
            _store.Run("stats").ExitCode.Should().Be(0, "the store was closed and its lock released");
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
        }
    }

    [GeneratedRegex(@"http://[^\s,()]+")]
    private static partial Regex ListeningOn();
}
