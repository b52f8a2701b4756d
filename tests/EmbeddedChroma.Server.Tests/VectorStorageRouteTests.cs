using System.Globalization;
using System.Net;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>The modify-collection route with EmbeddedChroma's <c>new_configuration.vector_storage</c>, and <c>indexing_status</c> around the rebuild.</summary>
public sealed class VectorStorageRouteTests : IAsyncLifetime
{
    private const int Count = 600;
    private HostFixture _host = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _host = await HostFixture.StartAsync(storeOptions: new ChromaStoreOptions { HnswThreshold = 100 });
        _http = _host.Http();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private static string Vector(float[] v) => "[" + string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture))) + "]";

    [Fact]
    public async Task ModifyCollection_changes_vector_storage_and_indexing_status_counts_the_rebuild_until_the_graph_is_ready()
    {
        var id = await _http.CreateCollectionAsync("vstore");
        var random = new Random(41);
        var vectors = Enumerable.Range(0, Count).Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        var ids = string.Join(",", Enumerable.Range(0, Count).Select(i => $"\"r{i}\""));
        (await _http.PostAsync($"{Db}/collections/{id}/add", $$"""{"ids":[{{ids}}],"embeddings":[{{string.Join(",", vectors.Select(Vector))}}]}""")).Status.Should().Be(HttpStatusCode.Created);
        var embedded = _host.Store.GetClient(_host.AdminKey).GetCollection("vstore");
        embedded.BuildIndex();

        var modified = await _http.SendAsync(HttpMethod.Put, $"{Db}/collections/{id}", """{"new_configuration":{"vector_storage":"int8"}}""");
        modified.Status.Should().Be(HttpStatusCode.OK);
        var got = (await _http.GetJsonAsync($"{Db}/collections/vstore")).Body;
        got.GetProperty("configuration_json").GetProperty("vector_storage").GetString().Should().Be("int8");

        // Reported while the graph is rebuilt, whatever its progress: indexed + unindexed = total.
        var during = (await _http.GetJsonAsync($"{Db}/collections/{id}/indexing_status")).Body;
        (during.GetProperty("num_indexed_ops").GetInt64() + during.GetProperty("num_unindexed_ops").GetInt64()).Should().Be(Count);
        embedded.BuildIndex();
        (await _http.GetJsonAsync($"{Db}/collections/{id}/indexing_status")).Body.GetRawText()
            .Should().Be($$"""{"num_indexed_ops":{{Count}},"num_unindexed_ops":0,"total_ops":{{Count}},"op_indexing_progress":1.0}""");
        var (_, hit) = await _http.PostAsync($"{Db}/collections/{id}/query", $$"""{"query_embeddings":[{{Vector(vectors[17])}}],"n_results":1,"include":["distances"]}""");
        hit.GetProperty("ids")[0][0].GetString().Should().Be("r17");
        hit.GetProperty("distances")[0][0].GetDouble().Should().Be(0, "re-ranked with the float32 rows");

        // The same storage again rebuilds nothing: nothing becomes unindexed.
        (await _http.SendAsync(HttpMethod.Put, $"{Db}/collections/{id}", """{"new_configuration":{"vector_storage":"int8"}}""")).Status.Should().Be(HttpStatusCode.OK);
        (await _http.GetJsonAsync($"{Db}/collections/{id}/indexing_status")).Body.GetProperty("num_unindexed_ops").GetInt64().Should().Be(0);

        var (status, error) = await _http.SendAsync(HttpMethod.Put, $"{Db}/collections/{id}", """{"new_configuration":{"vector_storage":"int4"}}""");
        status.Should().Be(HttpStatusCode.BadRequest);
        error.Message().Should().Contain("int4").And.Contain("'float32', 'float16' or 'int8'");

        (await _http.SendAsync(HttpMethod.Put, $"{Db}/collections/{id}", """{"new_configuration":{"hnsw":{"ef_search":50},"vector_storage":"float32"}}""")).Status.Should().Be(HttpStatusCode.OK);
        var back = (await _http.GetJsonAsync($"{Db}/collections/vstore")).Body.GetProperty("configuration_json");
        back.TryGetProperty("vector_storage", out _).Should().BeFalse("float32 answers stay Chroma's");
        back.GetProperty("hnsw").GetProperty("ef_search").GetInt32().Should().Be(50);
        _host.Store.GetClient(_host.AdminKey).GetCollection("vstore").Configuration.VectorStorage.Should().Be(VectorStorage.Float32);
    }
}
