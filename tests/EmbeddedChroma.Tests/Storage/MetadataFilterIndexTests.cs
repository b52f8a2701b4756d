using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// The in-memory metadata filter index against the SQL evaluation it replaces for queries: equal slot sets for
/// random filters over random collections (mixed types, arrays, absent keys, updates, deletes, slot reuse,
/// reopen), query results equal to a brute-force reference, failed batches, concurrency and the memory budget.
/// </summary>
public sealed class MetadataFilterIndexTests
{
    private const int Dimension = 4;

    private static readonly string[] Vocabulary = ["a", "b", "A", "", "1", "true", "naïve", "日本", "x y"];
    private static readonly double[] Floats = [-1.5, -0.0, 0.0, 1.0, 2.5, 3.0, 0.1];
    private static readonly string[] CommonKeys = ["i", "f", "s", "mix", "flag", "arr", "arrmix"];
    private static readonly string[] RareKeys = Enumerable.Range(0, 30).Select(i => "r" + i).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_filters_select_the_same_slots_in_memory_as_in_sql_through_writes_and_reopen(int seed)
    {
        using var fx = new StoreFixture();
        var run = new DifferentialRun(seed, fx);
        run.Execute();
        run.FiltersChecked.Should().BeGreaterThan(500);
        run.NonEmptyChecks.Should().BeGreaterThan(100, "the generated filters must select something often enough to test anything");
    }

    [Fact]
    public void Index_is_built_on_the_first_filtered_read_not_on_open_or_unfiltered_reads()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();
        c.Add(["a", "b"], [[1f, 0f], [0f, 1f]], [new Dictionary<string, MetadataValue?> { ["k"] = 1 }, null]);
        fx.Reopen();
        c = fx.Client.GetCollection("test");
        c.Query([[1f, 0f]], nResults: 2);
        c.Get(whereDocument: WhereDocument.Contains("x"));
        c.BuiltFilterIndex.Should().BeNull();

        c.Query([[1f, 0f]], nResults: 2, where: Where.Eq("k", 1)).Ids[0].Should().Equal(["a"]);
        c.BuiltFilterIndex.Should().NotBeNull();

