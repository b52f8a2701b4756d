using System.Net;
using System.Text.Json;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>Every route the chromadb 3.5.0 client calls, with Chroma's bodies and status codes (issue #14).</summary>
public sealed class RouteTests : IAsyncLifetime
{
    private HostFixture _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _host = await HostFixture.StartAsync();
        _http = _host.Http();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task System_routes_answer_chromas_bodies_when_the_key_is_valid()
    {
        var (status, heartbeat) = await _http.GetJsonAsync("/api/v2/heartbeat");
        status.Should().Be(HttpStatusCode.OK);
        heartbeat.GetProperty("nanosecond heartbeat").GetInt64().Should().BeGreaterThan(1_600_000_000L * 1_000_000_000);

        (await _http.GetJsonAsync("/api/v2/version")).Body.GetString().Should().Be("1.0.0");

        var preflight = (await _http.GetJsonAsync("/api/v2/pre-flight-checks")).Body;
        preflight.GetProperty("max_batch_size").GetInt32().Should().Be(ChromaStoreOptions.DefaultMaxBatchSize);
        preflight.GetProperty("supports_base64_encoding").GetBoolean().Should().BeTrue();

        var health = (await _http.GetJsonAsync("/api/v2/healthcheck")).Body;
        health.GetProperty("is_executor_ready").GetBoolean().Should().BeTrue();

        var identity = (await _http.GetJsonAsync("/api/v2/auth/identity")).Body;
        identity.GetProperty("tenant").GetString().Should().Be("default_tenant");
        identity.GetProperty("databases").EnumerateArray().Select(d => d.GetString()).Should().Equal("*");
        identity.GetProperty("user_id").GetString().Should().NotBeNullOrEmpty().And.NotContain(_host.AdminKey);
    }

    [Fact]
    public async Task Identity_names_the_tenant_and_databases_a_narrow_key_reaches()
    {
        var key = _host.IssueKey("narrow", [ChromaActions.Get], ["acme/sales/orders", "acme/support"]);

        var identity = (await _host.Http(key).GetJsonAsync("/api/v2/auth/identity")).Body;

        identity.GetProperty("tenant").GetString().Should().Be("acme");
        identity.GetProperty("databases").EnumerateArray().Select(d => d.GetString()).Should().Equal("sales", "support");
    }

    [Fact]
    public async Task Tenant_and_database_routes_create_get_list_and_delete()
    {
        (await _http.PostAsync("/api/v2/tenants", """{"name":"acme"}""")).Status.Should().Be(HttpStatusCode.OK);
        var tenant = (await _http.GetJsonAsync("/api/v2/tenants/acme")).Body;
        tenant.GetProperty("name").GetString().Should().Be("acme");
        tenant.GetProperty("resource_name").ValueKind.Should().Be(JsonValueKind.Null);

        (await _http.PostAsync("/api/v2/tenants/acme/databases", """{"name":"one"}""")).Status.Should().Be(HttpStatusCode.OK);
        (await _http.PostAsync("/api/v2/tenants/acme/databases", """{"name":"two"}""")).Status.Should().Be(HttpStatusCode.OK);
        var all = (await _http.GetJsonAsync("/api/v2/tenants/acme/databases")).Body;
        all.EnumerateArray().Select(d => d.GetProperty("name").GetString()).Should().Equal("one", "two");
        all[0].GetProperty("tenant").GetString().Should().Be("acme");
        Guid.TryParse(all[0].GetProperty("id").GetString(), out _).Should().BeTrue();
        (await _http.GetJsonAsync("/api/v2/tenants/acme/databases?limit=1&offset=1")).Body.EnumerateArray()
            .Select(d => d.GetProperty("name").GetString()).Should().Equal("two");

        var one = (await _http.GetJsonAsync("/api/v2/tenants/acme/databases/one")).Body;
        one.GetProperty("id").GetString().Should().Be(all[0].GetProperty("id").GetString(), "a database's id is stable");
        (await _http.SendAsync(HttpMethod.Delete, "/api/v2/tenants/acme/databases/one")).Status.Should().Be(HttpStatusCode.OK);
        var gone = await _http.GetJsonAsync("/api/v2/tenants/acme/databases/one");
        gone.Status.Should().Be(HttpStatusCode.NotFound);
        gone.Body.Error().Should().Be("NotFoundError");
    }

