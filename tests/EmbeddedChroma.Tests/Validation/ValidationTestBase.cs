using System.Globalization;
using System.Text;
using EmbeddedChroma.Tests.Model;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Validation;

/// <summary>The three write entry points, which share their validation rules.</summary>
public enum WriteOp
{
    Add,
    Upsert,
    Update,
}

/// <summary>
/// A store with small limits and a 4-d collection holding three records (r0, r1, r2), plus helpers that
/// assert a rejected call throws the exact exception type, names the culprit, and changes nothing.
/// </summary>
public abstract class ValidationTestBase : IDisposable
{
    protected const int Dim = 4;
    protected const string CollectionName = "things";

    protected static readonly ChromaStoreOptions SmallLimits = new()
    {
        MaxBatchSize = 5,
        MaxDocumentLength = 20,
        MaxIdLength = 16,
        MaxResults = 7,
        MaxQueryEmbeddings = 3,
        MaxMetadataKeys = 4,
        MaxMetadataValueLength = 10,
        MaxMetadataArrayLength = 3,
    };

    private readonly TempStoreFolder _folder = new("ec-validation");
    private bool _disposed;

    protected ValidationTestBase()
    {
        Store = ChromaStore.Create(_folder.Path, out var key, SmallLimits);
        AdminKey = key;
        Client = Store.GetClient(key);
        Collection = Client.CreateCollection(CollectionName);
        Collection.Add(
            ["r0", "r1", "r2"],
            [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
            [Meta(("n", 1), ("s", "a")), Meta(("n", 2.5)), null],
            ["first doc", null, "third doc"]);
    }

    protected string FolderPath => _folder.Path;

    protected string AdminKey { get; }

    protected ChromaStore Store { get; set; }

    protected ChromaClient Client { get; set; }

    protected Collection Collection { get; set; }

    public static TheoryData<WriteOp> Writes => new() { WriteOp.Add, WriteOp.Upsert, WriteOp.Update };

    protected static Dictionary<string, MetadataValue?> Meta(params (string Key, object? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value is null ? null : MetadataValue.FromObject(p.Value, $"metadata key '{p.Key}'"), StringComparer.Ordinal);

    protected static float[] Vec(float x = 0.5f, int dim = Dim) => Enumerable.Repeat(x, dim).ToArray();

    protected static void Write(
        Collection collection,
        WriteOp op,
        IReadOnlyList<string> ids,
        IReadOnlyList<float[]>? embeddings,
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null,
        IReadOnlyList<string?>? documents = null)
    {
        switch (op)
        {
            case WriteOp.Add: collection.Add(ids, embeddings, metadatas, documents); break;
            case WriteOp.Upsert: collection.Upsert(ids, embeddings, metadatas, documents); break;
            case WriteOp.Update: collection.Update(ids, embeddings, metadatas, documents); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    protected void Write(WriteOp op, IReadOnlyList<string> ids, IReadOnlyList<float[]>? embeddings, IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?>? metadatas = null, IReadOnlyList<string?>? documents = null) =>
        Write(Collection, op, ids, embeddings, metadatas, documents);

    /// <summary>Count plus every record (id, embedding, metadata with types, document) in order.</summary>
    protected static string Snapshot(Collection collection)
    {
        var all = collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents);
        var sb = new StringBuilder().Append("count=").Append(collection.Count().ToString(CultureInfo.InvariantCulture)).Append('\n');
        for (var i = 0; i < all.Count; i++)
        {
            sb.Append(all.Ids[i]).Append(" [")
                .Append(string.Join(",", all.Embeddings![i].Select(x => x.ToString("R", CultureInfo.InvariantCulture))))
                .Append("] ").Append(ReferenceModel.Describe(all.Metadatas![i]))
                .Append(" doc=").Append(all.Documents![i] ?? "<null>").Append('\n');
        }

        return sb.ToString();
    }

    protected string Snapshot() => Snapshot(Collection);

    /// <summary>
    /// Asserts <paramref name="act"/> throws exactly <typeparamref name="TException"/> whose message contains every
    /// fragment, and that the collection is unchanged afterwards (a failed call changes nothing).
    /// </summary>
    protected TException Rejects<TException>(Action act, params string[] fragments)
        where TException : Exception
    {
        var before = Snapshot();
        var exception = act.Should().ThrowExactly<TException>().Which;
        foreach (var fragment in fragments)
        {
            exception.Message.Should().Contain(fragment);
        }

        Snapshot().Should().Be(before, "a rejected call must leave the store unchanged");
        return exception;
    }

    protected ChromaValidationException RejectsValidation(Action act, params string[] fragments) =>
        Rejects<ChromaValidationException>(act, fragments);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (disposing)
        {
            Store.Dispose();
            _folder.Dispose();
        }
    }
}
