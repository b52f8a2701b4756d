using System.Diagnostics;
using EmbeddedChroma.Embeddings.MiniLM;

namespace EmbeddedChroma.Benchmarks.Embeddings;

/// <summary>
/// <c>-- minilm-stream [COUNT] [LENGTH]</c>: embeds COUNT sentences (default 100,000 short ones) in calls of 256
/// through <see cref="MiniLMEmbeddingGenerator.Generate"/> and prints the managed bytes allocated per 10% of the
/// stream and the process's resident memory (ONNX Runtime's native buffers included), so growth (a leak per sentence or
/// per batch, managed or native) shows, and the throughput.
/// </summary>
public static class MiniLMStreamCommand
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "minilm-stream";

    public static int Run(string[] args)
    {
        int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        string length = args.Length > 2 ? args[2] : "short";
        const int Call = 256;
        string[] pool = MiniLMCorpus.Sentences(length, 4096, seed: 7);
        string[] batch = new string[Call];
        float[] destination = new float[Call * MiniLMEmbeddingGenerator.Dimensions];
        using var generator = new MiniLMEmbeddingGenerator();

        void Embed(int start)
        {
            for (int i = 0; i < Call; i++)
            {
                batch[i] = pool[(start + i) % pool.Length];
            }

            generator.Generate(batch, destination);
        }

        Embed(0); // warm-up: buffers, session, tables
        int calls = count / Call, tenth = Math.Max(1, calls / 10);
        long before = GC.GetTotalAllocatedBytes(precise: true), last = before;
        var watch = Stopwatch.StartNew();
        Console.WriteLine($"{count:N0} {length} sentences in calls of {Call}:");
        for (int c = 1; c <= calls; c++)
        {
            Embed(c * Call);
            if (c % tenth == 0)
            {
                long now = GC.GetTotalAllocatedBytes(precise: true);
                Console.WriteLine($"  {c * Call,9:N0} sentences: {(now - last) / (double)(tenth * Call),8:F1} bytes/sentence in this tenth, managed heap {GC.GetTotalMemory(false) / 1e6:F1} MB, resident {Environment.WorkingSet / 1e6:F0} MB");
                last = now;
            }
        }

        watch.Stop();
        long total = GC.GetTotalAllocatedBytes(precise: true) - before;
        Console.WriteLine($"  total {total / (double)(calls * Call):F1} bytes/sentence, {calls * Call / watch.Elapsed.TotalSeconds:F0} sentences/s");
        return 0;
    }
}
