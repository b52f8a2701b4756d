namespace EmbeddedChroma.Tests.Contract;

/// <summary>Add: what is stored, Chroma's rule for existing ids, the dimension the first add fixes, and all-or-nothing batches with errors naming the id, index or field.</summary>
public abstract class AddContract<TTarget> : ContractSuite<TTarget>
    where TTarget : IContractTarget, new()
{
    [Fact]
    public async Task Add_stores_embeddings_metadata_and_documents()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(
            ["a", "b", "c"],
            [[1f, 2f, 3f], [4f, 5f, 6f], [7f, 8f, 9f]],
            [Meta(("genre", "scifi")), null, Meta(("n", 1))],
            ["doc a", "doc b", null]);

        var all = await Everything(c);
        all.Ids.Should().Equal("a", "b", "c");
        all.Embeddings.Should().BeEquivalentTo(new[] { new[] { 1f, 2f, 3f }, new[] { 4f, 5f, 6f }, new[] { 7f, 8f, 9f } }, o => o.WithStrictOrdering());
        ShouldHaveMetadata(all.Metadatas![0], ("genre", "scifi"));
        all.Metadatas[1].Should().BeNull();
        ShouldHaveMetadata(all.Metadatas[2], ("n", 1L));
        all.Documents.Should().Equal("doc a", "doc b", null);
        (await c.CountAsync()).Should().Be(3);
    }

    [Fact]
    public async Task Add_stores_records_without_metadata_or_documents_when_lists_are_omitted()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(["a"], [[1f, 2f]]);

        var all = await Everything(c);
        all.Metadatas.Should().Equal(new IReadOnlyDictionary<string, MetadataValue>?[] { null });
        all.Documents.Should().Equal(new string?[] { null });
    }

    [Fact]
    public async Task Add_leaves_existing_record_unchanged_when_id_exists()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a"], [[1f, 1f]], [Meta(("v", 1))], ["first"]);

        await c.AddAsync(["a", "b"], [[9f, 9f], [2f, 2f]], [Meta(("v", 2)), Meta(("v", 3))], ["second", "b doc"]);

        var all = await Everything(c);
        all.Ids.Should().Equal("a", "b");
        all.Embeddings![0].Should().Equal(1f, 1f);
        ShouldHaveMetadata(all.Metadatas![0], ("v", 1L));
        all.Documents![0].Should().Be("first");
        ShouldHaveMetadata(all.Metadatas[1], ("v", 3L));
        (await c.CountAsync()).Should().Be(2);
        (await c.QueryAsync([[9f, 9f]], nResults: 1)).Ids[0].Should().Equal("b");
    }

    [Fact]
    public async Task Add_throws_duplicate_id_naming_duplicates_when_batch_repeats_ids()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a", "dup1", "b", "dup1", "dup2", "dup2"], [[1f], [2f], [3f], [4f], [5f], [6f]]);

        (await act.Should().ThrowAsync<ChromaDuplicateIdException>().WithMessage("*duplicate*'dup1'*'dup2'*"))
            .Which.DuplicateIds.Should().Equal("dup1", "dup2");
        (await c.CountAsync()).Should().Be(0);
        c.Dimension.Should().BeNull();
    }

    [Fact]
    public async Task Add_fixes_dimension_when_collection_is_empty()
    {
        var c = await CreateCollectionAsync();
        c.Dimension.Should().BeNull();

        await c.AddAsync(["a"], [[1f, 2f, 3f]]);

        c.Dimension.Should().Be(3);
        (await Client.GetCollectionAsync("test")).Dimension.Should().Be(3);
    }

    [Fact]
    public async Task Add_throws_validation_naming_index_when_dimension_differs_from_collection()
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["a"], [[1f, 2f, 3f]]);

        var act = () => c.AddAsync(["b", "c"], [[1f, 2f, 3f], [1f, 2f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*expected dimension 3, got 2 at index 1*");
        (await c.GetAsync()).Ids.Should().Equal("a");
    }

    [Fact]
    public async Task Add_throws_validation_naming_index_when_first_batch_mixes_dimensions()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a", "b", "c"], [[1f, 2f, 3f], [1f, 2f, 3f], [1f, 2f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*expected dimension 3, got 2 at index 2*");
        (await c.CountAsync()).Should().Be(0);
        c.Dimension.Should().BeNull();
    }

    [Fact]
    public async Task Add_throws_validation_when_embeddings_are_missing_without_generator()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a"], documents: ["text"]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*'test'*no embedding generator*");
        (await c.CountAsync()).Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(AddCases.InvalidBatches), MemberType = typeof(AddCases))]
    public async Task Add_changes_nothing_when_any_record_of_the_batch_is_invalid(string problem, string message)
    {
        var c = await CreateCollectionAsync();
        await c.AddAsync(["keep1", "keep2"], [[1f, 1f], [2f, 2f]], [Meta(("k", 1)), null], ["one", "two"]);
        var before = await Everything(c);

        string[] ids = ["x", "y", "z"];
        float[][] embeddings = [[3f, 3f], [4f, 4f], [5f, 5f]];
        IReadOnlyDictionary<string, MetadataValue?>?[] metadatas = [Meta(("m", 1)), Meta(("m", 2)), Meta(("m", 3))];
        string?[] documents = ["dx", "dy", "dz"];
        IReadOnlyList<float[]> embeddingList = embeddings;
        IReadOnlyList<IReadOnlyDictionary<string, MetadataValue?>?> metadataList = metadatas;
        IReadOnlyList<string?> documentList = documents;
        switch (problem)
        {
            case "duplicate id": ids = ["b", "x", "b"]; break;
            case "empty id": ids = ["x", "", "z"]; break;
            case "NaN component": embeddings[2] = [5f, float.NaN]; break;
            case "infinite component": embeddings[1] = [float.PositiveInfinity, 4f]; break;
            case "null embedding": embeddings[1] = null!; break;
            case "dimension mismatch": embeddings[2] = [5f, 5f, 5f]; break;
            case "metadata list too short": metadataList = metadatas[..2]; break;
            case "documents list too long": documentList = [.. documents, "extra"]; break;
            case "embeddings list too short": embeddingList = embeddings[..2]; break;
            case "reserved metadata key": metadatas[2] = Meta(("$bad", 1)); break;
            case "bad metadata value type": metadatas[1] = Meta(("when", DateTime.UnixEpoch)); break;
            case "mixed array": metadatas[0] = Meta(("tags", new object[] { "a", 1L })); break;
            case "empty array": metadatas[0] = Meta(("tags", Array.Empty<string>())); break;
            case "NaN metadata": metadatas[2] = Meta(("score", double.NaN)); break;
            case "empty metadata object": metadatas[1] = Meta(); break;
            default: throw new ArgumentOutOfRangeException(nameof(problem));
        }

        var act = () => c.AddAsync(ids, embeddingList, metadataList, documentList);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage(message);
        (await c.CountAsync()).Should().Be(2);
        (await Everything(c)).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        (await c.QueryAsync([[3f, 3f]], nResults: 10)).Ids[0].Should().BeEquivalentTo("keep1", "keep2");
    }

    [Fact]
    public async Task Add_changes_nothing_when_first_batch_is_invalid()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a", "b"], [[1f, 2f], [float.NaN, 2f]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*embeddings[1]*");
        (await c.CountAsync()).Should().Be(0);
        c.Dimension.Should().BeNull();
        await c.AddAsync(["c"], [[1f, 2f, 3f, 4f]]);
        c.Dimension.Should().Be(4);
    }

    [Fact]
    public async Task Add_throws_validation_when_ids_are_empty()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync([], []);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*ids*non-empty*");
    }

    [Fact]
    public async Task Add_throws_validation_when_embedding_has_no_components()
    {
        var c = await CreateCollectionAsync();

        var act = () => c.AddAsync(["a"], [[]]);

        await act.Should().ThrowAsync<ChromaValidationException>().WithMessage("*embeddings[0]*empty*");
        c.Dimension.Should().BeNull();
    }

    [Fact]
    public async Task Add_drops_null_metadata_values_when_adding()
    {
        var c = await CreateCollectionAsync();

        await c.AddAsync(["a"], [[1f]], [Meta(("keep", "yes"), ("drop", null))]);

        ShouldHaveMetadata((await c.GetAsync()).Metadatas![0], ("keep", "yes"));
    }

    [Fact]
    public async Task Add_in_one_batch_is_visible_as_a_whole_to_queries()
    {
        var c = await CreateCollectionAsync(space: DistanceSpace.Cosine);
        var random = new Random(17);
        var ids = Enumerable.Range(0, 200).Select(i => $"id{i:D3}").ToArray();
        var embeddings = ids.Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();

        await c.AddAsync(ids, embeddings);

        (await c.CountAsync()).Should().Be(200);
        (await c.QueryAsync([embeddings[123]], nResults: 1)).Ids[0].Should().Equal("id123");
        ShouldBeCosineEmbeddings((await c.GetAsync(include: Include.Embeddings)).Embeddings, embeddings);
    }
}

public sealed class AddContractEmbedded : AddContract<EmbeddedTarget>;

/// <summary>Theory data of <see cref="AddContract{TTarget}"/> (static members cannot sit on the generic class).</summary>
public static class AddCases
{
    public static TheoryData<string, string> InvalidBatches => new()
    {
        { "duplicate id", "*'b'*" },
        { "empty id", "*ids[1]*" },
        { "NaN component", "*embeddings[2]*NaN*position 1*" },
        { "infinite component", "*embeddings[1]*infinite*position 0*" },
        { "null embedding", "*embeddings[1]*null*" },
        { "dimension mismatch", "*expected dimension 2, got 3 at index 2*" },
        { "metadata list too short", "*metadatas has 2 entries but ids has 3*" },
        { "documents list too long", "*documents has 4 entries but ids has 3*" },
        { "embeddings list too short", "*embeddings has 2 entries but ids has 3*" },
        { "reserved metadata key", "*metadatas[2]*'z'*'$bad'*" },
        // Values of a wrong type (DateTime, NaN, empty or mixed arrays) cannot reach a batch: MetadataValue refuses them
        // where they are made (MetadataValueTests, MetadataValidationTests).
        { "empty metadata object", "*metadatas[1]*'y'*non-empty*" },
    };
}
