using System.Net;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>Answers go out with a <c>Content-Length</c> (one send of headers and body), not chunked.</summary>
public sealed class ResponseFramingTests
{
    [Fact]
    public async Task Answers_carry_a_content_length_matching_the_body_when_they_succeed()
    {
        await using var host = await HostFixture.StartAsync();
        using var http = host.Http();
        var id = await http.CreateCollectionAsync("framed");
        (await http.PostAsync($"{Db}/collections/{id}/add", """{"ids":["a","b"],"embeddings":[[1,0],[0,1]],"documents":["é ☃",null]}""")).Status.Should().Be(HttpStatusCode.Created);

        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Post, $"{Db}/collections/{id}/query", """{"query_embeddings":[[1,0]],"n_results":2,"include":["documents","distances"]}"""),
            (HttpMethod.Post, $"{Db}/collections/{id}/get", "{}"),
            (HttpMethod.Post, $"{Db}/collections/{id}/add", """{"ids":["c"],"embeddings":[[1,1]]}"""),
            (HttpMethod.Get, $"{Db}/collections/{id}/count", null),
            (HttpMethod.Get, "/api/v2/heartbeat", null),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Wire.Json(body) };
            using var response = await http.SendAsync(request);
            response.IsSuccessStatusCode.Should().BeTrue(path);
            response.Headers.TransferEncodingChunked.Should().NotBe(true, path);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            response.Content.Headers.ContentLength.Should().Be(bytes.Length, path);
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        }
    }
}
