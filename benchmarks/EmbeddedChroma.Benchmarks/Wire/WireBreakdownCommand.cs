using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using EmbeddedChroma.Client;

namespace EmbeddedChroma.Benchmarks.Wire;

/// <summary>
/// <c>-- wire-breakdown [seconds] [targets]</c>: where a 1-connection k = 10 query's time goes. The ready host (its own
/// process, started with <c>--server-timing</c>) serves a 10,000 × 384 cosine collection; for <c>seconds</c> (default 5)
/// each: (1) the store's own <c>Query</c> in this process on the same records (the engine alone); (2) a plain
/// <see cref="HttpClient"/> posting a ready-made body, with the host's per-stage <c>Server-Timing</c> (auth, body, parse,
/// lookup, store, total); (3) <see cref="ChromaRemoteClient"/>, as <c>wire-load</c> does; (4) 150 adds of 100 × 384
/// (base64) at 1 connection into a collection of their own, with their stages, split at the HNSW threshold (requests 1–50
/// before it, 51–150 while the graph is built), the same through <see cref="ChromaRemoteClient"/>, and the client's own
/// encoding of such a body. Prints mean, p50, p99 and p99.9 of each. <c>targets</c> (default <c>host</c>) as in <c>wire-load</c>: <c>host[@REPO][+NAME=VALUE…]</c>.
/// </summary>
public static class WireBreakdownCommand
{
    private const int Dimension = 384;
    private const int Records = 10_000;
    private const int AddRequests = 150;
    private const int ThresholdRequests = 50;

    /// <summary>True for <c>wire-breakdown</c>.</summary>
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "wire-breakdown";

    /// <summary>Runs the breakdown and prints the table.</summary>
    public static int Run(string[] args)
    {
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var targets = args.Length > 2 ? args[2].Split(',', StringSplitOptions.RemoveEmptyEntries) : ["host"];
        var repo = WireLoadCommand.FindRepo();
        var random = new Random(42);
        var vectors = Enumerable.Range(0, Records).Select(_ => WireLoadCommand.Vector(random)).ToArray();
        var rows = new List<string>();

        rows.Add(Row("engine", "in-process Query", Engine(vectors, seconds)));
        foreach (var target in targets)
        {
            var folder = Directory.CreateTempSubdirectory("ec-wire-breakdown-").FullName;
            using var server = WireLoadCommand.StartHost(repo, target, folder, out var key, "--server-timing");
            try
            {
                rows.AddRange(HostAsync(target, server.Address, key!, vectors, seconds).GetAwaiter().GetResult());
            }
            finally
            {
                server.Stop();
                Directory.Delete(folder, recursive: true);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| target | measured | requests | mean ms | p50 ms | p99 ms | p99.9 ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static Samples Engine(float[][] vectors, int seconds)
    {
        var folder = Directory.CreateTempSubdirectory("ec-wire-breakdown-engine-").FullName;
        try
        {
            using var store = ChromaStore.Create(Path.Combine(folder, "store"), out var adminKey);
            var client = store.GetClient(store.Authenticate(adminKey));
            var collection = client.CreateCollection("load", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
            for (var first = 0; first < Records; first += 100)
            {
                collection.Add(
                    Enumerable.Range(first, 100).Select(i => "r" + i.ToString(CultureInfo.InvariantCulture)).ToArray(),
                    Enumerable.Range(first, 100).Select(i => vectors[i]).ToArray());
            }

            var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
            while (collection.GetIndexingStatus().UnindexedRecords > 0 && Stopwatch.GetTimestamp() < deadline)
            {
                Thread.Sleep(200);
            }

            var queryRandom = new Random(7);
            var samples = new Samples();
            var until = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                var q = WireLoadCommand.Vector(queryRandom);
                var t = Stopwatch.GetTimestamp();
                var result = collection.Query([q], 10, include: Include.Distances);
                samples.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                if (result.Ids[0].Count != 10)
                {
                    throw new InvalidOperationException("the engine's query returned fewer than 10 ids");
                }
            }

            return samples;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<List<string>> HostAsync(string target, Uri address, string key, float[][] vectors, int seconds)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = address };
        using var client = new ChromaRemoteClient(new ChromaRemoteClientOptions
        {
            BaseAddress = address,
            Credential = ChromaCredential.FromKey(key),
            HttpClient = http,
            MaxRetries = 0,
        });
        var collection = await client.CreateCollectionAsync("load", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
        var taken = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int first;
            while ((first = Interlocked.Add(ref taken, 100) - 100) < Records)
            {
                await WireLoadCommand.AddBatch(collection, vectors, first).ConfigureAwait(false);
            }
        }))).ConfigureAwait(false);
        await WireLoadCommand.SettleAsync(http, address, key, collection.Id).ConfigureAwait(false);

        var rows = new List<string>();
        var path = $"api/v2/tenants/default_tenant/databases/default_database/collections/{collection.Id}/query";
        var queryRandom = new Random(7);
        var stages = new SortedDictionary<string, Samples>(StringComparer.Ordinal);
        var raw = new Samples();

        // Warm-up (JIT, connection), then the measured phase.
        for (var phase = 0; phase < 2; phase++)
        {
            var until = Stopwatch.GetTimestamp() + (long)((phase == 0 ? 2 : seconds) * (double)Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                var body = QueryBody(WireLoadCommand.Vector(queryRandom));
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                var t = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request).ConfigureAwait(false);
                var answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                if (!response.IsSuccessStatusCode || answer.Length == 0)
                {
                    throw new InvalidOperationException($"query answered {(int)response.StatusCode}");
                }

                if (phase == 0)
                {
                    continue;
                }

                raw.Add(elapsed);
                Collect(response, stages);
            }
        }