        fx.Reopen();
        c = fx.Client.GetCollection("test");
        c.Get(where: Where.Eq("k", 1)).Ids.Should().Equal(["a"]);
        c.BuiltFilterIndex.Should().NotBeNull("a get with where is answered by the index too");
    }

    [Fact]
    public void Array_values_stay_correct_through_rewrites_and_reopen_and_cost_under_48_bytes_per_record_with_two_elements_and_a_number()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();
        const int Count = 3_000;
        var ids = Enumerable.Range(0, Count).Select(i => "id" + i).ToArray();
        IReadOnlyDictionary<string, MetadataValue?>? Tags(int i, int round) => StoreFixture.Meta(("tags", new[] { "t" + ((i + round) % 5), "u" + (i % 3) }), ("n", (long)(i % 4)));
        c.Add(ids, ids.Select((_, i) => new[] { i % 7f, 1f }).ToArray(), ids.Select((_, i) => Tags(i, 0)).ToArray());
        c.Query([[1f, 0f]], nResults: 1, where: Where.Contains("tags", "t1")).Ids[0].Should().ContainSingle();

        // Rewrites and deletes leave old elements behind until the pool is compacted; reinserts reuse freed slots.
        for (var round = 1; round <= 4; round++)
        {
            var rewritten = ids.Where((_, i) => (i + round) % 2 == 0).ToArray();
            c.Update(ids: rewritten, metadatas: rewritten.Select(id => Tags(int.Parse(id[2..], System.Globalization.CultureInfo.InvariantCulture), round)).ToArray());
            var removed = ids.Where((_, i) => i % 10 == round).ToArray();
            c.Delete(ids: removed);
            c.Add(removed, removed.Select(_ => new[] { 0.5f, 0.5f }).ToArray(), removed.Select((_, i) => Tags(i, round + 1)).ToArray());
        }

        Where[] filters = [.. Enumerable.Range(0, 5).Select(t => Where.Contains("tags", "t" + t)), Where.Contains("tags", "u2"), Where.NotContains("tags", "t3"),
            Where.And(Where.Contains("tags", "u0"), Where.Eq("n", 2L)), Where.Contains("tags", "absent")];
        void Compare()
        {
            foreach (var where in filters)
            {
                var (fromIndex, fromSql) = c.EvaluateWhereBothWays(where);
                fromIndex.Should().Equal(fromSql, "filter {0}", where.ToJson());
            }
        }

        Compare();
        fx.Reopen();
        c = fx.Client.GetCollection("test");
        Compare();
        c.FilterIndexMatchesFile.Should().BeTrue();
        c.BuiltFilterIndex!.EstimatedBytes.Should().BeLessThan(Count * 48L, "two array elements and a number per record, loaded compact from the saved file");
    }

    [Fact]
    public void A_batch_that_fails_after_writing_part_of_it_leaves_the_index_unchanged()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();
        c.Add(["a", "b", "c"], [[1f, 0f], [0f, 1f], [1f, 1f]], [Tag("x"), Tag("y"), Tag("x")]);
        c.Query([[1f, 0f]], nResults: 3, where: Where.Eq("tag", "x")).Ids[0].Should().BeEquivalentTo(["a", "c"]);
        c.BuiltFilterIndex.Should().NotBeNull();

        // A trigger makes the third record of the batch fail inside SQLite, after the first two were written.
        Execute(fx, "CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END");
        var act = () => c.Upsert(["a", "d", "poison"], [[1f, 0f], [0.5f, 0.5f], [0f, 0f]], [Tag("y"), Tag("x"), Tag("x")]);
        act.Should().Throw<Exception>();

        var where = Where.Eq("tag", "x");
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["a", "c"]);
        c.Query([[1f, 0f]], nResults: 10, where: Where.Ne("tag", "x")).Ids[0].Should().BeEquivalentTo(["b"]);
        var (fromIndex, fromSql) = c.EvaluateWhereBothWays(where);
        fromIndex.Should().Equal(fromSql);

        // A failed delete too (the trigger aborts the deletion of "b" after "a" is gone).
        Execute(fx, "CREATE TRIGGER keep_b BEFORE DELETE ON records WHEN OLD.id = 'b' BEGIN SELECT RAISE(ABORT, 'kept'); END");
        var delete = () => c.Delete(ids: ["a", "b"]);
        delete.Should().Throw<Exception>();
        c.Query([[1f, 0f]], nResults: 10, where: Where.Ne("tag", "zzz")).Ids[0].Should().BeEquivalentTo(["a", "b", "c"]);

        Execute(fx, "DROP TRIGGER poison; DROP TRIGGER keep_b");
        c.Upsert(["a", "d"], [[1f, 0f], [0.5f, 0.5f]], [Tag("y"), Tag("x")]);
        c.Query([[1f, 0f]], nResults: 10, where: where).Ids[0].Should().BeEquivalentTo(["d", "c"]);
    }

    [Fact]
    public async Task Filtered_queries_during_writes_never_see_a_half_applied_batch()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();
        const int Records = 200;
        var ids = Enumerable.Range(0, Records).Select(i => "id" + i).ToArray();
        var rng = new Random(5);
        var vectors = ids.Select(_ => new[] { (float)rng.NextDouble(), (float)rng.NextDouble() }).ToArray();
        c.Add(ids, vectors, ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)Parity(0)).ToArray());
        c.Query([[0f, 0f]], nResults: 1, where: Where.Eq("parity", "even")); // builds the index

        using var stop = new CancellationTokenSource();
        var errors = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var observed = new System.Collections.Concurrent.ConcurrentBag<int>();
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var filters = new[] { Where.Eq("parity", "even"), Where.Ne("parity", "odd"), Where.Gte("gen", 0) & Where.In("parity", "even", "none") };
            var i = r;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Every batch rewrites all records: a query sees all of them with one parity, or none.
                    var count = c.Query([[0.5f, 0.5f]], nResults: Records, where: filters[i++ % filters.Length], include: Include.None).Ids[0].Count;
                    count.Should().BeOneOf(0, Records);
                    observed.Add(count);
                }
                catch (Exception ex)
                {
                    errors.Add(ex);
                }
            }
        })).ToArray();

        SpinWait.SpinUntil(() => !observed.IsEmpty || !errors.IsEmpty, TimeSpan.FromSeconds(60)).Should().BeTrue("the readers run before the writes start");
        for (var gen = 1; gen <= 40; gen++)
        {
            c.Update(ids, metadatas: ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)Parity(gen)).ToArray());
        }

        var seen = observed.Count;
        SpinWait.SpinUntil(() => observed.Count >= seen + 3 || !errors.IsEmpty, TimeSpan.FromSeconds(60)).Should().BeTrue("the readers keep answering after the writes");
        stop.Cancel();
        await Task.WhenAll(readers);
        errors.Should().BeEmpty();
        observed.Should().NotBeEmpty();

        static Dictionary<string, MetadataValue?> Parity(int gen) => new() { ["parity"] = gen % 2 == 0 ? "even" : "odd", ["gen"] = gen };
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    public void A_collection_over_the_memory_budget_filters_in_sql_with_the_same_results(long budget)
    {
        using var small = new StoreFixture(new ChromaStoreOptions { FilterIndexMemoryBudget = budget });
        using var normal = new StoreFixture();
        var limited = small.CreateCollection();
        var unlimited = normal.CreateCollection();
        var rng = new Random(9);
        var ids = Enumerable.Range(0, 120).Select(i => "id" + i).ToArray();
        var vectors = ids.Select(_ => RandomVector(rng)).ToArray();
        var metadatas = ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)RandomMetadata(rng)).ToArray();
        limited.Add(ids, vectors, metadatas);
        unlimited.Add(ids, vectors, metadatas);

        for (var i = 0; i < 100; i++)
        {
            var where = RandomWhere(rng, 2);
            var query = RandomVector(rng);
            var expected = unlimited.Query([query], nResults: 7, where: where, include: Include.Distances);
            var actual = limited.Query([query], nResults: 7, where: where, include: Include.Distances);
            actual.Ids[0].Should().Equal(expected.Ids[0], "filter {0}", where.ToJson());
        }

        limited.BuiltFilterIndex.Should().BeNull();
        unlimited.BuiltFilterIndex.Should().NotBeNull();
    }

    [Fact]
    public void An_index_that_outgrows_its_budget_is_dropped_and_filters_fall_back_to_sql()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { FilterIndexMemoryBudget = 64 * 1024 });
        var c = fx.CreateCollection();
        c.Add(["a", "b"], [[1f, 0f], [0f, 1f]], [Tag("x"), Tag("y")]);
        c.Query([[1f, 0f]], nResults: 2, where: Where.Eq("tag", "x")).Ids[0].Should().Equal(["a"]);
        c.BuiltFilterIndex.Should().NotBeNull();

        // Thousands of distinct long strings outgrow 64 KiB.
        var ids = Enumerable.Range(0, 2_000).Select(i => "n" + i).ToArray();
        c.Add(ids, ids.Select(_ => new[] { 0.5f, 0.5f }).ToArray(), ids.Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["tag"] = i + new string('z', 40) }).ToArray());
        c.BuiltFilterIndex.Should().BeNull();
        c.Query([[1f, 0f]], nResults: 5, where: Where.Eq("tag", "x")).Ids[0].Should().Equal(["a"]);
        c.Query([[1f, 0f]], nResults: 5, where: Where.Eq("tag", "n7" + new string('z', 40))).Ids[0].Should().Equal(["n7"]);
        c.BuiltFilterIndex.Should().BeNull();
    }

    [Fact]
    public void Many_rarely_used_keys_stay_sparse_and_small()
    {
        using var fx = new StoreFixture();
        var c = fx.CreateCollection();
        var ids = Enumerable.Range(0, 3_000).Select(i => "id" + i).ToArray();
        c.Add(ids, ids.Select(_ => new[] { 0.5f, 0.5f }).ToArray(), ids.Select((_, i) => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["key" + i] = i, ["common"] = i % 7 }).ToArray());
        c.Query([[1f, 0f]], nResults: 3, where: Where.Eq("key17", 17)).Ids[0].Should().Equal(["id17"]);

        var index = c.BuiltFilterIndex!;
        index.KeyCount.Should().Be(3_001);
        index.DenseColumns.Should().Be(1, "only the key every record has is worth a dense column");
        (index.EstimatedBytes / 3_001).Should().BeLessThan(400, "a key used by one record costs bytes, not a column of every slot");
    }

    [Fact]
    public void Negative_budget_is_rejected_with_the_option_named()
    {
        var act = () => new StoreFixture(new ChromaStoreOptions { FilterIndexMemoryBudget = -1 });
        act.Should().Throw<ChromaValidationException>().WithMessage("*FilterIndexMemoryBudget*");
    }

    private static Dictionary<string, MetadataValue?> Tag(string tag) => new() { ["tag"] = tag };

    private static void Execute(StoreFixture fx, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(fx.Folder, "chroma.sqlite3")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; " + sql;
        command.ExecuteNonQuery();
    }

    private static float[] RandomVector(Random rng) => Enumerable.Range(0, Dimension).Select(_ => (float)rng.NextDouble()).ToArray();

    private static object RandomScalar(Random rng) => rng.Next(4) switch
    {
        0 => (long)rng.Next(-3, 4),
        1 => Floats[rng.Next(Floats.Length)],
        2 => Vocabulary[rng.Next(Vocabulary.Length)],
        _ => rng.Next(2) == 0,
    };

    private static object RandomArray(Random rng)
    {
        var length = rng.Next(1, 4);
        return rng.Next(4) switch
        {
            0 => Enumerable.Range(0, length).Select(_ => (long)rng.Next(-3, 4)).ToArray(),
            1 => Enumerable.Range(0, length).Select(_ => Floats[rng.Next(Floats.Length)]).ToArray(),
            2 => Enumerable.Range(0, length).Select(_ => Vocabulary[rng.Next(Vocabulary.Length)]).ToArray(),
            _ => Enumerable.Range(0, length).Select(_ => rng.Next(2) == 0).ToArray(),
        };
    }

    /// <summary>Random metadata (or null); <paramref name="removals"/> adds null values (update: remove the key).</summary>
    private static Dictionary<string, MetadataValue?>? RandomMetadata(Random rng, bool removals = false)
    {
        if (rng.Next(10) == 0)
        {
            return null;
        }

        var metadata = new Dictionary<string, MetadataValue?>();
        foreach (var key in CommonKeys)
        {
            if (rng.Next(10) < 3)
            {
                if (removals && rng.Next(3) == 0)
                {
                    metadata[key] = null;
                }

                continue;
            }

            metadata[key] = MetadataValue.FromObject(key switch
            {
                "i" => (long)rng.Next(-3, 4),
                "f" => Floats[rng.Next(Floats.Length)],
                "s" => Vocabulary[rng.Next(Vocabulary.Length)],
                "flag" => rng.Next(2) == 0,
                "arr" => RandomArray(rng),
                "arrmix" => rng.Next(2) == 0 ? RandomArray(rng) : RandomScalar(rng),
                _ => RandomScalar(rng),
            });
        }

        if (rng.Next(4) == 0)
        {
            metadata[RareKeys[rng.Next(RareKeys.Length)]] = MetadataValue.FromObject(RandomScalar(rng));
        }

        return metadata.Count == 0 || metadata.Values.All(v => v is null) && !removals ? null : metadata;
    }

    private static FilterValue ToFilterValue(object value) => value switch
    {
        long l => l,
        double d => d,
        string s => s,
        bool b => b,
        _ => throw new InvalidOperationException(),
    };

    private static FilterValue RandomOperand(Random rng) => rng.Next(6) switch
    {
        0 => rng.Next(-4, 5),
        1 => 1.0,
        2 => "zzz",
        _ => ToFilterValue(RandomScalar(rng)),
    };

    private static FilterValue RandomNumber(Random rng) => rng.Next(2) == 0 ? rng.Next(-4, 5) : Floats[rng.Next(Floats.Length)] + (rng.Next(3) == 0 ? 0.25 : 0);

    private static FilterValue[] RandomSet(Random rng)
    {
        var count = rng.Next(1, 5);
        return rng.Next(3) switch
        {
            0 => Enumerable.Range(0, count).Select(_ => RandomNumber(rng)).ToArray(),
            1 => Enumerable.Range(0, count).Select(_ => (FilterValue)(rng.Next(5) == 0 ? "zzz" : Vocabulary[rng.Next(Vocabulary.Length)])).ToArray(),
            _ => Enumerable.Range(0, count).Select(_ => (FilterValue)(rng.Next(2) == 0)).ToArray(),
        };
    }

    private static Where RandomWhere(Random rng, int depth)
    {
        if (depth > 0 && rng.Next(3) == 0)
        {
            var clauses = Enumerable.Range(0, rng.Next(2, 4)).Select(_ => RandomWhere(rng, depth - 1)).ToArray();
            return rng.Next(2) == 0 ? Where.And(clauses) : Where.Or(clauses);
        }

        var pool = rng.Next(12) switch
        {
            0 => RareKeys,
            1 => ["missing"],
            _ => CommonKeys,
        };
        var key = pool[rng.Next(pool.Length)];
        return rng.Next(10) switch
        {
            0 => Where.Eq(key, RandomOperand(rng)),
            1 => Where.Ne(key, RandomOperand(rng)),
            2 => Where.Gt(key, RandomNumber(rng)),
            3 => Where.Gte(key, RandomNumber(rng)),
            4 => Where.Lt(key, RandomNumber(rng)),
            5 => Where.Lte(key, RandomNumber(rng)),
            6 => Where.In(key, RandomSet(rng)),
            7 => Where.NotIn(key, RandomSet(rng)),
            8 => Where.Contains(key, RandomOperand(rng)),
            _ => Where.NotContains(key, RandomOperand(rng)),
        };
    }

    private sealed class DifferentialRun(int seed, StoreFixture fx)
    {
        private readonly Random _rng = new(seed);
        private readonly List<string> _ids = [];
        private Collection _collection = null!;
        private int _nextId;

        public int FiltersChecked { get; private set; }

        public int NonEmptyChecks { get; private set; }

        public void Execute()
        {
            _collection = fx.CreateCollection(space: DistanceSpace.L2);
            for (var batch = 0; batch < 3; batch++)
            {
                AddNew(50);
            }

            Check(); // builds the index from SQL
            for (var round = 0; round < 3; round++)
            {
                Mutate(); // kept in step incrementally
                Check();
            }

            fx.Reopen();
            _collection = fx.Client.GetCollection("test");
            Check(); // rebuilt from SQL after reopen
            Mutate();
            Check();
        }

        private void AddNew(int count)
        {
            var ids = Enumerable.Range(0, count).Select(_ => "id" + _nextId++).ToArray();
            _collection.Add(ids, ids.Select(_ => RandomVector(_rng)).ToArray(), ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)RandomMetadata(_rng)).ToArray());
            _ids.AddRange(ids);
        }

        private string[] Pick(int count) => _ids.OrderBy(_ => _rng.Next()).Take(count).ToArray();

        private void Mutate()
        {
            var updated = Pick(25);
            _collection.Update(updated, metadatas: updated.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)RandomMetadata(_rng, removals: true)).ToArray());

            var upserted = Pick(10).Concat(Enumerable.Range(0, 5).Select(_ => "id" + _nextId++)).ToArray();
            _collection.Upsert(upserted, upserted.Select(_ => RandomVector(_rng)).ToArray(), upserted.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)RandomMetadata(_rng)).ToArray());
            _ids.AddRange(upserted.Where(id => !_ids.Contains(id)));

            var deleted = Pick(20);
            _collection.Delete(ids: deleted);
            _ids.RemoveAll(deleted.Contains);

            var byFilter = _collection.Get(where: Where.Eq("i", _rng.Next(-3, 4)), include: Include.None).Ids;
            _collection.Delete(where: Where.Eq("i", -3));
            _ids.RemoveAll(id => byFilter.Contains(id) || !_collection.Get(ids: [id], include: Include.None).Ids.Any());

            AddNew(30); // reuses the freed slots
        }

        private void Check()
        {
            for (var i = 0; i < 150; i++)
            {
                var where = RandomWhere(_rng, 3);
                var (fromIndex, fromSql) = _collection.EvaluateWhereBothWays(where);
                fromIndex.Should().NotBeNull();
                fromIndex.Should().Equal(fromSql, "seed {0}, filter {1}", seed, where.ToJson());
                _collection.EvaluateWhereOnRecords(where).Should().Equal(fromSql, "the read check's predicate agrees with SQL: seed {0}, filter {1}", seed, where.ToJson());
                FiltersChecked++;
                if (fromSql.Length > 0)
                {
                    NonEmptyChecks++;
                }

                if (i % 5 == 0)
                {
                    CheckQuery(where);
                }
            }
        }

        /// <summary>The query's hits are the k nearest of the records <c>Get(where)</c> (SQL) returns, by brute force.</summary>
        private void CheckQuery(Where where)
        {
            var query = RandomVector(_rng);
            const int K = 6;
            var allowed = _collection.Get(where: where, include: Include.Embeddings);
            var expected = allowed.Ids.Zip(allowed.Embeddings!, (id, e) => (Id: id, Distance: e.Zip(query, (a, b) => (double)(a - b) * (a - b)).Sum()))
                .OrderBy(x => x.Distance).Take(K).ToArray();
            var actual = _collection.Query([query], nResults: K, where: where, include: Include.Distances);
            actual.Ids[0].Should().HaveCount(expected.Length, "filter {0}", where.ToJson());
            actual.Ids[0].Should().BeSubsetOf(allowed.Ids);
            actual.Distances![0].Select(d => (double)d).Should().Equal(expected.Select(e => e.Distance), (a, b) => Math.Abs(a - b) < 1e-4);
        }
    }
}
