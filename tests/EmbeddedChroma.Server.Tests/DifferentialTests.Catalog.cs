using System.Text.Json.Nodes;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// The tenant and database routes in the differential script: create / get tenants, create / get / list / delete
/// databases, and collections created, got, listed and counted inside them, including the errors (duplicates, missing
/// ones, bad names, bodies of the wrong shape). Where the two servers differ on purpose, the difference is named
/// (<see cref="CatalogDifferences"/>): the host's answer is asserted and Chroma's is printed, so the test keeps passing
/// if Chroma changes its behaviour, and every other answer must agree.
/// </summary>
public sealed partial class DifferentialTests
{
    /// <summary>Where the host answers the catalog routes differently from Chroma's server, on purpose.</summary>
    private static class CatalogDifferences
    {
        /// <summary>
        /// Chroma's server lists databases (and collections) in its own order (databases: by name); the host lists them
        /// oldest first, as the embedded store does. Full lists are compared as sets of names, pages by their length.
        /// </summary>
        public const string ListingOrder = "listing-order";

        /// <summary>A database's <c>id</c> is Chroma's catalog id there, a stable name-based UUID here; not compared.</summary>
        public const string DatabaseId = "database-id";

        /// <summary>
        /// Chroma's server creates a database in a tenant that does not exist (200; the database is then listed and got
        /// under that tenant); the host answers 404 <c>NotFoundError</c>: a tenant must be created first.
        /// </summary>
        public const string DatabaseInMissingTenant = "database-in-missing-tenant";

        /// <summary>
        /// Chroma's server answers a collection count of 0 and an empty collection list for a database that does not
        /// exist (never created, or deleted); the host answers 404 <c>NotFoundError</c>, as for any other call on it.
        /// </summary>
        public const string MissingDatabaseReadsEmpty = "missing-database-reads-empty";

        /// <summary>
        /// Creating a collection in a database that does not exist: Chroma's server answers 400 <c>InvalidArgumentError</c>
        /// ("Database [x] does not exist"), the host 404 <c>NotFoundError</c>, as for every other call on a missing database.
        /// </summary>
        public const string CollectionInMissingDatabase = "collection-in-missing-database";

        /// <summary>
        /// Chroma's server checks only the length of a tenant name (3 or more), so <c>"bad name!"</c> is a tenant there;
        /// the host applies the name rules of databases and collections to tenants too (400 <c>InvalidArgumentError</c>).
        /// </summary>
        public const string TenantNameCharacters = "tenant-name-characters";
    }

    private static readonly string[] TenantNames = ["acme", "globex", "initech"];
    private static readonly string[] DatabaseNames = ["db_one", "db_two", "db_three", "db_four"];
    private static readonly string[] CatalogCollectionNames = ["col_a", "col_b", "col_c"];

    private sealed record CatalogReport(List<string> Mismatches, int Compared, int Errors, Dictionary<string, int> Named);

