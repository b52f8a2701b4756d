using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

public class ExactScanIndexTests
{
    [Theory]
    [InlineData(DistanceSpace.L2)]
    [InlineData(DistanceSpace.Cosine)]
    [InlineData(DistanceSpace.InnerProduct)]
    public void Search_matches_brute_force_through_IVectorIndex(DistanceSpace space)
    {
        var rows = PaddedVectorRows.Random(seed: 41, 384, 120, space);
#pragma warning disable CA1859 // The point is to call through the seam HNSW will also implement.
        IVectorIndex index = new ExactScanIndex(rows, space);
#pragma warning restore CA1859
        var query = BruteForce.Query(42, 384, space);
        int[] candidates = [5, 17, 99, 3, 64, 65, 119];
        var destination = new Neighbor[4];

        int fromSlots = index.Search(query, 4, SlotFilter.FromSlots(candidates), destination);
        destination[..fromSlots].Should().Equal(BruteForce.Search(rows, space, query, 4, candidates));

        int fromBitmap = index.Search(query, 4, SlotFilter.FromBitmap(BruteForce.Bitmap(120, candidates)), destination);
        destination[..fromBitmap].Should().Equal(BruteForce.Search(rows, space, query, 4, candidates));

        index.Space.Should().Be(space);
    }

    [Fact]
    public void Constructor_throws_when_space_is_unknown()
    {
        Action act = () => _ = new ExactScanIndex(new PaddedVectorRows(4, 1), (DistanceSpace)7);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("space");
    }
}
