using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;

namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>
/// A store in a unique temporary folder (under <see cref="Path.GetTempPath"/>), created with its admin key and a
/// client on the default tenant/database. <see cref="Dispose"/> closes the store and deletes the folder.
/// </summary>
public sealed class StoreFixture : IDisposable
{
    public StoreFixture(ChromaStoreOptions? options = null)
    {
        Options = options;
        Folder = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.Tests", "api-" + Guid.NewGuid().ToString("N"));
        Store = ChromaStore.Create(Folder, out var adminKey, options);
        AdminKey = adminKey;
        Client = Store.GetClient(adminKey);
    }

    /// <summary>The store folder (unique per fixture).</summary>
    public string Folder { get; }

    /// <summary>The options the store is opened with; a test may change them before <see cref="Reopen"/>.</summary>
    public ChromaStoreOptions? Options { get; set; }

    /// <summary>The admin key returned by <see cref="ChromaStore.Create"/> (replaced by <see cref="RecoverAdminKey"/>).</summary>
    public string AdminKey { get; private set; }

    public ChromaStore Store { get; private set; }

    /// <summary>An admin client on default_tenant/default_database of the current <see cref="Store"/>.</summary>
    public ChromaClient Client { get; private set; }

    /// <summary>Folder holding the collections' vector arenas.</summary>
    public string VectorsFolder => Path.Combine(Folder, "vectors");

    /// <summary>The arena file of <paramref name="collection"/>.</summary>
    public string ArenaPath(Guid collection) => Path.Combine(VectorsFolder, collection.ToString("N") + ".vec");

    /// <summary>Creates a collection in the default database with the given space.</summary>
    public Collection CreateCollection(
        string name = "test",
        DistanceSpace space = DistanceSpace.L2,
        IEmbeddingGenerator<string, Embedding<float>>? generator = null) =>
        Client.CreateCollection(name, new CollectionOptions
        {
            Configuration = new CollectionConfiguration { Space = space },
            EmbeddingGenerator = generator,
        });

    /// <summary>Closes the store (Dispose); further calls on it throw <see cref="ChromaStoreClosedException"/>.</summary>
    public void Close() => Store.Dispose();

    /// <summary>Closes the store and opens the folder again, with a new admin client.</summary>
    public void Reopen()
    {
        Store.Dispose();
        Store = ChromaStore.Open(Folder, Options);
        Client = Store.GetClient(AdminKey);
    }

    /// <summary>Closes the store, recovers a new admin key, and reopens with it.</summary>
    public string RecoverAdminKey()
    {
        Store.Dispose();
        AdminKey = ChromaStore.RecoverAdminKey(Folder, Options);
        Store = ChromaStore.Open(Folder, Options);
        Client = Store.GetClient(AdminKey);
        return AdminKey;
    }

    public void Dispose()
    {
        Store.Dispose();
        SqliteConnection.ClearAllPools();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(Folder))
                {
                    Directory.Delete(Folder, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
        }
    }

    /// <summary>A metadata object from key/value pairs.</summary>
    public static IReadOnlyDictionary<string, MetadataValue?> Meta(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value is null ? null : MetadataValue.FromObject(p.Value, $"metadata key '{p.Key}'"), StringComparer.Ordinal);

    /// <summary>Reads every record of <paramref name="collection"/> with embeddings, metadata and documents.</summary>
    public static GetResult Everything(Collection collection) =>
        collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);

    /// <summary>
    /// Asserts <paramref name="actual"/> has exactly the expected keys, each value of the same runtime type (long vs
    /// double, string[] vs long[] …) and equal. FluentAssertions' BeEquivalentTo treats 5L and 5.0 as equal, so it
    /// cannot check Chroma's int/float distinction.
    /// </summary>
    public static void ShouldHaveMetadata(IReadOnlyDictionary<string, MetadataValue>? actual, params (string Key, object Value)[] expected)
    {
        actual.Should().NotBeNull();
        actual!.Keys.Should().BeEquivalentTo(expected.Select(e => e.Key));
        foreach (var (key, expectedValue) in expected)
        {
            var got = actual[key].ToObject();
            var value = expectedValue is MetadataValue typed ? typed.ToObject() : expectedValue;
            got.GetType().Should().Be(value.GetType(), $"metadata key '{key}' should keep its type");
            if (value is System.Collections.IEnumerable list and not string)
            {
                ((System.Collections.IEnumerable)got).Cast<object>().Should().Equal(list.Cast<object>(), $"metadata key '{key}'");
            }
            else
            {
                got.Should().Be(value, $"metadata key '{key}'");
            }
        }
    }
}
