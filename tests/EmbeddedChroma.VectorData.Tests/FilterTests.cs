using System.Linq.Expressions;

namespace EmbeddedChroma.VectorData.Tests;

/// <summary>Four records with every data type, loaded once, filtered by every operator the translator supports.</summary>
public sealed class FilterData : IAsyncLifetime
{
    public VectorDataFixture Fixture { get; } = new();

    public ChromaVectorStoreCollection<string, AllTypes> Collection { get; private set; } = null!;

    public static readonly DateTime D2021 = new(2021, 6, 1, 12, 0, 0, DateTimeKind.Utc);

    public static readonly DateTimeOffset O2021 = new(2021, 6, 1, 14, 0, 0, TimeSpan.FromHours(2)); // 12:00 UTC

    public static AllTypes[] Records =>
    [
        new() { Key = "a", Text = "alpha", Int = 1, Long = 10, Float = 1.5f, Double = 1.25, Bool = true, DateTime = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), DateTimeOffset = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), NullableInt = 5, Tags = ["x", "y"], TagList = ["p"], Body = "the quick brown fox", Vector = new[] { 1f, 0f, 0f } },
        new() { Key = "b", Text = "beta", Int = 2, Long = 20, Float = 2.5f, Double = 2.25, Bool = false, DateTime = D2021, DateTimeOffset = O2021, NullableInt = null, Tags = ["y"], TagList = ["q", "p"], Body = "lazy dog sleeps", Vector = new[] { 0f, 1f, 0f } },
        new() { Key = "c", Text = "gamma", Int = 3, Long = 30, Float = 3.5f, Double = 3.25, Bool = true, DateTime = new(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc), DateTimeOffset = new(2022, 1, 1, 0, 0, 0, TimeSpan.Zero), NullableInt = 7, Tags = ["z"], TagList = null, Body = "quick thinking", Vector = new[] { 0f, 0f, 1f } },
        new() { Key = "d", Text = "delta", Int = 4, Long = 40, Float = 4.5f, Double = 4.25, Bool = false, DateTime = new(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc), DateTimeOffset = new(2023, 1, 1, 0, 0, 0, TimeSpan.Zero), NullableInt = null, Tags = null, TagList = ["r"], Body = null, Vector = new[] { 1f, 1f, 0f } },
    ];

    public async Task InitializeAsync()
    {
        Collection = await Fixture.CreateCollectionAsync<string, AllTypes>();
        await Collection.UpsertAsync(Records);
    }

    public Task DisposeAsync()
    {
        Fixture.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class FilterTests(FilterData data) : IClassFixture<FilterData>
{
    private async Task<string[]> Keys(Expression<Func<AllTypes, bool>> filter)
    {
        var keys = new List<string>();
        await foreach (var record in data.Collection.GetAsync(filter, 100))
        {
            keys.Add(record.Key);
        }

        keys.Sort(StringComparer.Ordinal);
        return [.. keys];
    }

    [Fact] public async Task Get_matches_equal_string_when_filtering_by_string() => (await Keys(r => r.Text == "beta")).Should().Equal("b");

    [Fact] public async Task Get_matches_equal_int_when_filtering_by_int() => (await Keys(r => r.Int == 3)).Should().Equal("c");

    [Fact] public async Task Get_matches_equal_long_when_filtering_by_long() => (await Keys(r => r.Long == 40L)).Should().Equal("d");

    [Fact] public async Task Get_matches_equal_float_when_filtering_by_float() => (await Keys(r => r.Float == 2.5f)).Should().Equal("b");

    [Fact] public async Task Get_matches_equal_double_when_filtering_by_double() => (await Keys(r => r.Double == 3.25)).Should().Equal("c");

    [Fact] public async Task Get_matches_equal_bool_when_filtering_by_bool() => (await Keys(r => r.Bool == false)).Should().Equal("b", "d");

    [Fact] public async Task Get_matches_bool_member_when_filter_is_the_property_alone() => (await Keys(r => r.Bool)).Should().Equal("a", "c");

    [Fact] public async Task Get_matches_negated_bool_member_when_filter_is_not_property() => (await Keys(r => !r.Bool)).Should().Equal("b", "d");

    [Fact] public async Task Get_matches_equal_DateTime_when_filtering_by_DateTime() => (await Keys(r => r.DateTime == FilterData.D2021)).Should().Equal("b");

    [Fact]
    public async Task Get_matches_same_instant_when_filtering_DateTimeOffset_with_another_offset() =>
        (await Keys(r => r.DateTimeOffset == new DateTimeOffset(2021, 6, 1, 12, 0, 0, TimeSpan.Zero))).Should().Equal("b");

    [Fact] public async Task Get_matches_nullable_int_when_filtering_by_value() => (await Keys(r => r.NullableInt == 7)).Should().Equal("c");

    [Fact] public async Task Get_matches_not_equal_and_missing_when_filtering_with_not_equal() => (await Keys(r => r.NullableInt != 5)).Should().Equal("b", "c", "d");

    [Fact] public async Task Get_matches_not_equal_string_when_filtering_with_not_equal() => (await Keys(r => r.Text != "alpha")).Should().Equal("b", "c", "d");

    [Fact] public async Task Get_matches_less_than_when_filtering_int() => (await Keys(r => r.Int < 3)).Should().Equal("a", "b");

    [Fact] public async Task Get_matches_less_or_equal_when_filtering_long() => (await Keys(r => r.Long <= 30)).Should().Equal("a", "b", "c");

    [Fact] public async Task Get_matches_greater_than_when_filtering_double() => (await Keys(r => r.Double > 2.25)).Should().Equal("c", "d");

    [Fact] public async Task Get_matches_greater_or_equal_when_filtering_float() => (await Keys(r => r.Float >= 2.5f)).Should().Equal("b", "c", "d");

    [Fact] public async Task Get_matches_range_when_filtering_DateTime() => (await Keys(r => r.DateTime > FilterData.D2021 && r.DateTime < new DateTime(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc))).Should().Equal("c");

    [Fact] public async Task Get_matches_range_when_filtering_DateTimeOffset() => (await Keys(r => r.DateTimeOffset >= FilterData.O2021)).Should().Equal("b", "c", "d");

    [Fact] public async Task Get_flips_the_operator_when_the_constant_is_on_the_left() => (await Keys(r => 3 > r.Int)).Should().Equal("a", "b");

    [Fact] public async Task Get_matches_both_when_filter_uses_and() => (await Keys(r => r.Bool && r.Int > 1)).Should().Equal("c");

    [Fact] public async Task Get_matches_either_when_filter_uses_or() => (await Keys(r => r.Int == 1 || r.Text == "delta")).Should().Equal("a", "d");

    [Fact] public async Task Get_applies_de_morgan_when_not_wraps_and() => (await Keys(r => !(r.Int > 1 && r.Bool))).Should().Equal("a", "b", "d");

    [Fact] public async Task Get_applies_de_morgan_when_not_wraps_or() => (await Keys(r => !(r.Int == 1 || r.Int == 4))).Should().Equal("b", "c");

    [Fact] public async Task Get_complements_the_comparison_when_not_wraps_it() => (await Keys(r => !(r.Int < 3))).Should().Equal("c", "d");

    [Fact]
    public async Task Get_uses_the_captured_value_when_filter_captures_a_variable()
    {
        var wanted = "gamma";
        var minimum = 2;
        (await Keys(r => r.Text == wanted && r.Int >= minimum)).Should().Equal("c");
    }

    [Fact] public async Task Get_matches_any_listed_when_filter_uses_contains_on_inline_array() => (await Keys(r => new[] { 1, 4 }.Contains(r.Int))).Should().Equal("a", "d");

    [Fact]
    public async Task Get_matches_any_listed_when_filter_uses_contains_on_captured_list()
    {
        var names = new List<string> { "beta", "gamma", "omega" };
        (await Keys(r => names.Contains(r.Text!))).Should().Equal("b", "c");
    }

    [Fact] public async Task Get_matches_none_listed_when_filter_negates_contains() => (await Keys(r => !new[] { 1, 4 }.Contains(r.Int))).Should().Equal("b", "c");

    [Fact] public async Task Get_matches_arrays_holding_the_value_when_filter_uses_contains_on_string_array_field() => (await Keys(r => r.Tags!.Contains("y"))).Should().Equal("a", "b");

    [Fact] public async Task Get_matches_lists_holding_the_value_when_filter_uses_contains_on_list_field() => (await Keys(r => r.TagList!.Contains("p"))).Should().Equal("a", "b");

    [Fact]
    public async Task Get_matches_arrays_holding_any_value_when_filter_uses_any_contains()
    {
        var wanted = new[] { "x", "z" };
        (await Keys(r => r.Tags!.Any(t => wanted.Contains(t)))).Should().Equal("a", "c");
    }

    [Fact] public async Task Get_returns_everything_when_filter_is_true() => (await Keys(r => true)).Should().Equal("a", "b", "c", "d");

    [Fact] public async Task Get_uses_chroma_ids_when_filter_compares_the_key() => (await Keys(r => r.Key == "c")).Should().Equal("c");

    [Fact] public async Task Get_uses_chroma_ids_when_filter_tests_key_in_a_list() => (await Keys(r => new[] { "a", "d", "zz" }.Contains(r.Key) && r.Int > 1)).Should().Equal("d");

    [Fact] public async Task Get_searches_documents_when_filter_tests_the_full_text_property() => (await Keys(r => r.Body!.Contains("quick"))).Should().Equal("a", "c");

    [Fact] public async Task Get_excludes_documents_when_filter_negates_the_full_text_contains() => (await Keys(r => !r.Body!.Contains("quick") && r.Int < 4)).Should().Equal("b");

    [Fact]
    public async Task Search_applies_the_filter_when_searching_by_vector()
    {
        var results = new List<string>();
        await foreach (var hit in data.Collection.SearchAsync(new[] { 1f, 0f, 0f }, 10, new() { Filter = r => r.Int > 1 }))
        {
            results.Add(hit.Record.Key);
        }

        results.Should().Equal("d", "b", "c");
    }

    [Fact]
    public async Task Get_throws_not_supported_naming_null_when_filter_compares_with_null()
    {
        var act = async () => await Keys(r => r.NullableInt == null);
        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain("null").And.Contain("NullableInt");
    }

    [Fact]
    public async Task Get_throws_not_supported_when_filter_orders_strings()
    {
        var act = async () => await Keys(r => string.Compare(r.Text, "b", StringComparison.Ordinal) > 0);
        await act.Should().ThrowAsync<NotSupportedException>();
    }

    [Fact]
    public async Task Get_throws_not_supported_naming_the_method_when_filter_calls_an_unknown_method()
    {
        var act = async () => await Keys(r => r.Text!.StartsWith("al", StringComparison.Ordinal));
        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain("StartsWith");
    }

    [Fact]
    public async Task Get_throws_not_supported_when_filter_compares_two_properties()
    {
        var act = async () => await Keys(r => r.Int == r.Long);
        await act.Should().ThrowAsync<NotSupportedException>();
    }

    [Fact]
    public async Task Get_throws_not_supported_when_document_contains_is_inside_an_or()
    {
        var act = async () => await Keys(r => r.Body!.Contains("quick") || r.Int == 2);
        (await act.Should().ThrowAsync<NotSupportedException>()).Which.Message.Should().Contain("Body");
    }

    [Fact]
    public async Task Get_pages_in_insertion_order_when_top_and_skip_are_given()
    {
        var keys = new List<string>();
        await foreach (var record in data.Collection.GetAsync(r => true, 2, new() { Skip = 1 }))
        {
            keys.Add(record.Key);
        }

        keys.Should().Equal("b", "c");
    }

    [Fact]
    public async Task Get_sorts_then_pages_when_order_by_is_given()
    {
        var keys = new List<string>();
        await foreach (var record in data.Collection.GetAsync(r => r.Int > 0, 2, new() { Skip = 1, OrderBy = o => o.Descending(r => r.Double) }))
        {
            keys.Add(record.Key);
        }

        keys.Should().Equal("c", "b");
    }

    [Fact]
    public async Task Get_sorts_by_every_key_when_order_by_has_several()
    {
        var keys = new List<string>();
        await foreach (var record in data.Collection.GetAsync(r => true, 10, new() { OrderBy = o => o.Ascending(r => r.Bool).Descending(r => r.Int) }))
        {
            keys.Add(record.Key);
        }

        keys.Should().Equal("d", "b", "c", "a");
    }
}
