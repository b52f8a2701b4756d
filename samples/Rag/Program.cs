// Retrieval over your own notes, offline.
//   dotnet run --project samples/Rag -- index FOLDER          index every .txt/.md file under FOLDER (re-run: only changes)
//   dotnet run --project samples/Rag -- ask "QUESTION" [N]    the N (default 3) best passages and their sources
// The store lives in ~/.local/share/EmbeddedChroma/rag (override with EMBEDDEDCHROMA_RAG_STORE); its admin key is
// kept beside it in rag.admin-key (0600), as in the quick start.
//
// Chunk rule: a file is split at blank lines into paragraphs; consecutive paragraphs are joined until a chunk would
// pass 800 characters; a single paragraph longer than that is cut at the last whitespace before 800 characters.
// A chunk's id is "<path relative to FOLDER>#<chunk number>", so ids are stable across runs; its metadata keeps the
// SHA-256 of its text, and a re-run upserts only the chunks whose text changed and deletes the chunks (and files)
// that are gone.
using System.Security.Cryptography;
using System.Text;
using EmbeddedChroma;

const int MaxChunk = 800;
string storeFolder = Environment.GetEnvironmentVariable("EMBEDDEDCHROMA_RAG_STORE")
    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "EmbeddedChroma", "rag");
string keyFile = storeFolder.TrimEnd(Path.DirectorySeparatorChar) + ".admin-key";

if (args.Length < 2 || args[0] is not ("index" or "ask"))
{
    Console.Error.WriteLine("usage: index FOLDER | ask \"QUESTION\" [N]");
    return 2;
}

ChromaStore store;
string key;
if (!ChromaStore.Exists(storeFolder))
{
    store = ChromaStore.Create(storeFolder, out key);
    var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
    if (!OperatingSystem.IsWindows())
    {
        options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    }

    using (var writer = new StreamWriter(keyFile, new UTF8Encoding(false), options))
    {
        writer.Write(key);
    }
}
else
{
    store = ChromaStore.Open(storeFolder);
    key = File.ReadAllText(keyFile).Trim();
}

using (store)
{
    IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
    IChromaCollection passages = await client.GetOrCreateCollectionAsync("passages", new CollectionOptions
    {
        Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
    });

    if (args[0] == "index")
    {
        await Index(passages, Path.GetFullPath(args[1]));
    }
    else
    {
        int n = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        QueryResult result = await passages.QueryTextsAsync([args[1]], nResults: n);
        for (int i = 0; i < result.Ids[0].Count; i++)
        {
            Console.WriteLine($"[{i + 1}] {result.Metadatas![0][i]!["source"].AsString()} (distance {result.Distances![0][i]:F3})");
            Console.WriteLine($"    {result.Documents![0][i]!.ReplaceLineEndings(" ")}");
        }
    }
}

return 0;

static async Task Index(IChromaCollection passages, string root)
{
    var chunks = new List<(string Id, string Source, string Text, string Hash)>();
    foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                 .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".md", StringComparison.OrdinalIgnoreCase))
                 .Order(StringComparer.Ordinal))
    {
        string source = Path.GetRelativePath(root, file).Replace('\\', '/');
        int number = 0;
        foreach (string text in Chunk(File.ReadAllText(file)))
        {
            chunks.Add(($"{source}#{number++}", source, text, Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))));
        }
    }

    // What the store already has: id → hash.
    GetResult existing = await passages.GetAsync(include: Include.Metadatas);
    var known = new Dictionary<string, string>(StringComparer.Ordinal);
    for (int i = 0; i < existing.Ids.Count; i++)
    {
        known[existing.Ids[i]] = existing.Metadatas![i]!["hash"].AsString();
    }

    var changed = chunks.Where(c => !known.TryGetValue(c.Id, out string? hash) || hash != c.Hash).ToList();
    var gone = known.Keys.Except(chunks.Select(c => c.Id), StringComparer.Ordinal).ToList();
    Console.WriteLine($"{chunks.Count} chunks in {chunks.Select(c => c.Source).Distinct().Count()} files: {changed.Count} new or changed, {gone.Count} gone, {chunks.Count - changed.Count} unchanged.");

    const int Batch = 32;
    for (int start = 0; start < changed.Count; start += Batch)
    {
        var batch = changed.Skip(start).Take(Batch).ToList();
        await passages.UpsertTextsAsync(
            batch.Select(c => c.Id).ToArray(),
            batch.Select(c => c.Text).ToArray(),
            batch.Select(c => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["source"] = c.Source, ["hash"] = c.Hash }).ToArray());
        int done = Math.Min(start + Batch, changed.Count);
        int width = 40 * done / changed.Count;
        Console.Write($"\r  [{new string('#', width)}{new string('.', 40 - width)}] {done}/{changed.Count}");
    }

    if (changed.Count > 0)
    {
        Console.WriteLine();
    }

    if (gone.Count > 0)
    {
        await passages.DeleteAsync(ids: gone);
    }
}

static IEnumerable<string> Chunk(string text)
{
    var current = new StringBuilder();
    foreach (string raw in text.ReplaceLineEndings("\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        string paragraph = raw;
        while (paragraph.Length > MaxChunk)
        {
            int cut = paragraph.LastIndexOfAny([' ', '\n', '\t'], MaxChunk - 1);
            cut = cut <= 0 ? MaxChunk : cut;
            if (current.Length > 0)
            {
                yield return current.ToString();
                current.Clear();
            }

            yield return paragraph[..cut].Trim();
            paragraph = paragraph[cut..].Trim();
        }

        if (current.Length > 0 && current.Length + 2 + paragraph.Length > MaxChunk)
        {
            yield return current.ToString();
            current.Clear();
        }

        if (paragraph.Length > 0)
        {
            current.Append(current.Length > 0 ? "\n\n" : "").Append(paragraph);
        }
    }

    if (current.Length > 0)
    {
        yield return current.ToString();
    }
}
