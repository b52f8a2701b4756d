namespace EmbeddedChroma.Tests.Validation;

/// <summary>Validation of record metadata (add / upsert / update) and of collection metadata.</summary>
public sealed class MetadataValidationTests : ValidationTestBase
{
    /// <summary>
    /// A value the type rules refuse fails where the typed value is made (<see cref="MetadataValue.FromObject"/>, given
    /// the location as the wire decoder gives it); a value they accept is written and refused by the store's limits.
    /// Either way the message names the record and the key, and nothing is written.
    /// </summary>
    private void RejectsMetadata(WriteOp op, object? value, string key, params string[] fragments)
    {
        const string Where = "metadatas[1] (id 'r1')";
        RejectsValidation(
            () =>
            {
                var typed = value is null ? null : MetadataValue.FromObject(value, $"{Where}: metadata key '{key}'");
                var bad = new Dictionary<string, MetadataValue?> { ["ok"] = 1, [key] = typed };
                Write(op, ["n0", "r1"], [Vec(), Vec()], [Meta(("ok", 1)), bad]);
            },
            [Where, .. fragments]);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_value_is_a_DateTime(WriteOp op) =>
        RejectsMetadata(op, new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), "when", "'when'", "DateTime");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_value_is_a_plain_object(WriteOp op) =>
        RejectsMetadata(op, new object(), "thing", "'thing'", "Object");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_value_is_a_nested_dictionary(WriteOp op) =>
        RejectsMetadata(op, new Dictionary<string, MetadataValue?> { ["inner"] = 1 }, "nested", "'nested'");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_value_is_a_guid(WriteOp op) =>
        RejectsMetadata(op, Guid.Empty, "g", "'g'", "Guid");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_mixes_strings_and_numbers(WriteOp op) =>
        RejectsMetadata(op, new object[] { 1, "a" }, "mixed", "'mixed'", "same type");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_mixes_ints_and_floats(WriteOp op) =>
        RejectsMetadata(op, new object[] { 1, 2.5 }, "mixed", "'mixed'", "same type");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_mixes_bools_and_ints(WriteOp op) =>
        RejectsMetadata(op, new object[] { true, 1 }, "mixed", "'mixed'", "same type");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_is_empty(WriteOp op) =>
        RejectsMetadata(op, Array.Empty<string>(), "tags", "'tags'", "non-empty");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_contains_null(WriteOp op) =>
        RejectsMetadata(op, new string?[] { "a", null }, "tags", "'tags'", "null");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_contains_an_array(WriteOp op) =>
        RejectsMetadata(op, new object[] { new[] { 1 }, new[] { 2 } }, "nested", "'nested'");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_is_longer_than_the_limit(WriteOp op) =>
        RejectsMetadata(op, new[] { 1, 2, 3, 4 }, "tags", "'tags'", "limit of 3");

    [Theory]
    [InlineData(WriteOp.Add, "#document")]
    [InlineData(WriteOp.Upsert, "#document")]
    [InlineData(WriteOp.Update, "#document")]
    [InlineData(WriteOp.Add, "$and")]
    [InlineData(WriteOp.Upsert, "$x")]
    [InlineData(WriteOp.Update, "$x")]
    public void Write_rejects_metadata_when_key_is_reserved(WriteOp op, string key) =>
        RejectsMetadata(op, "v", key, $"'{key}'", "reserved");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_key_is_empty(WriteOp op) =>
        RejectsMetadata(op, "v", "", "non-empty");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_object_is_empty(WriteOp op)
    {
        RejectsValidation(
            () => Write(op, ["n0", "r1"], [Vec(), Vec()], [Meta(("ok", 1)), new Dictionary<string, MetadataValue?>()]),
            "metadatas[1] (id 'r1')", "non-empty object or null");
    }

    [Theory]
    [InlineData(WriteOp.Add, double.NaN)]
    [InlineData(WriteOp.Upsert, double.PositiveInfinity)]
    [InlineData(WriteOp.Update, double.NegativeInfinity)]
    public void Write_rejects_metadata_when_float_is_not_finite(WriteOp op, double value) =>
        RejectsMetadata(op, value, "score", "'score'", "NaN and infinite");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_array_holds_a_non_finite_float(WriteOp op) =>
        RejectsMetadata(op, new[] { 1.0, double.NaN }, "scores", "'scores'", "NaN and infinite");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_unsigned_integer_exceeds_the_signed_range(WriteOp op) =>
        RejectsMetadata(op, ulong.MaxValue, "big", "'big'", "out of the 64-bit signed range");

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_it_has_more_keys_than_the_limit(WriteOp op)
    {
        var many = Meta(("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5));
        RejectsValidation(() => Write(op, ["n0", "r1"], [Vec(), Vec()], [null, many]), "metadatas[1] (id 'r1')", "5 keys", "limit is 4");
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void Write_rejects_metadata_when_string_value_exceeds_the_limit(WriteOp op) =>
        RejectsMetadata(op, new string('s', SmallLimits.MaxMetadataValueLength + 1), "long", "'long'", "11 characters", "limit of 10");

    [Fact]
    public void Write_accepts_metadata_when_values_are_at_their_limits()
    {
        Collection.Add(["n0"], [Vec()], [Meta(("a", new string('s', 10)), ("b", new[] { 1, 2, 3 }), ("c", true), ("d", 1.5))]);
        var metadata = Collection.Get(["n0"]).Metadatas![0]!.Plain()!;
        metadata["a"].Should().Be(new string('s', 10));
        metadata["b"].Should().BeEquivalentTo(new long[] { 1, 2, 3 });
        metadata["c"].Should().Be(true);
        metadata["d"].Should().Be(1.5);
    }

    [Fact]
    public void CreateCollection_rejects_metadata_when_value_is_an_array()
    {
        var act = () => Client.CreateCollection("arr", new CollectionOptions { Metadata = Meta(("tags", new[] { "a", "b" })) });
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*collection 'arr'*'tags'*");
        Client.ListCollections().Select(c => c.Name).Should().Equal(CollectionName);
    }

    [Theory]
    [InlineData("#reserved")]
    [InlineData("$reserved")]
    public void CreateCollection_rejects_metadata_when_key_is_reserved(string key)
    {
        var act = () => Client.CreateCollection("bad", new CollectionOptions { Metadata = Meta((key, 1)) });
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage($"*'{key}'*reserved*");
        Client.ListCollections().Select(c => c.Name).Should().Equal(CollectionName);
    }

    [Fact]
    public void Modify_rejects_metadata_when_object_is_empty_and_keeps_the_old_metadata()
    {
        Collection.Modify(metadata: Meta(("owner", "me")));
        var act = () => Collection.Modify(metadata: new Dictionary<string, MetadataValue?>());
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*non-empty object or null*");
        Client.GetCollection(CollectionName).Metadata.Plain().Should().BeEquivalentTo(new Dictionary<string, object> { ["owner"] = "me" });
    }

    [Fact]
    public void Modify_rejects_metadata_when_value_is_a_DateTime_and_keeps_the_old_metadata()
    {
        Collection.Modify(metadata: Meta(("owner", "me")));
        var act = () => Collection.Modify(name: "renamed", metadata: Meta(("when", DateTime.UnixEpoch)));
        act.Should().ThrowExactly<ChromaValidationException>().WithMessage("*'when'*DateTime*");
        Collection.Name.Should().Be(CollectionName, "a rejected modify changes nothing, not even the name");
        Client.GetCollection(CollectionName).Metadata.Plain().Should().BeEquivalentTo(new Dictionary<string, object> { ["owner"] = "me" });
    }
}
