using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace EmbeddedChroma.Client.Tests.Http;

/// <summary>
/// The remote client's transport against a scripted server: retries and back-off for 429/503 honouring Retry-After,
/// timeouts, cancellation, the key only in its header, batches split to max_batch_size, and error mapping.
/// </summary>
public sealed class RemoteClientHttpTests : IDisposable
{
    private const string Key = "ck-test-0123456789abcdef-secret";
    private const string CollectionJson = """
        {"id":"5b1f6f2e-6a4c-4f7e-9a55-0f2d3c4b5a69","name":"books","tenant":"default_tenant","database":"default_database",
         "metadata":null,"dimension":null,"configuration_json":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,"max_neighbors":16}}}
        """;

    private readonly ScriptedHandler _handler = new();
    private readonly HttpClient _http;
    private readonly List<TimeSpan> _waits = [];

    public RemoteClientHttpTests() => _http = new HttpClient(_handler) { BaseAddress = null };

    public void Dispose()
    {
        _http.Dispose();
        _handler.Dispose();
    }

    private ChromaRemoteClient Client(Func<ChromaRemoteClientOptions, ChromaRemoteClientOptions>? configure = null)
    {
        var options = new ChromaRemoteClientOptions
        {
            BaseAddress = new Uri("http://chroma.test:8000"),
            Credential = ChromaCredential.FromKey(Key),
            HttpClient = _http,
            RetryBaseDelay = TimeSpan.FromMilliseconds(100),
        };
        return new ChromaRemoteClient(configure?.Invoke(options) ?? options, (wait, _) =>
        {
            _waits.Add(wait);
            return Task.CompletedTask;
        });
    }

    private async Task<IChromaCollection> Books(ChromaRemoteClient client)
    {
        _handler.Then(HttpStatusCode.OK, CollectionJson);
        return await client.GetCollectionAsync("books");
    }

    [Fact]
    public async Task Call_is_retried_after_Retry_After_when_server_answers_429()
    {
        using var client = Client();
        _handler.Then(HttpStatusCode.TooManyRequests, """{"error":"RateLimitError","message":"slow down"}""", r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(2)))
            .Then(HttpStatusCode.OK, "7");

        (await client.CountCollectionsAsync()).Should().Be(7);

        _waits.Should().Equal(TimeSpan.FromSeconds(2));
        _handler.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Call_backs_off_exponentially_then_throws_transport_when_server_keeps_answering_503()
    {
        using var client = Client(o => o with { MaxRetries = 3 });
        for (var i = 0; i < 4; i++)
        {
            _handler.Then(HttpStatusCode.ServiceUnavailable, "overloaded");
        }

        var act = () => client.CountCollectionsAsync();

        var thrown = await act.Should().ThrowAsync<ChromaTransportException>();
        thrown.Which.StatusCode.Should().Be(503);
        thrown.Which.Endpoint.Should().Be(new Uri("http://chroma.test:8000/"));
        _handler.Requests.Should().HaveCount(4);
        _waits.Should().HaveCount(3);
        _waits[0].TotalMilliseconds.Should().BeInRange(80, 120);
        _waits[1].TotalMilliseconds.Should().BeInRange(160, 240);
        _waits[2].TotalMilliseconds.Should().BeInRange(320, 480);
    }

    [Fact]
    public async Task Call_throws_rate_limited_with_retry_after_when_retries_run_out()
    {
        using var client = Client(o => o with { MaxRetries = 1 });
        for (var i = 0; i < 2; i++)
        {
            _handler.Then(HttpStatusCode.TooManyRequests, """{"error":"RateLimitError","message":"quota"}""", r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(5)));
        }

        var act = () => client.CountCollectionsAsync();

        (await act.Should().ThrowAsync<ChromaRateLimitedException>()).Which.RetryAfter.Should().Be(TimeSpan.FromSeconds(5));
        _handler.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Call_fails_at_once_when_Retry_After_exceeds_the_longest_wait()
    {
        using var client = Client(o => o with { MaxRetryDelay = TimeSpan.FromSeconds(10) });
        _handler.Then(HttpStatusCode.TooManyRequests, "{}", r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromMinutes(5)));

