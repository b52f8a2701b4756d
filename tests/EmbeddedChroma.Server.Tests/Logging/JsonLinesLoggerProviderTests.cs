#pragma warning disable CA1848, CA1873 // the test calls the logger directly, as any category would
using System.Text;
using System.Text.Json;
using EmbeddedChroma.Server.Logging;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Server.Tests.Logging;

/// <summary>
/// The ready host's log writer: one whole JSON object per line, every line written (none dropped or interleaved when
/// request threads log at once), queued lines written on dispose.
/// </summary>
public sealed partial class JsonLinesLoggerProviderTests
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Route} {Status} in {ElapsedMs:0.0} ms, key {KeyId}")]
    private static partial void LogRequest(ILogger logger, string method, string route, int status, double elapsedMs, string keyId);

    [Fact]
    public void Log_writes_one_json_line_with_the_entrys_named_values()
    {
        var output = new MemoryStream();
        using (var provider = new JsonLinesLoggerProvider(output))
        {
            LogRequest(provider.CreateLogger("EmbeddedChroma.Server"), "POST", "/api/v2/x/\"quoted\"", 201, 1.27, "eck_abc");
        }

        var lines = Lines(output);
        lines.Should().HaveCount(1);
        using var line = JsonDocument.Parse(lines[0]);
        var root = line.RootElement;
        root.GetProperty("EventId").GetInt32().Should().Be(1);
        root.GetProperty("LogLevel").GetString().Should().Be("Information");
        root.GetProperty("Category").GetString().Should().Be("EmbeddedChroma.Server");
        root.GetProperty("Message").GetString().Should().Be("POST /api/v2/x/\"quoted\" 201 in 1.3 ms, key eck_abc");
        root.GetProperty("Timestamp").GetDateTime().Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
        var state = root.GetProperty("State");
        state.GetProperty("Method").GetString().Should().Be("POST");
        state.GetProperty("Route").GetString().Should().Be("/api/v2/x/\"quoted\"");
        state.GetProperty("Status").GetInt32().Should().Be(201);
        state.GetProperty("ElapsedMs").GetDouble().Should().Be(1.27);
        state.GetProperty("KeyId").GetString().Should().Be("eck_abc");
        state.TryGetProperty("{OriginalFormat}", out _).Should().BeFalse("the template is the same on every line");
    }

    [Fact]
    public void Log_keeps_every_line_whole_and_written_when_many_threads_log_at_once()
    {
        var output = new MemoryStream();
        const int Threads = 8, PerThread = 2_000; // more than the queue holds, so loggers also wait for the writer
        using (var provider = new JsonLinesLoggerProvider(output))
        {
            var logger = provider.CreateLogger("load");
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
            {
                for (var i = 0; i < PerThread; i++)
                {
                    LogRequest(logger, "GET", $"/t{t}/{i}", 200, i, "k");
                }
            });
        }

        var routes = Lines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("State").GetProperty("Route").GetString()).ToList();
        routes.Should().HaveCount(Threads * PerThread).And.OnlyHaveUniqueItems();
        for (var t = 0; t < Threads; t++)
        {
            // One thread's lines keep their order.
            routes.Where(r => r!.StartsWith($"/t{t}/", StringComparison.Ordinal)).Should().Equal(Enumerable.Range(0, PerThread).Select(i => $"/t{t}/{i}"));
        }
    }

    [Fact]
    public void Log_writes_the_exception_and_nothing_below_the_minimum_level()
    {
        var output = new MemoryStream();
        using (var provider = new JsonLinesLoggerProvider(output, LogLevel.Warning))
        {
            var logger = provider.CreateLogger("c");
            logger.LogInformation("not written");
            logger.LogError(new InvalidOperationException("boom"), "failed {What}", "thing");
        }

        var lines = Lines(output);
        lines.Should().HaveCount(1);
        var root = JsonDocument.Parse(lines[0]).RootElement;
        root.GetProperty("LogLevel").GetString().Should().Be("Error");
        root.GetProperty("Message").GetString().Should().Be("failed thing");
        root.GetProperty("Exception").GetString().Should().Contain("InvalidOperationException: boom");
        root.GetProperty("State").GetProperty("What").GetString().Should().Be("thing");
    }

    private static List<string> Lines(MemoryStream output)
    {
        var text = Encoding.UTF8.GetString(output.ToArray());
        text.Should().EndWith("\n");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