    [Fact]
    public async Task Collection_routes_create_get_by_name_and_id_list_count_modify_and_delete()
    {
        var (status, created) = await _http.PostAsync(Db + "/collections",
            """{"name":"books","metadata":{"owner":"ann","ratio":2.0},"configuration":{"hnsw":{"space":"cosine","ef_search":50,"max_neighbors":8,"ef_construction":40}}}""");
        status.Should().Be(HttpStatusCode.OK);
        var id = created.GetProperty("id").GetString()!;
        created.GetProperty("name").GetString().Should().Be("books");
        var hnsw = created.GetProperty("configuration_json").GetProperty("hnsw");
        hnsw.GetProperty("space").GetString().Should().Be("cosine");
        hnsw.GetProperty("ef_search").GetInt32().Should().Be(50);
        hnsw.GetProperty("max_neighbors").GetInt32().Should().Be(8);
        hnsw.GetProperty("ef_construction").GetInt32().Should().Be(40);
        created.GetProperty("metadata").GetRawText().Should().Be("""{"owner":"ann","ratio":2.0}""", "a float stays a float on the wire");
        created.GetProperty("dimension").ValueKind.Should().Be(JsonValueKind.Null);
        created.GetProperty("tenant").GetString().Should().Be("default_tenant");
        created.GetProperty("database").GetString().Should().Be("default_database");

        (await _http.GetJsonAsync(Db + "/collections/books")).Body.GetProperty("id").GetString().Should().Be(id);
        (await _http.GetJsonAsync(Db + "/collections/by-id/" + id)).Body.GetProperty("name").GetString().Should().Be("books");
        await _http.CreateCollectionAsync("novels");
        (await _http.GetJsonAsync(Db + "/collections")).Body.EnumerateArray().Select(c => c.GetProperty("name").GetString()).Should().Equal("books", "novels");
        (await _http.GetJsonAsync(Db + "/collections?limit=1&offset=1")).Body.EnumerateArray().Select(c => c.GetProperty("name").GetString()).Should().Equal("novels");
        (await _http.GetJsonAsync(Db + "/collections_count")).Body.GetInt32().Should().Be(2);

        var modified = await _http.SendAsync(HttpMethod.Put, Db + "/collections/" + id, """{"new_name":"tomes","new_metadata":{"owner":"bob"},"new_configuration":{"hnsw":{"ef_search":70}}}""");
        modified.Status.Should().Be(HttpStatusCode.OK);
        var tomes = (await _http.GetJsonAsync(Db + "/collections/tomes")).Body;
        tomes.GetProperty("metadata").GetRawText().Should().Be("""{"owner":"bob"}""");
        tomes.GetProperty("configuration_json").GetProperty("hnsw").GetProperty("ef_search").GetInt32().Should().Be(70);

        (await _http.SendAsync(HttpMethod.Delete, Db + "/collections/tomes")).Status.Should().Be(HttpStatusCode.OK);
        (await _http.GetJsonAsync(Db + "/collections/tomes")).Status.Should().Be(HttpStatusCode.NotFound);
        (await _http.GetJsonAsync(Db + "/collections_count")).Body.GetInt32().Should().Be(1);
    }

    [Fact]
    public async Task CreateCollection_honours_legacy_hnsw_metadata_and_get_or_create()
    {
        var (_, created) = await _http.PostAsync(Db + "/collections", """{"name":"legacy","metadata":{"hnsw:space":"ip","hnsw:M":12}}""");
        created.GetProperty("configuration_json").GetProperty("hnsw").GetProperty("space").GetString().Should().Be("ip");
        created.GetProperty("configuration_json").GetProperty("hnsw").GetProperty("max_neighbors").GetInt32().Should().Be(12);
        created.GetProperty("metadata").GetProperty("hnsw:space").GetString().Should().Be("ip", "Chroma keeps the keys in the metadata");

        var (status, again) = await _http.PostAsync(Db + "/collections", """{"name":"legacy","get_or_create":true,"metadata":{"other":1}}""");
        status.Should().Be(HttpStatusCode.OK);
        again.GetProperty("id").GetString().Should().Be(created.GetProperty("id").GetString());
        again.GetProperty("metadata").TryGetProperty("other", out _).Should().BeFalse("get_or_create ignores the options of an existing collection");
    }

