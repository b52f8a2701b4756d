using System.CommandLine;
using System.Globalization;

namespace EmbeddedChroma.Cli.Commands;

/// <summary><c>embeddedchroma query</c>: nearest records to a text (embedded by the collection's function) or a vector.</summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var text = new Argument<string?>("TEXT") { Description = "The query text (embedded by the collection's embedding function).", Arity = ArgumentArity.ZeroOrOne };
        var vector = new Option<string?>("--vector") { Description = "Query by this embedding instead, a JSON array: [0.1, 0.2, …].", HelpName = "JSON" };
        var where = new Option<string?>("--where") { Description = "Metadata filter, Chroma's JSON: {\"genre\": \"scifi\"}, {\"year\": {\"$gte\": 2000}}.", HelpName = "JSON" };
        var whereDocument = new Option<string?>("--where-document") { Description = "Document filter, Chroma's JSON: {\"$contains\": \"desert\"}.", HelpName = "JSON" };
        var nResults = new Option<int>("--n-results", "-n") { Description = "How many results.", DefaultValueFactory = _ => 10, HelpName = "N" };
        var command = new Command("query", "Find the records nearest to a text or a vector.")
        {
            text, Cli.Store, Cli.Collection, Cli.Tenant, Cli.Database, vector, where, whereDocument, nResults, Cli.Json,
        };
        Cli.SetAction(command, parse =>
        {
            var query = parse.GetValue(text);
            var embedding = parse.GetValue(vector);
            if ((query is null) == (embedding is null))
            {
                throw new CliException(ExitCodes.Usage, "give either a query TEXT or --vector, not both and not neither.", "e.g. embeddedchroma query \"desert planet\" --store S --collection C");
            }

            float[]? queryVector = null;
            if (embedding is not null)
            {
                using var json = Values.ParseJson(embedding, "--vector");
                queryVector = Values.Embedding(json.RootElement, "--vector");
            }

            var filter = parse.GetValue(where) is { } w ? Where.Parse(w) : null;
            var documentFilter = parse.GetValue(whereDocument) is { } d ? WhereDocument.Parse(d) : null;
            var n = parse.GetValue(nResults);
            using var session = Session.Open(parse);
            var collection = session.Client().GetCollection(parse.GetRequiredValue(Cli.Collection));
            var result = queryVector is not null
                ? collection.Query([queryVector], n, filter, documentFilter)
                : collection.Query([query!], n, filter, documentFilter);
            var ids = result.Ids[0];
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(writer =>
                {
                    writer.WriteStartArray();
                    for (var i = 0; i < ids.Count; i++)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("id", ids[i]);
                        writer.WriteNumber("distance", result.Distances![0][i]);
                        writer.WriteString("document", result.Documents?[0][i]);
                        writer.WritePropertyName("metadata");
                        Values.WriteMetadata(writer, result.Metadatas?[0][i]);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndArray();
                });
            }
            else
            {
                Terminal.Table(
                    ["#", "id", "distance", "document", "metadata"],
                    Enumerable.Range(0, ids.Count).Select(i => (IReadOnlyList<string?>)
                    [
                        (i + 1).ToString(CultureInfo.InvariantCulture), ids[i], result.Distances![0][i].ToString("0.0000", CultureInfo.InvariantCulture),
                        Shorten(result.Documents?[0][i]), Values.MetadataText(result.Metadatas?[0][i]),
                    ]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 80 ? text : text[..79] + "…";
}
