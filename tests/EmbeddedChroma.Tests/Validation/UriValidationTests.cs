namespace EmbeddedChroma.Tests.Validation;

/// <summary>
/// Uris get the checks documents get, and one more: at most <see cref="ChromaStoreOptions.MaxDocumentLength"/>
/// characters, well-formed UTF-16, and never an API key (nor key-shaped text); every message names the index and the
/// id, never repeats a key, and a refused batch changes nothing (uris included).
/// </summary>
public sealed class UriValidationTests : ValidationTestBase
{
    private static void WriteWithUris(Collection collection, WriteOp op, IReadOnlyList<string> ids, IReadOnlyList<string?> uris)
    {
        var embeddings = ids.Select(_ => Vec(0.25f)).ToArray();
        switch (op)
        {
            case WriteOp.Add: collection.Add(ids, embeddings, uris: uris); break;
            case WriteOp.Upsert: collection.Upsert(ids, embeddings, uris: uris); break;
            default: collection.Update(ids, embeddings, uris: uris); break;
        }
    }

    private IReadOnlyList<string?> StoredUris() => Collection.Get(include: Include.Uris).Uris!;

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_naming_index_and_id_when_a_uri_exceeds_the_document_length_limit(WriteOp op)
    {
        Collection.Update(["r0"], uris: ["file:///kept"]);

        RejectsValidation(() => WriteWithUris(Collection, op, ["r0", "r1"], ["file:///ok", new string('u', SmallLimits.MaxDocumentLength + 1)]), "uris[1]", "'r1'", "21", "20");

        StoredUris().Should().Equal("file:///kept", null, null);
    }

    [Fact]
    public void Add_accepts_uri_when_it_is_exactly_the_document_length_limit()
    {
        var uri = new string('u', SmallLimits.MaxDocumentLength);

        Collection.Add(["r9"], [Vec()], uris: [uri]);

        Collection.Get(["r9"], include: Include.Uris).Uris.Should().Equal(uri);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_without_repeating_the_key_when_a_uri_holds_an_api_key(WriteOp op)
    {
        // A limit large enough for a key: the key check, not the length, must refuse it.
        Store.Dispose();
        Store = ChromaStore.Open(FolderPath, SmallLimits with { MaxDocumentLength = 1_000 });
        Client = Store.GetClient(AdminKey);
        Collection = Client.GetCollection(CollectionName);
        var uri = $"https://example.org/img.png?token={AdminKey}";

        var ex = RejectsValidation(() => WriteWithUris(Collection, op, ["r2", "r1"], [null, uri]), "uris[1]", "'r1'", "API key");

        ex.Message.Should().NotContain(AdminKey);
        ex.ToString().Should().NotContain(AdminKey);
        StoredUris().Should().Equal(null, null, null);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_naming_index_and_id_when_a_uri_has_a_lone_surrogate(WriteOp op)
    {
        RejectsValidation(() => WriteWithUris(Collection, op, ["r0", "r2"], ["\udc00x", "fine"]), "uris[0]", "'r0'");

        StoredUris().Should().Equal(null, null, null);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_uris_length_differs_from_ids(WriteOp op) =>
        RejectsValidation(() => WriteWithUris(Collection, op, ["r0", "r1"], ["a", "b", "c"]), "uris", "3", "2");
}
