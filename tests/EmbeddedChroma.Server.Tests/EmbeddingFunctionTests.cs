using System.Net;
using System.Text.Json;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// A client-sent <c>configuration.embedding_function</c> (what the chromadb JS client sends on create) is remembered by
/// the collection and returned on create, get and list, as Chroma's server does (checked against Chroma 1.0.0 by hand:
/// the object is echoed, <c>known</c> needs <c>name</c> and <c>config</c>, <c>legacy</c>/<c>unknown</c> carry only the
/// type, a malformed one is a 422 (a body that does not deserialize), and none sent is <c>null</c>).
/// </summary>
public sealed class EmbeddingFunctionTests : IAsyncLifetime
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

    private static JsonElement FunctionOf(JsonElement collection) => collection.GetProperty("configuration_json").GetProperty("embedding_function");

    [Fact]
    public async Task CreateCollection_remembers_the_default_embedding_function_a_client_sends_and_returns_it_on_get_and_list()
    {
        const string sent = """{"type":"known","name":"default","config":{}}""";
        var (status, created) = await _http.PostAsync(Db + "/collections", $$$"""{"name":"texts","configuration":{"embedding_function":{{{sent}}}}}""");

        status.Should().Be(HttpStatusCode.OK);
        FunctionOf(created).GetRawText().Should().Be(sent);
        FunctionOf((await _http.GetJsonAsync(Db + "/collections/texts")).Body).GetRawText().Should().Be(sent);
        FunctionOf((await _http.GetJsonAsync(Db + "/collections/by-id/" + created.GetProperty("id").GetString())).Body).GetRawText().Should().Be(sent);
        FunctionOf((await _http.GetJsonAsync(Db + "/collections")).Body.EnumerateArray().Single()).GetRawText().Should().Be(sent);
        created.GetProperty("configuration_json").GetProperty("hnsw").GetProperty("space").GetString().Should().Be("l2", "the index keeps its defaults");
        _host.Store.GetClient(_host.AdminKey).GetCollection("texts").Configuration.EmbeddingFunction.Should().Be(EmbeddingFunctionConfiguration.Default, "the store remembers it as its own default");
    }

    [Fact]
    public async Task CreateCollection_keeps_a_known_functions_config_and_legacy_hnsw_metadata_when_no_index_section_is_sent()
    {
        var (_, created) = await _http.PostAsync(Db + "/collections",
            """{"name":"openai","metadata":{"hnsw:space":"cosine"},"configuration":{"embedding_function":{"type":"known","name":"openai","config":{"model_name":"text-embedding-3-small","api_key_env_var":"OPENAI_API_KEY"}}}}""");

        var function = FunctionOf(created);
        function.GetProperty("type").GetString().Should().Be("known");
        function.GetProperty("name").GetString().Should().Be("openai");
        function.GetProperty("config").GetProperty("model_name").GetString().Should().Be("text-embedding-3-small");
        function.GetProperty("config").GetProperty("api_key_env_var").GetString().Should().Be("OPENAI_API_KEY");
        created.GetProperty("configuration_json").GetProperty("hnsw").GetProperty("space").GetString().Should().Be("cosine", "hnsw:* metadata decides when no index section is sent, as on Chroma's server");
        var again = (await _http.GetJsonAsync(Db + "/collections/openai")).Body;
        FunctionOf(again).GetRawText().Should().Be(function.GetRawText());
    }

    [Theory]
    [InlineData("legacy")]
    [InlineData("unknown")]
    public async Task CreateCollection_returns_a_type_only_function_as_sent_when_it_is_legacy_or_unknown(string type)
    {
        var (status, created) = await _http.PostAsync(Db + "/collections", "{\"name\":\"c-" + type + "\",\"configuration\":{\"embedding_function\":{\"type\":\"" + type + "\"}}}");

        status.Should().Be(HttpStatusCode.OK);
        FunctionOf(created).GetRawText().Should().Be($$"""{"type":"{{type}}"}""");
        FunctionOf((await _http.GetJsonAsync(Db + "/collections/c-" + type)).Body).GetRawText().Should().Be($$"""{"type":"{{type}}"}""");
    }

    [Fact]
    public async Task CreateCollection_returns_a_null_function_when_the_client_sends_none()
    {
        var (_, created) = await _http.PostAsync(Db + "/collections", """{"name":"raw","configuration":{"hnsw":{"space":"ip"}}}""");

        FunctionOf(created).ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Theory]
    [InlineData("""{"type":"weird"}""", "unknown variant `weird`")]
    [InlineData("""{"type":"known","name":"default"}""", "config")]
    [InlineData("""{"type":"known","config":{}}""", "name")]
    [InlineData("""{"type":"known","name":"default","config":[]}""", "config")]
    [InlineData("""{"name":"default"}""", "type")]
    [InlineData("\"default\"", "embedding_function")]
    public async Task CreateCollection_rejects_a_malformed_embedding_function_with_422_and_creates_nothing(string function, string named)
    {
        var (status, body) = await _http.PostAsync(Db + "/collections", $$$"""{"name":"bad","configuration":{"embedding_function":{{{function}}}}}""");

        status.Should().Be(HttpStatusCode.UnprocessableEntity, "a body Chroma cannot deserialize is a 422 there too");
        body.Message().Should().Contain(named);
        (await _http.GetJsonAsync(Db + "/collections_count")).Body.GetInt32().Should().Be(0);
    }
}
