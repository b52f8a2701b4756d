using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EmbeddedChroma.Cli.Tests;

/// <summary><c>import</c> (JSON Lines, CSV, resumable), <c>export</c> (streaming JSON Lines) and <c>query</c>.</summary>
public sealed class DataCommandTests : IDisposable
{
    private readonly TempStore _store = new();

    public void Dispose() => _store.Dispose();

    /// <summary>Seeded records with every kind of metadata value, uris on some, documents on most.</summary>
    private static List<string> Records(int count, int seed = 7)
    {
        var random = new Random(seed);
        var lines = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var record = new JsonObject
            {
                ["id"] = $"r{i:D4}",
                ["embedding"] = new JsonArray(Enumerable.Range(0, 4).Select(_ => (JsonNode)JsonValue.Create((float)Math.Round(random.NextDouble() * 2 - 1, 4))).ToArray()),
            };
            if (i % 5 != 0)
            {
                record["document"] = $"document {i} \"quoted\", ünïcode";
            }

            record["metadata"] = new JsonObject
            {
                ["n"] = i,
                ["x"] = i + 0.5,
                ["even"] = i % 2 == 0,
                ["tag"] = i % 3 == 0 ? "fizz" : "other",
                ["list"] = new JsonArray("a", "b"),
            };
            if (i % 4 == 0)
            {
                record["uri"] = $"file:///data/{i}.txt";
            }

            lines.Add(record.ToJsonString());
        }

