using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EmbeddedChroma.Embeddings.MiniLM;

namespace EmbeddedChroma.Benchmarks.Ann;

/// <summary>
/// <c>ann-gen-debian --out DIR [--input FILE] [--queries 1000] [--seed 1]</c>: a real-text data set from Debian's
/// package descriptions (the output of <c>apt-cache dumpavail</c>, run here unless <c>--input</c> names a saved copy;
/// run <c>apt-get update</c> first), embedded with the default model (all-MiniLM-L6-v2, 384-d, unit length).
/// </summary>
/// <remarks>
/// <para>One record per distinct description (the one-line synopsis; identical synopses would be duplicate vectors),
/// in the file's (package-name) order; <c>--queries</c> of them, chosen by a seeded shuffle, are held out as the query
/// set and are not in the base. Metadata per record, from the package's own fields: <c>section</c>, <c>priority</c>,
/// <c>arch</c>, <c>installed_size</c> (KiB), <c>has_homepage</c>, <c>maintainer_domain</c>; the document is the
/// description, the id the package name.</para>
/// <para>Writes <c>base.fbin</c> and <c>queries.fbin</c> (big-ann format), <c>records.jsonl</c> (per base row: id,
/// document, metadata), <c>queries.txt</c> (the held-out descriptions) and <c>filters.jsonl</c>: for each target share
/// 1, 5, 10, 20 and 50 % two natural filters, chosen on the base rows: a <c>section</c> filter (one section, or
/// <c>$in</c> of the largest sections, whichever share is closest to the target; sections follow the text, so the
/// allowed rows cluster away from most queries) and an <c>installed_size</c> threshold (the target quantile; nearly
/// independent of the text). Each line: name, family, target, selectivity (the exact share of base rows), where (JSON).</para>
/// <para>The data is not committed (package descriptions carry their packages' licences); this command remakes it.
/// Default folder for scripts: <c>benchmarks/data/debian</c> (git-ignored).</para>
/// </remarks>
internal static class DebianDataGenerator
{
    private static readonly double[] Targets = [0.01, 0.05, 0.10, 0.20, 0.50];

    public static int Run(AnnArguments options)
    {
        string output = options.String("out");
        string? input = options.String("input", "");
        int queryCount = options.Int("queries", 1000);
        int seed = options.Int("seed", 1);
        options.ThrowIfUnused();
        Directory.CreateDirectory(output);

        string text = string.IsNullOrEmpty(input) ? DumpAvail() : File.ReadAllText(input);
        List<Package> packages = Parse(text);
        Console.WriteLine($"ann-gen-debian: {packages.Count} distinct descriptions");
        if (packages.Count <= queryCount)
        {
            throw new ArgumentException($"Only {packages.Count} packages; need more than --queries {queryCount}.");
        }

        // Held-out queries: a seeded partial shuffle of the indices.
        var order = Enumerable.Range(0, packages.Count).ToArray();
        var random = new Random(seed);
        for (int i = 0; i < queryCount; i++)
        {
            int j = random.Next(i, order.Length);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var held = new HashSet<int>(order.Take(queryCount));
        var queries = order.Take(queryCount).Select(i => packages[i]).ToList();
        var baseRows = Enumerable.Range(0, packages.Count).Where(i => !held.Contains(i)).Select(i => packages[i]).ToList();

        using (var writer = new StreamWriter(Path.Combine(output, "records.jsonl"), append: false, new UTF8Encoding(false)))
        {
            foreach (Package p in baseRows)
            {
                var line = new JsonObject
                {
                    ["id"] = p.Name,
                    ["document"] = p.Description,
                    ["metadata"] = new JsonObject
                    {
                        ["section"] = p.Section,
                        ["priority"] = p.Priority,
                        ["arch"] = p.Architecture,
                        ["installed_size"] = p.InstalledSize,
                        ["has_homepage"] = p.HasHomepage,
                        ["maintainer_domain"] = p.MaintainerDomain,
                    },
                };
                writer.WriteLine(line.ToJsonString());
            }
        }

        File.WriteAllLines(Path.Combine(output, "queries.txt"), queries.Select(q => q.Description), new UTF8Encoding(false));
        WriteFilters(Path.Combine(output, "filters.jsonl"), baseRows);

        using var generator = new MiniLMEmbeddingGenerator();
        var stopwatch = Stopwatch.StartNew();
        float[] baseVectors = Embed(generator, baseRows.Select(p => p.Description).ToList());
        float[] queryVectors = Embed(generator, queries.Select(p => p.Description).ToList());
        BigAnnFiles.WriteFbin(Path.Combine(output, "base.fbin"), baseVectors, baseRows.Count, MiniLMEmbeddingGenerator.Dimensions);
        BigAnnFiles.WriteFbin(Path.Combine(output, "queries.fbin"), queryVectors, queries.Count, MiniLMEmbeddingGenerator.Dimensions);
        Console.WriteLine($"ann-gen-debian: {baseRows.Count} base + {queries.Count} queries × {MiniLMEmbeddingGenerator.Dimensions} embedded in {stopwatch.Elapsed.TotalSeconds:F0} s → {output}");
        return 0;
    }

    private static string DumpAvail()
    {
        var start = new ProcessStartInfo("apt-cache", "dumpavail") { RedirectStandardOutput = true, UseShellExecute = false };
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("apt-cache did not start.");
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || text.Length == 0)
        {
            throw new InvalidOperationException($"apt-cache dumpavail failed (exit {process.ExitCode}); run apt-get update first.");
        }

        return text;
    }

