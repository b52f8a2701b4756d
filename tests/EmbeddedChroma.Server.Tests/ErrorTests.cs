using System.Net;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>Failed calls answered as Chroma's server answers them: status and <c>{"error", "message"}</c> (issue #14).</summary>
public sealed class ErrorTests : IAsyncLifetime
{
    private HostFixture _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _host = await HostFixture.StartAsync(new ChromaServerOptions { MaxRequestBodyBytes = 4096 });
        _http = _host.Http();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task CreateCollection_answers_409_when_the_name_exists()
    {
        await _http.CreateCollectionAsync("books");

        var (status, body) = await _http.PostAsync(Db + "/collections", """{"name":"books"}""");

        status.Should().Be(HttpStatusCode.Conflict);
        body.Error().Should().Be("ChromaError");
        body.Message().Should().Contain("books").And.Contain("already exists");
    }

    [Fact]
    public async Task ModifyCollection_answers_409_not_500_when_renaming_onto_an_existing_name()
    {
        var id = await _http.CreateCollectionAsync("books");
        await _http.CreateCollectionAsync("novels");

        var (status, body) = await _http.SendAsync(HttpMethod.Put, Db + "/collections/" + id, """{"new_name":"novels"}""");

        status.Should().Be(HttpStatusCode.Conflict, "Chroma's server answers 500 here by accident (a raw UNIQUE constraint error)");
        body.Message().Should().Contain("novels");
    }

    [Fact]
    public async Task Tenant_and_database_creation_answer_409_when_they_exist()
    {
        (await _http.PostAsync("/api/v2/tenants", """{"name":"default_tenant"}""")).Status.Should().Be(HttpStatusCode.Conflict);
        (await _http.PostAsync("/api/v2/tenants/default_tenant/databases", """{"name":"default_database"}""")).Status.Should().Be(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("GET", Db + "/collections/missing", null)]
    [InlineData("DELETE", Db + "/collections/missing", null)]
    [InlineData("GET", Db + "/collections/by-id/00000000-0000-0000-0000-000000000000", null)]
    [InlineData("POST", Db + "/collections/00000000-0000-0000-0000-000000000000/get", "{}")]
    [InlineData("GET", "/api/v2/tenants/nope", null)]
    [InlineData("GET", "/api/v2/tenants/default_tenant/databases/nope", null)]
    [InlineData("GET", "/api/v2/tenants/default_tenant/databases/nope/collections", null)]
    public async Task Routes_answer_404_not_found_error_when_the_resource_is_missing(string method, string path, string? json)
    {
        var (status, body) = await _http.SendAsync(new HttpMethod(method), path, json);

        status.Should().Be(HttpStatusCode.NotFound);
        body.Error().Should().Be("NotFoundError");
    }

    [Fact]
    public async Task Collection_routes_answer_400_when_the_id_is_not_a_uuid()
    {
        var (status, body) = await _http.GetJsonAsync(Db + "/collections/books/count");

        status.Should().Be(HttpStatusCode.BadRequest);
        body.Error().Should().Be("InvalidArgumentError");
        body.Message().Should().Be("Collection ID is not a valid UUIDv4");
    }

    [Fact]
    public async Task Routes_answer_400_when_the_body_is_not_json()
    {
        var (status, body) = await _http.PostAsync(Db + "/collections", "notjson");

        status.Should().Be(HttpStatusCode.BadRequest);
        body.Error().Should().Be("InvalidArgumentError");
        body.Message().Should().StartWith("Failed to parse the request body as JSON");
    }

    [Theory]
    [InlineData(Db + "/collections", """{"nam":"x"}""", "*missing field `name`*")]
    [InlineData(Db + "/collections", """{"name":"books","configuration":{"hnsw":{"bogus":0}}}""", "*configuration.hnsw.bogus*unknown field*")]
    [InlineData(Db + "/collections", """{"name":"books","metadata":"x"}""", "*metadata*expected an object*")]
    public async Task Routes_answer_422_when_the_json_has_the_wrong_shape(string path, string json, string message)
    {
        var (status, body) = await _http.PostAsync(path, json);

        status.Should().Be(HttpStatusCode.UnprocessableEntity);
        body.Error().Should().Be("ChromaError");
        body.Message().Should().Match(message);
    }

    [Theory]
    [InlineData("get", """{"include":["metadatas","bogus"]}""", 422, "ChromaError", "*include[1]*bogus*")]
    [InlineData("get", """{"ids":"a"}""", 422, "ChromaError", "*ids*expected a list*")]
    [InlineData("get", """{"limit":-1}""", 422, "ChromaError", "*limit*u32*")]
    [InlineData("get", """{"where":{"k":{"$bogus":1}}}""", 400, "InvalidArgumentError", "*$bogus*")]
    [InlineData("query", """{"query_embeddings":[[1,0,0]]}""", 400, "InvalidArgumentError", "*dimension*")]
    [InlineData("add", """{"ids":["a","a"],"embeddings":[[1,0],[1,0]]}""", 400, "DuplicateIDError", "*duplicates*'a'*")]
    [InlineData("add", """{"ids":["n"],"embeddings":[[1]]}""", 400, "InvalidArgumentError", "*dimension*")]
    [InlineData("delete", """{"ids":["a"],"limit":1}""", 400, "InvalidArgumentError", "*limit can only be specified when a where clause is provided*")]
    [InlineData("update", """{"ids":["a"],"embeddings":[["x"]]}""", 422, "ChromaError", "*embeddings[0][0]*number*")]
    public async Task Record_routes_answer_chromas_status_and_error_name_when_the_request_is_invalid(string route, string json, int expectedStatus, string error, string message)
    {
        var id = await _http.CreateCollectionAsync("recs");
        await _http.PostAsync($"{Db}/collections/{id}/add", """{"ids":["a"],"embeddings":[[1,0]]}""");

        var (status, body) = await _http.PostAsync($"{Db}/collections/{id}/{route}", json);

        ((int)status).Should().Be(expectedStatus, body.ToString());
        body.Error().Should().Be(error);
        body.Message().Should().Match(message);
        (await _http.GetJsonAsync($"{Db}/collections/{id}/count")).Body.GetInt32().Should().Be(1, "a failed call changes nothing");
    }

    [Fact]
    public async Task Routes_answer_413_when_the_body_is_larger_than_the_limit()
    {
        var id = await _http.CreateCollectionAsync("big");
        var ids = string.Join(",", Enumerable.Range(0, 600).Select(i => $"\"id{i}\""));

        var (status, body) = await _http.PostAsync($"{Db}/collections/{id}/get", $"{{\"ids\":[{ids}]}}");

        status.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        body.Error().Should().Be("InvalidArgumentError");
    }

    [Fact]
    public async Task Routes_answer_413_when_a_chunked_body_grows_past_the_limit()
    {
        var id = await _http.CreateCollectionAsync("chunked");
        var ids = string.Join(",", Enumerable.Range(0, 600).Select(i => $"\"id{i}\""));
        using var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"{{\"ids\":[{ids}]}}")));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Db}/collections/{id}/get") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await _http.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }
}
