using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A derived path of the wrong kind (a folder where an arena or graph file belongs, a file where <c>vectors/</c>
/// belongs) is a damaged derived file: moved aside, logged, rebuilt from SQLite — the store answers correctly and keeps
/// working, instead of failing every call.
/// </summary>
public sealed class DerivedPathTests
{
    private const int Count = 60;

    private static ChromaStoreOptions Options(CapturingLogger logger) => new() { HnswThreshold = 20, Logger = logger };

    private static Collection Seed(StoreFixture fixture)
    {
        var collection = fixture.CreateCollection("docs");
        collection.Add(
            Enumerable.Range(0, Count).Select(i => "r" + i).ToArray(),
            Enumerable.Range(0, Count).Select(i => new float[] { i, i % 7, 1 }).ToArray());
        collection.WaitForIndex();
        return collection;
    }

    private static void AssertAnswers(Collection collection)
    {
        collection.Count().Should().Be(Count);
        collection.Get(ids: ["r13"], include: Include.Embeddings).Embeddings![0].Should().Equal(13f, 6f, 1f);
        collection.Query([[42f, 0, 1]], nResults: 1).Ids[0].Should().Equal("r42");
    }

    [Theory]
    [InlineData(".vec")]
    [InlineData(".hnsw")]
    public void Open_moves_aside_and_rebuilds_when_a_folder_stands_where_a_derived_file_belongs(string extension)
    {
        var logger = new CapturingLogger();
        using var fixture = new StoreFixture(Options(logger));
        var uuid = Seed(fixture).Id;
        fixture.Close();
        var path = Path.Combine(fixture.VectorsFolder, uuid.ToString("N") + extension);
        File.Delete(path);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "stray.txt"), "not a derived file");

        fixture.Reopen();
        var collection = fixture.Client.GetCollection("docs");
        AssertAnswers(collection);
        logger.Entries.Should().Contain(e => e.EventId.Id == 13 && e.Message.Contains(path, StringComparison.Ordinal));
        Directory.GetDirectories(fixture.VectorsFolder, uuid.ToString("N") + extension + ".damaged-*").Should().ContainSingle();
        File.Exists(path).Should().Be(extension == ".vec", "the arena is rebuilt at once; the graph when next saved");

        collection.Add(["extra"], [[1f, 2, 3]]);
        collection.WaitForIndex();
        fixture.Invoking(f => f.Reopen()).Should().NotThrow();
        fixture.Client.GetCollection("docs").Count().Should().Be(Count + 1);
    }

    [Fact]
    public void Open_moves_aside_and_rebuilds_when_a_file_stands_where_the_vectors_folder_belongs()
    {
        var logger = new CapturingLogger();
        using var fixture = new StoreFixture(Options(logger));
        Seed(fixture);
        fixture.Close();
        Directory.Delete(fixture.VectorsFolder, recursive: true);
        File.WriteAllText(fixture.VectorsFolder, "not a folder");

        fixture.Reopen();
        AssertAnswers(fixture.Client.GetCollection("docs"));
        logger.Entries.Should().Contain(e => e.EventId.Id == 13);
        Directory.Exists(fixture.VectorsFolder).Should().BeTrue();
        Directory.GetFiles(fixture.Folder, "vectors.damaged-*").Should().ContainSingle();
    }
}