        rows.Add(Row(target, "HttpClient, ready-made body: round trip", raw));
        foreach (var name in new[] { "auth", "body", "parse", "lookup", "store", "total" })
        {
            if (stages.TryGetValue(name, out var samples))
            {
                rows.Add(Row(target, $"host stage {name} (Server-Timing)", samples));
            }
        }

        var remote = new Samples();
        var end = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var q = WireLoadCommand.Vector(queryRandom);
            var t = Stopwatch.GetTimestamp();
            await collection.QueryAsync(new QueryRequest { QueryEmbeddings = [q], NResults = 10, Include = Include.Distances }).ConfigureAwait(false);
            remote.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        rows.Add(Row(target, "ChromaRemoteClient: round trip", remote));

        // Adds of 100 × 384 (base64, as Chroma's clients send them) at 1 connection, 150 into a collection of their own:
        // requests 1–50 before the collection crosses the HNSW threshold (5,000 records, no graph), 51–150 after it (the
        // background indexer builds and extends the graph beside them), as in wire-load's 1-connection add phase. First
        // with ready-made bodies and the host's stages, then (a fresh collection, the first one's indexing settled) through
        // ChromaRemoteClient, whose own share is its round trip less the ready-made one.
        var ingest = await client.CreateCollectionAsync("ingest", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
        var addPath = $"api/v2/tenants/default_tenant/databases/default_database/collections/{ingest.Id}/add";
        var addStages = new[] { new SortedDictionary<string, Samples>(StringComparer.Ordinal), new SortedDictionary<string, Samples>(StringComparer.Ordinal) };
        var adds = new[] { new Samples(), new Samples() };
        for (var n = 0; n < AddRequests; n++)
        {
            var half = n < ThresholdRequests ? 0 : 1;
            using var request = new HttpRequestMessage(HttpMethod.Post, addPath) { Content = new ByteArrayContent(AddBody(vectors, n * 100)) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var t = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request).ConfigureAwait(false);
            _ = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            adds[half].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"add answered {(int)response.StatusCode}");
            }

