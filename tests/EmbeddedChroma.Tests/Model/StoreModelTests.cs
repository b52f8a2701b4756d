using System.Globalization;
using EmbeddedChroma.Tests.TestUtilities;
using Xunit.Sdk;

namespace EmbeddedChroma.Tests.Model;

/// <summary>
/// Model-based tests: seeded random sequences of add / upsert / update / delete / get / query / count run
/// against the store and against <see cref="ReferenceModel"/>; the results must agree after every
/// operation, including across a close and reopen of the store midway.
/// </summary>
public sealed class StoreModelTests
{
    private const int Dimension = 8;
    private const int IdPoolSize = 40;
    private const int Operations = 500;
    private const double Tolerance = 1e-4;

    private static readonly string[] Vocabulary =
        ["apple", "Apple", "banana", "cherry", "date", "fig", "grape", "kiwi", "x*y", "a?b", "[br]", "naïve", "日本"];

    private static readonly string[] Keys = ["n", "s", "f"];

    private static readonly string[] Colors = ["red", "green", "blue"];

    private static readonly double[] Floats = [0.5, 1.0, 2.5, 3.0, -1.5];

    [Theory]
    [InlineData(11, DistanceSpace.L2)]
    [InlineData(23, DistanceSpace.L2)]
    [InlineData(37, DistanceSpace.L2)]
    [InlineData(41, DistanceSpace.L2)]
    [InlineData(53, DistanceSpace.Cosine)]
    [InlineData(67, DistanceSpace.InnerProduct)]
    public void RandomOperations_match_reference_model_when_run_with_fixed_seed(int seed, DistanceSpace space)
    {
        new Run(seed, space).Execute();
    }

    private sealed class Run(int seed, DistanceSpace space)
    {
        private readonly Random _rng = new(seed);
        private readonly ReferenceModel _model = new(space);
        private readonly string[] _ids = Enumerable.Range(0, IdPoolSize).Select(i => $"id-{i:D2}").ToArray();
        private float[][] _sharedEmbeddings = [];
        private ChromaStore? _store;
        private Collection? _collection;
        private string _adminKey = "";
        private int _nonEmptyQueries;
        private int _nonEmptyFilteredGets;
        private int _filteredDeletesThatRemoved;

        public void Execute()
        {
            _sharedEmbeddings = Enumerable.Range(0, 6).Select(_ => RandomVector()).ToArray();
            using var folder = new TempStoreFolder("ec-model");
            _store = ChromaStore.Create(folder.Path, out _adminKey);
            try
            {
                _collection = _store.GetClient(_adminKey).CreateCollection("col1", new CollectionOptions
                {
                    Configuration = new CollectionConfiguration { Space = space },
                });

                for (var step = 0; step < Operations; step++)
                {
                    if (step == Operations / 2)
                    {
                        Reopen(folder.Path);
                        Check(step, "reopen");
                    }

                    var description = Step();
                    Check(step, description);
                }
            }
            finally
            {
                _store.Dispose();
            }

            // Guard against a vacuous run: the random sequence must exercise the interesting paths.
            _nonEmptyQueries.Should().BeGreaterThan(20, "queries must often return results");
            _nonEmptyFilteredGets.Should().BeGreaterThan(5, "filtered gets must often match records");
            _filteredDeletesThatRemoved.Should().BeGreaterThan(0, "some filtered delete must remove records");
        }

        private void Reopen(string path)
        {
            _store!.Dispose();
            _store = ChromaStore.Open(path);
            _collection = _store.GetClient(_adminKey).GetCollection("col1");
            _collection.Configuration.Space.Should().Be(space);
        }

        private void Check(int step, string description)
        {
            try
            {
                _collection!.Count().Should().Be(_model.Count, "count");
                var all = _collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
                AssertGet(all, _model.Ordered, includeEmbeddings: true);
            }
            catch (XunitException ex)
            {
                throw new XunitException($"seed {seed} ({space}), after step {step}: {description}\nfull-state check failed: {ex.Message}");
            }
        }

