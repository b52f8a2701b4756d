using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using EmbeddedChroma.Distance;
using EmbeddedChroma.Index;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// One exact k-NN query over 100,000 × 384 vectors: <see cref="ExactScan"/> (interface row access, bitmap or slot-list
/// filter, bounded heap) against a bare loop over a plain array, to price the abstraction. Results: RESULTS.md.
/// </summary>
[MemoryDiagnoser]
public class ExactScanBenchmarks
{
    private const int Count = 100_000;
    private const int Dimension = 384; // already a multiple of 16, so stride == dimension
    private const int K = 10;

    private float[] _data = [];
    private float[] _unitData = [];
    private float[] _query = [];
    private float[] _unitQuery = [];
    private ulong[] _allLive = [];
    private int[] _allSlots = [];
    private ArrayVectorRows _rows = null!;
    private ArrayVectorRows _unitRows = null!;
    private readonly Neighbor[] _destination = new Neighbor[K];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _data = new float[Count * Dimension];
        for (int i = 0; i < _data.Length; i++)
        {
            _data[i] = (float)((random.NextDouble() * 2) - 1);
        }

        _unitData = new float[_data.Length];
        for (int slot = 0; slot < Count; slot++)
        {
            VectorMath.Normalize(_data.AsSpan(slot * Dimension, Dimension), _unitData.AsSpan(slot * Dimension, Dimension));
        }

        _query = Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        _unitQuery = new float[Dimension];
        VectorMath.Normalize(_query, _unitQuery);

        _allLive = new ulong[(Count + 63) / 64];
        Array.Fill(_allLive, ulong.MaxValue);
        _allSlots = Enumerable.Range(0, Count).ToArray();
        _rows = new ArrayVectorRows(_data, Dimension, Dimension);
        _unitRows = new ArrayVectorRows(_unitData, Dimension, Dimension);
    }

    [Benchmark(Baseline = true)]
    public int BareLoop_TensorPrimitivesDistance_L2()
    {
        var top = new SimpleTopK(_destination);
        for (int slot = 0; slot < Count; slot++)
        {
            float d = TensorPrimitives.Distance(_query, _data.AsSpan(slot * Dimension, Dimension));
            top.Add(slot, d * d);
        }

        return top.Count;
    }

    [Benchmark]
    public int ExactScan_L2_Bitmap() => ExactScan.Search(_rows, DistanceSpace.L2, _query, K, _allLive, _destination);

    [Benchmark]
    public int ExactScan_L2_SlotList() => ExactScan.Search(_rows, DistanceSpace.L2, _query, K, _allSlots, _destination);

    [Benchmark]
    public int BareLoop_TensorPrimitivesDot_Cosine()
    {
        var top = new SimpleTopK(_destination);
        for (int slot = 0; slot < Count; slot++)
        {
            top.Add(slot, 1f - TensorPrimitives.Dot(_unitQuery, _unitData.AsSpan(slot * Dimension, Dimension)));
        }

        return top.Count;
    }

    [Benchmark]
    public int ExactScan_Cosine_Bitmap() => ExactScan.Search(_unitRows, DistanceSpace.Cosine, _unitQuery, K, _allLive, _destination);

    /// <summary>Insertion into a sorted array of k: the simplest correct top-k, fine for k = 10.</summary>
    private ref struct SimpleTopK(Span<Neighbor> items)
    {
        private readonly Span<Neighbor> _items = items;

        public int Count { get; private set; }

        public void Add(int slot, float distance)
        {
            if (Count == _items.Length && distance >= _items[Count - 1].Distance)
            {
                return;
            }

            int i = Count < _items.Length ? Count++ : Count - 1;
            while (i > 0 && _items[i - 1].Distance > distance)
            {
                _items[i] = _items[i - 1];
                i--;
            }

            _items[i] = new Neighbor(slot, distance);
        }
    }
}