        return lines;
    }

    private static JsonElement Json(CliResult result)
    {
        result.ExitCode.Should().Be(0, result.ToString());
        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement.Clone();
    }

    [Fact]
    public void Import_then_export_gives_back_every_record_when_round_tripped_through_json_lines()
    {
        var input = Records(300);
        var file = _store.File("in.jsonl");
        File.WriteAllLines(file, input);

        var import = Json(_store.Run("import", file, "--collection", "books", "--create", "--batch-size", "64", "--json"));
        import.GetProperty("written").GetInt64().Should().Be(300);

        var export = _store.Run("export", "--collection", "books", "--page-size", "70");
        export.ExitCode.Should().Be(0, export.ToString());
        var exported = export.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).OrderBy(n => (string)n["id"]!, StringComparer.Ordinal).ToList();
        var expected = input.Select(l => JsonNode.Parse(l)!).ToList();
        exported.Should().HaveCount(300);
        for (var i = 0; i < expected.Count; i++)
        {
            JsonNode.DeepEquals(exported[i], expected[i]).Should().BeTrue($"record {i} comes back as it went in: {expected[i].ToJsonString()} vs {exported[i].ToJsonString()}");
        }

        var toFile = _store.Run("export", "--collection", "books", "--no-embeddings", "--output", _store.File("out.jsonl"));
        toFile.ExitCode.Should().Be(0, toFile.ToString());
        var lines = File.ReadAllLines(_store.File("out.jsonl"));
        lines.Should().HaveCount(300);
        lines.Should().OnlyContain(l => !l.Contains("\"embedding\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_with_build_index_returns_once_the_graph_links_every_record_when_the_collection_passes_the_hnsw_threshold()
    {
        // 6,000 records: past the store's default HNSW threshold (5,000), so a graph is built in the background.
        var random = new Random(11);
        var file = _store.File("many.jsonl");
        File.WriteAllLines(file, Enumerable.Range(0, 6_000).Select(i =>
            $$"""{"id":"v{{i}}","embedding":[{{string.Join(',', Enumerable.Range(0, 4).Select(_ => (random.NextDouble() * 2 - 1).ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}}]}"""));

        var import = Json(_store.Run("import", file, "--collection", "many", "--create", "--batch-size", "1000", "--build-index", "--json"));
        import.GetProperty("written").GetInt64().Should().Be(6_000);
        import.GetProperty("indexed").GetInt64().Should().Be(6_000, "--build-index waits until the graph has linked every record");
        import.GetProperty("unindexed").GetInt64().Should().Be(0);

        var again = Json(_store.Run("import", file, "--collection", "many", "--json"));
        again.GetProperty("skipped").GetInt64().Should().Be(6_000);
        again.TryGetProperty("indexed", out _).Should().BeFalse("without --build-index the import does not wait for the index");
    }

    [Fact]
    public void Import_resumes_when_run_again_after_a_bad_line_stopped_it_and_on_existing_chooses_skip_upsert_or_fail()
    {
        var input = Records(10);
        var broken = input.ToList();
        broken[6] = "{\"id\": \"r0006\", \"embedding\": [1, 2, \"x\", 4]}";
        var file = _store.File("in.jsonl");
        File.WriteAllLines(file, broken);

        var first = _store.Run("import", file, "--collection", "books", "--create", "--batch-size", "3");
        first.ExitCode.Should().Be(1, first.ToString());
        first.Stderr.Should().Contain("line 7");
        Json(_store.Run("collections", "info", "books", "--json")).GetProperty("records").GetString().Should().Be("6", "the two whole batches before the bad line were kept, the failed batch wrote nothing");

        File.WriteAllLines(file, input);
        var resumed = Json(_store.Run("import", file, "--collection", "books", "--batch-size", "3", "--json"));
        resumed.GetProperty("skipped").GetInt64().Should().Be(6);
        resumed.GetProperty("written").GetInt64().Should().Be(4);

        var fail = _store.Run("import", file, "--collection", "books", "--on-existing", "fail");
        fail.ExitCode.Should().Be(4, fail.ToString());
        fail.Stderr.Should().Contain("r0000");

        File.WriteAllLines(file, [input[1].Replace("document 1", "changed", StringComparison.Ordinal)]);
        Json(_store.Run("import", file, "--collection", "books", "--on-existing", "upsert", "--json")).GetProperty("written").GetInt64().Should().Be(1);
        var export = _store.Run("export", "--collection", "books").Stdout;
        export.Should().Contain("changed");
        export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(10);
    }

    [Fact]
    public async Task Import_exits_130_and_keeps_its_finished_batches_when_interrupted_and_resumes_when_run_again()
    {
        var file = _store.File("big.jsonl");
        var lines = Enumerable.Range(0, 10_000).Select(i => $"{{\"id\": \"r{i}\", \"embedding\": [{i % 13}, 1, {i % 7}, 0]}}").ToList();
        File.WriteAllLines(file, lines);

        // The import reads standard input, fed by the test: after the first 1,000 lines it waits for more, so Ctrl+C
        // lands while the import is certainly running, however fast the machine (a file of records could be done first).
        var start = CliRunner.Start(["import", "-", "--store", _store.Path_, "--collection", "big", "--create", "--batch-size", "50"], _store.AdminKey, null);
        using var import = System.Diagnostics.Process.Start(start)!;
        var stderrTask = import.StandardError.ReadToEndAsync();
        var stdoutTask = import.StandardOutput.ReadToEndAsync();
        foreach (var line in lines.Take(1_000))
        {
            await import.StandardInput.WriteLineAsync(line);
        }

        await import.StandardInput.FlushAsync();

        // The first batch is written once the collection's vector file exists: the command is running, Ctrl+C is its to handle.
        var vectors = Path.Combine(_store.Path_, "vectors");
        using (var waited = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (!(Directory.Exists(vectors) && Directory.EnumerateFiles(vectors, "*.vec").Any()) && !import.HasExited)
            {
                await Task.Delay(50, waited.Token);
            }
        }

        import.HasExited.Should().BeFalse("the import waits for more lines on its standard input");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", import.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        // More lines, then the end of the input: the next batch finds Ctrl+C's cancellation and the import stops there.
        await Task.Delay(300);
        try
        {
            foreach (var line in lines.Skip(1_000))
            {
                await import.StandardInput.WriteLineAsync(line);
            }

            import.StandardInput.Close();
        }
        catch (IOException)
        {
            // The import stopped reading (it was interrupted): the rest of the input is not needed.
        }

        using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await import.WaitForExitAsync(exited.Token);
        }

        var stderr = await stderrTask;
        await stdoutTask;
        import.ExitCode.Should().Be(130, stderr);
        stderr.Should().Contain("Interrupted after").And.Contain("run the same command again");

        var resumed = Json(_store.Run("import", file, "--collection", "big", "--batch-size", "1000", "--json"));
        resumed.GetProperty("skipped").GetInt64().Should().BePositive("the batches written before Ctrl+C were kept");
        (resumed.GetProperty("skipped").GetInt64() + resumed.GetProperty("written").GetInt64()).Should().Be(10_000);
        Json(_store.Run("collections", "info", "big", "--json")).GetProperty("records").GetString().Should().Be("10000");
    }

    [Fact]
    public void Import_reads_csv_with_typed_metadata_columns_and_json_embedding_cells()
    {
        var csv = new StringBuilder();
        csv.AppendLine("id,document,embedding,genre,year,score,classic,metadata");
        csv.AppendLine("dune,\"Desert planet, spice\",\"[1,0,0]\",scifi,1965,4.5,true,\"{\"\"tags\"\":[\"\"sand\"\"]}\"");
        csv.AppendLine("emma,Matchmaking,\"[0,1,0]\",romance,1815,,false,");
        File.WriteAllText(_store.File("books.csv"), csv.ToString());

        var import = Json(_store.Run("import", _store.File("books.csv"), "--collection", "books", "--create", "--json"));
        import.GetProperty("written").GetInt64().Should().Be(2);

        var records = _store.Run("export", "--collection", "books").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToDictionary(n => (string)n["id"]!);
        var dune = records["dune"]!;
        ((string)dune["document"]!).Should().Be("Desert planet, spice");
        ((long)dune["metadata"]!["year"]!).Should().Be(1965);
        ((double)dune["metadata"]!["score"]!).Should().Be(4.5);
        ((bool)dune["metadata"]!["classic"]!).Should().BeTrue();
        ((string)dune["metadata"]!["tags"]![0]!).Should().Be("sand");
        records["emma"]!["metadata"]!.AsObject().ContainsKey("score").Should().BeFalse("an empty cell is no value");
    }

    [Fact]
    public void Import_embeds_documents_with_the_default_model_and_query_by_text_finds_the_nearest()
    {
        File.WriteAllLines(_store.File("texts.jsonl"),
        [
            "{\"id\": \"cat\", \"document\": \"A cat sleeps on the warm sofa.\", \"metadata\": {\"kind\": \"pet\"}}",
            "{\"id\": \"car\", \"document\": \"The car drives fast on the highway.\", \"metadata\": {\"kind\": \"vehicle\"}}",
            "{\"id\": \"soup\", \"document\": \"Tomato soup simmers in the pot.\", \"metadata\": {\"kind\": \"food\"}}",
        ]);
        Json(_store.Run("import", _store.File("texts.jsonl"), "--collection", "texts", "--create", "--json")).GetProperty("written").GetInt64().Should().Be(3);
        Json(_store.Run("collections", "info", "texts", "--json")).GetProperty("dimension").GetString().Should().Be("384");

        var hits = Json(_store.Run("query", "kitten", "--collection", "texts", "-n", "2", "--json"));
        hits.GetArrayLength().Should().Be(2);
        hits[0].GetProperty("id").GetString().Should().Be("cat");
        hits[0].GetProperty("metadata").GetProperty("kind").GetString().Should().Be("pet");

        var filtered = Json(_store.Run("query", "kitten", "--collection", "texts", "--where", "{\"kind\": {\"$ne\": \"pet\"}}", "--json"));
        filtered.EnumerateArray().Select(h => h.GetProperty("id").GetString()).Should().BeEquivalentTo(["car", "soup"]);
    }

    [Fact]
    public void Query_by_vector_returns_nearest_first_and_refuses_bad_input_with_exit_1()
    {
        File.WriteAllLines(_store.File("v.jsonl"), Records(50));
        _store.Run("import", _store.File("v.jsonl"), "--collection", "vecs", "--create").ExitCode.Should().Be(0);

        var hits = Json(_store.Run("query", "--vector", "[0.1, 0.2, 0.3, 0.4]", "--collection", "vecs", "--n-results", "5", "--where", "{\"tag\": \"fizz\"}", "--json"));
        hits.GetArrayLength().Should().Be(5);
        var distances = hits.EnumerateArray().Select(h => h.GetProperty("distance").GetDouble()).ToList();
        distances.Should().BeInAscendingOrder();
        hits.EnumerateArray().Should().OnlyContain(h => h.GetProperty("metadata").GetProperty("tag").GetString() == "fizz");
        _store.Run("query", "--vector", "[0.1, 0.2, 0.3, 0.4]", "--collection", "vecs").Stdout.Should().Contain("distance");

        _store.Run("query", "--vector", "[0.1, 0.2]", "--collection", "vecs").ExitCode.Should().Be(1, "the dimension is 4");
        _store.Run("query", "--vector", "[0.1, 0.2, 0.3, 0.4]", "--collection", "vecs", "--where", "{\"tag\": {\"$bogus\": 1}}").ExitCode.Should().Be(1);
        _store.Run("query", "--collection", "vecs").ExitCode.Should().Be(1, "neither a text nor a vector");
        _store.Run("query", "--vector", "[1,2,3,4]", "--collection", "nope").ExitCode.Should().Be(2);
        _store.Run("import", _store.File("missing.jsonl"), "--collection", "vecs").ExitCode.Should().Be(2);
        File.WriteAllText(_store.File("typo.jsonl"), "{\"id\": \"a\", \"embeddings\": [1,2,3,4]}\n");
        var typo = _store.Run("import", _store.File("typo.jsonl"), "--collection", "vecs");
        typo.ExitCode.Should().Be(1);
        typo.Stderr.Should().Contain("unknown field 'embeddings'");
    }
}