        private string Step()
        {
            var roll = _rng.Next(100);
            var description = "";
            try
            {
                return roll switch
                {
                    < 16 => description = DoAdd(),
                    < 31 => description = DoUpsert(),
                    < 43 => description = DoUpdate(),
                    < 50 => description = DoDeleteByIds(),
                    < 56 => description = DoDeleteByFilter(),
                    < 75 => description = DoGet(),
                    < 96 => description = DoQuery(),
                    _ => description = DoCount(),
                };
            }
            catch (XunitException ex)
            {
                throw new XunitException($"seed {seed} ({space}), operation roll {roll}: {description}\n{ex.Message}");
            }
        }

        // ---- writes ----

        private string DoAdd()
        {
            var ids = PickIds(_rng.Next(1, 6));
            var embeddings = ids.Select(_ => EmbeddingFor()).ToList();
            var metadatas = _rng.Next(4) == 0 ? null : ids.Select(_ => RandomMetadata(allowNulls: false)).ToList();
            var documents = _rng.Next(4) == 0 ? null : ids.Select(_ => RandomDocument()).ToList();
            _collection!.Add(ids, embeddings, metadatas, documents);
            _model.Add(ids, embeddings, metadatas, documents);
            return $"add [{string.Join(",", ids)}] metadatas {Show(metadatas)} documents {Show(documents)}";
        }

        private string DoUpsert()
        {
            var ids = PickIds(_rng.Next(1, 6));
            var embeddings = ids.Select(_ => EmbeddingFor()).ToList();
            var metadatas = _rng.Next(4) == 0 ? null : ids.Select(_ => RandomMetadata(allowNulls: true)).ToList();
            var documents = _rng.Next(4) == 0 ? null : ids.Select(_ => RandomDocument()).ToList();
            _collection!.Upsert(ids, embeddings, metadatas, documents);
            _model.Upsert(ids, embeddings, metadatas, documents);
            return $"upsert [{string.Join(",", ids)}] metadatas {Show(metadatas)} documents {Show(documents)}";
        }

        private string DoUpdate()
        {
            var ids = PickIds(_rng.Next(1, 6));
            List<float[]>? embeddings;
            List<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas;
            List<string?>? documents;
            do
            {
                embeddings = _rng.Next(2) == 0 ? null : ids.Select(_ => EmbeddingFor()).ToList();
                metadatas = _rng.Next(3) == 0 ? null : ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)RandomMetadata(allowNulls: true)).ToList();
                documents = _rng.Next(3) == 0 ? null : ids.Select(_ => RandomDocument()).ToList();
            }
            while (embeddings is null && metadatas is null && documents is null);

