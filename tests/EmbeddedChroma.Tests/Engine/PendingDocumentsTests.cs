using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// Documents are indexed for <c>where_document</c> after the batch that writes them (<c>PendingDocuments</c>, the store's
/// background document indexer): until then a <c>where_document</c> read scans them exactly. Every answer stays exact
/// whether a document is indexed, pending, replaced or deleted in either state, across reopens and integrity checks.
/// </summary>
public sealed class PendingDocumentsTests : IDisposable
{
    private static readonly string[] Words = ["alpha", "beta", "gamma", "delta", "omega", "zeta", "kappa"];

    /// <summary>Indexes only when BuildIndex (or an integrity check) asks: documents stay pending otherwise.</summary>
    private static readonly ChromaStoreOptions Manual = new() { DocumentIndexQuietPeriod = Timeout.InfiniteTimeSpan, DocumentIndexOnRead = false };

    private readonly StoreFixture _fx = new(Manual);

    /// <summary>What the test wrote: id → document (null: none).</summary>
    private readonly SortedDictionary<string, string?> _documents = new(StringComparer.Ordinal);

    public void Dispose() => _fx.Dispose();

    private static float[] Vector(int i) => [i % 7, i % 5, 1f];

    private void Add(Collection collection, params (string Id, string? Document)[] records)
    {
        collection.Add(records.Select(r => r.Id).ToArray(), records.Select((r, i) => Vector(r.Id.GetHashCode(StringComparison.Ordinal) & 0xff)).ToArray(), documents: records.Select(r => r.Document).ToArray());
        foreach (var (id, document) in records)
        {
            _documents[id] = document;
        }
    }

    private void ShouldAnswerExactly(Collection collection, params string[] texts)
    {
        foreach (var text in texts)
        {
            var contains = _documents.Where(p => p.Value is not null && p.Value.Contains(text, StringComparison.Ordinal)).Select(p => p.Key).ToArray();
            collection.Get(whereDocument: WhereDocument.Contains(text), include: Include.None).Ids
                .Should().BeEquivalentTo(contains, $"$contains '{text}'");
            collection.Get(whereDocument: WhereDocument.NotContains(text), include: Include.None).Ids
                .Should().BeEquivalentTo(_documents.Keys.Except(contains), $"$not_contains '{text}' (records without a document match, as in Chroma)");
            collection.Query([[1f, 1f, 1f]], nResults: 1000, whereDocument: WhereDocument.Contains(text), include: Include.None).Ids[0]
                .Should().BeEquivalentTo(contains, $"query with $contains '{text}'");
        }
    }

    /// <summary>1 to <paramref name="most"/> of the written ids, drawn by <paramref name="random"/>.</summary>
    private string[] SomeIds(Random random, int most) => _documents.Keys.OrderBy(_ => random.Next()).Take(1 + random.Next(most)).ToArray();

    /// <summary>Deletes 1 to <paramref name="most"/> of the written records; returns their ids.</summary>
    private string[] DeleteSome(Collection collection, Random random, int most)
    {
        var ids = SomeIds(random, most);
        collection.Delete(ids);
        foreach (var id in ids)
        {
            _documents.Remove(id);
        }

        return ids;
    }

    private static long Unindexed(Collection collection) => collection.GetIndexingStatus().UnindexedDocuments;

    private void ShouldBeConsistent()
    {
        var report = _fx.Client.VerifyIntegrity();
        report.DocumentIndex.State.Should().Be(ChromaDerivedState.Checked, "the document index must match the documents exactly: {0}", report.DocumentIndex.Detail);
        report.Repaired.Should().BeFalse("nothing was damaged, pending documents included (SQLite's own check too): {0}", report);
        report.Damaged.Should().BeFalse();
    }

    [Fact]
    public void Add_leaves_documents_pending_and_where_document_finds_them_by_scanning_when_the_indexer_has_not_run()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma delta"), ("c", null), ("d", "beta omega"));

