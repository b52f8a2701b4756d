using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using nietras.SeparatedValues;

namespace EmbeddedChroma.Cli.Commands;

/// <summary>
/// <c>embeddedchroma import FILE</c>: JSON Lines or CSV records into a collection, in batches (each batch all or
/// nothing). Records with an embedding are written as they are; records with only a document are embedded by the
/// collection's embedding function (Chroma's default model unless the collection says otherwise). Resumable: ids
/// already in the collection are skipped (default, and never embedded again), upserted, or refused.
/// </summary>
internal static class ImportCommand
{
    private static readonly string[] JsonFields = ["id", "embedding", "document", "metadata", "uri"];

    public static Command Create()
    {
        var file = new Argument<string>("FILE")
        {
            Description = """
                JSON Lines (.jsonl) or CSV (.csv) file; '-' reads standard input.
                JSON Lines: one object per line, {"id": "...", "embedding": [..], "document": "...", "metadata": {..}, "uri": "..."}; id and an embedding or a document are required (a document alone is embedded by the collection's embedding function).
                CSV: a header row; columns id, document, embedding (a JSON array), uri, metadata (a JSON object); any other column becomes a metadata key (integers, floats, true/false typed; empty = absent).
                """,
        };
        var format = new Option<string?>("--format") { Description = "jsonl or csv (default: from the file's extension, else jsonl).", HelpName = "FORMAT" };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var onExisting = new Option<string>("--on-existing")
        {
            Description = "What to do with ids the collection holds already: skip (default; re-running a cut-off import resumes it), upsert, or fail (exit 4).",
            DefaultValueFactory = _ => "skip",
            HelpName = "skip|upsert|fail",
        };
        onExisting.AcceptOnlyFromAmong("skip", "upsert", "fail");
        var batchSize = new Option<int>("--batch-size") { Description = "Records per write (each batch is all or nothing).", DefaultValueFactory = _ => 256, HelpName = "N" };
        var create = new Option<bool>("--create") { Description = "Create the collection when it does not exist (it remembers Chroma's default embedding function)." };
        var buildIndex = new Option<bool>("--build-index")
        {
            Description = "After the records, wait (with a progress bar) until the HNSW index has linked them all, so the next open queries the graph at once. Without it the index is built in the background and resumed by the next open.",
        };
        var command = new Command("import", "Import records from JSON Lines or CSV (see FILE); resumable: ids already there are skipped.")
        {
            file, Cli.Store, Cli.Collection, Cli.Tenant, Cli.Database, format, onExisting, batchSize, create, buildIndex, Cli.Json,
        };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(file);
            var size = parse.GetValue(batchSize);
            if (size is < 1 or > 10_000)
            {
                throw new CliException(ExitCodes.Usage, $"--batch-size must be between 1 and 10000, got {size}.", "256 is a good size.");
            }

            var csv = (parse.GetValue(format) ?? (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? "csv" : "jsonl")) == "csv";
            if (path != "-" && !File.Exists(path))
            {
                throw new CliException(ExitCodes.NotFound, $"the input file '{Path.GetFullPath(path)}' does not exist.", "check the path.");
            }

            using var session = Session.Open(parse);
            var client = session.Client();
            var name = parse.GetRequiredValue(Cli.Collection);
            var collection = parse.GetValue(create) ? client.GetOrCreateCollection(name) : client.GetCollection(name);
            var mode = parse.GetRequiredValue(onExisting);

            using var stream = path == "-" ? Console.OpenStandardInput() : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            double? total = stream.CanSeek ? stream.Length : null;
            var clock = Stopwatch.StartNew();
            var counts = new Counts();
            try
            {
                await Terminal.WithProgress($"Importing into {name}", total, async report =>
                {
                    using var text = new StreamReader(stream);
                    var records = csv ? ReadCsv(text) : ReadJsonLines(text);
                    foreach (var batch in records.Chunk(size))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        Write(collection, batch, mode, counts);
                        report(stream.CanSeek ? stream.Position : counts.Read, total);
                        await Task.Yield();
                    }

                    return 0;
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Terminal.Note($"Interrupted after {counts.Read} records ({counts.Written} written, {counts.Skipped} skipped); the batches written are kept.");
                throw new CliException(ExitCodes.Interrupted, "import interrupted.", "run the same command again: ids already imported are skipped (--on-existing skip).");
            }
            catch (ChromaException) when (counts.Read > 0)
            {
                Terminal.Note($"Stopped after {counts.Written} records written and {counts.Skipped} skipped; the failed batch wrote nothing.");
                throw;
            }

            IndexingStatus? indexed = null;
            if (parse.GetValue(buildIndex))
            {
                try
                {
                    indexed = await Terminal.WithProgress($"Indexing {name}", null, report => Task.Run(() => collection.BuildIndex(Terminal.Reporter(report), cancellationToken))).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw new CliException(ExitCodes.Interrupted, "index build interrupted; every record is imported and queryable.", "the index is resumed in the background the next time the store is opened.");
                }
            }

            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("collection", name);
                    w.WriteNumber("read", counts.Read);
                    w.WriteNumber("written", counts.Written);
                    w.WriteNumber("skipped", counts.Skipped);
                    w.WriteNumber("seconds", Math.Round(clock.Elapsed.TotalSeconds, 3));
                    if (indexed is not null)
                    {
                        w.WriteNumber("indexed", indexed.IndexedRecords);
                        w.WriteNumber("unindexed", indexed.UnindexedRecords);
                    }

                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Line(string.Create(CultureInfo.InvariantCulture, $"Imported {counts.Written} records into '{name}' ({counts.Skipped} already there, skipped) in {clock.Elapsed.TotalSeconds:0.0} s."));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed class Counts
    {
        public long Read;
        public long Written;
        public long Skipped;
    }

    private sealed record Row(long Line, string Id, float[]? Embedding, Dictionary<string, MetadataValue?>? Metadata, string? Document, string? Uri);

    private static void Write(Collection collection, Row[] batch, string mode, Counts counts)
    {
        counts.Read += batch.Length;
        var duplicate = batch.GroupBy(r => r.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ChromaValidationException($"line {duplicate.Last().Line}: the id '{duplicate.Key}' appears twice in one batch (first on line {duplicate.First().Line}).");
        }

        var rows = batch;
        if (mode != "upsert")
        {
            var existing = collection.Get(ids: batch.Select(r => r.Id).ToList(), include: Include.None).Ids.ToHashSet(StringComparer.Ordinal);
            if (existing.Count > 0 && mode == "fail")
            {
                var first = batch.First(r => existing.Contains(r.Id));
                throw new CliException(ExitCodes.Conflict, $"line {first.Line}: the id '{first.Id}' is in the collection already ({existing.Count} of this batch are).", "use --on-existing skip to resume an import, or upsert to overwrite.");
            }

            rows = batch.Where(r => !existing.Contains(r.Id)).ToArray();
            counts.Skipped += batch.Length - rows.Length;
        }

        foreach (var group in rows.GroupBy(r => r.Embedding is not null))
        {
            var part = group.ToList();
            var ids = part.Select(r => r.Id).ToList();
            var embeddings = group.Key ? part.Select(r => r.Embedding!).ToList() : null;
            var metadatas = part.Any(r => r.Metadata is not null) ? part.Select(r => (IReadOnlyDictionary<string, MetadataValue?>?)r.Metadata).ToList() : null;
            var documents = part.Any(r => r.Document is not null) ? part.Select(r => r.Document).ToList() : null;
            var uris = part.Any(r => r.Uri is not null) ? part.Select(r => r.Uri).ToList() : null;
            if (!group.Key && part.FirstOrDefault(r => r.Document is null) is { } bare)
            {
                throw new ChromaValidationException($"line {bare.Line}: the record '{bare.Id}' has neither an embedding nor a document.");
            }

            if (mode == "upsert")
            {
                collection.Upsert(ids, embeddings, metadatas, documents, uris);
            }
            else
            {
                collection.Add(ids, embeddings, metadatas, documents, uris);
            }

            counts.Written += part.Count;
        }
    }

    private static IEnumerable<Row> ReadJsonLines(TextReader reader)
    {
        long line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            yield return ParseJsonLine(text, line);
        }
    }

    private static Row ParseJsonLine(string text, long line)
    {
        var where = $"line {line}";
        using var document = Values.ParseJson(text, where);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ChromaValidationException($"{where}: each line must be one JSON object.");
        }

        foreach (var property in root.EnumerateObject())
        {
            if (!JsonFields.Contains(property.Name, StringComparer.Ordinal))
            {
                throw new ChromaValidationException($"{where}: unknown field '{property.Name}' (the fields are {string.Join(", ", JsonFields)}).");
            }
        }

        if (!root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String)
        {
            throw new ChromaValidationException($"{where}: \"id\" (a string) is required.");
        }

        return new Row(
            line,
            id.GetString()!,
            Present(root, "embedding") is { } e ? Values.Embedding(e, where) : null,
            Present(root, "metadata") is { } m ? Values.MetadataObject(m, where) : null,
            Text(root, "document", where),
            Text(root, "uri", where));
    }

