namespace EmbeddedChroma.Tests.Validation;

/// <summary>Validation of add / upsert / update: ids, embeddings, parallel lists, batch and document limits.</summary>
public sealed class WriteValidationTests : ValidationTestBase
{
    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_one_embedding_has_wrong_dimension(WriteOp op)
    {
        RejectsValidation(
            () => Write(op, ["n0", "r0", "n1"], [Vec(), Vec(), Vec(dim: 3)]),
            "expected dimension 4, got 3 at index 2");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_embeddings_disagree_on_a_collection_without_dimension(WriteOp op)
    {
        var fresh = Client.CreateCollection("fresh");
        var act = () => Write(fresh, op, ["a", "b", "c"], [Vec(), Vec(), Vec(dim: 3)]);
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*expected dimension 4, got 3 at index 2*");
        fresh.Count().Should().Be(0);
        fresh.Dimension.Should().BeNull("a rejected batch must not fix the dimension");
        fresh.Add(["z"], [Vec(dim: 3)]);
        fresh.Dimension.Should().Be(3);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_embedding_when_first_record_already_has_wrong_dimension(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["r0", "n1"], [Vec(dim: 5), Vec()]), "expected dimension 4, got 5 at index 0");
    }

    public static TheoryData<WriteOp, float> NonFinite()
    {
        var data = new TheoryData<WriteOp, float>();
        foreach (var op in new[] { WriteOp.Add, WriteOp.Upsert, WriteOp.Update })
        {
            data.Add(op, float.NaN);
            data.Add(op, float.PositiveInfinity);
            data.Add(op, float.NegativeInfinity);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(NonFinite))]
    public void Write_rejects_batch_when_an_embedding_has_a_non_finite_component(WriteOp op, float bad)
    {
        var embedding = Vec();
        embedding[2] = bad;
        RejectsValidation(() => Write(op, ["n0", "r1", "n2"], [Vec(), embedding, Vec()]), "embeddings[1]", "position 2", "NaN or infinite");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_call_when_ids_list_is_empty(WriteOp op)
    {
        RejectsValidation(() => Write(op, [], []), "ids must be a non-empty list");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_call_when_ids_list_is_null(WriteOp op)
    {
        RejectsValidation(() => Write(op, null!, [Vec()]), "ids is required");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_an_id_is_null(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0", null!, "n2"], [Vec(), Vec(), Vec()]), "ids[1] is empty");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_an_id_is_the_empty_string(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0", "r0", ""], [Vec(), Vec(), Vec()]), "ids[2] is empty");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_an_id_exceeds_the_length_limit(WriteOp op)
    {
        var longId = new string('x', SmallLimits.MaxIdLength + 1);
        RejectsValidation(() => Write(op, ["n0", longId], [Vec(), Vec()]), "ids[1]", "17 characters", "limit is 16");
    }

    [Fact]
    public void Add_accepts_id_when_it_is_exactly_the_length_limit()
    {
        var id = new string('x', SmallLimits.MaxIdLength);
        Collection.Add([id], [Vec()]);
        Collection.Get([id]).Ids.Should().Equal(id);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_ids_repeat_and_names_the_duplicates(WriteOp op)
    {
        Rejects<ChromaDuplicateIdException>(
            () => Write(op, ["d1", "r0", "d1", "r0", "x"], [Vec(), Vec(), Vec(), Vec(), Vec()]),
            "duplicates", "'d1'", "'r0'").DuplicateIds.Should().Equal("d1", "r0");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_embeddings_are_fewer_than_ids(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0", "n1", "n2"], [Vec(), Vec()]), "embeddings has 2 entries but ids has 3");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_embeddings_are_more_than_ids(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0"], [Vec(), Vec()]), "embeddings has 2 entries but ids has 1");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_metadatas_length_differs_from_ids(WriteOp op)
    {
        RejectsValidation(
            () => Write(op, ["n0", "n1", "n2"], [Vec(), Vec(), Vec()], [Meta(("a", 1)), null, Meta(("a", 2)), null]),
            "metadatas has 4 entries but ids has 3");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_documents_length_differs_from_ids(WriteOp op)
    {
        RejectsValidation(
            () => Write(op, ["n0", "n1", "n2"], [Vec(), Vec(), Vec()], null, ["a", "b"]),
            "documents has 2 entries but ids has 3");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_it_exceeds_the_max_batch_size(WriteOp op)
    {
        var ids = Enumerable.Range(0, SmallLimits.MaxBatchSize + 1).Select(i => $"b{i}").ToList();
        RejectsValidation(() => Write(op, ids, ids.Select(_ => Vec()).ToList()), "ids has 6 entries", "maximum batch size is 5");
    }

    [Fact]
    public void Add_accepts_batch_when_it_is_exactly_the_max_batch_size()
    {
        var ids = Enumerable.Range(0, SmallLimits.MaxBatchSize).Select(i => $"b{i}").ToList();
        Collection.Add(ids, ids.Select(_ => Vec()).ToList());
        Collection.Count().Should().Be(3 + SmallLimits.MaxBatchSize);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_a_document_exceeds_the_max_length(WriteOp op)
    {
        var tooLong = new string('d', SmallLimits.MaxDocumentLength + 1);
        RejectsValidation(
            () => Write(op, ["n0", "r1"], [Vec(), Vec()], null, ["short", tooLong]),
            "documents[1]", "21 characters", "limit is 20");
    }

    [Fact]
    public void Add_accepts_document_when_it_is_exactly_the_max_length()
    {
        var doc = new string('d', SmallLimits.MaxDocumentLength);
        Collection.Add(["n0"], [Vec()], null, [doc]);
        Collection.Get(["n0"]).Documents.Should().Equal(doc);
    }

    [Theory]
    [InlineData(WriteOp.Add)]
    [InlineData(WriteOp.Upsert)]
    public void Write_rejects_call_when_embeddings_are_missing(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0"], null, null, ["doc"]), op.ToString().ToLowerInvariant(), "embeddings are required");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_an_embedding_is_null(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0", "n1"], [Vec(), null!]), "embeddings[1] is null");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_batch_when_an_embedding_is_empty(WriteOp op)
    {
        RejectsValidation(() => Write(op, ["n0", "n1"], [Vec(), []]), "expected dimension 4, got 0 at index 1");
    }

    [Fact]
    public void Add_rejects_first_embedding_when_it_is_empty_on_a_collection_without_dimension()
    {
        var fresh = Client.CreateCollection("fresh");
        var act = () => fresh.Add(["a"], [[]]);
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*embeddings[0] is empty*");
        fresh.Dimension.Should().BeNull();
        fresh.Count().Should().Be(0);
    }

    [Fact]
    public void Update_rejects_whole_batch_when_only_the_last_metadata_is_invalid()
    {
        // Valid records come first; the bad one is last: nothing of the batch may be applied.
        RejectsValidation(
            () => Collection.Update(["r0", "r1", "r2"], null, [Meta(("n", 9)), Meta(("n", 10)), Meta(("#bad", 1))], null),
            "metadatas[2]", "'r2'", "'#bad'");
    }
}
