using System.Globalization;
using System.Text;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// "Damage every byte region": a small closed store (two collections, 56 records with metadata, documents and uris, HNSW
/// graphs and filter indexes saved) is copied once per region of each of its files, a few bytes of that region are flipped, and the copy
/// is opened and read (every record with everything included, a query with every include, counts, filtered gets, a
/// filtered query and a filtered delete — where and where_document, so through the filter rows and the document index
/// — then <see cref="ChromaClient.VerifyIntegrity"/>). Each run must either give exactly the undamaged store's answers or stop
/// at a <see cref="ChromaCorruptStoreException"/> (a <see cref="ChromaKeyRingException"/> for the key ring's files):
/// never a wrong answer, never another exception.
/// </summary>
public sealed class DamageEveryRegionTests : IClassFixture<DamageEveryRegionTests.Template>
{
    private const int Dimension = 8;
    private const int HnswThreshold = 10;
    private static readonly string[] Collections = ["alpha", "beta"];

    private readonly Template _template;

    private static readonly int Seed = int.Parse(Environment.GetEnvironmentVariable("EC_DAMAGE_SEED") ?? "0", CultureInfo.InvariantCulture);

    public DamageEveryRegionTests(Template template) => _template = template;

    /// <summary>The undamaged store and its answers, built once for every case.</summary>
    public sealed class Template : IDisposable
    {
        private readonly TempStoreFolder _folder = new("ec-damage-template");

        public Template()
        {
            Folder = Path.Combine(_folder.Path, "store");
            var options = new ChromaStoreOptions { HnswThreshold = HnswThreshold };
            using (var store = ChromaStore.Create(Folder, out var key, options))
            {
                AdminKey = key;
                var client = store.GetClient(key);
                var random = new Random(20261206);
                foreach (var (name, count, space) in new[] { ("alpha", 31, DistanceSpace.L2), ("beta", 25, DistanceSpace.Cosine) })
                {
                    var collection = client.CreateCollection(name, new CollectionOptions
                    {
                        Configuration = new CollectionConfiguration { Space = space },
                        Metadata = new Dictionary<string, MetadataValue?> { ["owner"] = name + "-team" },
                    });
                    var ids = Enumerable.Range(0, count).Select(i => $"{name}-{i:D3}").ToArray();
                    collection.Add(
                        ids,
                        ids.Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray(),
                        ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(
                            ("genre", i % 3 == 0 ? "news" : "science"), ("year", 1990L + i), ("score", i / 7.0), ("flag", i % 2 == 0), ("tags", new[] { "t" + (i % 4), "x" }))).ToArray(),
                        ids.Select((id, i) => (string?)$"document {id}: {new string((char)('a' + (i % 26)), 20 + i)} end").ToArray(),
                        ids.Select((id, i) => i % 3 == 1 ? null : $"file:///data/{id}/{new string((char)('k' + (i % 11)), 5 + i)}.png").ToArray());
                    collection.Delete(ids: [ids[3]]);
                    collection.Update(ids: [ids[5]], metadatas: [StoreFixture.Meta(("year", 2024L))]);
                    collection.Query([Enumerable.Repeat(0.5f, Dimension).ToArray()], nResults: 3, where: Where.Eq("genre", "news")); // the filter index, saved on close
                    collection.WaitForIndex();
                    Ids[name] = collection.Id;
                }
            }

            SqliteConnection.ClearAllPools();
            Queries = Enumerable.Range(0, 3).Select(q => Enumerable.Range(0, Dimension).Select(i => (float)Math.Sin((q * 11) + i)).ToArray()).ToArray();
            var copy = Path.Combine(_folder.Path, "undamaged");
            CopyFolder(Folder, copy);
            Expected = Observe(copy, AdminKey, Queries);
        }

        public Dictionary<string, Guid> Ids { get; } = [];

        public string Folder { get; }

        public string AdminKey { get; }

        public float[][] Queries { get; }

        /// <summary>The undamaged store's answers, as text.</summary>
        public string Expected { get; }