        Unindexed(collection).Should().Be(3, "three records hold a document and nothing asked for the index yet");
        collection.Get(whereDocument: WhereDocument.Contains("beta"), include: Include.None).Ids.Should().BeEquivalentTo(["a", "d"]);
        collection.Get(whereDocument: WhereDocument.NotContains("beta"), include: Include.None).Ids.Should().BeEquivalentTo(["b", "c"]);
        collection.Get(whereDocument: WhereDocument.Contains("et"), include: Include.None).Ids.Should().BeEquivalentTo(["a", "d"], "substrings shorter than a trigram too");
    }

    [Fact]
    public void BuildIndex_indexes_the_pending_documents_and_the_answers_stay_the_same()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma delta"), ("c", null), ("d", "beta omega"));
        ShouldAnswerExactly(collection, "beta", "gamma", "zzz");

        var status = collection.BuildIndex();

        status.UnindexedDocuments.Should().Be(0);
        Unindexed(collection).Should().Be(0);
        ShouldAnswerExactly(collection, "beta", "gamma", "zzz");
        ShouldBeConsistent();
    }

    [Fact]
    public void Replacing_and_deleting_records_keeps_the_index_exact_whether_their_documents_were_indexed_or_pending()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha one"), ("b", "beta two"), ("c", "gamma three"), ("d", "delta four"));
        collection.BuildIndex();
        Add(collection, ("e", "alpha five"), ("f", "beta six"), ("g", "gamma seven"));

        // Indexed a → replaced (its new version pending); indexed b → deleted; pending e → replaced; pending f → deleted;
        // indexed c → upserted without a document change (metadata only: the document moves to pending as it is).
        collection.Update(["a", "e"], documents: ["omega one", "omega five"]);
        _documents["a"] = "omega one";
        _documents["e"] = "omega five";
        collection.Delete(["b", "f"]);
        _documents.Remove("b");
        _documents.Remove("f");
        collection.Upsert(["c"], [Vector(3)], metadatas: [StoreFixture.Meta(("k", 1L))]);

        ShouldAnswerExactly(collection, "alpha", "beta", "omega", "gamma", "one");
        Unindexed(collection).Should().Be(4, "a, c, e (rewritten) and g (new) are pending");

        collection.BuildIndex();
        Unindexed(collection).Should().Be(0);
        ShouldAnswerExactly(collection, "alpha", "beta", "omega", "gamma", "one");
        ShouldBeConsistent();
    }

    [Fact]
    public void A_where_document_read_has_the_pending_documents_indexed_in_the_background()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { DocumentIndexQuietPeriod = Timeout.InfiniteTimeSpan });
        var collection = fx.CreateCollection();
        Add(collection, Enumerable.Range(0, 50).Select(i => ($"r{i}", (string?)$"{Words[i % Words.Length]} number {i}")).ToArray());
        Unindexed(collection).Should().Be(50);

        collection.Get(whereDocument: WhereDocument.Contains("kappa"), include: Include.None);

        WaitFor(() => Unindexed(collection) == 0).Should().BeTrue("the read asked the background indexer for the collection's pending documents");
        ShouldAnswerExactly(collection, "kappa", "number 4", "zeta");
    }

    [Fact]
    public void Documents_are_indexed_in_the_background_once_writes_pause()
    {
        using var fx = new StoreFixture(new ChromaStoreOptions { DocumentIndexQuietPeriod = TimeSpan.FromMilliseconds(50) });
        var collection = fx.CreateCollection();
        collection.Add(["a", "b"], [Vector(1), Vector(2)], documents: ["alpha", "beta"]);

        WaitFor(() => collection.GetIndexingStatus().UnindexedDocuments == 0).Should().BeTrue("writes paused for longer than the quiet period");
        collection.Get(whereDocument: WhereDocument.Contains("beta"), include: Include.None).Ids.Should().Equal("b");
    }

    [Fact]
    public void Pending_documents_survive_a_reopen_and_are_found_and_indexed_after_it()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma delta"));
        collection.BuildIndex();
        Add(collection, ("c", "beta gamma"), ("d", "omega"));

        _fx.Reopen();
        collection = _fx.Client.GetCollection("test");
        Unindexed(collection).Should().Be(2);
        ShouldAnswerExactly(collection, "beta", "gamma", "omega");

        collection.BuildIndex();
        ShouldAnswerExactly(collection, "beta", "gamma", "omega");
        ShouldBeConsistent();
    }

    [Fact]
    public void VerifyIntegrity_with_pending_documents_indexes_them_and_reports_no_damage()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma delta"));
        collection.BuildIndex();
        Add(collection, ("c", "beta gamma"));
        collection.Delete(["a"]);
        _documents.Remove("a");

        ShouldBeConsistent();

        Unindexed(collection).Should().Be(0, "FTS5's full check compares the index with every document: pending ones are indexed first");
        ShouldAnswerExactly(collection, "beta", "gamma");
    }

    [Fact]
    public void Deleting_a_collection_with_indexed_and_pending_documents_leaves_the_index_exact_for_the_others()
    {
        var doomed = _fx.CreateCollection("doomed");
        doomed.Add(["x", "y"], [Vector(1), Vector(2)], documents: ["beta doomed", "gamma doomed"]);
        doomed.BuildIndex();
        doomed.Add(["z"], [Vector(3)], documents: ["beta pending doomed"]);
        var kept = _fx.CreateCollection("kept");
        Add(kept, ("a", "beta kept"), ("b", "alpha kept"));
        kept.BuildIndex();
        Add(kept, ("c", "beta new"));

        _fx.Client.DeleteCollection("doomed");

        ShouldAnswerExactly(kept, "beta", "doomed", "kept");
        ShouldBeConsistent();
    }

    [Fact]
    public void A_version_3_store_is_upgraded_with_its_documents_counted_as_indexed_and_not_indexed_twice()
    {
        MakeVersion3Store();

        _fx.Reopen();

        StoreDatabase.Scalar(_fx.Folder, "SELECT value FROM store_meta WHERE key = 'schema_version'").Should().Be("4");
        var collection = _fx.Client.GetCollection("test");
        Unindexed(collection).Should().Be(0);
        Add(collection, ("c", "beta later"));
        ShouldAnswerExactly(collection, "beta", "gamma");
        collection.BuildIndex();
        ShouldBeConsistent();
    }

    [Fact]
    public void A_version_3_store_opens_read_only_without_an_upgrade_and_answers_from_its_index()
    {
        MakeVersion3Store();

        _fx.Options = Manual with { ReadOnly = true };
        _fx.Reopen();

        var collection = _fx.Client.GetCollection("test");
        collection.Get(whereDocument: WhereDocument.Contains("beta"), include: Include.None).Ids.Should().Equal("a");
        StoreDatabase.Scalar(_fx.Folder, "SELECT value FROM store_meta WHERE key = 'schema_version'").Should().Be("3", "a read-only open writes nothing");
    }

    [Fact]
    public void A_mark_changed_while_the_store_was_closed_is_not_trusted_and_pending_documents_are_still_found()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma"));
        collection.BuildIndex();
        // A where_document read verifies the index, so the close stamps it (the digest covers the marks too).
        collection.Get(whereDocument: WhereDocument.Contains("alpha"), include: Include.None).Ids.Should().Equal("a");
        Add(collection, ("c", "beta pending"));
        _fx.Close();
        // The mark now claims the pending document is indexed.
        StoreDatabase.Execute(_fx.Folder, "UPDATE store_meta SET value = '999999' WHERE key LIKE 'documents_indexed:%'");

        _fx.Reopen();

        collection = _fx.Client.GetCollection("test");
        ShouldAnswerExactly(collection, "beta", "pending", "gamma");
        ShouldBeConsistent();
    }

    [Fact]
    public void Random_writes_indexes_and_reopens_keep_every_document_filter_exact()
    {
        var random = new Random(20261207);
        var collection = _fx.CreateCollection();
        var next = 0;
        string Document() => random.Next(5) == 0 ? null! : string.Join(' ', Enumerable.Range(0, 1 + random.Next(4)).Select(_ => Words[random.Next(Words.Length)]));

        for (var step = 0; step < 60; step++)
        {
            switch (random.Next(10))
            {
                case < 4:
                    Add(collection, Enumerable.Range(0, 1 + random.Next(6)).Select(_ => ($"r{next++}", (string?)Document())).ToArray());
                    break;
                case 4 or 5 when _documents.Count > 0:
                {
                    var ids = SomeIds(random, 3);
                    var documents = ids.Select(_ => Document() ?? "plain").ToArray();
                    collection.Update(ids, documents: documents);
                    for (var i = 0; i < ids.Length; i++)
                    {
                        _documents[ids[i]] = documents[i];
                    }

                    break;
                }

                case 6 when _documents.Count > 0:
                    DeleteSome(collection, random, 3);
                    break;

                case 7:
                    collection.BuildIndex();
                    break;
                case 8 when step % 3 == 0:
                    _fx.Reopen();
                    collection = _fx.Client.GetCollection("test");
                    break;
                default:
                    ShouldAnswerExactly(collection, Words[random.Next(Words.Length)], "ta", "a b");
                    break;
            }
        }

        ShouldAnswerExactly(collection, Words);
        collection.BuildIndex();
        ShouldAnswerExactly(collection, Words);
        ShouldBeConsistent();
    }

    [Fact]
    public void The_unindexed_document_count_read_after_every_write_stays_exact_through_replacements_deletes_index_builds_and_reopens()
    {
        // The count is kept from what changed since it was last read (records written since, documents indexed since):
        // read after every step, it must still equal the pending documents of a model that knows every write.
        var random = new Random(7120);
        var collection = _fx.CreateCollection();
        var pending = new Dictionary<string, bool>(StringComparer.Ordinal); // id → written since the last index build, with a document
        var next = 0;
        string? Document() => random.Next(4) == 0 ? null : Words[random.Next(Words.Length)] + " " + next;
        long Expected() => pending.Count(p => p.Value);

        for (var step = 0; step < 120; step++)
        {
            switch (random.Next(12))
            {
                case < 4:
                {
                    var records = Enumerable.Range(0, 1 + random.Next(20)).Select(_ => ($"r{next++}", Document())).ToArray();
                    Add(collection, records);
                    foreach (var (id, document) in records)
                    {
                        pending[id] = document is not null;
                    }

                    break;
                }

                case 4 when _documents.Count > 0:
                {
                    // Upsert: some existing records (indexed or pending), some new ones; a null document keeps the stored one.
                    var ids = _documents.Keys.OrderBy(_ => random.Next()).Take(1 + random.Next(4)).Append($"r{next++}").ToArray();
                    var documents = ids.Select(_ => Document()).ToArray();
                    collection.Upsert(ids, ids.Select((_, i) => Vector(i)).ToArray(), documents: documents);
                    for (var i = 0; i < ids.Length; i++)
                    {
                        var kept = documents[i] ?? _documents.GetValueOrDefault(ids[i]);
                        _documents[ids[i]] = kept;
                        pending[ids[i]] = kept is not null;
                    }

                    break;
                }

                case 5 when _documents.Count > 0:
                {
                    // Update without a document keeps the stored one; the record is rewritten either way.
                    var ids = SomeIds(random, 4);
                    var metadatas = ids.Select(_ => (IReadOnlyDictionary<string, MetadataValue?>?)new Dictionary<string, MetadataValue?> { ["step"] = step }).ToArray();
                    collection.Update(ids, metadatas: metadatas);
                    foreach (var id in ids)
                    {
                        pending[id] = _documents[id] is not null;
                    }

                    break;
                }

                case 6 when _documents.Count > 0:
                    foreach (var id in DeleteSome(collection, random, 4))
                    {
                        pending.Remove(id);
                    }

                    break;

                case 7:
                    collection.BuildIndex();
                    foreach (var id in pending.Keys.ToArray())
                    {
                        pending[id] = false;
                    }

                    break;
                case 8 when step % 4 == 0:
                    _fx.Reopen();
                    collection = _fx.Client.GetCollection("test");
                    break;
                default:
                    break;
            }

            Unindexed(collection).Should().Be(Expected(), "step {0}: the documents written since the last index build", step);
            Unindexed(collection).Should().Be(Expected(), "step {0}: read again with nothing changed", step);
        }

        collection.BuildIndex();
        Unindexed(collection).Should().Be(0);
        ShouldAnswerExactly(collection, Words);
        ShouldBeConsistent();
    }

    /// <summary>A closed store as a version-3 library leaves it: every document indexed in its batch, no marks.</summary>
    private void MakeVersion3Store()
    {
        var collection = _fx.CreateCollection();
        Add(collection, ("a", "alpha beta"), ("b", "gamma delta"));
        collection.BuildIndex();
        _fx.Close();
        StoreDatabase.Execute(_fx.Folder, "DELETE FROM store_meta WHERE key LIKE 'documents_indexed:%'; UPDATE store_meta SET value = '3' WHERE key = 'schema_version';");
    }

    private static bool WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
            {
                return true;
            }

            Thread.Sleep(20);
        }

        return condition();
    }
}
