namespace EmbeddedChroma.Tests.Contract;

/// <summary>
/// Uris (Chroma's <c>uris</c>): one optional uri per record, stored by add and upsert, replaced by update when given
/// (a <see langword="null"/> entry keeps it), returned by get and query only when <see cref="Include.Uris"/> is
/// requested, checked like the other parallel lists (one per id, well-formed text), all or nothing.
/// </summary>
public abstract class UrisContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    private async Task<IChromaCollection> Seeded()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(
            ["a", "b", "c"],
            [[1f, 0f], [0f, 1f], [1f, 1f]],
            documents: ["doc a", null, "doc c"],
            uris: ["file:///images/a.png", null, "s3://bucket/c é 😀.jpg"]);
        return c;
    }

    private static async Task<IReadOnlyList<string?>> UrisOf(IChromaCollection c, params string[] ids) =>
        (await c.GetAsync(ids.Length == 0 ? null : ids, include: Include.Uris)).Uris!;

    [Fact]
    public async Task Add_stores_uris_and_get_returns_them_when_include_has_uris()
    {
        var c = await Seeded();

        var all = await c.GetAsync(include: Include.Uris | Include.Documents);

        all.Ids.Should().Equal("a", "b", "c");
        all.Uris.Should().Equal("file:///images/a.png", null, "s3://bucket/c é 😀.jpg");
        all.Documents.Should().Equal("doc a", null, "doc c");
        all.Embeddings.Should().BeNull();
        all.Metadatas.Should().BeNull();
        all.Included.Should().Be(Include.Uris | Include.Documents);
    }

    [Fact]
    public async Task Get_returns_no_uris_when_include_omits_them()
    {
        var c = await Seeded();

        (await c.GetAsync()).Uris.Should().BeNull("Chroma's default get include is metadatas and documents");
        (await Everything(c)).Uris.Should().BeNull();
        (await c.GetAsync(include: Include.None)).Uris.Should().BeNull();
        (await c.PeekAsync()).Uris.Should().BeNull();
    }

    [Fact]
    public async Task Get_returns_only_ids_and_uris_when_include_is_only_uris()
    {
        var c = await Seeded();

        var some = await c.GetAsync(["c", "a", "ghost"], include: Include.Uris);

        some.Ids.Should().Equal("a", "c");
        some.Uris.Should().Equal("file:///images/a.png", "s3://bucket/c é 😀.jpg");
        some.Documents.Should().BeNull();
        some.Embeddings.Should().BeNull();
    }

    [Fact]
    public async Task Add_stores_no_uri_when_uris_are_omitted()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(["a", "b"], [[1f, 0f], [0f, 1f]]);

        (await UrisOf(c)).Should().Equal(null, null);
    }

    [Fact]
    public async Task Query_returns_the_uri_of_each_hit_when_include_has_uris()
    {
        var c = await Seeded();

        var result = await c.QueryAsync([[1f, 0f], [0f, 1f]], nResults: 2, include: Include.Uris | Include.Distances);

        result.Ids[0].Should().Equal("a", "c");
        result.Uris![0].Should().Equal("file:///images/a.png", "s3://bucket/c é 😀.jpg");
        result.Ids[1].Should().Equal("b", "c");
        result.Uris[1].Should().Equal(null, "s3://bucket/c é 😀.jpg");
        result.Distances.Should().NotBeNull();
        result.Documents.Should().BeNull();
        result.Included.Should().Be(Include.Uris | Include.Distances);
    }

    [Fact]
    public async Task Query_returns_no_uris_when_include_omits_them()
    {
        var c = await Seeded();

        (await c.QueryAsync([[1f, 0f]], nResults: 3)).Uris.Should().BeNull("Chroma's default query include has no uris");
        (await c.QueryAsync([[1f, 0f]], nResults: 3, include: Include.Documents)).Uris.Should().BeNull();
    }

    [Fact]
    public async Task Query_returns_uris_of_the_filtered_hits_when_a_where_document_filter_is_given()
    {
        var c = await Seeded();

        var result = await c.QueryAsync([[0f, 1f]], nResults: 3, whereDocument: WhereDocument.Contains("doc"), include: Include.Uris);

        result.Ids[0].Should().Equal("c", "a");
        result.Uris![0].Should().Equal("s3://bucket/c é 😀.jpg", "file:///images/a.png");
    }

    [Fact]
    public async Task Update_replaces_uri_when_its_entry_is_given_and_keeps_it_when_the_entry_is_null()
    {
        var c = await Seeded();

        await c.UpdateAsync(["a", "b", "c", "ghost"], uris: ["https://example.org/a2", "file:///b", null, "file:///ghost"]);

        (await UrisOf(c)).Should().Equal("https://example.org/a2", "file:///b", "s3://bucket/c é 😀.jpg");
        (await c.CountAsync()).Should().Be(3, "update skips ids that do not exist");
        (await c.GetAsync(include: Include.Documents)).Documents.Should().Equal("doc a", null, "doc c");
    }

    [Fact]
    public async Task Update_keeps_uris_when_uris_are_omitted()
    {
        var c = await Seeded();

        await c.UpdateAsync(["a", "c"], [[2f, 2f], [3f, 3f]], [Meta(("k", 1)), Meta(("k", 2))], ["new a", "new c"]);

        (await UrisOf(c)).Should().Equal("file:///images/a.png", null, "s3://bucket/c é 😀.jpg");
        (await c.GetAsync(["a"], include: Include.Documents | Include.Embeddings)).Documents.Should().Equal("new a");
    }

    [Fact]
    public async Task Upsert_stores_uri_of_new_records_and_replaces_uri_of_existing_ones_when_given()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a", "b", "d"], [[1f, 0f], [0f, 1f], [5f, 5f]], uris: ["file:///a-v2", null, "file:///d"]);

        (await UrisOf(c)).Should().Equal("file:///a-v2", null, "s3://bucket/c é 😀.jpg", "file:///d");
    }

    [Fact]
    public async Task Upsert_keeps_uri_of_existing_record_when_uris_are_omitted()
    {
        var c = await Seeded();

        await c.UpsertAsync(["a"], [[9f, 9f]]);

        (await UrisOf(c, "a")).Should().Equal("file:///images/a.png");
    }

    [Fact]
    public async Task Delete_then_add_gives_the_new_record_only_its_own_uri()
    {
        var c = await Seeded();

        await c.DeleteAsync(["a"]);
        await c.AddAsync(["a"], [[1f, 0f]]);

        (await UrisOf(c, "a")).Should().Equal(new string?[] { null });
    }

    [Fact]
    public async Task Add_accepts_an_empty_uri_and_returns_it_distinct_from_none()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(["a", "b"], [[1f, 0f], [0f, 1f]], uris: [string.Empty, null]);

        (await UrisOf(c)).Should().Equal(string.Empty, null);
    }

    [Theory]
    [InlineData("add")]
    [InlineData("upsert")]
    [InlineData("update")]
    public async Task Write_throws_validation_naming_uris_and_changes_nothing_when_uris_length_differs_from_ids(string operation)
    {
        var c = await Seeded();
        var before = await c.GetAsync(include: Include.Uris | Include.Documents | Include.Embeddings);
        var batch = new RecordBatch { Ids = ["a", "x"], Embeddings = [[7f, 7f], [8f, 8f]], Uris = ["file:///only-one"] };

        var act = () => Write(c, operation, batch);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*uris*");
        (await c.GetAsync(include: Include.Uris | Include.Documents | Include.Embeddings)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData("add")]
    [InlineData("upsert")]
    [InlineData("update")]
    public async Task Write_throws_validation_naming_index_and_id_when_a_uri_has_a_lone_surrogate(string operation)
    {
        var c = await Seeded();
        var before = await c.GetAsync(include: Include.Uris | Include.Documents | Include.Embeddings);
        var batch = new RecordBatch { Ids = ["c", "bad-one"], Embeddings = [[7f, 7f], [8f, 8f]], Uris = ["file:///fine", "file:///x\ud800y"] };

        var act = () => Write(c, operation, batch);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*uris[1]*'bad-one'*");
        (await c.GetAsync(include: Include.Uris | Include.Documents | Include.Embeddings)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
    }

    [Fact]
    public async Task Get_and_query_throw_validation_when_include_has_an_unknown_flag()
    {
        var c = await Seeded();

        await FluentActions.Awaiting(() => c.GetAsync(include: (Include)32)).Should().ThrowAsync<ChromaValidationException>().WithMessage("*include*");
        await FluentActions.Awaiting(() => c.QueryAsync([[1f, 0f]], include: (Include)32)).Should().ThrowAsync<ChromaValidationException>().WithMessage("*include*");
    }

    private static Task Write(IChromaCollection c, string operation, RecordBatch batch) => operation switch
    {
        "add" => c.AddAsync(batch),
        "upsert" => c.UpsertAsync(batch),
        _ => c.UpdateAsync(batch),
    };
}

public sealed class UrisContractEmbedded : UrisContract<EmbeddedTarget>;
