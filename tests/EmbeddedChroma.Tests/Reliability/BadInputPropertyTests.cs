using System.Globalization;
using System.Text;
using CsCheck;
using EmbeddedChroma.Tests.Model;
using EmbeddedChroma.Tests.TestUtilities;
using Xunit.Abstractions;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Property-based bad-input tests (CsCheck): seeded sequences of calls to every public entry point of
/// <see cref="Collection"/> and <see cref="ChromaClient"/>, most with one fault injected into otherwise valid arguments
/// (wrong dimension, NaN/±∞, empty/duplicate/null/over-long ids, oversized batches, bad metadata, malformed or
/// unknown filters, n_results ≤ 0, bad include, negative limit/offset, bad names and configurations…), mixed with
/// valid calls. Properties: a call either succeeds or throws the specific <see cref="ChromaException"/> subclass its
/// fault calls for (never ArgumentException, NullReferenceException, SqliteException, InvalidOperationException…),
/// the message names the problem, and a failing call leaves the whole store unchanged (full snapshot before/after).
/// Valid calls (including random valid filters) never throw.
/// </summary>
public sealed class BadInputPropertyTests
{
    private const int Dim = 4;
    private const int CallsPerRun = 250;

    private static readonly ChromaStoreOptions Limits = new()
    {
        MaxBatchSize = 8,
        MaxIdLength = 12,
        MaxResults = 20,
        MaxQueryEmbeddings = 3,
        MaxDocumentLength = 40,
        MaxMetadataKeys = 4,
        MaxMetadataValueLength = 16,
        MaxMetadataArrayLength = 3,
        MaxCollections = 6,
        MaxDatabases = 4,
        MaxTenants = 3,
    };

    private static readonly string[] MetaKeys = ["a", "b", "c", "tag"];

    private readonly ITestOutputHelper _output;

    public BadInputPropertyTests(ITestOutputHelper output) => _output = output;

    /// <summary>One generated call: what it does, and what it may throw (none: it must succeed).</summary>
    public sealed record Attempt(string Name, Action<World> Run, Type? Throws = null, params string[] Fragments)
    {
        /// <summary>Fuzzed input that may be valid: success is fine, failure must be <see cref="Throws"/>.</summary>
        public bool MaySucceed { get; init; }

        public override string ToString() => Name;
    }

    /// <summary>The store under test: limits above, collection "things" (4-d, l2) seeded with r0..r5.</summary>
    public sealed class World : IDisposable
    {
        private readonly TempStoreFolder _folder = new("ec-property");

        public World(bool reopen = false)
        {
            Store = ChromaStore.Create(_folder.Path, out var key, Limits);
            Client = Store.GetClient(key);
            Things = Client.CreateCollection("things");
            Things.Add(
                ["r0", "r1", "r2", "r3", "r4", "r5"],
                [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0.5f, 0.5f, 0.5f, 0.5f]],
                [Meta(("a", 1L), ("tag", "x")), Meta(("a", 2.5)), null, Meta(("b", true), ("c", new[] { "p", "q" })), Meta(("a", -3L), ("c", new[] { 1L, 2L })), Meta(("tag", "y"))],
                ["alpha beta", null, "gamma delta", "beta gamma", "%_'\"[x]", "naïve 日本"]);
            var gone = Client.CreateCollection("gone");
            Client.DeleteCollection("gone");
            Gone = gone;
            _key = key;
            if (reopen)
            {
                Reopen();
            }
        }

        private readonly string _key;

        /// <summary>
        /// Closes and reopens the store: its arenas are then mapped from disk, not yet known to be allocated, so their
        /// next write reserves them (and meets an injected allocation fault). <see cref="Gone"/> keeps the old store.
        /// </summary>
        public void Reopen()
        {
            Store.Dispose();
            Store = ChromaStore.Open(_folder.Path, Limits);
            Client = Store.GetClient(_key);
            Things = Client.GetCollection("things");
        }

        /// <summary>The store folder.</summary>
        public string Folder => _folder.Path;

        public ChromaStore Store { get; private set; }

        public ChromaClient Client { get; private set; }

        public Collection Things { get; private set; }

        /// <summary>A handle on a collection that has been deleted.</summary>
        public Collection Gone { get; }

        public int Succeeded { get; set; }

        public int Rejected { get; set; }