    [Fact]
    public async Task Record_routes_add_upsert_update_get_query_count_and_delete()
    {
        var id = await _http.CreateCollectionAsync("recs");
        var c = $"{Db}/collections/{id}";
        var add = await _http.PostAsync(c + "/add",
            """{"ids":["a","b","c"],"embeddings":[[1,0],[2,0],[3,0]],"metadatas":[{"k":1,"tags":["x","y"]},{"k":2,"f":0.5},null],"documents":["apple","banana",null],"uris":["s3://a",null,null]}""");
        add.Status.Should().Be(HttpStatusCode.Created);
        add.Body.GetRawText().Should().Be("{}");

        (await _http.PostAsync(c + "/upsert", """{"ids":["c","d"],"embeddings":[[3,1],[4,0]],"documents":["cherry","date"]}""")).Status.Should().Be(HttpStatusCode.OK);
        (await _http.PostAsync(c + "/update", """{"ids":["a","ghost"],"metadatas":[{"k":10},null]}""")).Status.Should().Be(HttpStatusCode.OK);
        (await _http.GetJsonAsync(c + "/count")).Body.GetInt32().Should().Be(4);

        var get = (await _http.PostAsync(c + "/get", """{"include":["embeddings","metadatas","documents","uris"]}""")).Body;
        get.GetProperty("ids").EnumerateArray().Select(e => e.GetString()).Should().Equal("a", "b", "c", "d");
        get.GetProperty("embeddings")[2].GetRawText().Should().Be("[3.0,1.0]");
        get.GetProperty("metadatas")[0].GetRawText().Should().Be("""{"k":10,"tags":["x","y"]}""");
        get.GetProperty("metadatas")[1].GetRawText().Should().Be("""{"k":2,"f":0.5}""");
        get.GetProperty("metadatas")[3].ValueKind.Should().Be(JsonValueKind.Null);
        get.GetProperty("documents")[2].GetString().Should().Be("cherry");
        get.GetProperty("uris")[0].GetString().Should().Be("s3://a");
        get.GetProperty("include").EnumerateArray().Select(e => e.GetString()).Should().Equal("embeddings", "metadatas", "documents", "uris");

        var defaults = (await _http.PostAsync(c + "/get", """{"where":{"k":{"$gte":2}},"limit":1}""")).Body;
        defaults.GetProperty("ids").EnumerateArray().Select(e => e.GetString()).Should().Equal("a");
        defaults.GetProperty("embeddings").ValueKind.Should().Be(JsonValueKind.Null);
        defaults.GetProperty("include").EnumerateArray().Select(e => e.GetString()).Should().Equal("documents", "metadatas");

        var query = (await _http.PostAsync(c + "/query", """{"query_embeddings":[[1,0],[4,0]],"n_results":2,"where_document":{"$contains":"a"}}""")).Body;
        query.GetProperty("ids").GetRawText().Should().Be("""[["a","b"],["d","b"]]""");
        query.GetProperty("distances").GetRawText().Should().Be("[[0.0,1.0],[0.0,4.0]]");
        query.GetProperty("documents")[0][1].GetString().Should().Be("banana");
        query.GetProperty("include").EnumerateArray().Select(e => e.GetString()).Should().Equal("documents", "metadatas", "distances");

        var none = (await _http.PostAsync(c + "/query", """{"query_embeddings":[[1,0]],"n_results":0,"include":[]}""")).Body;
        none.GetProperty("ids").GetRawText().Should().Be("[[]]");

        var deleted = (await _http.PostAsync(c + "/delete", """{"where":{"k":{"$gte":1}},"limit":1}""")).Body;
        deleted.GetRawText().Should().Be("""{"deleted":1}""");
        (await _http.PostAsync(c + "/delete", """{"ids":["c","ghost"]}""")).Body.GetProperty("deleted").GetInt32().Should().Be(1, "the host counts what was deleted (Chroma's server counts the ids sent)");
        (await _http.PostAsync(c + "/delete", "{}")).Body.GetProperty("deleted").GetInt32().Should().Be(0);
        (await _http.GetJsonAsync(c + "/count")).Body.GetInt32().Should().Be(2);
    }