    private static JsonElement? Present(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Text(JsonElement root, string name, string where) => Present(root, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new ChromaValidationException($"{where}: \"{name}\" must be a string."),
    };

    private static IEnumerable<Row> ReadCsv(TextReader text)
    {
        using var reader = Open(text);
        var names = reader.Header.ColNames;
        if (!names.Contains("id", StringComparer.Ordinal))
        {
            throw new ChromaValidationException("line 1: the CSV header has no 'id' column.");
        }

        while (Next(reader))
        {
            yield return ParseCsvRow(reader.Current, names);
        }
    }

    private static SepReader Open(TextReader text)
    {
        try
        {
            return Sep.Reader(o => o with { Unescape = true }).From(text);
        }
        catch (InvalidDataException e)
        {
            throw new ChromaValidationException($"CSV: {e.Message}");
        }
    }

    private static bool Next(SepReader reader)
    {
        try
        {
            return reader.MoveNext();
        }
        catch (InvalidDataException e)
        {
            throw new ChromaValidationException($"CSV: {e.Message}");
        }
    }

    private static Row ParseCsvRow(SepReader.Row row, IReadOnlyList<string> names)
    {
        var where = $"line {row.LineNumberFrom}";
        string? id = null, document = null, uri = null;
        float[]? embedding = null;
        Dictionary<string, MetadataValue?>? metadata = null;
        for (var i = 0; i < names.Count; i++)
        {
            var cell = row[i].ToString();
            switch (names[i])
            {
                case "id":
                    id = cell;
                    break;
                case "document":
                    document = cell.Length == 0 ? null : cell;
                    break;
                case "uri":
                    uri = cell.Length == 0 ? null : cell;
                    break;
                case "embedding" when cell.Length > 0:
                    using (var json = Values.ParseJson(cell, where + ", column embedding"))
                    {
                        embedding = Values.Embedding(json.RootElement, where);
                    }

                    break;
                case "metadata" when cell.Length > 0:
                    using (var json = Values.ParseJson(cell, where + ", column metadata"))
                    {
                        metadata ??= new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
                        foreach (var (key, item) in Values.MetadataObject(json.RootElement, where))
                        {
                            metadata[key] = item;
                        }
                    }

                    break;
                case "embedding" or "metadata":
                    break;
                default:
                    if (Values.FromCsvCell(cell) is { } typed)
                    {
                        metadata ??= new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
                        metadata[names[i]] = typed;
                    }

                    break;
            }
        }

        if (string.IsNullOrEmpty(id))
        {
            throw new ChromaValidationException($"{where}: the id is empty.");
        }

        return new Row(row.LineNumberFrom, id, embedding, metadata, document, uri);
    }
}