    /// <summary>
    /// A seeded script of <paramref name="operations"/> catalog calls sent to both servers (which must hold the
    /// default tenant and database and nothing of these names yet).
    /// </summary>
    private async Task<CatalogReport> RunCatalogScriptAsync(HttpClient real, HttpClient ours, int seed, int operations)
    {
        var random = new Random(seed);
        var mismatches = new List<string>();
        var named = new Dictionary<string, int>();
        var compared = 0;
        var errors = 0;

        // The host's view: tenants and databases that exist (updated from the host's answers, which were compared).
        var tenants = new HashSet<string>(StringComparer.Ordinal) { "default_tenant" };
        var databases = new HashSet<(string Tenant, string Database)> { ("default_tenant", "default_database") };

        async Task<(Answer Real, Answer Ours)?> Compare(string what, HttpMethod method, string path, string? body, Func<JsonNode?, JsonNode?>? project = null)
        {
            var a = await Send(real, method, path, body);
            var b = await Send(ours, method, path, body);
            compared++;
            if (a.Status != b.Status)
            {
                mismatches.Add($"{what}: status {a.Status} (chroma) vs {b.Status} (host); chroma {Short(a.Text)}; host {Short(b.Text)}");
                return null;
            }

            if (a.Status >= 400)
            {
                errors++;
                if (a.Json?["error"]?.GetValue<string>() != b.Json?["error"]?.GetValue<string>())
                {
                    mismatches.Add($"{what}: error {a.Text} (chroma) vs {b.Text} (host)");
                }

                return (a, b);
            }

            if (Difference(project is null ? a.Json : project(a.Json), project is null ? b.Json : project(b.Json), "$", null) is { } difference)
            {
                mismatches.Add($"{what}: {difference}; chroma {Short(a.Text)}; host {Short(b.Text)}");
            }

            return (a, b);
        }

        // A named difference: the host's answer is asserted; Chroma's is printed (and may change without failing).
        async Task Named(string difference, string what, HttpMethod method, string path, string? body, int hostStatus, string? hostError)
        {
            var a = await Send(real, method, path, body);
            var b = await Send(ours, method, path, body);
            compared++;
            named[difference] = named.GetValueOrDefault(difference) + 1;
            if (b.Status != hostStatus || (hostError is not null && b.Json?["error"]?.GetValue<string>() != hostError))
            {
                mismatches.Add($"{what} ({difference}): the host answered {b.Status} {Short(b.Text)}, expected {hostStatus} {hostError}");
            }

            if (named[difference] == 1)
            {
                output.WriteLine($"{difference}: {what}: Chroma's server {a.Status} {Short(a.Text)}; host {b.Status} {Short(b.Text)}");
            }
        }

        static JsonNode? Names(JsonNode? list) =>
            new JsonArray(list!.AsArray().Select(d => d!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal).Select(n => (JsonNode)JsonValue.Create(n)).ToArray());
        static JsonNode? Length(JsonNode? list) => JsonValue.Create((double)list!.AsArray().Count);
        static JsonNode? WithoutId(JsonNode? database) => new JsonObject { ["name"] = database!["name"]!.GetValue<string>(), ["tenant"] = database["tenant"]!.GetValue<string>() };
        static JsonNode? CollectionFields(JsonNode? collection) => new JsonObject
        {
            ["name"] = collection!["name"]!.DeepClone(),
            ["tenant"] = collection["tenant"]!.DeepClone(),
            ["database"] = collection["database"]!.DeepClone(),
            ["metadata"] = collection["metadata"]?.DeepClone(),
        };

        string Pick(string[] names) => names[random.Next(names.Length)];
        string AnyTenant() => random.Next(6) == 0 ? "default_tenant" : Pick(TenantNames);
        string Db(string tenant, string database) => $"/api/v2/tenants/{tenant}/databases/{database}";
        string Paging() => random.Next(3) switch
        {
            0 => string.Empty,
            1 => $"?limit={random.Next(0, 4)}",
            _ => $"?limit={random.Next(1, 4)}&offset={random.Next(0, 4)}",
        };

        for (var op = 0; op < operations; op++)
        {
            var kind = random.Next(100);
            var tenant = AnyTenant();
            var database = Pick(DatabaseNames);
            var tenantExists = tenants.Contains(tenant);
            var databaseExists = databases.Contains((tenant, database));
            if (kind < 12)
            {
                var name = Pick(TenantNames);
                if (await Compare($"#{op} create tenant {name}", HttpMethod.Post, "/api/v2/tenants", $"{{\"name\":\"{name}\"}}") is { Ours.Status: 200 })
                {
                    tenants.Add(name);
                }
            }
            else if (kind < 20)
            {
                var name = random.Next(4) == 0 ? "nobody" : tenant;
                await Compare($"#{op} get tenant {name}", HttpMethod.Get, $"/api/v2/tenants/{name}", null);
            }
            else if (kind < 25)
            {
                var body = random.Next(4) switch
                {
                    0 => """{"name":"ab"}""",
                    1 => """{"name":""}""",
                    2 => "{}",
                    _ => """{"name":5}""",
                };
                await Compare($"#{op} create tenant {body}", HttpMethod.Post, "/api/v2/tenants", body);
            }
            else if (kind < 40)
            {
                var path = $"/api/v2/tenants/{tenant}/databases";
                if (!tenantExists)
                {
                    // Chroma's server would create it, unreachable by name; not sent to Chroma here (it would then list
                    // and get the database), only once below, under a tenant no other call uses.
                    continue;
                }

                if (await Compare($"#{op} create database {tenant}/{database}", HttpMethod.Post, path, $"{{\"name\":\"{database}\"}}") is { Ours.Status: 200 })
                {
                    databases.Add((tenant, database));
                }
            }
            else if (kind < 45)
            {
                if (!tenantExists)
                {
                    continue;
                }

                var body = random.Next(5) switch
                {
                    0 => """{"name":"zz"}""",
                    1 => """{"name":"bad name!"}""",
                    2 => """{"name":"_leading"}""",
                    3 => "{}",
                    _ => """{"name":["db_one"]}""",
                };
                await Compare($"#{op} create database {tenant} {body}", HttpMethod.Post, $"/api/v2/tenants/{tenant}/databases", body);
            }
            else if (kind < 58)
            {
                var name = random.Next(5) == 0 ? "db_missing" : database;
                await Compare($"#{op} get database {tenant}/{name}", HttpMethod.Get, Db(tenant, name), null, WithoutId);
            }
            else if (kind < 68)
            {
                if (!tenantExists)
                {
                    continue;
                }

                var paging = Paging();
                named[CatalogDifferences.DatabaseId] = named.GetValueOrDefault(CatalogDifferences.DatabaseId) + 1;
                named[CatalogDifferences.ListingOrder] = named.GetValueOrDefault(CatalogDifferences.ListingOrder) + 1;
                await Compare($"#{op} list databases {tenant}{paging}", HttpMethod.Get, $"/api/v2/tenants/{tenant}/databases{paging}", null, paging.Length == 0 ? Names : Length);
            }
            else if (kind < 76)
            {
                if (tenant == "default_tenant" && database == "default_database")
                {
                    continue;
                }

                if (await Compare($"#{op} delete database {tenant}/{database}", HttpMethod.Delete, Db(tenant, database), null) is { Ours.Status: 200 })
                {
                    databases.Remove((tenant, database));
                }
            }
            else if (kind < 84)
            {
                var name = Pick(CatalogCollectionNames);
                var body = random.Next(2) == 0 ? $"{{\"name\":\"{name}\"}}" : $"{{\"name\":\"{name}\",\"metadata\":{{\"team\":\"{Pick(TenantNames)}\",\"n\":{random.Next(3)}}},\"get_or_create\":{(random.Next(2) == 0 ? "true" : "false")}}}";
                if (!databaseExists)
                {
                    await Named(CatalogDifferences.CollectionInMissingDatabase, $"#{op} create collection {tenant}/{database}", HttpMethod.Post, Db(tenant, database) + "/collections", body, 404, "NotFoundError");
                    continue;
                }

                await Compare($"#{op} create collection {tenant}/{database} {body}", HttpMethod.Post, Db(tenant, database) + "/collections", body, CollectionFields);
            }
            else if (kind < 90)
            {
                var name = Pick(CatalogCollectionNames);
                await Compare($"#{op} get collection {tenant}/{database}/{name}", HttpMethod.Get, $"{Db(tenant, database)}/collections/{name}", null, CollectionFields);
            }
            else
            {
                var count = random.Next(2) == 0;
                var paging = count ? string.Empty : Paging();
                var what = $"#{op} {(count ? "count" : "list")} collections {tenant}/{database}{paging}";
                var path = Db(tenant, database) + (count ? "/collections_count" : "/collections" + paging);
                if (!databaseExists)
                {
                    await Named(CatalogDifferences.MissingDatabaseReadsEmpty, what, HttpMethod.Get, path, null, 404, "NotFoundError");
                    continue;
                }

                if (!count)
                {
                    named[CatalogDifferences.ListingOrder] = named.GetValueOrDefault(CatalogDifferences.ListingOrder) + 1;
                }

                await Compare(what, HttpMethod.Get, path, null, count ? null : paging.Length == 0 ? Names : Length);
            }
        }

        await Named(CatalogDifferences.TenantNameCharacters, "create tenant \"bad name!\"", HttpMethod.Post, "/api/v2/tenants", """{"name":"bad name!"}""", 400, "InvalidArgumentError");
        await Named(CatalogDifferences.DatabaseInMissingTenant, "create database ghost_tenant/db_one", HttpMethod.Post, "/api/v2/tenants/ghost_tenant/databases", """{"name":"db_one"}""", 404, "NotFoundError");
        return new CatalogReport(mismatches, compared, errors, named);
    }
}