    private sealed record Package(string Name, string Description, string Section, string Priority, string Architecture, long InstalledSize, bool HasHomepage, string MaintainerDomain);

    /// <summary>Stanzas of <c>Field: value</c> lines (continuations start with a space); the first stanza per distinct description.</summary>
    private static List<Package> Parse(string text)
    {
        var packages = new List<Package>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        void Flush()
        {
            if (fields.TryGetValue("Package", out string? name) && fields.TryGetValue("Description", out string? description)
                && description.Length > 0 && seen.Add(description))
            {
                string maintainer = fields.GetValueOrDefault("Maintainer", "");
                int at = maintainer.LastIndexOf('@');
                string domain = at < 0 ? "" : maintainer[(at + 1)..].TrimEnd('>', ' ').ToLowerInvariant();
                packages.Add(new Package(
                    name,
                    description,
                    fields.GetValueOrDefault("Section", "unknown"),
                    fields.GetValueOrDefault("Priority", "optional"),
                    fields.GetValueOrDefault("Architecture", "all"),
                    long.TryParse(fields.GetValueOrDefault("Installed-Size", "0"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long size) ? size : 0,
                    fields.ContainsKey("Homepage"),
                    domain));
            }

            fields.Clear();
        }

        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                Flush();
            }
            else if (line[0] is not (' ' or '\t'))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    fields[line[..colon]] = line[(colon + 1)..].Trim();
                }
            }
        }

        Flush();
        return packages;
    }

    private static void WriteFilters(string path, List<Package> rows)
    {
        int n = rows.Count;
        var sections = rows.GroupBy(p => p.Section).Select(g => (Section: g.Key, Count: g.Count()))
            .OrderByDescending(s => s.Count).ThenBy(s => s.Section, StringComparer.Ordinal).ToList();
        var sizes = rows.Select(p => p.InstalledSize).Order().ToArray();
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        foreach (double target in Targets)
        {
            // Section: the single section or the $in of the largest sections whose share is closest to the target.
            var best = sections.Select(s => (Share: s.Count / (double)n, Where: (JsonNode)new JsonObject { ["section"] = s.Section }, Name: "section = " + s.Section)).ToList();
            int cumulative = 0;
            for (int i = 0; i < sections.Count && cumulative < n * 0.8; i++)
            {
                cumulative += sections[i].Count;
                if (i > 0)
                {
                    var values = new JsonArray(sections.Take(i + 1).Select(s => (JsonNode)JsonValue.Create(s.Section)!).ToArray());
                    best.Add((cumulative / (double)n, new JsonObject { ["section"] = new JsonObject { ["$in"] = values } }, $"section in top {i + 1}"));
                }
            }

            var section = best.MinBy(b => Math.Abs(b.Share - target));
            Write(writer, section.Name, "section", target, section.Share, section.Where);

            // Installed size below the target quantile (the share counts ties exactly).
            long threshold = sizes[Math.Clamp((int)Math.Round(target * n), 0, n - 1)];
            double share = rows.Count(p => p.InstalledSize < threshold) / (double)n;
            Write(writer, $"installed_size < {threshold}", "size", target, share, new JsonObject { ["installed_size"] = new JsonObject { ["$lt"] = threshold } });
        }
    }

    private static void Write(StreamWriter writer, string name, string family, double target, double selectivity, JsonNode where)
    {
        var line = new JsonObject
        {
            ["name"] = name,
            ["family"] = family,
            ["target"] = target,
            ["selectivity"] = Math.Round(selectivity, 5),
            ["where"] = where,
        };
        writer.WriteLine(line.ToJsonString());
        Console.WriteLine($"  filter {family,-7} target {target,5:P0}: {name} ({selectivity:P2})");
    }

    private static float[] Embed(MiniLMEmbeddingGenerator generator, List<string> texts)
    {
        const int Chunk = 2048;
        int dimension = MiniLMEmbeddingGenerator.Dimensions;
        var vectors = new float[(long)texts.Count * dimension];
        var stopwatch = Stopwatch.StartNew();
        for (int start = 0; start < texts.Count; start += Chunk)
        {
            int count = Math.Min(Chunk, texts.Count - start);
            generator.Generate(texts.GetRange(start, count), vectors.AsSpan(start * dimension, count * dimension));
            Console.WriteLine($"  embedded {start + count}/{texts.Count} ({(start + count) / stopwatch.Elapsed.TotalSeconds:F0}/s)");
        }

        return vectors;
    }
}
