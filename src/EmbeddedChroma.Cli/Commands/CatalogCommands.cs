using System.CommandLine;
using System.Globalization;

namespace EmbeddedChroma.Cli.Commands;

/// <summary><c>embeddedchroma tenants | databases | collections list | info | create | delete</c>.</summary>
internal static class CatalogCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Group("tenants", "tenant",
            list: client => client.ListTenants().Select(t => (IReadOnlyList<string?>)[t]).ToList(),
            headers: ["name"],
            info: (client, name) => [("name", client.GetTenant(name).Name)],
            create: (client, name, _) => client.CreateTenant(name),
            delete: (client, name) => client.DeleteTenant(name),
            scoped: []);
        yield return Group("databases", "database",
            list: client => client.ListDatabases(client.Tenant).Select(d => (IReadOnlyList<string?>)[d.Tenant, d.Name]).ToList(),
            headers: ["tenant", "name"],
            info: (client, name) => client.GetDatabase(name, client.Tenant) is var d ? [("tenant", d.Tenant), ("name", d.Name)] : [],
            create: (client, name, _) => client.CreateDatabase(name, client.Tenant),
            delete: (client, name) => client.DeleteDatabase(name, client.Tenant),
            scoped: [Cli.Tenant]);
        yield return Group("collections", "collection",
            list: client => client.ListCollections().Select(c => (IReadOnlyList<string?>)[c.Name, c.Id.ToString(), c.Dimension?.ToString(CultureInfo.InvariantCulture) ?? "-", CollectionConfiguration.SpaceName(c.Configuration.Space), c.Configuration.EmbeddingFunction?.Name ?? c.Configuration.EmbeddingFunction?.Type ?? "-"]).ToList(),
            headers: ["name", "id", "dimension", "space", "embedding function"],
            info: CollectionInfo,
            create: CreateCollection,
            delete: (client, name) => client.DeleteCollection(name),
            scoped: [Cli.Tenant, Cli.Database]);
    }

    private static readonly Option<string?> Space = new("--space")
    {
        Description = "Distance: l2 (default), cosine or ip.",
        HelpName = "SPACE",
    };

    private static readonly Option<string?> Metadata = new("--metadata")
    {
        Description = "The collection's metadata, a JSON object.",
        HelpName = "JSON",
    };

    private static List<(string, string?)> CollectionInfo(ChromaClient client, string name)
    {
        var collection = client.GetCollection(name);
        var status = collection.GetIndexingStatus();
        return
        [
            ("name", collection.Name), ("id", collection.Id.ToString()), ("tenant", collection.Tenant), ("database", collection.Database),
            ("records", collection.Count().ToString(CultureInfo.InvariantCulture)),
            ("dimension", collection.Dimension?.ToString(CultureInfo.InvariantCulture) ?? "-"),
            ("space", CollectionConfiguration.SpaceName(collection.Configuration.Space)),
            ("embedding function", collection.Configuration.EmbeddingFunction?.ToJson() ?? "-"),
            ("hnsw", $"ef_construction {collection.Configuration.EfConstruction}, ef_search {collection.Configuration.EfSearch}, max_neighbors {collection.Configuration.MaxNeighbors}"),
            ("indexed", $"{status.IndexedRecords} of {status.TotalRecords} ({status.Progress:P0})"),
            ("metadata", Values.MetadataText(collection.Metadata)),
        ];
    }

    private static void CreateCollection(ChromaClient client, string name, ParseResult parse)
    {
        var configuration = parse.GetValue(Space) is { } space ? new CollectionConfiguration { Space = ParseSpace(space) } : null;
        Dictionary<string, MetadataValue?>? metadata = null;
        if (parse.GetValue(Metadata) is { } json)
        {
            using var document = Values.ParseJson(json, "--metadata");
            metadata = Values.MetadataObject(document.RootElement, "--metadata");
        }

        client.CreateCollection(name, new CollectionOptions { Configuration = configuration, Metadata = metadata });
    }

    private static DistanceSpace ParseSpace(string space)
    {
        try
        {
            return CollectionConfiguration.ParseSpace(space);
        }
        catch (ChromaException)
        {
            throw new CliException(ExitCodes.Usage, $"--space: '{space}' is not a distance space.", "use l2, cosine or ip.");
        }
    }

    private static Command Group(
        string plural,
        string singular,
        Func<ChromaClient, List<IReadOnlyList<string?>>> list,
        string[] headers,
        Func<ChromaClient, string, List<(string, string?)>> info,
        Action<ChromaClient, string, ParseResult> create,
        Action<ChromaClient, string> delete,
        Option[] scoped)
    {
        var group = new Command(plural, $"List, show, create and delete {plural}.");

        var listCommand = new Command("list", $"List the {plural} the key may see.") { Cli.Store, Cli.Json };
        Scope(listCommand, scoped);
        Cli.SetAction(listCommand, parse =>
        {
            using var session = Session.Open(parse);
            var rows = list(session.Client());
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartArray();
                    foreach (var row in rows)
                    {
                        w.WriteStartObject();
                        for (var i = 0; i < headers.Length; i++)
                        {
                            w.WriteString(headers[i].Replace(' ', '_'), row[i]);
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                });
            }
            else
            {
                Terminal.Table(headers, rows);
            }

            return ExitCodes.Ok;
        });
        group.Add(listCommand);

        var infoName = new Argument<string>("NAME") { Description = $"The {singular}'s name." };
        var infoCommand = new Command("info", $"Show one {singular}.") { infoName, Cli.Store, Cli.Json };
        Scope(infoCommand, scoped);
        Cli.SetAction(infoCommand, parse =>
        {
            using var session = Session.Open(parse);
            var fields = info(session.Client(), parse.GetRequiredValue(infoName));
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    foreach (var (field, value) in fields)
                    {
                        w.WriteString(field.Replace(' ', '_'), value);
                    }

                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Fields(fields);
            }

            return ExitCodes.Ok;
        });
        group.Add(infoCommand);

        var createName = new Argument<string>("NAME") { Description = $"The new {singular}'s name." };
        var createCommand = new Command("create", $"Create a {singular}.") { createName, Cli.Store };
        Scope(createCommand, scoped);
        if (singular == "collection")
        {
            createCommand.Add(Space);
            createCommand.Add(Metadata);
        }

        Cli.SetAction(createCommand, parse =>
        {
            using var session = Session.Open(parse);
            create(session.Client(), parse.GetRequiredValue(createName), parse);
            Terminal.Line($"Created {singular} '{parse.GetRequiredValue(createName)}'.");
            return ExitCodes.Ok;
        });
        group.Add(createCommand);

        var deleteName = new Argument<string>("NAME") { Description = $"The {singular}'s name." };
        var deleteCommand = new Command("delete", $"Delete a {singular}" + (singular == "collection" ? " and its records." : " (it must be empty).")) { deleteName, Cli.Store };
        Scope(deleteCommand, scoped);
        Cli.SetAction(deleteCommand, parse =>
        {
            using var session = Session.Open(parse);
            delete(session.Client(), parse.GetRequiredValue(deleteName));
            Terminal.Line($"Deleted {singular} '{parse.GetRequiredValue(deleteName)}'.");
            return ExitCodes.Ok;
        });
        group.Add(deleteCommand);
        return group;
    }

    private static void Scope(Command command, Option[] scoped)
    {
        foreach (var option in scoped)
        {
            command.Add(option);
        }
    }
}