    [Fact]
    public async Task IndexingStatus_reports_every_record_indexed_when_the_graph_has_caught_up()
    {
        var id = await _http.CreateCollectionAsync("idx");
        await _http.PostAsync($"{Db}/collections/{id}/add", """{"ids":["a","b"],"embeddings":[[1,0],[0,1]]}""");

        var (status, body) = await _http.GetJsonAsync($"{Db}/collections/{id}/indexing_status");

        status.Should().Be(HttpStatusCode.OK);
        body.GetRawText().Should().Be("""{"num_indexed_ops":2,"num_unindexed_ops":0,"total_ops":2,"op_indexing_progress":1.0}""");
    }

    [Fact]
    public async Task Add_accepts_base64_float32_embeddings_as_chromas_clients_send_them()
    {
        var id = await _http.CreateCollectionAsync("b64");
        var vector = new[] { 0.25f, -1.5f, 3.0e-8f, float.MaxValue };
        var bytes = new byte[vector.Length * 4];
        Buffer.BlockCopy(vector, 0, bytes, 0, bytes.Length);

        var add = await _http.PostAsync($"{Db}/collections/{id}/add", $$"""{"ids":["a","b"],"embeddings":["{{Convert.ToBase64String(bytes)}}",[1,2,3,4]]}""");

        add.Status.Should().Be(HttpStatusCode.Created);
        var get = (await _http.PostAsync($"{Db}/collections/{id}/get", """{"ids":["a"],"include":["embeddings"]}""")).Body;
        get.GetProperty("embeddings")[0].EnumerateArray().Select(e => e.GetSingle()).Should().Equal(vector);
    }

    [Fact]
    public async Task Add_accepts_base64_embeddings_written_with_json_escapes()
    {
        var id = await _http.CreateCollectionAsync("b64esc");
        var random = new Random(14);
        float[] vector;
        string base64;
        do
        {
            vector = Enumerable.Range(0, 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var bytes = new byte[vector.Length * 4];
            Buffer.BlockCopy(vector, 0, bytes, 0, bytes.Length);
            base64 = Convert.ToBase64String(bytes);
        }
        while (!base64.Contains('/', StringComparison.Ordinal));

        // JSON lets a writer escape '/' as "\/"; the value is the same base64 text.
        var add = await _http.PostAsync($"{Db}/collections/{id}/add", $$"""{"ids":["a"],"embeddings":["{{base64.Replace("/", "\\/", StringComparison.Ordinal)}}"]}""");

        add.Status.Should().Be(HttpStatusCode.Created);
        var get = (await _http.PostAsync($"{Db}/collections/{id}/get", """{"ids":["a"],"include":["embeddings"]}""")).Body;
        get.GetProperty("embeddings")[0].EnumerateArray().Select(e => e.GetSingle()).Should().Equal(vector);
    }

    [Theory]
    [InlineData("AAAAQAA=", "*whole number of float32*")]
    [InlineData("AAAAQAAAAEA", "*base64*")]
    [InlineData("not base64!", "*base64*")]
    public async Task Add_answers_400_when_a_base64_embedding_is_malformed(string base64, string message)
    {
        var id = await _http.CreateCollectionAsync("b64bad");

        var (status, body) = await _http.PostAsync($"{Db}/collections/{id}/add", $$"""{"ids":["a"],"embeddings":["{{base64}}"]}""");

        status.Should().Be(HttpStatusCode.BadRequest);
        body.Error().Should().Be("InvalidArgumentError");
        body.Message().Should().Match(message);
        (await _http.GetJsonAsync($"{Db}/collections/{id}/count")).Body.GetInt32().Should().Be(0);
    }
}
