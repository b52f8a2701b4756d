using EmbeddedChroma.Tests.TestUtilities;
using static EmbeddedChroma.Tests.TestUtilities.StoreFixture;

namespace EmbeddedChroma.Tests.Api;

public sealed class DeleteTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private Collection Seeded()
    {
        var c = _fx.CreateCollection();
        c.Add(
            ["a", "b", "c", "d"],
            [[1f, 0f], [2f, 0f], [3f, 0f], [4f, 0f]],
            [Meta(("group", "x")), Meta(("group", "y")), Meta(("group", "x")), null],
            ["apple pie", "banana split", "cherry tart", null]);
        return c;
    }

    [Fact]
    public void Delete_by_ids_returns_number_deleted_and_ignores_missing_ids()
    {
        var c = Seeded();

        var deleted = c.Delete(["b", "ghost", "d"]);

        deleted.Should().Be(2);
        c.Get().Ids.Should().Equal("a", "c");
        c.Count().Should().Be(2);
    }

    [Fact]
    public void Delete_by_where_returns_number_deleted()
    {
        var c = Seeded();

        c.Delete(where: Where.Eq("group", "x")).Should().Be(2);

        c.Get().Ids.Should().Equal("b", "d");
    }

    [Fact]
    public void Delete_by_where_document_returns_number_deleted()
    {
        var c = Seeded();

        c.Delete(whereDocument: WhereDocument.Contains("an")).Should().Be(1);

        c.Get().Ids.Should().Equal("a", "c", "d");
        c.Get(whereDocument: WhereDocument.Contains("banana")).Ids.Should().BeEmpty();
    }

    [Fact]
    public void Delete_intersects_selectors_when_several_are_given()
    {
        var c = Seeded();

        c.Delete(["a", "b", "d"], Where.Eq("group", "x")).Should().Be(1);

        c.Get().Ids.Should().Equal("b", "c", "d");
    }

    [Fact]
    public void Delete_returns_zero_when_nothing_matches()
    {
        var c = Seeded();

        c.Delete(where: Where.Eq("group", "none")).Should().Be(0);
        c.Delete(["ghost"]).Should().Be(0);

        c.Count().Should().Be(4);
    }

    [Fact]
    public void Delete_throws_validation_when_no_selector_is_given()
    {
        var c = Seeded();

        var act = () => c.Delete();

        act.Should().Throw<ChromaValidationException>().WithMessage("*ids, where or where_document*");
        c.Count().Should().Be(4);
    }

    [Fact]
    public void Delete_throws_validation_naming_duplicates_when_ids_repeat()
    {
        var c = Seeded();

        var act = () => c.Delete(["a", "a"]);

        act.Should().Throw<ChromaValidationException>().WithMessage("*duplicate*'a'*");
        c.Count().Should().Be(4);
    }

    [Fact]
    public void Query_never_returns_deleted_ids_when_records_were_deleted()
    {
        var random = new Random(99);
        var c = _fx.CreateCollection();
        var ids = Enumerable.Range(0, 90).Select(i => $"r{i}").ToArray();
        var vectors = ids.Select(_ => Enumerable.Range(0, 6).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        c.Add(ids, vectors);
        var victims = ids.Where((_, i) => i % 3 == 0).ToArray();

        c.Delete(victims).Should().Be(30);

        var result = c.Query(vectors.Take(20).ToArray(), nResults: 90);
        foreach (var list in result.Ids)
        {
            list.Should().HaveCount(60).And.NotContain(victims);
        }

        c.Get().Ids.Should().NotContain(victims).And.HaveCount(60);
    }

    [Fact]
    public void Add_reuses_deleted_slots_and_returns_the_new_records_when_records_were_deleted()
    {
        var c = Seeded();
        c.Delete(["a", "c"]);

        c.Add(["e", "f", "g"], [[10f, 0f], [11f, 0f], [12f, 0f]], documents: ["e doc", "f doc", "g doc"]);

        c.Count().Should().Be(5);
        var all = Everything(c);
        all.Ids.Should().Equal("b", "d", "e", "f", "g");
        all.Embeddings.Should().BeEquivalentTo(new[] { new[] { 2f, 0f }, new[] { 4f, 0f }, new[] { 10f, 0f }, new[] { 11f, 0f }, new[] { 12f, 0f } }, o => o.WithStrictOrdering());
        var q = c.Query([[1f, 0f]], nResults: 10);
        q.Ids[0].Should().Equal("b", "d", "e", "f", "g");
        q.Distances![0].Should().Equal(1f, 9f, 81f, 100f, 121f);
        c.Query([[10f, 0f]], nResults: 1).Ids[0].Should().Equal("e");
    }

    [Fact]
    public void Add_accepts_a_deleted_id_again_with_new_content()
    {
        var c = Seeded();
        c.Delete(["a"]);

        c.Add(["a"], [[9f, 9f]], [Meta(("group", "new"))], ["reborn"]);

        var a = c.Get(["a"], include: Include.Embeddings | Include.Metadatas | Include.Documents);
        a.Embeddings![0].Should().Equal(9f, 9f);
        ShouldHaveMetadata(a.Metadatas![0], ("group", "new"));
        a.Documents![0].Should().Be("reborn");
        c.Get(whereDocument: WhereDocument.Contains("apple")).Ids.Should().BeEmpty();
        c.Get().Ids.Should().Equal("b", "c", "d", "a");
    }

    [Fact]
    public void Delete_then_add_keeps_results_consistent_over_many_rounds()
    {
        var random = new Random(7);
        var c = _fx.CreateCollection(space: DistanceSpace.InnerProduct);
        var live = new Dictionary<string, float[]>();
        var next = 0;
        for (var round = 0; round < 15; round++)
        {
            var batch = Enumerable.Range(0, 8).Select(_ => ($"id{next++}", Enumerable.Range(0, 4).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray())).ToArray();
            c.Add(batch.Select(b => b.Item1).ToArray(), batch.Select(b => b.Item2).ToArray());
            foreach (var (id, v) in batch)
            {
                live[id] = v;
            }

            var victims = live.Keys.Where(_ => random.NextDouble() < 0.4).ToArray();
            if (victims.Length > 0)
            {
                c.Delete(victims).Should().Be(victims.Length);
                foreach (var v in victims)
                {
                    live.Remove(v);
                }
            }

            c.Count().Should().Be(live.Count);
            var query = new[] { (float)random.NextDouble(), (float)random.NextDouble(), 0.5f, -0.5f };
            var expected = live
                .Select(p => (p.Key, Distance: 1 - p.Value.Select((x, i) => (double)x * query[i]).Sum()))
                .OrderBy(p => p.Distance)
                .Take(5)
                .Select(p => p.Key);
            c.Query([query], nResults: 5).Ids[0].Should().Equal(expected, $"round {round}");
        }
    }
}
