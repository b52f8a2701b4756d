using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace EmbeddedChroma.Cli.Commands;

/// <summary>
/// <c>embeddedchroma export</c>: a collection as JSON Lines (the import format), streamed page by page through
/// <c>Get(limit, offset)</c>, so memory stays flat whatever the collection's size.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file (default: standard output).", HelpName = "FILE" };
        var pageSize = new Option<int>("--page-size") { Description = "Records read per page.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var noEmbeddings = new Option<bool>("--no-embeddings") { Description = "Leave the embeddings out (documents, metadata and uris only)." };
        var command = new Command("export", "Export a collection as JSON Lines (one record per line: id, embedding, document, metadata, uri), streaming.")
        {
            Cli.Store, Cli.Collection, Cli.Tenant, Cli.Database, output, pageSize, noEmbeddings,
        };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            var size = parse.GetValue(pageSize);
            if (size is < 1 or > 10_000)
            {
                throw new CliException(ExitCodes.Usage, $"--page-size must be between 1 and 10000, got {size}.", "1000 is a good size.");
            }

            using var session = Session.Open(parse);
            var collection = session.Client().GetCollection(parse.GetRequiredValue(Cli.Collection));
            var include = Include.Documents | Include.Metadatas | Include.Uris | (parse.GetValue(noEmbeddings) ? Include.None : Include.Embeddings);
            var file = parse.GetValue(output);
            long written = 0;
            using (var stream = file is null ? Console.OpenStandardOutput() : new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
                async Task<long> Run(Action<double, double?> report)
                {
                    var total = collection.Count();
                    for (var offset = 0; ; offset += size)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var page = collection.Get(limit: size, offset: offset, include: include);
                        for (var i = 0; i < page.Count; i++)
                        {
                            WriteRecord(writer, page, i);
                            writer.Flush();
                            writer.Reset();
                            stream.WriteByte((byte)'\n');
                        }

                        written += page.Count;
                        report(written, total);
                        if (page.Count < size)
                        {
                            return written;
                        }

                        await Task.Yield();
                    }
                }

                // A progress bar only when the records go to a file: on a terminal it would mix with them.
                if (file is null)
                {
                    await Run((_, _) => { }).ConfigureAwait(false);
                }
                else
                {
                    await Terminal.WithProgress($"Exporting {collection.Name}", null, Run).ConfigureAwait(false);
                }
            }

            if (file is not null)
            {
                Terminal.Note($"Exported {written} records to '{Path.GetFullPath(file)}'.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteRecord(Utf8JsonWriter w, GetResult page, int i)
    {
        w.WriteStartObject();
        w.WriteString("id", page.Ids[i]);
        if (page.Embeddings?[i] is { } embedding)
        {
            w.WritePropertyName("embedding");
            Values.WriteEmbedding(w, embedding);
        }

        if (page.Documents?[i] is { } document)
        {
            w.WriteString("document", document);
        }

        if (page.Metadatas?[i] is { } metadata)
        {
            w.WritePropertyName("metadata");
            Values.WriteMetadata(w, metadata);
        }

        if (page.Uris?[i] is { } uri)
        {
            w.WriteString("uri", uri);
        }

        w.WriteEndObject();
    }
}
