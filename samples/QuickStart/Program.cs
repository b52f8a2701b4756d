// EmbeddedChroma quick start: open (or create) a store in a default folder, add a few dozen short documents
// embedded by Chroma's default model (all-MiniLM-L6-v2, offline, from the EmbeddedChroma.Embeddings.MiniLM
// package), then ask questions in plain text with a metadata filter. Run it twice: the second run reopens the same
// store with the key saved by the first and queries without embedding the documents again.
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

    // No embedding generator is given: the collection remembers Chroma's default embedding function and the store
    // wires it again whenever the collection is opened.
    var books = await client.GetOrCreateCollectionAsync("library", new CollectionOptions
    {
        Metadata = new Dictionary<string, MetadataValue?> { ["description"] = "one-line summaries of well-known books" },
        Configuration = new CollectionConfiguration { Space = DistanceSpace.Cosine },
    });

    var watch = System.Diagnostics.Stopwatch.StartNew();
    if (await books.CountAsync() == 0)
    {
        await books.AddTextsAsync(
            ids: Library.Books.Select(b => b.Id).ToArray(),
            documents: Library.Books.Select(b => b.Summary).ToArray(),
            metadatas: Library.Books.Select(b => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?>
            {
                ["genre"] = b.Genre,
                ["year"] = b.Year,
            }).ToArray());
        Console.WriteLine($"Embedded and stored {Library.Books.Length} books in {watch.ElapsedMilliseconds} ms ({books.Configuration.EmbeddingFunction?.Name} embedding function).");
    }
    else
    {
        Console.WriteLine($"Collection '{books.Name}' already holds {await books.CountAsync()} books: nothing to embed again.");
    }

    string[] questions = ["a story about artificial intelligence and computers", "falling in love despite pride"];
    watch.Restart();
    var results = await books.QueryTextsAsync(
        questions,
        nResults: 3,
        where: Where.Parse("""{"year": {"$gte": 1800}}"""));
    Console.WriteLine($"Two questions, books from 1800 on ({watch.ElapsedMilliseconds} ms):");
    for (var q = 0; q < questions.Length; q++)
    {
        Console.WriteLine($"  \"{questions[q]}\"");
        for (var i = 0; i < results.Ids[q].Count; i++)
        {
            var meta = results.Metadatas![q][i]!;
            Console.WriteLine($"    {results.Ids[q][i],-22} {meta["genre"].AsString(),-10} {meta["year"].AsInt64()}  distance {results.Distances![q][i]:F3}  {results.Documents![q][i]}");
        }
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

/// <summary>The sample's documents: a few dozen one-line book summaries (part of the sample, nothing is downloaded).</summary>
internal static class Library
{
    public static readonly (string Id, string Genre, int Year, string Summary)[] Books =
    [
        ("dune", "scifi", 1965, "Spice, sandworms and politics on the desert planet Arrakis."),
        ("foundation", "scifi", 1951, "A mathematician foresees the fall of the Galactic Empire and plans its recovery."),
        ("neuromancer", "scifi", 1984, "A washed-up hacker is hired for one last job in cyberspace by a mysterious AI."),
        ("i-robot", "scifi", 1950, "Stories of robots bound by three laws and the humans who build them."),
        ("do-androids-dream", "scifi", 1968, "A bounty hunter tracks escaped androids in a rain-soaked future city."),
        ("the-left-hand", "scifi", 1969, "An envoy visits a winter planet whose people have no fixed gender."),
        ("hyperion", "scifi", 1989, "Seven pilgrims tell their stories on the way to meet a deadly creature."),
        ("snow-crash", "scifi", 1992, "A pizza-delivering hacker fights a computer virus that infects human minds."),
        ("the-martian", "scifi", 2011, "An astronaut stranded on Mars survives with botany, duct tape and humour."),
        ("frankenstein", "horror", 1818, "A scientist gives life to a creature and is destroyed by what he made."),
        ("dracula", "horror", 1897, "A Transylvanian count travels to England in search of new blood."),
        ("the-shining", "horror", 1977, "A writer slowly loses his mind while caretaking an isolated, haunted hotel."),
        ("pride-and-prejudice", "romance", 1813, "A witty young woman and a proud gentleman overcome their first impressions."),
        ("emma", "romance", 1815, "A young matchmaker meddles in the love lives of her neighbours."),
        ("persuasion", "romance", 1817, "A second chance at love, eight years after a broken engagement."),
        ("jane-eyre", "romance", 1847, "An orphaned governess falls for her brooding employer, who hides a secret."),
        ("wuthering-heights", "romance", 1847, "A passionate, destructive love on the wild Yorkshire moors."),
        ("outlander", "romance", 1991, "A nurse from 1945 falls through time into eighteenth-century Scotland."),
        ("moby-dick", "adventure", 1851, "A captain's obsessive hunt for the white whale that took his leg."),
        ("treasure-island", "adventure", 1883, "A boy, a map and a one-legged pirate in search of buried gold."),
        ("around-the-world", "adventure", 1872, "A punctual gentleman bets he can circle the globe in eighty days."),
        ("the-hobbit", "fantasy", 1937, "A home-loving hobbit joins dwarves on a quest to reclaim their mountain from a dragon."),
        ("the-name-of-the-wind", "fantasy", 2007, "A gifted young man tells the story of how he became a legendary magician."),
        ("a-wizard-of-earthsea", "fantasy", 1968, "A proud young wizard unleashes a shadow and must hunt it across the sea."),
        ("the-hound", "mystery", 1902, "A detective investigates a legendary beast haunting a family on the moor."),
        ("murder-on-the-orient-express", "mystery", 1934, "A detective solves a murder aboard a snowbound train."),
        ("the-girl-with-the-dragon-tattoo", "mystery", 2005, "A journalist and a hacker investigate a decades-old disappearance."),
        ("gone-girl", "mystery", 2012, "A wife vanishes on her anniversary and her husband becomes the suspect."),
        ("1984", "dystopia", 1949, "A clerk rebels against a totalitarian state that watches everything."),
        ("brave-new-world", "dystopia", 1932, "A society engineered for happiness through drugs and conditioning."),
        ("fahrenheit-451", "dystopia", 1953, "A fireman whose job is burning books begins to read them."),
        ("the-road", "dystopia", 2006, "A father and son walk through a burned, dying America."),
        ("sapiens", "nonfiction", 2011, "A brief history of humankind from foragers to the modern age."),
        ("a-brief-history-of-time", "nonfiction", 1988, "Black holes, the big bang and the nature of time explained for everyone."),
        ("the-selfish-gene", "nonfiction", 1976, "Evolution seen from the point of view of genes rather than organisms."),
        ("godel-escher-bach", "nonfiction", 1979, "Minds, machines and self-reference through logic, art and music."),
    ];
}
