namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// The ANN harness verbs (not BenchmarkDotNet: recall/QPS curves need whole query sets, not micro-iterations):
/// <code>
/// ann-gen-debian --out DIR [--input FILE] [--queries 1000] [--seed 1]   (real text: Debian package descriptions × MiniLM; see <see cref="DebianDataGenerator"/>)
/// ann-debian --data DIR --ef 32,64 --plans auto,exact,walk,twohop --json OUT   (filtered search on that data through the store; see <see cref="DebianStoreRunner"/>)
/// ann-gen --n 20000 --dim 128 --queries 1000 --clusters 100 --seed 1 --out DIR
/// ann --base DIR/base.fbin --queries DIR/queries.fbin --truth DIR/truth.ibin --metric l2|cosine|ip
///     --engine hnsw|hnsw-repaired|hnswlib|usearch|usearch-f16|usearch-i8|store|exact --m 16 --ef-construction 128 --ef 10,16,32,64,128,256 --threads 1 [--filter-selectivity 0.1 --filter-seed 1] [--hnswlib-lib PATH]
///     --json results.jsonl
/// ann … --engine hnswlib+hnsw+usearch   (paired: all built in one process, query passes alternating per ef; ratios to the first)
/// ann … --engine hnsw+hnsw-repaired   (the same graph built twice, the second then given RepairReachability: its time and effect)
/// ann … --engine hnswlib+usearch+usearch-f16+usearch-i8   (the quantization anchors: hnswlib float, USearch f32/f16/i8)
/// ann … --engine store --ef 32,64,128,256 --filter-selectivity 1,0.01,0.1,0.5   (through ChromaStore's public API; see <see cref="AnnStoreRunner"/>)
///     [--reopen-rounds 3] [--keep-store DIR]
/// reopen --folder DIR --queries DIR/queries.fbin   (a cold reopen of a kept store in a fresh process; see <see cref="AnnStoreRunner.Reopen"/>)
/// </code>
/// </summary>
internal static class AnnCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] is "ann" or "ann-gen" or "ann-gen-debian" or "ann-debian" or "reopen";

    public static int Run(string[] args)
    {
        try
        {
            var options = new AnnArguments(args);
            return args[0] switch
            {
                "ann-gen" => AnnDataGenerator.Run(options),
                "ann-gen-debian" => DebianDataGenerator.Run(options),
                "ann-debian" => DebianStoreRunner.Run(options),
                "reopen" => AnnStoreRunner.Reopen(options),
                _ => AnnRunner.Run(options),
            };
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }
}
