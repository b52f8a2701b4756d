namespace EmbeddedChroma.Tests.Validation;

/// <summary>Validation of get / peek / delete selectors: ids, limit, offset, include.</summary>
public sealed class ReadValidationTests : ValidationTestBase
{
    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Get_rejects_limit_when_negative(int limit)
    {
        RejectsValidation(() => Collection.Get(limit: limit), $"limit must be zero or positive, got {limit}");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Get_rejects_offset_when_negative(int offset)
    {
        RejectsValidation(() => Collection.Get(offset: offset), $"offset must be zero or positive, got {offset}");
    }

    [Fact]
    public void Get_rejects_ids_when_list_is_empty()
    {
        RejectsValidation(() => Collection.Get(ids: []), "ids must be a non-empty list");
    }

    [Fact]
    public void Get_rejects_ids_when_they_repeat()
    {
        Rejects<ChromaDuplicateIdException>(() => Collection.Get(ids: ["r0", "r1", "r0"]), "duplicates", "'r0'");
    }

    [Fact]
    public void Get_rejects_ids_when_one_is_empty()
    {
        RejectsValidation(() => Collection.Get(ids: ["r0", ""]), "ids[1] is empty");
    }

    [Fact]
    public void Get_rejects_ids_when_one_exceeds_the_length_limit()
    {
        RejectsValidation(() => Collection.Get(ids: ["r0", new string('i', 17)]), "ids[1]", "limit is 16");
    }

    [Fact]
    public void Get_rejects_ids_when_more_than_the_max_batch_size()
    {
        RejectsValidation(() => Collection.Get(ids: ["a", "b", "c", "d", "e", "f"]), "ids has 6 entries", "maximum batch size is 5");
    }

    [Fact]
    public void Get_rejects_include_when_distances_are_requested()
    {
        RejectsValidation(() => Collection.Get(include: Include.Documents | Include.Distances), "distances are only available from query");
    }

    [Fact]
    public void Get_rejects_include_when_value_is_undefined()
    {
        RejectsValidation(() => Collection.Get(include: (Include)64), "include", "unknown value 64");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Peek_rejects_limit_when_not_positive(int limit)
    {
        RejectsValidation(() => Collection.Peek(limit), $"peek: limit must be positive, got {limit}");
    }

    [Fact]
    public void Delete_rejects_call_when_no_selector_is_given()
    {
        RejectsValidation(() => Collection.Delete(), "delete", "ids, where or where_document");
    }

    [Fact]
    public void Delete_rejects_ids_when_list_is_empty()
    {
        RejectsValidation(() => Collection.Delete(ids: []), "ids must be a non-empty list");
    }

    [Fact]
    public void Delete_rejects_ids_when_they_repeat()
    {
        Rejects<ChromaDuplicateIdException>(() => Collection.Delete(ids: ["r0", "r2", "r0", "r2"]), "duplicates", "'r0'", "'r2'");
    }

    [Fact]
    public void Delete_rejects_ids_when_one_is_null()
    {
        RejectsValidation(() => Collection.Delete(ids: ["r0", null!]), "ids[1] is empty");
    }

    [Fact]
    public void Delete_rejects_ids_when_one_exceeds_the_length_limit()
    {
        RejectsValidation(() => Collection.Delete(ids: [new string('i', 17), "r0"]), "ids[0]", "17 characters");
    }

    [Fact]
    public void Delete_rejects_ids_when_more_than_the_max_batch_size()
    {
        RejectsValidation(() => Collection.Delete(ids: ["r0", "r1", "r2", "d", "e", "f"]), "ids has 6 entries", "maximum batch size is 5");
    }

    [Fact]
    public void Delete_rejects_ids_when_list_is_invalid_even_with_a_valid_filter()
    {
        Rejects<ChromaDuplicateIdException>(() => Collection.Delete(ids: ["r0", "r0"], where: Where.Eq("n", 1)), "duplicates", "'r0'");
    }
}