            Collect(response, addStages[half]);
        }

        for (var half = 0; half < 2; half++)
        {
            var when = half == 0 ? "adds 1–50, no graph" : "adds 51–150, graph building";
            rows.Add(Row(target, $"add 100 × 384 (base64), {when}: round trip", adds[half]));
            foreach (var name in new[] { "auth", "body", "parse", "lookup", "store", "total" })
            {
                if (addStages[half].TryGetValue(name, out var samples))
                {
                    rows.Add(Row(target, $"add stage {name}, {when} (Server-Timing)", samples));
                }
            }
        }

        await WireLoadCommand.SettleAsync(http, address, key, ingest.Id).ConfigureAwait(false);
        var remoteIngest = await client.CreateCollectionAsync("ingest-remote", new CollectionOptions { Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine } });
        var remoteAdds = new[] { new Samples(), new Samples() };
        for (var n = 0; n < AddRequests; n++)
        {
            var t = Stopwatch.GetTimestamp();
            await WireLoadCommand.AddBatch(remoteIngest, vectors, n * 100).ConfigureAwait(false);
            remoteAdds[n < ThresholdRequests ? 0 : 1].Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        rows.Add(Row(target, "add 100 × 384, ChromaRemoteClient, adds 1–50, no graph: round trip", remoteAdds[0]));
        rows.Add(Row(target, "add 100 × 384, ChromaRemoteClient, adds 51–150, graph building: round trip", remoteAdds[1]));

        // The client's own encoding of one such add (its JSON writer and base64), in this process, no network.
        var encode = new Samples();
        for (var n = 0; n < 300; n++)
        {
            var t = Stopwatch.GetTimestamp();
            _ = AddBodyLikeTheClient(vectors, (n % 100) * 100);
            encode.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        rows.Add(Row("client", "add body of 100 × 384 encoded as ChromaRemoteClient does (Utf8JsonWriter, base64)", encode));
        return rows;
    }

    private static void Collect(HttpResponseMessage response, SortedDictionary<string, Samples> stages)
    {
        if (response.Headers.TryGetValues("Server-Timing", out var timings))
        {
            foreach (var entry in string.Join(", ", timings).Split(", "))
            {
                var parts = entry.Split(";dur=");
                if (!stages.TryGetValue(parts[0], out var samples))
                {
                    stages[parts[0]] = samples = new Samples();
                }

                samples.Add(double.Parse(parts[1], CultureInfo.InvariantCulture));
            }
        }
    }

    private static byte[] AddBody(float[][] vectors, int first)
    {
        var text = new StringBuilder("{\"ids\":[");
        for (var i = 0; i < 100; i++)
        {
            text.Append(i == 0 ? "\"a" : ",\"a").Append((first + i).ToString(CultureInfo.InvariantCulture)).Append('"');
        }

        text.Append("],\"embeddings\":[");
        for (var i = 0; i < 100; i++)
        {
            var v = vectors[(first + i) % vectors.Length];
            text.Append(i == 0 ? "\"" : ",\"").Append(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()))).Append('"');
        }

        text.Append("]}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static byte[] AddBodyLikeTheClient(float[][] vectors, int first)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartArray("ids");
            for (var i = 0; i < 100; i++)
            {
                w.WriteStringValue("r" + (first + i).ToString(CultureInfo.InvariantCulture));
            }

            w.WriteEndArray();
            w.WriteStartArray("embeddings");
            for (var i = 0; i < 100; i++)
            {
                w.WriteBase64StringValue(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vectors[(first + i) % vectors.Length].AsSpan()));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] QueryBody(float[] q)
    {
        var text = new StringBuilder("{\"query_embeddings\":[[");
        for (var i = 0; i < q.Length; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(q[i].ToString("R", CultureInfo.InvariantCulture));
        }

        text.Append("]],\"n_results\":10,\"include\":[\"distances\"]}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static string Row(string target, string measured, Samples s) =>
        string.Create(CultureInfo.InvariantCulture, $"| {target} | {measured} | {s.Count} | {s.Mean:F3} | {s.Percentile(0.50):F3} | {s.Percentile(0.99):F3} | {s.Percentile(0.999):F3} |");

    private sealed class Samples
    {
        private readonly List<double> _values = [];
        private bool _sorted;

        public int Count => _values.Count;

        public double Mean => _values.Count == 0 ? double.NaN : _values.Average();

        public void Add(double value)
        {
            _values.Add(value);
            _sorted = false;
        }

        public double Percentile(double p)
        {
            if (_values.Count == 0)
            {
                return double.NaN;
            }

            if (!_sorted)
            {
                _values.Sort();
                _sorted = true;
            }

            return _values[Math.Min(_values.Count - 1, (int)(p * _values.Count))];
        }
    }
}
