using System.Diagnostics;
using System.Numerics.Tensors;
using EmbeddedChroma.Embeddings.MiniLM;
using EmbeddedChroma.Embeddings.MiniLM.Parity;

// Commands (run from the repository root):
//   tokenize TEXT                 print the ids and pieces of TEXT
//   export DIR                    write the model folder the reference implementations load
//   regenerate                    rebuild tests/EmbeddedChroma.Embeddings.MiniLM.Tests/Fixtures/parity.json.gz (3,000 texts)
//   verify [COUNT] [VECTOR_EVERY] compute a fresh reference for COUNT texts (default 20,000, every 5th with a vector)
//                                 and compare it with this implementation; exit 1 on any difference
string root = FindRoot();
string js = Path.Combine(root, "tests", "js", "embeddings");
switch (args.FirstOrDefault())
{
    case "export" when args.Length == 2:
        ModelExport.Write(args[1]);
        return 0;
    case "tokenize" when args.Length == 2:
        {
            using var generator = new MiniLMEmbeddingGenerator();
            int[] ids = generator.Tokenize(args[1]);
            Console.WriteLine(string.Join(' ', ids.Select(id => $"{id}:{generator.Tokenizer.TokenOf(id)}")));
            return 0;
        }

    case "regenerate":
        {
            string fixture = Path.Combine(root, "tests", "EmbeddedChroma.Embeddings.MiniLM.Tests", "Fixtures", "parity.json.gz");
            Reference(js, fixture, 3000, 10);
            return 0;
        }

    case "verify":
        {
            int count = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20_000;
            int every = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
            string output = Path.Combine(Path.GetTempPath(), $"minilm-parity-{Environment.ProcessId}.json.gz");
            Reference(js, output, count, every);
            int failures = Compare(ParityFixture.Load(output));
            File.Delete(output);
            return failures == 0 ? 0 : 1;
        }

    default:
        Console.Error.WriteLine("usage: export DIR | regenerate | verify [COUNT] [VECTOR_EVERY]");
        return 2;
}

static void Reference(string js, string output, int count, int every)
{
    string model = Path.Combine(Path.GetTempPath(), $"minilm-model-{Environment.ProcessId}", "all-MiniLM-L6-v2");
    ModelExport.Write(model);
    try
    {
        if (!Directory.Exists(Path.Combine(js, "node_modules")))
        {
            Run("npm", js, "ci", "--no-audit", "--no-fund");
        }

        Run("node", js, "reference.mjs", model, Path.GetFullPath(output), "--count", $"{count}", "--vector-every", $"{every}");
    }
    finally
    {
        Directory.Delete(Path.GetDirectoryName(model)!, recursive: true);
    }
}

static int Compare(ParityFixture fixture)
{
    using var generator = new MiniLMEmbeddingGenerator();
    int idFailures = 0;
    for (int i = 0; i < fixture.Texts.Count; i++)
    {
        int[] ours = generator.Tokenize(fixture.Texts[i]);
        if (!ours.AsSpan().SequenceEqual(fixture.Ids[i]))
        {
            if (idFailures++ < 20)
            {
                Console.WriteLine($"ids differ for text {i} {Escape(fixture.Texts[i])}:\n  ours {string.Join(',', ours)}\n  ref  {string.Join(',', fixture.Ids[i])}");
            }
        }
    }

    var texts = fixture.VectorIndices.Select(i => fixture.Texts[i]).ToArray();
    float[] vectors = new float[texts.Length * MiniLMEmbeddingGenerator.Dimensions];
    var watch = Stopwatch.StartNew();
    generator.Generate(texts, vectors);
    watch.Stop();
    double worst = 1, worstTjs = 1;
    int vectorFailures = 0;
    for (int k = 0; k < texts.Length; k++)
    {
        ReadOnlySpan<float> ours = vectors.AsSpan(k * 384, 384);
        double cos = TensorPrimitives.CosineSimilarity(ours, fixture.Vectors[k]);
        worst = Math.Min(worst, cos);
        if (cos < 0.9999 && vectorFailures++ < 20)
        {
            Console.WriteLine($"vector differs for text {fixture.VectorIndices[k]} (cos {cos:F6}) {Escape(texts[k])}");
        }

        if (fixture.TransformersVectors is { } tjs)
        {
            if (fixture.TransformersIdsAgree[k])
            {
                worstTjs = Math.Min(worstTjs, TensorPrimitives.CosineSimilarity(ours, tjs[k]));
            }
        }
    }

    Console.WriteLine($"{fixture.Texts.Count} texts: {idFailures} id mismatches; {texts.Length} vectors: worst cosine {worst:F7} vs Chroma's algorithm, {worstTjs:F7} vs transformers.js (on the {fixture.TransformersIdsAgree.Count(x => x)} texts its tokenizer gets right); {vectorFailures} below 0.9999; {texts.Length / watch.Elapsed.TotalSeconds:F0} texts/s");
    return idFailures + vectorFailures;
}

static string Escape(string text) =>
    System.Text.Json.JsonSerializer.Serialize(text.Length > 120 ? text[..120] + "…" : text);

static void Run(string file, string directory, params string[] arguments)
{
    var info = new ProcessStartInfo(file) { WorkingDirectory = directory };
    foreach (string argument in arguments)
    {
        info.ArgumentList.Add(argument);
    }

    using Process process = Process.Start(info)!;
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}.");
    }
}

static string FindRoot()
{
    for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
    {
        if (File.Exists(Path.Combine(dir, "EmbeddedChroma.sln")))
        {
            return dir;
        }
    }

    return Directory.GetCurrentDirectory();
}
