using System.Globalization;
using System.Text;
using EmbeddedChroma;
using EmbeddedChroma.CrashHost;

// CrashHost <folder> <seed> <mode> [firstBatch]
//   mode "loop": write seeded batches forever (until killed, or "STOP"/end of stdin: close cleanly, print BYE, exit 0).
//   mode "reopen": open an existing store over and over, each time after deleting the vector arenas (and every other
//   time the HNSW graphs), so every open rebuilds them; prints OPEN <n> / OPENED <n> / CLOSED <n> (see ReopenLoop.cs).
// Opens the store in <folder> (or creates it, writing the admin key to <folder>.key), prints READY, then per batch
// BEGIN <n> <op> <ids…> END, runs it, and ACK <n> <op> <ids…> END. See CrashWorkload for what a batch writes.
if (args.Length == 3 && args[2] == "reopen")
{
    return ReopenLoop.Run(Path.GetFullPath(args[0]), int.Parse(args[1], CultureInfo.InvariantCulture));
}

if (args.Length is < 3 or > 4 || args[2] != "loop")
{
    await Console.Error.WriteLineAsync("usage: CrashHost <folder> <seed> loop [firstBatch] | CrashHost <folder> <seed> reopen");
    return 2;
}

var folder = Path.GetFullPath(args[0]);
var seed = int.Parse(args[1], CultureInfo.InvariantCulture);
var batch = args.Length > 3 ? long.Parse(args[3], CultureInfo.InvariantCulture) : 0;
var keyPath = folder + ".key";

using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
void Say(string line)
{
    // One write per line (a pipe write up to 4 KiB is atomic); END marks a complete line.
    stdout.Write(line + "\n");
    stdout.Flush();
}

var stop = 0;
var stdinWatcher = new Thread(() =>
{
    try
    {
        string? line;
        while ((line = Console.In.ReadLine()) is not null && line != "STOP")
        {
        }
    }
    catch (IOException)
    {
    }

    // STOP, or the parent went away: finish the current batch and close cleanly.
    Volatile.Write(ref stop, 1);
})
{ IsBackground = true };
stdinWatcher.Start();

ChromaStore OpenOrCreate()
{
    if (ChromaStore.Exists(folder) && File.Exists(keyPath))
    {
        return ChromaStore.Open(folder, CrashWorkload.Options);
    }

    var created = ChromaStore.Create(folder, out var adminKey, CrashWorkload.Options);
    var temp = keyPath + ".tmp";
    using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
    {
        file.Write(Encoding.UTF8.GetBytes(adminKey));
        file.Flush(flushToDisk: true);
    }

    File.Move(temp, keyPath, overwrite: true);
    return created;
}

var key = "";
var store = OpenOrCreate();
key = File.ReadAllText(keyPath);
Collection Bind(ChromaStore s) => s.GetClient(key).GetOrCreateCollection(CrashWorkload.CollectionName);
var collection = Bind(store);
var live = new List<string>(collection.Get(include: Include.None).Ids);
var liveSet = new HashSet<string>(live, StringComparer.Ordinal);
Say("READY");

try
{
    while (Volatile.Read(ref stop) == 0)
    {
        var random = CrashWorkload.BatchRandom(seed, batch);
        var roll = random.NextDouble();
        string operation;
        List<string> ids = [];
        if (live.Count < 400 || (roll < 0.40 && live.Count < 1500))
        {
            operation = "add";
            var count = random.Next(20, 201);
            for (var i = 0; i < count; i++)
            {
                ids.Add(string.Create(CultureInfo.InvariantCulture, $"r{batch}-{i}"));
            }
        }
        else if (roll < 0.65)
        {
            operation = "upsert";
            ids.AddRange(Pick(random, random.Next(5, 61)));
            var fresh = random.Next(0, 4);
            for (var i = 0; i < fresh; i++)
            {
                ids.Add(string.Create(CultureInfo.InvariantCulture, $"u{batch}-{i}"));
            }
        }
        else if (roll < 0.93)
        {
            operation = "delete";
            ids.AddRange(Pick(random, live.Count > 1500 ? random.Next(100, 301) : random.Next(5, 81)));
        }
        else if (roll < 0.97)
        {
            operation = "compact";
        }
        else
        {
            operation = "reopen";
        }

        var description = string.Create(CultureInfo.InvariantCulture, $"{batch} {operation} {string.Join(' ', ids)}").TrimEnd() + " END";
        Say("BEGIN " + description);
        switch (operation)
        {
            case "add":
            case "upsert":
                var embeddings = ids.Select(id => CrashWorkload.Embedding(id, batch)).ToArray();
                var metadatas = ids.Select(id => (IReadOnlyDictionary<string, MetadataValue?>?)CrashWorkload.Metadata(id, batch)).ToArray();
                var documents = ids.Select(id => (string?)CrashWorkload.Document(id, batch)).ToArray();
                if (operation == "add")
                {
                    collection.Add(ids, embeddings, metadatas, documents);
                }
                else
                {
                    collection.Upsert(ids, embeddings, metadatas, documents);
                }

                foreach (var id in ids)
                {
                    if (liveSet.Add(id))
                    {
                        live.Add(id);
                    }
                }

                break;
            case "delete":
                collection.Delete(ids);
                liveSet.ExceptWith(ids);
                live.RemoveAll(id => !liveSet.Contains(id));
                break;
            case "compact":
                collection.Compact();
                break;
            default:
                store.Dispose();
                store = OpenOrCreate();
                collection = Bind(store);
                break;
        }

        Say("ACK " + description);
        batch++;
    }

    store.Dispose();
    Say("BYE");
    return 0;
}
catch (Exception ex)
{
    await Console.Error.WriteLineAsync(ex.ToString());
    Say("ERROR " + ex.GetType().Name);
    return 1;
}

// Distinct live ids chosen by the batch's generator.
IEnumerable<string> Pick(Random random, int count)
{
    count = Math.Min(count, live.Count);
    var chosen = new HashSet<int>();
    while (chosen.Count < count)
    {
        chosen.Add(random.Next(live.Count));
    }

    return chosen.Order().Select(i => live[i]);
}
