using System.Globalization;
using System.Net;
using static EmbeddedChroma.Server.Tests.HostFixture;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// <see cref="ChromaServerOptions.ServerTiming"/>: a W3C <c>Server-Timing</c> header naming where a request's time went
/// (what <c>wire-breakdown</c> reads); absent unless asked for.
/// </summary>
public sealed class ServerTimingTests
{
    private const string Query = """{"query_embeddings":[[1,0]],"n_results":1,"include":["distances"]}""";

    [Fact]
    public async Task Query_answer_carries_each_stage_in_server_timing_when_the_option_is_on()
    {
        await using var host = await HostFixture.StartAsync(new ChromaServerOptions { ServerTiming = true });
        using var http = host.Http();
        var id = await http.CreateCollectionAsync("timed");
        (await http.PostAsync($"{Db}/collections/{id}/add", """{"ids":["a","b"],"embeddings":[[1,0],[0,1]]}""")).Status.Should().Be(HttpStatusCode.Created);

        using var response = await http.PostAsync($"{Db}/collections/{id}/query", Wire.Json(Query));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var stages = Stages(response);
        stages.Keys.Should().Equal("auth", "body", "parse", "lookup", "store", "total");
        stages.Values.Should().OnlyContain(ms => ms >= 0);
        stages["total"].Should().BeGreaterThanOrEqualTo(stages["store"]);
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"distances\":[[0.0]]");

        // A route without a body or a collection names only the stages it has.
        using var heartbeat = await http.GetAsync("/api/v2/heartbeat");
        Stages(heartbeat).Keys.Should().Equal("auth", "store", "total");
    }

    [Fact]
    public async Task Answers_carry_no_server_timing_when_the_option_is_off()
    {
        await using var host = await HostFixture.StartAsync();
        using var http = host.Http();
        var id = await http.CreateCollectionAsync("plain");
        (await http.PostAsync($"{Db}/collections/{id}/add", """{"ids":["a"],"embeddings":[[1,0]]}""")).Status.Should().Be(HttpStatusCode.Created);
        using var response = await http.PostAsync($"{Db}/collections/{id}/query", Wire.Json(Query));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.Contains("Server-Timing").Should().BeFalse();
    }

    private static Dictionary<string, double> Stages(HttpResponseMessage response)
    {
        response.Headers.TryGetValues("Server-Timing", out var values).Should().BeTrue("the option is on");
        var stages = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var entry in string.Join(", ", values!).Split(", "))
        {
            var parts = entry.Split(";dur=");
            parts.Should().HaveCount(2, $"'{entry}' is name;dur=milliseconds");
            stages.Add(parts[0], double.Parse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return stages;
    }
}