        public void Dispose() => _folder.Dispose();
    }

    /// <summary>Opens the store in <paramref name="folder"/>, runs the fixed reads and returns their answers as text.</summary>
    private static string Observe(string folder, string adminKey, float[][] queries)
    {
        var text = new StringBuilder();
        using (var store = ChromaStore.Open(folder, new ChromaStoreOptions { HnswThreshold = HnswThreshold }))
        {
            var client = store.GetClient(adminKey);
            foreach (var name in Collections)
            {
                var collection = client.GetCollection(name);
                text.Append("collection ").Append(collection.Name).Append(' ').Append(collection.Id).Append(' ')
                    .Append(collection.Configuration.Space).Append(' ').Append(Format(collection.Metadata)).Append('\n');
                text.Append("count ").Append(collection.Count()).Append('\n');
                var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents | Include.Uris);
                for (var i = 0; i < all.Ids.Count; i++)
                {
                    text.Append(all.Ids[i]).Append(" | ").Append(Format(all.Embeddings![i])).Append(" | ")
                        .Append(Format(all.Metadatas![i])).Append(" | ").Append(all.Documents![i]).Append(" | ").Append(all.Uris![i] ?? "-").Append('\n');
                }

                var result = collection.Query(queries, nResults: 5, include: Include.Embeddings | Include.Metadatas | Include.Documents | Include.Distances | Include.Uris);
                for (var q = 0; q < queries.Length; q++)
                {
                    for (var i = 0; i < result.Ids[q].Count; i++)
                    {
                        text.Append('q').Append(q).Append(' ').Append(result.Ids[q][i]).Append(' ')
                            .Append(result.Distances![q][i].ToString("R", CultureInfo.InvariantCulture)).Append(" | ")
                            .Append(Format(result.Embeddings![q][i])).Append(" | ").Append(Format(result.Metadatas![q][i]))
                            .Append(" | ").Append(result.Documents![q][i]).Append(" | ").Append(result.Uris![q][i] ?? "-").Append('\n');
                    }
                }

                // Filtered reads: answered through the filter rows, their indexes and the FTS5 document index (derived data).
                var news = collection.Get(where: Where.And(Where.Eq("genre", "news"), Where.Gte("year", 1995L)), include: Include.Metadatas | Include.Documents);
                text.Append("news ").Append(string.Join(",", news.Ids)).Append(" | ").Append(string.Join(";", news.Metadatas!.Select(Format))).Append('\n');
                var mixed = collection.Get(where: Where.Or(Where.Lt("score", 1.0), Where.Contains("tags", "t1")), whereDocument: WhereDocument.Contains("-01"), include: Include.None);
                text.Append("mixed ").Append(string.Join(",", mixed.Ids)).Append('\n');
                var flagged = collection.Query(queries, nResults: 4, where: Where.Eq("flag", true), whereDocument: WhereDocument.NotContains("ccc"), include: Include.Distances);
                for (var q = 0; q < queries.Length; q++)
                {
                    text.Append("flagged q").Append(q).Append(' ').Append(string.Join(",", flagged.Ids[q])).Append('\n');
                }

                var deleted = collection.Delete(where: Where.And(Where.Eq("genre", "science"), Where.Ne("flag", true)), whereDocument: WhereDocument.Contains("end"));
                text.Append("deleted ").Append(deleted).Append(" count ").Append(collection.Count()).Append(' ')
                    .Append(string.Join(",", collection.Get(include: Include.None).Ids)).Append('\n');
            }

            text.Append("collections ").Append(string.Join(",", client.ListCollections().Select(c => c.Name).Order(StringComparer.Ordinal))).Append('\n');
            client.VerifyIntegrity();
        }

        SqliteConnection.ClearAllPools();
        return text.ToString();
    }

    private static string Format(float[] vector) => string.Join(",", vector.Select(v => BitConverter.SingleToInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture)));

    private static string Format(IReadOnlyDictionary<string, MetadataValue>? metadata) => metadata is null
        ? "null"
        : string.Join(";", metadata.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={FormatValue(p.Value.ToObject())}"));

    private static string FormatValue(object value) => value switch
    {
        string s => "s:" + s,
        long l => "l:" + l.ToString(CultureInfo.InvariantCulture),
        double d => "d:" + d.ToString("R", CultureInfo.InvariantCulture),
        bool b => "b:" + b,
        System.Collections.IEnumerable list => "[" + string.Join(",", list.Cast<object>().Select(FormatValue)) + "]",
        _ => value.GetType().Name + ":" + value,
    };

    /// <summary>The regions (start offset, length) of a file to damage one at a time.</summary>
    private static IEnumerable<(long Start, int Length)> Regions(string file, long length)
    {
        var name = Path.GetFileName(file);
        if (name.EndsWith(".vec", StringComparison.Ordinal))
        {
            // Header fields in 8-byte steps, then the used rows (stride 16 floats) in 64-byte steps; the unused capacity is never read.
            for (long offset = 0; offset < 104; offset += 8)
            {
                yield return (offset, 8);
            }

            for (long offset = 4096; offset < Math.Min(length, 4096 + (32 * 64)); offset += 64)
            {
                yield return (offset, 64);
            }
        }
        else if (name.EndsWith(".hnsw", StringComparison.Ordinal) || name.EndsWith(".flt", StringComparison.Ordinal))
        {
            for (long offset = 0; offset < Math.Min(128, length); offset += 8)
            {
                yield return (offset, 8);
            }

            for (long offset = 128; offset < length; offset += 256)
            {
                yield return (offset, (int)Math.Min(256, length - offset));
            }
        }
        else if (name.StartsWith("chroma.sqlite3", StringComparison.Ordinal))
        {
            // The 100-byte header in 4-byte steps, then every page in 512-byte regions.
            for (long offset = 0; offset < 100; offset += 4)
            {
                yield return (offset, 4);
            }

            for (long offset = 100; offset < length; offset += 512)
            {
                yield return (offset, (int)Math.Min(512, length - offset));
            }
        }
        else
        {
            for (long offset = 0; offset < length; offset += 512)
            {
                yield return (offset, (int)Math.Min(512, length - offset));
            }
        }
    }

    public static TheoryData<string> Files => new("chroma.sqlite3", "keyring.sqlite3", "keyring.pepper", "chroma.seq", "alpha.vec", "beta.vec", "alpha.hnsw", "beta.hnsw", "alpha.flt", "beta.flt");

    [Theory]
    [MemberData(nameof(Files))]
    public void Damaged_region_gives_the_undamaged_answers_or_a_corruption_error_when_any_region_of_the_file_is_flipped(string file)
    {
        var relative = ResolveFile(file);
        var source = Path.Combine(_template.Folder, relative);
        var length = new FileInfo(source).Length;
        var ringFile = file.StartsWith("keyring", StringComparison.Ordinal);
        var failures = new List<string>();
        var runs = 0;
        using var scratch = new TempStoreFolder("ec-damage");
        foreach (var (start, regionLength) in Regions(source, length))
        {
            var copy = Path.Combine(scratch.Path, "run" + runs++.ToString(CultureInfo.InvariantCulture));
            CopyFolder(_template.Folder, copy);
            var target = Path.Combine(copy, relative);

            // A deterministic 1-8 byte burst inside the region, each byte XORed with a non-zero value.
            var random = new Random((int)start ^ (file.Length * 7919) ^ file[0] ^ Seed);
            var burst = Math.Min(regionLength, 1 + random.Next(8));
            var at = start + random.Next(regionLength - burst + 1);
            using (var stream = new FileStream(target, FileMode.Open, FileAccess.ReadWrite))
            {
                var bytes = new byte[burst];
                stream.Position = at;
                stream.ReadExactly(bytes);
                for (var i = 0; i < burst; i++)
                {
                    bytes[i] ^= (byte)(1 + random.Next(255));
                }

                stream.Position = at;
                stream.Write(bytes);
            }

            try
            {
                var answer = Observe(copy, _template.AdminKey, _template.Queries);
                if (answer != _template.Expected)
                {
                    failures.Add($"{file} @{at} (+{burst}): WRONG ANSWER\n{FirstDifference(_template.Expected, answer)}");
                }
            }
            catch (ChromaCorruptStoreException)
            {
                // Reported: the caller learns the store is damaged.
            }
            catch (ChromaKeyRingException) when (ringFile)
            {
                // Reported: the key ring is damaged.
            }
            catch (Exception ex)
            {
                failures.Add($"{file} @{at} (+{burst}): {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                Directory.Delete(copy, recursive: true);
            }
        }

        runs.Should().BeGreaterThan(0);
        failures.Should().BeEmpty($"{runs} damaged copies of {file} were read:\n{string.Join("\n", failures.Take(30))}");
    }

    private string ResolveFile(string file)
    {
        if (!file.EndsWith(".vec", StringComparison.Ordinal) && !file.EndsWith(".hnsw", StringComparison.Ordinal) && !file.EndsWith(".flt", StringComparison.Ordinal))
        {
            return file;
        }

        // alpha.vec → vectors/<alpha's id>.vec
        var id = _template.Ids[Path.GetFileNameWithoutExtension(file)];
        var relative = Path.Combine("vectors", id.ToString("N") + Path.GetExtension(file));
        File.Exists(Path.Combine(_template.Folder, relative)).Should().BeTrue($"the template holds {relative}");
        return relative;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "chroma.lock")
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var left = i < e.Length ? e[i] : "(none)";
            var right = i < a.Length ? a[i] : "(none)";
            if (left != right)
            {
                return $"  expected: {left}\n  actual:   {right}";
            }
        }

        return "(equal)";
    }
}