            _collection!.Update(ids, embeddings, metadatas, documents);
            _model.Update(ids, embeddings, metadatas, documents);
            return $"update [{string.Join(",", ids)}] embeddings {(embeddings is null ? "none" : "given")} metadatas {Show(metadatas)} documents {Show(documents)}";
        }

        private string DoDeleteByIds()
        {
            var ids = PickIds(_rng.Next(1, 6));
            var deleted = _collection!.Delete(ids);
            var expected = _model.Delete(ids, null, null);
            deleted.Should().Be(expected, "delete returns the number of records deleted");
            return $"delete ids [{string.Join(",", ids)}] -> {expected}";
        }

        private string DoDeleteByFilter()
        {
            var where = _rng.Next(4) == 0 ? null : RandomWhere(0);
            var whereDocument = where is null || _rng.Next(3) == 0 ? RandomWhereDocument(0) : null;
            var ids = _rng.Next(4) == 0 ? PickIds(_rng.Next(1, 10)) : null;
            var description = $"delete where {where} where_document {whereDocument} ids {(ids is null ? "none" : string.Join(",", ids))}";
            var deleted = _collection!.Delete(ids, ToWhere(where), ToWhereDocument(whereDocument));
            var expected = _model.Delete(ids, where, whereDocument);
            deleted.Should().Be(expected, "delete returns the number of records deleted");
            _filteredDeletesThatRemoved += expected > 0 ? 1 : 0;
            return description + $" -> {expected}";
        }

        // ---- reads ----

        private string DoGet()
        {
            var ids = _rng.Next(3) == 0 ? PickIds(_rng.Next(1, 8)) : null;
            var where = _rng.Next(2) == 0 ? RandomWhere(0) : null;
            var whereDocument = _rng.Next(3) == 0 ? RandomWhereDocument(0) : null;
            int? limit = _rng.Next(3) == 0 ? _rng.Next(1, 10) : null;
            var offset = _rng.Next(3) == 0 ? _rng.Next(0, 10) : 0;
            var description = $"get ids {(ids is null ? "none" : string.Join(",", ids))} where {where} where_document {whereDocument} limit {limit} offset {offset}";
            var result = _collection!.Get(ids, ToWhere(where), ToWhereDocument(whereDocument), limit, offset, Include.Metadatas | Include.Documents);
            var expected = _model.Select(ids, where, whereDocument).Skip(offset).Take(limit ?? int.MaxValue).ToList();
            AssertGet(result, expected, includeEmbeddings: false);
            _nonEmptyFilteredGets += expected.Count > 0 && (where is not null || whereDocument is not null) ? 1 : 0;
            return description;
        }

        private string DoQuery()
        {
            var queries = Enumerable.Range(0, _rng.Next(1, 4)).Select(_ => QueryVector()).ToList();
            var nResults = _rng.Next(1, 13);
            var where = _rng.Next(5) < 2 ? RandomWhere(0) : null;
            var whereDocument = _rng.Next(4) == 0 ? RandomWhereDocument(0) : null;
            var ids = _rng.Next(5) == 0 ? PickIds(_rng.Next(1, 15)) : null;
            var description = $"query x{queries.Count} n_results {nResults} where {where} where_document {whereDocument} ids {(ids is null ? "none" : string.Join(",", ids))}";
            var result = _collection!.Query(queries, nResults, ToWhere(where), ToWhereDocument(whereDocument), ids, Include.Metadatas | Include.Documents | Include.Distances | Include.Embeddings);
            var candidates = _model.Select(ids, where, whereDocument);
            result.Ids.Should().HaveCount(queries.Count);
            for (var q = 0; q < queries.Count; q++)
            {
                AssertNeighbors(queries[q], nResults, candidates, result, q);
            }

            return description;
        }

        private string DoCount()
        {
            _collection!.Count().Should().Be(_model.Count);
            return "count";
        }

        private void AssertNeighbors(float[] query, int nResults, List<RefRecord> candidates, QueryResult result, int q)
        {
            var expected = candidates.Select(r => (r.Id, Distance: _model.Distance(query, r.Embedding))).OrderBy(x => x.Distance).ToList();
            var k = Math.Min(nResults, expected.Count);
            _nonEmptyQueries += k > 0 ? 1 : 0;
            var ids = result.Ids[q];
            var distances = result.Distances![q];
            ids.Should().HaveCount(k, $"query {q} returns min(n_results, matching records)");
            ids.Should().OnlyHaveUniqueItems();
            distances.Should().HaveCount(k);
            if (k == 0)
            {
                return;
            }

            var byId = expected.ToDictionary(x => x.Id, x => x.Distance, StringComparer.Ordinal);
            var kth = expected[k - 1].Distance;
            for (var i = 0; i < k; i++)
            {
                byId.Should().ContainKey(ids[i], $"query {q} result {i} must be one of the matching records");
                ((double)distances[i]).Should().BeApproximately(byId[ids[i]], Tolerance, $"query {q} result {i} ({ids[i]}) distance");
                byId[ids[i]].Should().BeLessThanOrEqualTo(kth + Tolerance, $"query {q} result {i} ({ids[i]}) must be among the {k} nearest");
                if (i > 0)
                {
                    distances[i].Should().BeGreaterThanOrEqualTo((float)(distances[i - 1] - Tolerance), $"query {q} distances ascend");
                }

                var record = _model.Find(ids[i])!;
                ReferenceModel.Describe(result.Metadatas![q][i]).Should().Be(ReferenceModel.Describe(record.Metadata), $"metadata of {ids[i]}");
                result.Documents![q][i].Should().Be(record.Document, $"document of {ids[i]}");
                result.Embeddings![q][i].Should().Equal(record.Embedding, $"embedding of {ids[i]}");
            }

            // Every record strictly nearer than the k-th distance (beyond the tie tolerance) must be returned.
            var mustHave = expected.Where(x => x.Distance < kth - Tolerance).Select(x => x.Id).ToList();
            ids.Intersect(mustHave).Should().HaveCount(mustHave.Count, $"query {q}: records strictly nearer than the k-th must be returned");
        }

        private static void AssertGet(GetResult result, IReadOnlyList<RefRecord> expected, bool includeEmbeddings)
        {
            result.Ids.Should().Equal(expected.Select(r => r.Id), "ids in insertion order");
            result.Metadatas!.Select(ReferenceModel.Describe).Should().Equal(expected.Select(r => ReferenceModel.Describe(r.Metadata)), "metadatas");
            result.Documents.Should().Equal(expected.Select(r => r.Document), "documents");
            if (includeEmbeddings)
            {
                for (var i = 0; i < expected.Count; i++)
                {
                    result.Embeddings![i].Should().Equal(expected[i].Embedding, $"embedding of {expected[i].Id}");
                }
            }
        }

        // ---- generators ----

        private List<string> PickIds(int count) =>
            _ids.OrderBy(_ => _rng.Next()).Take(count).ToList();

        private float[] RandomVector()
        {
            var v = new float[Dimension];
            for (var i = 0; i < v.Length; i++)
            {
                // Two decimals: exact ties between different vectors are possible, and no vector is all zeros.
                v[i] = (float)Math.Round((_rng.NextDouble() * 2) - 1, 2);
            }

            v[0] = v[0] == 0 ? 0.5f : v[0];
            return v;
        }

        private float[] EmbeddingFor() =>
            _rng.Next(5) == 0 ? (float[])_sharedEmbeddings[_rng.Next(_sharedEmbeddings.Length)].Clone() : RandomVector();

        private float[] QueryVector()
        {
            var existing = _model.Ordered;
            return _rng.Next(4) switch
            {
                0 when existing.Count > 0 => (float[])existing[_rng.Next(existing.Count)].Embedding.Clone(),
                1 => (float[])_sharedEmbeddings[_rng.Next(_sharedEmbeddings.Length)].Clone(),
                _ => RandomVector(),
            };
        }

        private object RandomScalar(string key) => key switch
        {
            "n" => _rng.Next(2) == 0 ? (object)(long)_rng.Next(0, 5) : Floats[_rng.Next(Floats.Length)],
            "s" => _rng.Next(6) == 0 ? 1L : Colors[_rng.Next(Colors.Length)],
            "f" => _rng.Next(2) == 0,
            _ => throw new InvalidOperationException(key),
        };

        private Dictionary<string, MetadataValue?>? RandomMetadata(bool allowNulls)
        {
            if (_rng.Next(6) == 0)
            {
                return null;
            }

            var metadata = new Dictionary<string, MetadataValue?>(StringComparer.Ordinal);
            foreach (var key in Keys)
            {
                var roll = _rng.Next(10);
                if (roll < 3)
                {
                    continue;
                }

                if (roll == 3 && allowNulls)
                {
                    metadata[key] = null;
                    continue;
                }

                var value = RandomScalar(key);

                // Plain ints exercise the int → long normalization.
                metadata[key] = MetadataValue.FromObject(value is long l && _rng.Next(2) == 0 ? (int)l : value);
            }

            return metadata.Count == 0 ? null : metadata;
        }

        private string? RandomDocument()
        {
            if (_rng.Next(5) == 0)
            {
                return null;
            }

            var words = Enumerable.Range(0, _rng.Next(1, 4)).Select(_ => Vocabulary[_rng.Next(Vocabulary.Length)]);
            return string.Join(' ', words);
        }

        private ModelWhere RandomWhere(int depth)
        {
            if (depth < 2 && _rng.Next(4) == 0)
            {
                var clauses = Enumerable.Range(0, _rng.Next(2, 4)).Select(_ => RandomWhere(depth + 1)).ToArray();
                return new ModelLogical(_rng.Next(2) == 0, clauses);
            }

            var key = _rng.Next(12) == 0 ? "missing" : Keys[_rng.Next(Keys.Length)];
            string[] ops = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"];
            var op = ops[_rng.Next(ops.Length)];
            switch (op)
            {
                case "$gt" or "$gte" or "$lt" or "$lte":
                    return new ModelComparison(key, op, [RandomScalar("n")]);
                case "$in" or "$nin":
                    var category = _rng.Next(3) == 0 ? RandomKeyOtherThan(key) : key == "missing" ? "n" : key;
                    var values = Enumerable.Range(0, _rng.Next(1, 4)).Select(_ => RandomScalarOfCategory(category)).ToArray();
                    return new ModelComparison(key, op, values);
                default:
                    var valueKey = _rng.Next(5) == 0 ? RandomKeyOtherThan(key) : key == "missing" ? "s" : key;
                    return new ModelComparison(key, op, [RandomScalar(valueKey)]);
            }
        }

        private string RandomKeyOtherThan(string key) => Keys.Where(k => k != key).ElementAt(_rng.Next(key == "missing" ? 3 : 2));

        /// <summary>A value of one filter category (numbers, strings or bools), so $in lists never mix categories.</summary>
        private object RandomScalarOfCategory(string key) => key switch
        {
            "n" => RandomScalar("n"),
            "s" => Colors[_rng.Next(Colors.Length)],
            _ => _rng.Next(2) == 0,
        };

        private ModelWhereDocument RandomWhereDocument(int depth)
        {
            if (depth < 1 && _rng.Next(4) == 0)
            {
                var clauses = Enumerable.Range(0, _rng.Next(2, 4)).Select(_ => RandomWhereDocument(depth + 1)).ToArray();
                return new ModelDocumentLogical(_rng.Next(2) == 0, clauses);
            }

            var word = Vocabulary[_rng.Next(Vocabulary.Length)];
            string text;
            switch (_rng.Next(4))
            {
                case 0:
                    text = word;
                    break;
                case 1:
                    var start = _rng.Next(word.Length);
                    text = word.Substring(start, _rng.Next(1, Math.Min(4, word.Length - start) + 1));
                    break;
                case 2:
                    text = word + " " + Vocabulary[_rng.Next(Vocabulary.Length)];
                    break;
                default:
                    text = word.ToUpperInvariant();
                    break;
            }

            return new ModelDocumentText(_rng.Next(3) == 0, text);
        }

        /// <summary>Builds the library filter through the factories or, half of the time, by parsing the JSON form.</summary>
        private Where? ToWhere(ModelWhere? where)
        {
            if (where is null)
            {
                return null;
            }

            return _rng.Next(2) == 0 ? where.ToWhere() : Where.Parse(where.ToJson(bare: _rng.Next(2) == 0));
        }

        private WhereDocument? ToWhereDocument(ModelWhereDocument? whereDocument)
        {
            if (whereDocument is null)
            {
                return null;
            }

            return _rng.Next(2) == 0 ? whereDocument.ToWhereDocument() : WhereDocument.Parse(whereDocument.ToJson());
        }

        private static string Show(IReadOnlyList<string?>? documents) =>
            documents is null ? "none" : "[" + string.Join(" | ", documents.Select(d => d ?? "null")) + "]";

        private static string Show(IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas) =>
            metadatas is null
                ? "none"
                : "[" + string.Join(" ", metadatas.Select(m => m is null ? "null" : "{" + string.Join(",", m.Select(p => $"{p.Key}={Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "null"}")) + "}")) + "]";
    }
}