        var act = () => client.CountCollectionsAsync();

        (await act.Should().ThrowAsync<ChromaRateLimitedException>()).Which.RetryAfter.Should().Be(TimeSpan.FromMinutes(5));
        _waits.Should().BeEmpty();
        _handler.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Call_is_not_retried_when_server_answers_500()
    {
        using var client = Client();
        _handler.Then(HttpStatusCode.InternalServerError, """{"error":"InternalError","message":"boom"}""");

        var act = () => client.CountCollectionsAsync();

        (await act.Should().ThrowAsync<ChromaTransportException>().WithMessage("*boom*")).Which.StatusCode.Should().Be(500);
        _handler.Requests.Should().HaveCount(1);
    }

    [Fact]
    public async Task Call_throws_transport_naming_the_timeout_when_server_does_not_answer_in_time()
    {
        using var client = Client(o => o with { Timeout = TimeSpan.FromMilliseconds(200) });
        _handler.Then(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return ScriptedHandler.Json(HttpStatusCode.OK, "1");
        });

        var act = () => client.CountCollectionsAsync();

        var thrown = await act.Should().ThrowAsync<ChromaTransportException>().WithMessage("*no answer*0.2 s*");
        thrown.Which.StatusCode.Should().BeNull();
        thrown.Which.InnerException.Should().BeAssignableTo<OperationCanceledException>();
    }

    [Fact]
    public async Task Call_throws_operation_canceled_when_caller_cancels()
    {
        using var client = Client();
        using var cts = new CancellationTokenSource();
        _handler.Then(async (_, ct) =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
            return ScriptedHandler.Json(HttpStatusCode.OK, "1");
        });

        var act = () => client.CountCollectionsAsync(cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Call_throws_transport_with_the_cause_inside_when_connection_fails()
    {
        using var client = Client();
        _handler.Then((_, _) => throw new HttpRequestException("Connection refused (chroma.test:8000)"));

        var act = () => client.HeartbeatAsync();

        var thrown = await act.Should().ThrowAsync<ChromaTransportException>().WithMessage("*heartbeat*Connection refused*");
        thrown.Which.InnerException.Should().BeOfType<HttpRequestException>();
        thrown.Which.StatusCode.Should().BeNull();
    }

    [Fact]
    public async Task Call_throws_transport_when_the_http_stack_fails_in_an_unexpected_way()
    {
        using var client = Client();
        _handler.Then((_, _) => throw new NotSupportedException("a handler that cannot send"));

        var act = () => client.CountCollectionsAsync();

        (await act.Should().ThrowAsync<ChromaTransportException>()).Which.InnerException.Should().BeOfType<NotSupportedException>();
    }

    [Theory]
    [InlineData("""{"id":"not-a-guid","name":"books","tenant":"t","database":"d"}""")]
    [InlineData("""{"id":"5b1f6f2e-6a4c-4f7e-9a55-0f2d3c4b5a69","name":"books","tenant":"t","database":"d","dimension":1.5}""")]
    [InlineData("""{"name":"books"}""")]
    public async Task Collection_answer_not_shaped_as_chromas_throws_transport(string body)
    {
        using var client = Client();
        _handler.Then(HttpStatusCode.OK, body);

        var act = () => client.GetCollectionAsync("books");

        await act.Should().ThrowAsync<ChromaTransportException>().WithMessage("*not shaped as Chroma's*");
    }

    [Theory]
    [InlineData(ChromaTokenHeader.AuthorizationBearer, "Authorization", "Bearer " + Key)]
    [InlineData(ChromaTokenHeader.XChromaToken, "X-Chroma-Token", Key)]
    public async Task Key_is_sent_only_in_the_chosen_header(ChromaTokenHeader header, string name, string value)
    {
        using var client = Client(o => o with { TokenHeader = header });
        _handler.Then(HttpStatusCode.OK, "3");

        await client.CountCollectionsAsync();

        var request = _handler.Requests.Single();
        request.Headers[name].Should().Be(value);
        request.Headers.Where(h => h.Key != name).Should().NotContain(h => h.Value.Contains(Key, StringComparison.Ordinal));
        request.Uri.ToString().Should().NotContain(Key);
        request.Body.Should().NotContain(Key);
    }

    [Fact]
    public async Task Key_from_a_provider_is_asked_for_before_every_request()
    {
        var calls = 0;
        using var client = Client(o => o with { Credential = ChromaCredential.FromProvider(_ => ValueTask.FromResult($"rotated-key-{++calls}")) });
        _handler.Then(HttpStatusCode.OK, "1").Then(HttpStatusCode.OK, "1");

        await client.CountCollectionsAsync();
        await client.CountCollectionsAsync();

        _handler.Requests.Select(r => r.Headers["Authorization"]).Should().Equal("Bearer rotated-key-1", "Bearer rotated-key-2");
    }

    [Theory]
    [InlineData(401, typeof(ChromaAuthenticationException))]
    [InlineData(403, typeof(ChromaAuthorizationException))]
    [InlineData(500, typeof(ChromaTransportException))]
    public async Task Error_message_never_holds_the_key_even_when_server_echoes_it(int status, Type expected)
    {
        using var client = Client();
        _handler.Then((HttpStatusCode)status, $$"""{"error":"AuthError","message":"bad token {{Key}}"}""");

        var act = () => client.CountCollectionsAsync();

        var thrown = (await act.Should().ThrowAsync<ChromaException>()).Which;
        thrown.Should().BeOfType(expected);
        thrown.ToString().Should().NotContain(Key);
        client.ToString().Should().NotContain(Key);
    }

    [Theory]
    [InlineData(404, """{"error":"NotFoundError","message":"Collection [books] does not exist"}""", typeof(ChromaNotFoundException))]
    [InlineData(409, """{"error":"ChromaError","message":"Collection [books] already exists"}""", typeof(ChromaConflictException))]
    [InlineData(400, """{"error":"InvalidArgumentError","message":"Invalid where clause"}""", typeof(ChromaFilterException))]
    [InlineData(422, """{"error":"ChromaError","message":"Failed to deserialize the JSON body"}""", typeof(ChromaValidationException))]
    [InlineData(500, """{"error":"InternalError","message":"UNIQUE constraint failed: collections.name, collections.database_id"}""", typeof(ChromaConflictException))]
    [InlineData(502, "<html>Bad gateway</html>", typeof(ChromaTransportException))]
    public async Task Server_error_maps_to_the_exception_hierarchy(int status, string body, Type expected)
    {
        using var client = Client();
        _handler.Then((HttpStatusCode)status, body);

        var act = () => client.GetCollectionAsync("books");

        (await act.Should().ThrowAsync<ChromaException>()).Which.Should().BeOfType(expected);
    }

    [Fact]
    public async Task Success_answer_that_is_not_json_throws_transport()
    {
        using var client = Client();
        _handler.Then(HttpStatusCode.OK, "<html>proxy login</html>");

        var act = () => client.CountCollectionsAsync();

        await act.Should().ThrowAsync<ChromaTransportException>().WithMessage("*not JSON*");
    }

    [Fact]
    public async Task Add_splits_the_batch_to_max_batch_size_and_sends_base64_when_server_supports_it()
    {
        _handler.Fallback = r => r.RequestUri!.AbsolutePath.EndsWith("/pre-flight-checks", StringComparison.Ordinal)
            ? ScriptedHandler.Json(HttpStatusCode.OK, """{"max_batch_size":3,"supports_base64_encoding":true}""")
            : ScriptedHandler.Json(HttpStatusCode.OK, CollectionJson);
        using var client = Client();
        var books = await Books(client);
        _handler.Then(HttpStatusCode.Created, "{}").Then(HttpStatusCode.Created, "{}").Then(HttpStatusCode.Created, "{}");
        var ids = Enumerable.Range(0, 7).Select(i => $"id{i}").ToArray();

        await books.AddAsync(ids, ids.Select((_, i) => new[] { i, 0.5f }).ToArray(), documents: ids.Select(i => (string?)("doc " + i)).ToArray());

        var adds = _handler.Requests.Where(r => r.Uri.AbsolutePath.EndsWith("/add", StringComparison.Ordinal)).ToList();
        adds.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("ids").GetArrayLength()).Should().Equal(3, 3, 1);
        var last = JsonDocument.Parse(adds[2].Body).RootElement;
        last.GetProperty("ids")[0].GetString().Should().Be("id6");
        last.GetProperty("documents")[0].GetString().Should().Be("doc id6");
        var bytes = last.GetProperty("embeddings")[0].GetBytesFromBase64();
        new[] { BitConverter.ToSingle(bytes, 0), BitConverter.ToSingle(bytes, 4) }.Should().Equal(6f, 0.5f);
    }

    [Fact]
    public async Task Add_sends_number_arrays_when_server_does_not_support_base64()
    {
        _handler.Fallback = r => r.RequestUri!.AbsolutePath.EndsWith("/pre-flight-checks", StringComparison.Ordinal)
            ? ScriptedHandler.Json(HttpStatusCode.OK, """{"max_batch_size":100}""")
            : ScriptedHandler.Json(HttpStatusCode.OK, CollectionJson);
        using var client = Client();
        var books = await Books(client);
        _handler.Then(HttpStatusCode.Created, "{}");

        await books.AddAsync(["a"], [[1.5f, -2f]], metadatas: [new Dictionary<string, MetadataValue?> { ["f"] = 1.0, ["i"] = 1 }]);

        var add = JsonDocument.Parse(_handler.Requests.Single(r => r.Uri.AbsolutePath.EndsWith("/add", StringComparison.Ordinal)).Body).RootElement;
        add.GetProperty("embeddings")[0].EnumerateArray().Select(x => x.GetSingle()).Should().Equal(1.5f, -2f);
        add.GetProperty("metadatas")[0].GetProperty("f").GetRawText().Should().Be("1.0", "a float stays a float on the wire");
        add.GetProperty("metadatas")[0].GetProperty("i").GetRawText().Should().Be("1");
    }

    [Fact]
    public async Task HttpClientFactory_supplies_the_client_when_no_HttpClient_is_given()
    {
        var factory = new SingleClientFactory(_http);
        using var client = Client(o => o with { HttpClient = null, HttpClientFactory = factory, HttpClientName = "chroma" });
        _handler.Then(HttpStatusCode.OK, "2");

        (await client.CountCollectionsAsync()).Should().Be(2);
        factory.Names.Should().Equal("chroma");
    }

    [Theory]
    [InlineData("http://admin:secret@chroma.test:8000")]
    [InlineData("http://chroma.test:8000/?token=secret")]
    [InlineData("ftp://chroma.test")]
    public void Options_refuse_an_address_that_carries_credentials_or_is_not_http(string address)
    {
        var act = () => new ChromaRemoteClient(new ChromaRemoteClientOptions { BaseAddress = new Uri(address) });

        act.Should().Throw<ChromaValidationException>().Which.Message.Should().NotContain("secret");
    }

    [Fact]
    public async Task Query_refuses_ef_search_rather_than_ignore_it()
    {
        using var client = Client();
        var books = await Books(client);

        var act = () => books.QueryAsync([[1f, 2f]], efSearch: 50);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ef_search*");
        _handler.Requests.Should().HaveCount(1, "nothing is sent");
    }

    private sealed class SingleClientFactory(HttpClient client) : IHttpClientFactory
    {
        public List<string> Names { get; } = [];

        public HttpClient CreateClient(string name)
        {
            Names.Add(name);
            return client;
        }
    }
}
