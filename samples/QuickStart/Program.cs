// EmbeddedChroma quick start: open (or create) a store in a default folder, create a collection, add
// records, run a filtered nearest-neighbour query and print the results. Run it twice: the second run
// reopens the same store with the key saved by the first.
using EmbeddedChroma;

var folder = args.Length > 0
    ? args[0]
    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "EmbeddedChroma", "quickstart");

// The admin key is shown once, when the store is created. A real application keeps it in a secret
// store or an environment variable; this sample keeps it in a file readable only by the current user,
// beside (not inside) the store folder, or takes it from EMBEDDEDCHROMA_KEY when that is set.
var keyFile = folder.TrimEnd(Path.DirectorySeparatorChar) + ".admin-key";
ChromaStore store;
string key;
if (!ChromaStore.Exists(folder))
{
    store = ChromaStore.Create(folder, out key);
    SaveKey(keyFile, key);
    Console.WriteLine($"Created a new store in {folder}; its admin key was saved to {keyFile}.");
}
else
{
    store = ChromaStore.Open(folder);
    key = Environment.GetEnvironmentVariable("EMBEDDEDCHROMA_KEY") ?? (File.Exists(keyFile)
        ? File.ReadAllText(keyFile).Trim()
        : throw new InvalidOperationException($"No key: set EMBEDDEDCHROMA_KEY, or recover one with ChromaStore.RecoverAdminKey(\"{folder}\")."));
    Console.WriteLine($"Reopened the store in {folder}.");
}

using (store)
{
    // The client contract (IChromaClient / IChromaCollection): the same code runs against a Chroma server
    // through a remote implementation. The embedded store checks the key against its key ring on every call.
    IChromaClient client = await store.GetClientAsync(ChromaCredential.FromKey(key));
    var books = await client.GetOrCreateCollectionAsync("books", new CollectionOptions
    {
        Metadata = new Dictionary<string, MetadataValue?> { ["description"] = "a few books" },
        Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
    });

    // Tiny hand-made 4-d "embeddings" (a real application uses an embedding model: see README).
    await books.UpsertAsync(
        ids: ["dune", "foundation", "emma", "persuasion", "neuromancer"],
        embeddings:
        [
            [0.9f, 0.1f, 0.0f, 0.2f],
            [0.8f, 0.2f, 0.1f, 0.1f],
            [0.1f, 0.9f, 0.3f, 0.0f],
            [0.0f, 0.8f, 0.4f, 0.1f],
            [0.7f, 0.0f, 0.1f, 0.6f],
        ],
        metadatas:
        [
            new Dictionary<string, MetadataValue?> { ["genre"] = "scifi", ["year"] = 1965 },
            new Dictionary<string, MetadataValue?> { ["genre"] = "scifi", ["year"] = 1951 },
            new Dictionary<string, MetadataValue?> { ["genre"] = "romance", ["year"] = 1815 },
            new Dictionary<string, MetadataValue?> { ["genre"] = "romance", ["year"] = 1817 },
            new Dictionary<string, MetadataValue?> { ["genre"] = "scifi", ["year"] = 1984 },
        ],
        documents:
        [
            "Spice, sandworms and politics on the desert planet Arrakis.",
            "A mathematician foresees the fall of the Galactic Empire.",
            "A young matchmaker meddles in the love lives of her neighbours.",
            "A second chance at love, eight years after a broken engagement.",
            "A washed-up hacker is hired for one last job in cyberspace.",
        ]);

    Console.WriteLine($"Collection '{books.Name}' holds {await books.CountAsync()} records.");

    var results = await books.QueryAsync(
        queryEmbeddings: [[0.85f, 0.1f, 0.05f, 0.3f]],
        nResults: 2,
        where: Where.Parse("""{"$and": [{"genre": "scifi"}, {"year": {"$gt": 1960}}]}"""));

    Console.WriteLine("Science fiction after 1960, nearest to the query:");
    for (var i = 0; i < results.Ids[0].Count; i++)
    {
        var year = results.Metadatas![0][i]!["year"].AsInt64();
        Console.WriteLine($"  {results.Ids[0][i],-12} {year}  distance {results.Distances![0][i]:F4}  {results.Documents![0][i]}");
    }
}

static void SaveKey(string path, string key)
{
    var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
    if (!OperatingSystem.IsWindows())
    {
        options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // 0600 from the start
    }

    using var writer = new StreamWriter(path, new System.Text.UTF8Encoding(false), options);
    writer.Write(key);
}
