using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// Base of every contract test class: one fresh <typeparamref name="TTarget"/> per test, reached only through
/// <see cref="IChromaClient"/>/<see cref="IChromaCollection"/>, and the helpers the tests share.
/// </summary>
/// <typeparam name="TTarget">The implementation under test.</typeparam>
public abstract class ContractSuite<TTarget> : IAsyncLifetime
    where TTarget : IContractTarget, new()
{
    protected TTarget Target { get; } = new();

    /// <summary>The target's admin client on the default tenant/database.</summary>
    protected IChromaClient Client => Target.Client;

    public virtual Task InitializeAsync() => Target.InitializeAsync();

    public virtual async Task DisposeAsync() => await Target.DisposeAsync();

    /// <summary>The real name of the test's tenant <paramref name="name"/> (see <see cref="IContractTarget.TenantName"/>).</summary>
    protected string TenantName(string name) => Target.TenantName(name);

    /// <summary>Creates a collection in the default database with the given space (and embedding generator).</summary>
    protected Task<IChromaCollection> CreateCollectionAsync(
        string name = "test",
        DistanceSpace space = DistanceSpace.L2,
        IEmbeddingGenerator<string, Embedding<float>>? generator = null) =>
        Client.CreateCollectionAsync(name, new CollectionOptions
        {
            Configuration = new CollectionConfiguration { Space = space },
            EmbeddingGenerator = generator,
        });

    /// <summary>
    /// Embeddings a cosine collection returned equal <paramref name="expected"/>: bit for bit, or within float rounding on
    /// a target that normalizes them (<see cref="IContractTarget.ReturnsCosineEmbeddingsExactly"/>).
    /// </summary>
    protected void ShouldBeCosineEmbeddings(IReadOnlyList<float[]>? actual, IReadOnlyList<float[]> expected)
    {
        if (Target.ReturnsCosineEmbeddingsExactly)
        {
            actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
            return;
        }

        actual.Should().HaveCount(expected.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            actual![i].Should().HaveCount(expected[i].Length);
            for (var j = 0; j < expected[i].Length; j++)
            {
                actual[i][j].Should().BeApproximately(expected[i][j], 1e-6f * Math.Max(1f, Math.Abs(expected[i][j])), $"embedding {i}, component {j}");
            }
        }
    }

    /// <summary>The order <paramref name="created"/> (names, oldest first) is listed in: creation order, or the target's own stable order (<see cref="IContractTarget.ListsInCreationOrder"/>).</summary>
    protected async Task<string[]> ListingOrder(string[] created, Func<Task<IEnumerable<string>>> list)
    {
        var listed = (await list()).ToArray();
        if (Target.ListsInCreationOrder)
        {
            listed.Should().Equal(created);
        }
        else
        {
            listed.Should().BeEquivalentTo(created);
            (await list()).Should().Equal(listed, "one order, the same on every call, so limit and offset page through it");
        }

        return listed;
    }

    /// <summary>A metadata object from key/value pairs.</summary>
    protected static IReadOnlyDictionary<string, MetadataValue?> Meta(params (string Key, object? Value)[] pairs) =>
        StoreFixture.Meta(pairs);

    /// <summary>Every record of <paramref name="collection"/> with embeddings, metadata and documents.</summary>
    protected static Task<GetResult> Everything(IChromaCollection collection) =>
        collection.GetAsync(include: Include.Embeddings | Include.Metadatas | Include.Documents);

    /// <summary>Exactly the expected keys, each value of the same type (int vs float, typed arrays) and equal.</summary>
    protected static void ShouldHaveMetadata(IReadOnlyDictionary<string, MetadataValue>? actual, params (string Key, object Value)[] expected) =>
        StoreFixture.ShouldHaveMetadata(actual, expected);

    /// <summary>How many records a delete removed: it returns nothing in Chroma's API, so the count is compared.</summary>
    protected static async Task<int> DeletedBy(IChromaCollection collection, Func<IChromaCollection, Task> delete)
    {
        var before = await collection.CountAsync();
        await delete(collection);
        return before - await collection.CountAsync();
    }
}