        /// <summary>Every tenant, database, collection (with its configuration) and record, with types.</summary>
        public string Snapshot()
        {
            var sb = new StringBuilder();
            foreach (var tenant in Client.ListTenants())
            {
                sb.Append("tenant ").Append(tenant).Append('\n');
                foreach (var database in Client.ListDatabases(tenant))
                {
                    sb.Append("database ").Append(database.Name).Append('\n');
                    var client = Client.WithDatabase(database.Name, tenant);
                    foreach (var info in client.ListCollections())
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"{tenant}/{database.Name}/{info.Name} {info.Configuration} dim={info.Dimension} meta={ReferenceModel.Describe(info.Metadata)}\n");
                        var collection = client.GetCollection(info.Name);
                        var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
                        sb.Append(CultureInfo.InvariantCulture, $" count={collection.Count()}\n");
                        for (var i = 0; i < all.Ids.Count; i++)
                        {
                            sb.Append(' ').Append(all.Ids[i]).Append(" [")
                                .Append(string.Join(",", all.Embeddings![i].Select(x => x.ToString("R", CultureInfo.InvariantCulture))))
                                .Append("] ").Append(ReferenceModel.Describe(all.Metadatas![i]))
                                .Append(" doc=").Append(all.Documents![i] ?? "<null>").Append('\n');
                        }
                    }
                }
            }

            return sb.ToString();
        }

        public void Dispose()
        {
            Store.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _folder.Dispose();
        }
    }

    [Theory]
    [InlineData(1u, 20_250_917UL)]
    [InlineData(2u, 7_919UL)]
    [InlineData(3u, 104_729UL)]
    public void Public_entry_points_throw_a_specific_chroma_exception_and_change_nothing_when_input_is_invalid(uint stream, ulong seed) =>
        RunProperty(AnyCall, stream, seed);

    [Theory]
    [InlineData(4u, 31_337UL)]
    [InlineData(5u, 65_537UL)]
    public void Valid_random_filters_never_throw_in_get_query_count_and_delete(uint stream, ulong seed) =>
        RunProperty(ValidFilterCall, stream, seed);

    /// <summary>
    /// The same calls with storage faults injected through the arena allocation seam (<see cref="EmbeddedChroma.Storage.FileAllocation.Faults"/>):
    /// each call, on a freshly reopened store, finds the disk full (ENOSPC), the device failing (EIO) or the medium read-only (EROFS). Nothing
    /// but a <see cref="ChromaException"/> may escape, and a failed call changes nothing.
    /// </summary>
    [Theory]
    [InlineData(6u, 271_828UL)]
    [InlineData(7u, 314_159UL)]
    public void Public_entry_points_throw_only_chroma_exceptions_and_change_nothing_under_injected_storage_faults(uint stream, ulong seed)
    {
        var stats = new StringBuilder();
        AnyCall.Array[CallsPerRun / 2].Sample(
            calls =>
            {
                using var world = new World();
                var errnos = new[] { 28, 5, 30 };
                var named = 0;
                for (var i = 0; i < calls.Length; i++)
                {
                    var errno = errnos[i % errnos.Length];
                    if (errno != 0)
                    {
                        world.Reopen();
                    }

                    var before = world.Snapshot();
                    Exception? thrown = null;
                    EmbeddedChroma.Storage.FileAllocation.Faults[world.Folder] = (_, _) => errno;
                    try
                    {
                        calls[i].Run(world);
                    }
                    catch (Exception ex)
                    {
                        thrown = ex;
                    }
                    finally
                    {
                        EmbeddedChroma.Storage.FileAllocation.Faults.TryRemove(world.Folder, out _);
                    }

                    if (thrown is null)
                    {
                        world.Succeeded++;
                        continue;
                    }

                    world.Rejected++;
                    thrown.Should().BeAssignableTo<ChromaException>($"call '{calls[i].Name}' (errno {errno}) may only fail with a ChromaException, got {thrown}");
                    if (calls[i].Throws is null || thrown is ChromaStorageFullException or ChromaStorageIOException or ChromaReadOnlyException)
                    {
                        named++;
                        thrown.Should().Match(
                            e => errno == 28 ? e is ChromaStorageFullException : errno == 30 ? e is ChromaReadOnlyException : e is ChromaStorageIOException,
                            $"call '{calls[i].Name}' failed only by the injected errno {errno}, and must name it: {thrown}");
                    }

                    world.Snapshot().Should().Be(before, $"the failed call '{calls[i].Name}' must leave the store unchanged");
                }

                stats.Append(CultureInfo.InvariantCulture, $"{world.Succeeded} calls succeeded, {world.Rejected} rejected, {named} by an injected storage fault");
                named.Should().BePositive("the injected faults must reach the storage boundary");
            },
            seed: new PCG(stream, seed).ToString(),
            iter: 1,
            threads: 1,
            print: calls => string.Join(" | ", calls.Select(c => c.Name)));
        _output.WriteLine(stats.ToString());
    }

    /// <summary>
    /// Runs <see cref="CallsPerRun"/> calls drawn from <paramref name="call"/> with one fixed CsCheck seed (one sample
    /// of a list, so the run is deterministic), checking each call's outcome against its expectation.
    /// </summary>
    private void RunProperty(Gen<Attempt> call, uint stream, ulong seed)
    {
        var stats = new StringBuilder();
        call.Array[CallsPerRun].Sample(
            calls =>
            {
                using var world = new World();
                foreach (var c in calls)
                {
                    Check(world, c);
                }

                stats.Append(CultureInfo.InvariantCulture, $"{world.Succeeded} calls succeeded, {world.Rejected} rejected");
            },
            seed: new PCG(stream, seed).ToString(),
            iter: 1,
            threads: 1,
            print: calls => string.Join(" | ", calls.Select(c => c.Name)));
        _output.WriteLine(stats.ToString());
    }

    private static void Check(World world, Attempt call)
    {
        var before = world.Snapshot();
        Exception? thrown = null;
        try
        {
            call.Run(world);
        }
        catch (Exception ex)
        {
            thrown = ex;
        }

        if (thrown is null)
        {
            if (!call.MaySucceed)
            {
                call.Throws.Should().BeNull($"call '{call.Name}' is invalid and must throw {call.Throws?.Name}");
            }

            world.Succeeded++;
            return;
        }

        world.Rejected++;
        thrown.Should().BeAssignableTo<ChromaException>($"call '{call.Name}' may only fail with a ChromaException, got {thrown}");
        call.Throws.Should().NotBeNull($"call '{call.Name}' is valid and must not throw, got {thrown}");
        thrown.GetType().Should().Match(t => call.Throws!.IsAssignableFrom(t), $"call '{call.Name}' must throw {call.Throws!.Name}, got {thrown}");
        thrown.ToString().Should().NotContain(LeakedSecret[..12], $"no message of '{call.Name}' may repeat a key passed to it");
        if (call.Fragments.Length > 0)
        {
            call.Fragments.Should().Contain(
                f => thrown.Message.Contains(f, StringComparison.OrdinalIgnoreCase),
                $"the message of '{call.Name}' names the problem: \"{thrown.Message}\"");
        }

        world.Snapshot().Should().Be(before, $"the failed call '{call.Name}' must leave the store unchanged");
    }

    // ---------------------------------------------------------------- building blocks

    /// <summary>A well-formed key (not of this store) that the generators pass where names belong: it must be refused and never echoed.</summary>
    private static readonly string LeakedKey = EmbeddedChroma.Security.ApiKeyFormat.Compose("LeakedKeyId0", "S3cretS3cretS3cretS3cretS3cretS3cretS3cretX");

    private static string LeakedSecret => LeakedKey[17..60];

    private static Dictionary<string, MetadataValue?> Meta(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value is null ? null : MetadataValue.FromObject(p.Value, $"metadata key '{p.Key}'"), StringComparer.Ordinal);

    private static Gen<string> Str(string chars, int min, int max) => Gen.Char[chars].Array[min, max].Select(a => new string(a));

    private static readonly Gen<string> ShortText = Str("abgxy %_'\"\\[]*?ñ日", 1, 8);

    private static readonly Gen<string> ValidId = Gen.Frequency<string>(
        (3, Gen.Int[0, 7].Select(i => $"r{i}")),
        (2, Gen.Int[0, 50].Select(i => $"n{i}")),
        (1, Str("ab'\" %_\\/日", 1, 12)));

    /// <summary>Text with an unpaired surrogate somewhere (SQLite's UTF-8 cannot hold it).</summary>
    private static readonly Gen<string> LoneSurrogateText =
        from prefix in Str("ab", 0, 3)
        from surrogate in Gen.Char['\ud800', '\udfff']
        from suffix in Str("xy", 0, 3)
        select prefix + surrogate + suffix;

    private static readonly Gen<string[]> ValidIds = ValidId.Array[1, 6].Select(a => a.Distinct(StringComparer.Ordinal).ToArray());

    private static readonly Gen<float[]> ValidEmbedding = Gen.Float[-2f, 2f].Array[Dim];

    private static readonly Gen<object> ValidValue = Gen.OneOf<object>(
        ShortText.Select(s => (object)s),
        Gen.Long[-5, 5].Select(l => (object)l),
        Gen.Int[-100, 100].Select(i => (object)(i / 8.0)),
        Gen.Bool.Select(b => (object)b),
        ShortText.Array[1, 3].Select(a => (object)a),
        Gen.Long[-3, 3].Array[1, 3].Select(a => (object)a),
        Gen.Bool.Array[1, 2].Select(a => (object)a));

    private static readonly Gen<Dictionary<string, MetadataValue?>?> ValidMetadata = Gen.Frequency<Dictionary<string, MetadataValue?>?>(
        (1, Gen.Const<Dictionary<string, MetadataValue?>?>((Dictionary<string, MetadataValue?>?)null)),
        (4, Gen.Select(Gen.Int[1, 4], ValidValue.Array[4], (n, values) =>
            (Dictionary<string, MetadataValue?>?)MetaKeys.Take(n).Select((k, i) => (k, values[i])).ToDictionary(p => p.k, p => (MetadataValue?)MetadataValue.FromObject(p.Item2), StringComparer.Ordinal))));

    private static readonly Gen<string?> ValidDocument = Gen.Frequency<string?>(
        (1, Gen.Const<string?>((string?)null)),
        (4, ShortText.Array[1, 4].Select(words => (string?)string.Join(' ', words))));

    /// <summary>A valid write: ids with embeddings, and maybe metadatas and documents.</summary>
    private static readonly Gen<WriteArgs> ValidWrite =
        from ids in ValidIds
        from embeddings in ValidEmbedding.Array[ids.Length]
        from metadatas in ValidMetadata.Array[ids.Length]
        from documents in ValidDocument.Array[ids.Length]
        from withMeta in Gen.Bool
        from withDocs in Gen.Bool
        select new WriteArgs(
            [.. ids],
            [.. embeddings],
            withMeta ? [.. metadatas] : null,
            withDocs ? [.. documents] : null);

    /// <summary>The arguments of add/upsert/update, as mutable lists so a fault can be injected.</summary>
    public sealed record WriteArgs(List<string?>? Ids, List<float[]?>? Embeddings, List<Dictionary<string, MetadataValue?>?>? Metadatas, List<string?>? Documents);

    /// <summary>A fault: its name, the change it makes and message fragments, one of which the error names.</summary>
    private sealed record Fault<T>(string Name, Func<T, T> Apply, params string[] Fragments);

    // ---------------------------------------------------------------- writes

    private static readonly Gen<Fault<WriteArgs>> WriteFault =
        from position in Gen.Int[0, 100]
        from bad in Gen.OneOf(float.NaN, float.PositiveInfinity, float.NegativeInfinity)
        from wrongDim in Gen.OneOf<int>(Gen.Int[1, 3], Gen.Int[5, 9])
        from badMeta in MetadataFault
        from lone in LoneSurrogateText
        from kind in Gen.Int[0, 18]
        select kind switch
        {
            16 => new Fault<WriteArgs>("id with an unpaired surrogate", w => With(w, ids: SetAt(w.Ids!, position, lone)), "UTF-16"),
            17 => new Fault<WriteArgs>("document with an unpaired surrogate", w => With(w, d: SetAt(w.Documents ?? w.Ids!.Select(_ => (string?)null).ToList(), position, lone)), "UTF-16"),
            18 => new Fault<WriteArgs>("metadata value with an unpaired surrogate", w => With(w, m: SetAt(w.Metadatas ?? w.Ids!.Select(_ => (Dictionary<string, MetadataValue?>?)null).ToList(), position, Meta(("a", lone)))), "UTF-16"),
            0 => new Fault<WriteArgs>("wrong dimension", w => With(w, e: SetAt(w.Embeddings!, position, new float[wrongDim])), "dimension"),
            1 => new Fault<WriteArgs>($"{bad} in embedding", w => With(w, e: SetAt(w.Embeddings!, position, Poison(w.Embeddings![position % w.Embeddings.Count]!, position, bad))), "NaN or infinite"),
            2 => new Fault<WriteArgs>("empty id", w => With(w, ids: SetAt(w.Ids!, position, "")), "empty"),
            3 => new Fault<WriteArgs>("null id", w => With(w, ids: SetAt(w.Ids!, position, null)), "empty"),
            4 => new Fault<WriteArgs>("duplicate id", Duplicate, "duplicates"),
            5 => new Fault<WriteArgs>("id over the length limit", w => With(w, ids: SetAt(w.Ids!, position, new string('i', Limits.MaxIdLength + 1 + (position % 5)))), "characters long", "limit"),
            6 => new Fault<WriteArgs>("oversized batch", Oversize, "maximum batch size"),
            7 => new Fault<WriteArgs>("embeddings shorter than ids", w => With(w, e: w.Embeddings!.Skip(1).ToList()), "same length"),
            8 => new Fault<WriteArgs>("null embedding", w => With(w, e: SetAt(w.Embeddings!, position, null)), "null"),
            9 => new Fault<WriteArgs>("null ids list", w => w with { Ids = null }, "ids is required"),
            10 => new Fault<WriteArgs>("empty ids list", w => new WriteArgs([], [], null, null), "non-empty"),
            11 => new Fault<WriteArgs>("metadatas longer than ids", w => With(w, m: [.. w.Metadatas ?? w.Ids!.Select(_ => (Dictionary<string, MetadataValue?>?)null).ToList(), null]), "same length"),
            12 => new Fault<WriteArgs>("documents shorter than ids", w => With(w, d: (w.Documents ?? w.Ids!.Select(_ => (string?)"x").ToList()).Skip(1).ToList()), "same length"),
            13 => new Fault<WriteArgs>("document over the length limit", w => With(w, d: SetAt(w.Documents ?? w.Ids!.Select(_ => (string?)null).ToList(), position, new string('d', Limits.MaxDocumentLength + 1))), "characters long", "limit"),
            14 => new Fault<WriteArgs>("empty embedding", w => With(w, e: SetAt(w.Embeddings!, position, [])), "dimension", "empty"),
            _ => new Fault<WriteArgs>("metadata: " + badMeta.Name, w => With(w, m: SetAt(w.Metadatas ?? w.Ids!.Select(_ => (Dictionary<string, MetadataValue?>?)null).ToList(), position, badMeta.Apply(null))), badMeta.Fragments),
        };

    /// <summary>
    /// Metadata faults (the argument is ignored: each produces a whole bad metadata object). Only the faults a typed
    /// <see cref="MetadataValue"/> can carry to the store: the type rules (nested objects, DateTime, NaN, empty or mixed
    /// arrays …) refuse a value where it is made, and MetadataValue's own tests cover them.
    /// </summary>
    private static Gen<Fault<Dictionary<string, MetadataValue?>?>> MetadataFault =>
        from kind in Gen.Int[0, 5].Select(i => new[] { 0, 1, 2, 11, 12, 13 }[i])
        select kind switch
        {
            0 => new Fault<Dictionary<string, MetadataValue?>?>("empty object", _ => [], "non-empty"),
            1 => new Fault<Dictionary<string, MetadataValue?>?>("empty key", _ => Meta(("", 1L)), "non-empty strings"),
            2 => new Fault<Dictionary<string, MetadataValue?>?>("key starting with $", _ => Meta(("$gt", 1L)), "reserved"),
            3 => new Fault<Dictionary<string, MetadataValue?>?>("nested object", _ => Meta(("a", new Dictionary<string, MetadataValue?> { ["x"] = 1L })), "not allowed", "same type"),
            4 => new Fault<Dictionary<string, MetadataValue?>?>("DateTime value", _ => Meta(("a", new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc))), "not allowed"),
            5 => new Fault<Dictionary<string, MetadataValue?>?>("Guid value", _ => Meta(("a", Guid.Empty)), "not allowed"),
            6 => new Fault<Dictionary<string, MetadataValue?>?>("NaN value", _ => Meta(("a", double.NaN)), "NaN", "finite"),
            7 => new Fault<Dictionary<string, MetadataValue?>?>("infinite float value", _ => Meta(("a", float.NegativeInfinity)), "infinite", "finite"),
            8 => new Fault<Dictionary<string, MetadataValue?>?>("empty array", _ => Meta(("a", Array.Empty<string>())), "non-empty"),
            9 => new Fault<Dictionary<string, MetadataValue?>?>("mixed array", _ => Meta(("a", new object[] { 1L, "x" })), "same type"),
            10 => new Fault<Dictionary<string, MetadataValue?>?>("null in array", _ => Meta(("a", new object?[] { "x", null })), "null"),
            11 => new Fault<Dictionary<string, MetadataValue?>?>("string over the length limit", _ => Meta(("a", new string('s', Limits.MaxMetadataValueLength + 1))), "limit"),
            12 => new Fault<Dictionary<string, MetadataValue?>?>("too many keys", _ => Enumerable.Range(0, Limits.MaxMetadataKeys + 1).ToDictionary(i => "k" + i, i => (MetadataValue?)(long)i, StringComparer.Ordinal), "keys"),
            _ => new Fault<Dictionary<string, MetadataValue?>?>("array over the length limit", _ => Meta(("a", new long[Limits.MaxMetadataArrayLength + 1])), "limit"),
        };

    private static WriteArgs With(WriteArgs w, List<string?>? ids = null, List<float[]?>? e = null, List<Dictionary<string, MetadataValue?>?>? m = null, List<string?>? d = null) =>
        new(ids ?? w.Ids, e ?? w.Embeddings, m ?? w.Metadatas, d ?? w.Documents);

    private static List<T> SetAt<T>(List<T> list, int position, T value)
    {
        var copy = new List<T>(list);
        copy[position % copy.Count] = value;
        return copy;
    }

    private static float[] Poison(float[] embedding, int position, float value)
    {
        var copy = (float[])embedding.Clone();
        copy[position % copy.Length] = value;
        return copy;
    }

    private static WriteArgs Duplicate(WriteArgs w)
    {
        var ids = new List<string?>(w.Ids!) { w.Ids![0] };
        return new WriteArgs(ids, [.. w.Embeddings!, w.Embeddings![0]], w.Metadatas is null ? null : [.. w.Metadatas, null], w.Documents is null ? null : [.. w.Documents, null]);
    }

    private static WriteArgs Oversize(WriteArgs w)
    {
        var n = Limits.MaxBatchSize + 1;
        return new WriteArgs(
            Enumerable.Range(0, n).Select(i => (string?)$"big{i}").ToList(),
            Enumerable.Range(0, n).Select(i => (float[]?)new float[] { i, 0, 0, 0 }).ToList(),
            null,
            null);
    }

    private static readonly Gen<Attempt> WriteCall =
        from op in Gen.Int[0, 2]
        from args in ValidWrite
        from faulty in Gen.Int[0, 4]
        from fault in WriteFault
        select MakeWrite(op, faulty == 0 ? args : fault.Apply(args), faulty == 0 ? null : fault);

    private static Attempt MakeWrite(int op, WriteArgs w, Fault<WriteArgs>? fault)
    {
        var name = new[] { "add", "upsert", "update" }[op];
        Action<World> run = world =>
        {
            var ids = w.Ids is null ? null! : (IReadOnlyList<string>)w.Ids!;
            var embeddings = w.Embeddings is null ? null : (IReadOnlyList<float[]>)w.Embeddings!;
            var metadatas = w.Metadatas?.Select(m => (IReadOnlyDictionary<string, MetadataValue?>?)m).ToList();
            switch (op)
            {
                case 0: world.Things.Add(ids, embeddings, metadatas, w.Documents); break;
                case 1: world.Things.Upsert(ids, embeddings, metadatas, w.Documents); break;
                default: world.Things.Update(ids, embeddings, metadatas, w.Documents); break;
            }
        };
        return fault is null
            ? new Attempt($"{name} valid ({w.Ids!.Count} ids)", run)
            : new Attempt($"{name} with {fault.Name}", run, typeof(ChromaValidationException), fault.Fragments);
    }

    // ---------------------------------------------------------------- filters

    /// <summary>Random valid <c>where</c> filters built with the factories (depth ≤ 3), sometimes round-tripped through JSON.</summary>
    private static readonly Gen<Where> ValidWhere = WhereOfDepth(3);

    private static Gen<Where> WhereOfDepth(int depth)
    {
        var scalar = Gen.OneOf<FilterValue>(
            ShortText.Select(s => (FilterValue)s),
            Gen.Long[-5, 5].Select(l => (FilterValue)l),
            Gen.Int[-40, 40].Select(i => (FilterValue)(i / 8.0)),
            Gen.Bool.Select(b => (FilterValue)b));
        var key = Gen.OneOf<string>(Gen.OneOf(MetaKeys), Str("kz日 .'\"", 1, 4));
        var leaf =
            from k in key
            from op in Gen.Int[0, 9]
            from v in scalar
            from number in Gen.Int[-40, 40]
            from kind in Gen.Int[0, 3]
            from values in Gen.Int[1, 3]
            select op switch
            {
                0 => Where.Eq(k, v),
                1 => Where.Ne(k, v),
                2 => Where.Gt(k, number / 4.0),
                3 => Where.Gte(k, (long)number),
                4 => Where.Lt(k, number / 4.0),
                5 => Where.Lte(k, (long)number),
                6 => Where.In(k, SameKind(kind, values)),
                7 => Where.NotIn(k, SameKind(kind, values)),
                8 => Where.Contains(k, v),
                _ => Where.NotContains(k, v),
            };
        if (depth <= 1)
        {
            return leaf;
        }

        var child = WhereOfDepth(depth - 1);
        return Gen.Frequency<Where>(
            (3, leaf),
            (1, child.Array[2, 3].Select(c => Where.And(c))),
            (1, child.Array[2, 3].Select(c => Where.Or(c))));
    }

    private static FilterValue[] SameKind(int kind, int count) => kind switch
    {
        0 => Enumerable.Range(0, count).Select(i => (FilterValue)("x" + i)).ToArray(),
        1 => Enumerable.Range(0, count).Select(i => (FilterValue)(long)(i - 1)).ToArray(),
        2 => Enumerable.Range(0, count).Select(i => (FilterValue)(i * 1.25)).ToArray(),
        _ => [true, false],
    };

    private static readonly Gen<WhereDocument> ValidWhereDocument = WhereDocumentOfDepth(3);

    private static Gen<WhereDocument> WhereDocumentOfDepth(int depth)
    {
        var text = Gen.OneOf<string>(ShortText, Gen.OneOf("alpha", "beta", "gam", "a", "日本", "%", "_", "'", "\"", "[x]", "\\"));
        var leaf =
            from t in text
            from op in Gen.Int[0, 3]
            select op switch
            {
                0 => WhereDocument.Contains(t),
                1 => WhereDocument.NotContains(t),
                2 => WhereDocument.Regex(System.Text.RegularExpressions.Regex.Escape(t)),
                _ => WhereDocument.NotRegex("^" + System.Text.RegularExpressions.Regex.Escape(t) + ".*"),
            };
        if (depth <= 1)
        {
            return leaf;
        }

        var child = WhereDocumentOfDepth(depth - 1);
        return Gen.Frequency<WhereDocument>(
            (3, leaf),
            (1, child.Array[2, 3].Select(c => WhereDocument.And(c))),
            (1, child.Array[2, 3].Select(c => WhereDocument.Or(c))));
    }

    /// <summary>Malformed or unsupported <c>where</c> JSON, parsed inside the call.</summary>
    private static readonly Gen<Fault<string>> BadWhereJson =
        from key in Gen.OneOf("a", "tag", "日本", "k k")
        from depth in Gen.Int[150, 400]
        from kind in Gen.Int[0, 28]
        select kind switch
        {
            25 => new Fault<string>("escaped unpaired surrogate in a value", _ => $"{{\"{key}\": \"a\\ud800\"}}", "UTF-16"),
            26 => new Fault<string>("escaped unpaired surrogate in a key", _ => "{\"\\udc00\": {\"$in\": [1, 2]}}", "UTF-16"),
            27 => new Fault<string>("more distinct keys than the parameter limit", _ => $"{{\"$or\": [{string.Join(',', Enumerable.Range(0, 4_100).Select(i => $"{{\"k{i}\": 1}}"))}]}}", "limit"),
            28 => new Fault<string>("$and/$or nested too deep", _ => DeepJson(65), "nest more than 64 levels"),
            0 => new Fault<string>("empty string", _ => "", "malformed"),
            1 => new Fault<string>("unclosed object", _ => "{\"a\": 1", "malformed"),
            2 => new Fault<string>("array at the top", _ => "[]", "expected a JSON object"),
            3 => new Fault<string>("null at the top", _ => "null", "expected a JSON object"),
            4 => new Fault<string>("empty object", _ => "{}", "empty object"),
            5 => new Fault<string>("two keys", _ => "{\"a\": 1, \"b\": 2}", "exactly one"),
            6 => new Fault<string>("unknown logical operator", _ => "{\"$not\": [{\"a\": 1}, {\"b\": 2}]}", "unknown operator"),
            7 => new Fault<string>("unknown comparison operator", _ => $"{{\"{key}\": {{\"$like\": 1}}}}", "unknown operator"),
            8 => new Fault<string>("nested object value", _ => $"{{\"{key}\": {{\"b\": 1}}}}", "nested objects"),
            9 => new Fault<string>("$gt with a string", _ => $"{{\"{key}\": {{\"$gt\": \"x\"}}}}", "$gt"),
            10 => new Fault<string>("$in with a scalar", _ => $"{{\"{key}\": {{\"$in\": 5}}}}", "$in"),
            11 => new Fault<string>("$in empty", _ => $"{{\"{key}\": {{\"$in\": []}}}}", "$in"),
            12 => new Fault<string>("$in mixed types", _ => $"{{\"{key}\": {{\"$nin\": [1, \"x\"]}}}}", "$nin"),
            13 => new Fault<string>("null value", _ => $"{{\"{key}\": null}}", "null"),
            14 => new Fault<string>("array value", _ => $"{{\"{key}\": [1, 2]}}", "expects"),
            15 => new Fault<string>("$and with one clause", _ => "{\"$and\": [{\"a\": 1}]}", "$and"),
            16 => new Fault<string>("$or not an array", _ => "{\"$or\": {\"a\": 1}}", "$or"),
            17 => new Fault<string>("infinite number", _ => $"{{\"{key}\": 1e999}}", "finite"),
            18 => new Fault<string>("integer out of range", _ => $"{{\"{key}\": 99999999999999999999}}", "64-bit"),
            19 => new Fault<string>("empty key", _ => "{\"\": 1}", "empty metadata key"),
            20 => new Fault<string>("nesting deeper than allowed", _ => new string('[', depth) + new string(']', depth), "nest more than 64 levels"),
            21 => new Fault<string>("two operators", _ => $"{{\"{key}\": {{\"$eq\": 1, \"$ne\": 2}}}}", "more than one operator"),
            22 => new Fault<string>("document operator in where", _ => "{\"$contains\": \"x\"}", "unknown operator"),
            23 => new Fault<string>("$gt with a bool", _ => $"{{\"{key}\": {{\"$gt\": true}}}}", "$gt"),
            _ => new Fault<string>("trailing comma", _ => "{\"a\": 1,}", "malformed"),
        };

    private static readonly Gen<Fault<string>> BadWhereDocumentJson =
        from kind in Gen.Int[0, 10]
        select kind switch
        {
            10 => new Fault<string>("escaped unpaired surrogate", _ => "{\"$contains\": \"\\ud83d\"}", "UTF-16"),
            0 => new Fault<string>("$contains with a number", _ => "{\"$contains\": 5}", "expects a string"),
            1 => new Fault<string>("$contains empty", _ => "{\"$contains\": \"\"}", "non-empty"),
            2 => new Fault<string>("invalid regex", _ => "{\"$regex\": \"(\"}", "regex", "pattern"),
            3 => new Fault<string>("invalid character class", _ => "{\"$not_regex\": \"[a-\"}", "regex", "pattern"),
            4 => new Fault<string>("unknown operator", _ => "{\"$like\": \"x\"}", "unknown operator"),
            5 => new Fault<string>("$and with one clause", _ => "{\"$and\": [{\"$contains\": \"a\"}]}", "$and"),
            6 => new Fault<string>("two operators", _ => "{\"$contains\": \"a\", \"$regex\": \"b\"}", "exactly one"),
            7 => new Fault<string>("metadata key in where_document", _ => "{\"a\": \"b\"}", "unknown operator"),
            8 => new Fault<string>("malformed JSON", _ => "{\"$contains\":", "malformed"),
            _ => new Fault<string>("array at the top", _ => "[{\"$contains\": \"a\"}]", "expected a JSON object"),
        };

    /// <summary>Alternating <c>$and</c>/<c>$or</c> nested <paramref name="levels"/> deep (JSON depth 2 per level).</summary>
    private static string DeepJson(int levels)
    {
        var json = "{\"a\": 1}";
        for (var i = 0; i < levels; i++)
        {
            json = $"{{\"{(i % 2 == 0 ? "$and" : "$or")}\": [{json}, {{\"b{i}\": 2}}]}}";
        }

        return json;
    }

    /// <summary>Junk and mutated JSON: Parse either succeeds or throws ChromaFilterException.</summary>
    private static readonly Gen<string> FuzzJson =
        from valid in ValidWhere
        from cut in Gen.Int[0, 1000]
        from insert in Gen.Char["{}[]\":,$ 1aeE.-\\n"]
        from junk in Str("{}[]\":,$ 1aeE.-\\ntruefalsn日\u0000", 0, 20)
        from kind in Gen.Int[0, 2]
        select kind switch
        {
            0 => junk,
            1 => valid.ToJson().Remove(cut % valid.ToJson().Length, 1),
            _ => valid.ToJson().Insert(cut % (valid.ToJson().Length + 1), insert.ToString()),
        };

    // ---------------------------------------------------------------- reads

    private static readonly Gen<Attempt> QueryCall =
        from queries in ValidEmbedding.Array[1, 3]
        from n in Gen.Int[1, 20]
        from filter in Gen.Frequency<Where?>((2, Gen.Const<Where?>((Where?)null)), (1, ValidWhere.Select(w => (Where?)w)))
        from docFilter in Gen.Frequency<WhereDocument?>((3, Gen.Const<WhereDocument?>((WhereDocument?)null)), (1, ValidWhereDocument.Select(w => (WhereDocument?)w)))
        from ids in Gen.Frequency<string[]?>((3, Gen.Const<string[]?>((string[]?)null)), (1, ValidIds.Select(i => (string[]?)i)))
        from kind in Gen.Int[0, 14]
        from badWhere in BadWhereJson
        from badDocument in BadWhereDocumentJson
        from badN in Gen.OneOf<int>(Gen.Int[-5, 0], Gen.Int[21, 100], Gen.OneOf(int.MinValue, int.MaxValue))
        from wrongDim in Gen.OneOf<int>(Gen.Int[1, 3], Gen.Int[5, 8])
        from bad in Gen.OneOf(float.NaN, float.PositiveInfinity, float.NegativeInfinity)
        from badInclude in Gen.OneOf(32, 63, -1, 64)
        select kind switch
        {
            0 => Invalid("query with n_results " + badN, w => w.Things.Query(queries, badN, filter, docFilter, ids), "n_results"),
            1 => Invalid("query with no embeddings", w => w.Things.Query(Array.Empty<float[]>(), n), "non-empty"),
            2 => Invalid("query with null embeddings", w => w.Things.Query((IReadOnlyList<float[]>)null!, n), "non-empty"),
            3 => Invalid("query with too many embeddings", w => w.Things.Query([.. queries, .. queries, queries[0], queries[0]], n), "exceed the limit"),
            4 => Invalid("query with wrong dimension", w => w.Things.Query([queries[0], new float[wrongDim]], n), "dimension"),
            5 => Invalid($"query with {bad}", w => w.Things.Query([Poison(queries[0], n, bad)], n), "NaN or infinite"),
            6 => Invalid("query with include " + badInclude, w => w.Things.Query(queries, n, include: (Include)badInclude), "include"),
            7 => Invalid("query with where: " + badWhere.Name, w => w.Things.Query(queries, n, Where.Parse(badWhere.Apply(""))), badWhere.Fragments),
            8 => Invalid("query with where_document: " + badDocument.Name, w => w.Things.Query(queries, n, null, WhereDocument.Parse(badDocument.Apply(""))), badDocument.Fragments),
            9 => Invalid("query with an empty id", w => w.Things.Query(queries, n, ids: ["r0", ""]), "empty"),
            10 => Invalid("query with duplicate ids", w => w.Things.Query(queries, n, ids: ["r0", "r0"]), "duplicates"),
            11 => Invalid("query on a deleted collection", w => w.Gone.Query(queries, n), typeof(ChromaNotFoundException), "deleted"),
            _ => Valid($"query n={n} filter={filter} where_document={docFilter} ids={ids?.Length}", w => CheckQuery(w.Things.Query(queries, n, filter, docFilter, ids), n)),
        };

    private static void CheckQuery(QueryResult result, int n)
    {
        foreach (var distances in result.Distances!)
        {
            distances.Count.Should().BeLessThanOrEqualTo(n);
            distances.Should().BeInAscendingOrder();
        }
    }

    private static readonly Gen<Attempt> GetCall =
        from filter in Gen.Frequency<Where?>((2, Gen.Const<Where?>((Where?)null)), (2, ValidWhere.Select(w => (Where?)w)))
        from docFilter in Gen.Frequency<WhereDocument?>((2, Gen.Const<WhereDocument?>((WhereDocument?)null)), (1, ValidWhereDocument.Select(w => (WhereDocument?)w)))
        from ids in Gen.Frequency<string[]?>((2, Gen.Const<string[]?>((string[]?)null)), (1, ValidIds.Select(i => (string[]?)i)))
        from limit in Gen.Frequency<int?>((1, Gen.Const<int?>((int?)null)), (1, Gen.Int[0, 10].Select(i => (int?)i)))
        from offset in Gen.Int[0, 8]
        from negative in Gen.OneOf<int>(Gen.Int[-10, -1], Gen.Const(int.MinValue))
        from kind in Gen.Int[0, 17]
        from badWhere in BadWhereJson
        from badDocument in BadWhereDocumentJson
        from fuzz in FuzzJson
        from id in ValidId
        select kind switch
        {
            0 => Invalid("get with limit " + negative, w => w.Things.Get(limit: negative), "limit"),
            1 => Invalid("get with offset " + negative, w => w.Things.Get(offset: negative), "offset"),
            2 => Invalid("get with include distances", w => w.Things.Get(include: Include.Distances | Include.Documents), "distances"),
            3 => Invalid("get with include 32", w => w.Things.Get(include: (Include)32), "include"),
            4 => Invalid("get with where: " + badWhere.Name, w => w.Things.Get(null, Where.Parse(badWhere.Apply(""))), badWhere.Fragments),
            5 => Invalid("get with where_document: " + badDocument.Name, w => w.Things.Get(null, null, WhereDocument.Parse(badDocument.Apply(""))), badDocument.Fragments),
            6 => Invalid("get with an empty ids list", w => w.Things.Get(ids: []), "non-empty"),
            7 => Invalid("get with too many ids", w => w.Things.Get(ids: Enumerable.Range(0, Limits.MaxBatchSize + 1).Select(i => "g" + i).ToList()), "maximum batch size"),
            8 => Invalid("peek with limit " + negative, w => w.Things.Peek(negative), "limit"),
            9 => Invalid("count on a deleted collection", w => w.Gone.Count(), typeof(ChromaNotFoundException), "deleted"),
            10 => new Attempt("parse fuzzed where: " + fuzz, w => Where.Parse(fuzz), typeof(ChromaFilterException)) { MaySucceed = true },
            11 => new Attempt("parse fuzzed where_document: " + fuzz, w => WhereDocument.Parse(fuzz), typeof(ChromaFilterException)) { MaySucceed = true },
            16 => Invalid("get with where nested 65 deep (builder)", w => w.Things.Get(null, NestedWhere(65)), "nest"),
            12 => Invalid("get with an id over the length limit", w => w.Things.Get(ids: [id, new string('x', Limits.MaxIdLength + 1)]), "characters long"),
            13 => Valid("peek", w => w.Things.Peek(1 + offset).Ids.Count.Should().BeLessThanOrEqualTo(1 + offset)),
            14 => Valid("count", w => w.Things.Count().Should().BeGreaterThanOrEqualTo(0)),
            _ => Valid($"get filter={filter} where_document={docFilter} ids={ids?.Length} limit={limit} offset={offset}", w => CheckGet(w.Things, ids, filter, docFilter, limit, offset)),
        };

    private static Where NestedWhere(int levels)
    {
        var where = Where.Eq("a", 1L);
        for (var i = 0; i < levels; i++)
        {
            where = i % 2 == 0 ? Where.And(where, Where.Eq("b" + i, 2L)) : Where.Or(where, Where.Eq("b" + i, 2L));
        }

        return where;
    }

    /// <summary>A filtered get returns a subset of the unfiltered one, in the same order, and the JSON round trip agrees.</summary>
    private static void CheckGet(Collection collection, string[]? ids, Where? where, WhereDocument? whereDocument, int? limit, int offset)
    {
        var result = collection.Get(ids, where, whereDocument, limit, offset, Include.None);
        if (limit is { } l)
        {
            result.Ids.Count.Should().BeLessThanOrEqualTo(l);
        }

        var all = collection.Get(include: Include.None).Ids;
        result.Ids.Should().BeSubsetOf(all);
        var again = collection.Get(
            ids,
            where is null ? null : Where.Parse(where.ToJson()),
            whereDocument is null ? null : WhereDocument.Parse(whereDocument.ToJson()),
            limit,
            offset,
            Include.None);
        again.Ids.Should().Equal(result.Ids, "a filter parsed from its own JSON selects the same records");
    }

    private static readonly Gen<Attempt> DeleteCall =
        from filter in ValidWhere
        from docFilter in ValidWhereDocument
        from ids in ValidIds
        from kind in Gen.Int[0, 7]
        from badWhere in BadWhereJson
        select kind switch
        {
            0 => Invalid("delete with no selector", w => w.Things.Delete(), "give ids"),
            1 => Invalid("delete with an empty ids list", w => w.Things.Delete(ids: []), "non-empty"),
            2 => Invalid("delete with a null id", w => w.Things.Delete(ids: ["r1", null!]), "empty"),
            3 => Invalid("delete with where: " + badWhere.Name, w => w.Things.Delete(null, Where.Parse(badWhere.Apply(""))), badWhere.Fragments),
            4 => Invalid("delete on a deleted collection", w => w.Gone.Delete(ids), typeof(ChromaNotFoundException), "deleted"),
            5 => Valid($"delete filter={filter} where_document={docFilter}", w => w.Things.Delete(null, filter, docFilter)),
            _ => Valid($"delete ids {ids.Length}", w => w.Things.Delete(ids)),
        };

    // ---------------------------------------------------------------- catalog

    private static readonly Gen<Attempt> ClientCall =
        from badName in Gen.OneOf("ab", "a b", "-abc", "abc-", "a..b", "192.168.0.1", "ab$c", "", "日本語", "abc/def", new string('a', 513), LeakedKey, "prod" + LeakedKey, LeakedKey[..40])
        from pooled in Gen.Int[0, 3]
        from negative in Gen.Int[-5, -1]
        from badConfig in Gen.OneOf<CollectionConfiguration>(
            Gen.Int[-3, 0].Select(v => new CollectionConfiguration { EfSearch = v }),
            Gen.Int[-3, 1].Select(v => new CollectionConfiguration { MaxNeighbors = v }),
            Gen.Int[100_001, 200_000].Select(v => new CollectionConfiguration { EfConstruction = v }),
            Gen.Int[3, 99].Select(v => new CollectionConfiguration { Space = (DistanceSpace)v }))
        from badMeta in MetadataFault
        from kind in Gen.Int[0, 24]
        select kind switch
        {
            0 => Invalid($"create collection '{Short(badName)}'", w => w.Client.CreateCollection(badName), "name"),
            1 => Invalid($"create collection with {badConfig}", w => w.Client.CreateCollection("cfg", new CollectionOptions { Configuration = badConfig }), "configuration"),
            2 => Invalid("create collection with metadata: " + badMeta.Name, w => w.Client.CreateCollection("meta", new CollectionOptions { Metadata = badMeta.Apply(null) }), [.. badMeta.Fragments, "not allowed"]),
            3 => Invalid("create collection with an array in metadata", w => w.Client.CreateCollection("meta", new CollectionOptions { Metadata = Meta(("a", new[] { 1L })) }), "not allowed"),
            4 => new Attempt("create existing collection", w => w.Client.CreateCollection("things"), typeof(ChromaCollectionExistsException), "already exists"),
            5 => new Attempt("get missing collection", w => w.Client.GetCollection("missing"), typeof(ChromaNotFoundException), "missing"),
            6 => new Attempt("delete missing collection", w => w.Client.DeleteCollection("missing"), typeof(ChromaNotFoundException), "missing"),
            7 => Invalid("list collections with limit " + negative, w => w.Client.ListCollections(negative), "limit"),
            8 => Invalid("list collections with offset " + negative, w => w.Client.ListCollections(offset: negative), "offset"),
            9 => Invalid($"create database '{Short(badName)}'", w => w.Client.CreateDatabase(badName), "name"),
            10 => Invalid($"create tenant '{Short(badName)}'", w => w.Client.CreateTenant(badName), "name"),
            11 => new Attempt("get missing database", w => w.Client.GetDatabase("missing"), typeof(ChromaNotFoundException), "missing"),
            12 => new Attempt("get missing tenant", w => w.Client.GetTenant("missing"), typeof(ChromaNotFoundException), "missing"),
            13 => new Attempt("delete non-empty tenant", w => w.Client.DeleteTenant(ChromaStore.DefaultTenant), typeof(ChromaConflictException), "still has databases"),
            14 => Invalid("list databases with offset " + negative, w => w.Client.ListDatabases(offset: negative), "offset"),
            15 => Invalid($"rename to '{Short(badName)}'", w => w.Things.Modify(name: badName), "name"),
            16 => Invalid("modify the distance space", w => w.Things.Modify(configuration: new CollectionConfigurationUpdate { Space = DistanceSpace.Cosine }), "cannot be changed"),
            17 => Invalid("modify ef_search to " + negative, w => w.Things.Modify(configuration: new CollectionConfigurationUpdate { EfSearch = negative }), "ef_search"),
            18 => Invalid("modify metadata: " + badMeta.Name, w => w.Things.Modify(metadata: badMeta.Apply(null)), [.. badMeta.Fragments, "not allowed"]),
            19 => new Attempt("create collections past the cap", CreatePastCap, typeof(ChromaLimitExceededException), "MaxCollections"),
            20 => new Attempt("create databases past the cap", CreateDatabasesPastCap, typeof(ChromaLimitExceededException), "MaxDatabases"),
            21 => Valid($"get or create pool{pooled}", w => w.Client.GetOrCreateCollection($"pool{pooled}")),
            22 => Valid($"delete and recreate pool{pooled}", w => { w.Client.GetOrCreateCollection($"pool{pooled}"); w.Client.DeleteCollection($"pool{pooled}"); w.Client.CreateCollection($"pool{pooled}"); }),
            23 => Valid("get or create existing things", w => w.Client.GetOrCreateCollection("things").Name.Should().Be("things")),
            _ => Valid("list and count collections", w => w.Client.ListCollections().Count.Should().Be(w.Client.CountCollections())),
        };

    /// <summary>Fills the store to the cap in one call (so the snapshot check sees the collections it made); the last create fails.</summary>
    private static void CreatePastCap(World world)
    {
        // Each failing call must change nothing, so undo the creations before rethrowing: the property then checks
        // the store is as before and the cap's exception escaped.
        var made = new List<string>();
        try
        {
            for (var i = 0; ; i++)
            {
                var name = $"cap{i}";
                if (world.Client.ListCollections().Any(c => c.Name == name))
                {
                    continue;
                }

                world.Client.CreateCollection(name);
                made.Add(name);
            }
        }
        finally
        {
            foreach (var name in made)
            {
                world.Client.DeleteCollection(name);
            }
        }
    }

    /// <summary>Creates databases until the cap refuses one, then deletes the ones it made (so the failed attempt changes nothing).</summary>
    private static void CreateDatabasesPastCap(World world)
    {
        var made = new List<string>();
        try
        {
            for (var i = 0; ; i++)
            {
                world.Client.CreateDatabase($"db{i}");
                made.Add($"db{i}");
            }
        }
        finally
        {
            foreach (var name in made)
            {
                world.Client.DeleteDatabase(name);
            }
        }
    }

    private static string Short(string s) => s.Length <= 16 ? s : s[..13] + "...";

    private static Attempt Valid(string name, Action<World> run) => new(name, run);

    private static Attempt Invalid(string name, Action<World> run, params string[] fragments) =>
        new(name, run, typeof(ChromaValidationException), fragments);

    private static Attempt Invalid(string name, Action<World> run, Type exception, params string[] fragments) =>
        new(name, run, exception, fragments);

    private static readonly Gen<Attempt> AnyCall = Gen.Frequency<Attempt>(
        (5, WriteCall),
        (3, QueryCall),
        (3, GetCall),
        (1, DeleteCall),
        (2, ClientCall));

    /// <summary>Only valid calls with random valid filters (where, where_document, both, JSON round trips).</summary>
    private static readonly Gen<Attempt> ValidFilterCall =
        from filter in ValidWhere
        from docFilter in ValidWhereDocument
        from queries in ValidEmbedding.Array[1, 2]
        from n in Gen.Int[1, 20]
        from write in ValidWrite
        from kind in Gen.Int[0, 7]
        select kind switch
        {
            0 => Valid($"get filter {filter}", w => CheckGet(w.Things, null, filter, null, null, 0)),
            1 => Valid($"get where_document {docFilter}", w => CheckGet(w.Things, null, null, docFilter, null, 0)),
            2 => Valid($"get filter {filter} and where_document {docFilter}", w => CheckGet(w.Things, null, filter, docFilter, 5, 1)),
            3 => Valid($"query filter {filter}", w => CheckQuery(w.Things.Query(queries, n, Where.Parse(filter.ToJson())), n)),
            4 => Valid($"query where_document {docFilter}", w => CheckQuery(w.Things.Query(queries, n, null, WhereDocument.Parse(docFilter.ToJson())), n)),
            5 => Valid($"delete filter {filter} and where_document {docFilter}", w => w.Things.Delete(null, filter, docFilter)),
            _ => MakeWrite(1, write, null),
        };
}
