using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// What telemetry costs on the hot paths: a query (exact scan over 2,000 × 128, the per-call overhead shows best on a
/// small collection) and a one-record upsert, with nothing listening (<see cref="Listening"/> = false: the instruments'
/// <c>Enabled</c> flags and <c>ActivitySource.HasListeners()</c> are checked and nothing else runs) and with an
/// <see cref="ActivityListener"/> recording every span plus a <see cref="MeterListener"/> taking every measurement.
/// <see cref="StartOnly"/> is the bare cost of the telemetry gate of one call (start + end) in the same state.
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    [Params(false, true)]
    public bool Listening { get; set; }

    private const int Count = 2_000;
    private const int Dimension = 128;

    private string _folder = "";
    private ChromaStore? _store;
    private Collection? _collection;
    private float[][] _query = [];
    private string[] _upsertId = [];
    private float[][] _upsertVector = [];
    private ActivityListener? _activities;
    private MeterListener? _meters;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        float[] Next() => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        _folder = Path.Combine(Path.GetTempPath(), "ec-bench-telemetry-" + Guid.NewGuid().ToString("N"));
        _store = ChromaStore.Create(_folder, out var key, new ChromaStoreOptions { HnswThreshold = int.MaxValue });
        _collection = _store.GetClient(key).CreateCollection("bench");
        _collection.Add(Enumerable.Range(0, Count).Select(i => "id" + i).ToArray(), Enumerable.Range(0, Count).Select(_ => Next()).ToArray());
        _query = [Next()];
        _upsertId = ["id7"];
        _upsertVector = [Next()];
        // Warm the code paths up (tiered JIT) before either case is measured: run in-process (--inProcess, as the build
        // of a separate benchmark process times out on a loaded machine), the first case would otherwise pay for it.
        for (var i = 0; i < 300; i++)
        {
            Query();
            if (i % 10 == 0)
            {
                Upsert();
            }
        }

        if (Listening)
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "EmbeddedChroma",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _ => { },
            };
            ActivitySource.AddActivityListener(_activities);
            _meters = new MeterListener { InstrumentPublished = (instrument, l) => l.EnableMeasurementEvents(instrument) };
            _meters.SetMeasurementEventCallback<long>((_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<double>((_, _, _, _) => { });
            _meters.Start();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _activities?.Dispose();
        _meters?.Dispose();
        _store?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark]
    public int Query() => _collection!.Query(_query, nResults: 10, include: Include.Distances).Ids[0].Count;

    [Benchmark]
    public void Upsert() => _collection!.Upsert(_upsertId, _upsertVector);

    [Benchmark]
    public void StartOnly()
    {
        using var op = Internal.Telemetry.Start(Internal.Telemetry.Ops.Query, "default_tenant", "default_database", "bench");
    }
}
