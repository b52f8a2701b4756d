using System.Collections.Immutable;
using System.Globalization;
using CsCheck;

namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// <see cref="MetadataValue"/>, the contract's typed metadata: Chroma's rules (string, int, finite float, bool, or a
/// non-empty array of one of those) are checked when a value is made, the kinds never blur (5 is not 5.0), and the
/// value round-trips through its CLR form.
/// </summary>
public sealed class MetadataValueTests
{
    public static TheoryData<MetadataValue, MetadataValueKind> OneOfEachKind() => new()
    {
        { MetadataValue.FromString("sci-fi"), MetadataValueKind.String },
        { MetadataValue.FromInt64(-7), MetadataValueKind.Int },
        { MetadataValue.FromDouble(2.5), MetadataValueKind.Float },
        { MetadataValue.FromBoolean(true), MetadataValueKind.Bool },
        { MetadataValue.FromStrings(["a", "b"]), MetadataValueKind.StringArray },
        { MetadataValue.FromInt64s([1, 2, 3]), MetadataValueKind.IntArray },
        { MetadataValue.FromDoubles([0.5, -1.25]), MetadataValueKind.FloatArray },
        { MetadataValue.FromBooleans([false, true]), MetadataValueKind.BoolArray },
    };

    [Fact]
    public void Factories_give_each_kind_with_its_value_when_given_a_valid_value()
    {
        MetadataValue.FromString("x").AsString().Should().Be("x");
        MetadataValue.FromInt64(long.MinValue).AsInt64().Should().Be(long.MinValue);
        MetadataValue.FromDouble(double.MaxValue).AsDouble().Should().Be(double.MaxValue);
        MetadataValue.FromBoolean(false).AsBoolean().Should().BeFalse();
        MetadataValue.FromStrings(["b", "a", "b"]).AsStrings().Should().Equal("b", "a", "b");
        MetadataValue.FromInt64s([3, 1, 2]).AsInt64s().Should().Equal(3L, 1L, 2L);
        MetadataValue.FromDoubles([0.1, -0.0]).AsDoubles().Should().Equal(0.1, -0.0);
        MetadataValue.FromBooleans([true, false, true]).AsBooleans().Should().Equal(true, false, true);
    }

    [Fact]
    public void Implicit_conversions_keep_the_kind_of_the_CLR_type_when_assigned()
    {
        MetadataValue fromString = "s";
        MetadataValue fromLong = 5L;
        MetadataValue fromInt = 5;
        MetadataValue fromDouble = 5.0;
        MetadataValue fromFloat = 0.5f;
        MetadataValue fromBool = true;
        MetadataValue fromStrings = new[] { "a" };
        MetadataValue fromLongs = new[] { 1L, 2L };
        MetadataValue fromInts = new[] { 1, 2 };
        MetadataValue fromDoubles = new[] { 1.0, 2.0 };
        MetadataValue fromFloats = new[] { 1.5f, 2.5f };
        MetadataValue fromBools = new[] { true };

        fromString.Kind.Should().Be(MetadataValueKind.String);
        fromLong.Kind.Should().Be(MetadataValueKind.Int);
        fromInt.Kind.Should().Be(MetadataValueKind.Int);
        fromInt.AsInt64().Should().Be(5);
        fromDouble.Kind.Should().Be(MetadataValueKind.Float, "5.0 is a float, not an int");
        fromFloat.Kind.Should().Be(MetadataValueKind.Float);
        fromFloat.AsDouble().Should().Be(0.5);
        fromBool.Kind.Should().Be(MetadataValueKind.Bool);
        fromStrings.Kind.Should().Be(MetadataValueKind.StringArray);
        fromLongs.Kind.Should().Be(MetadataValueKind.IntArray);
        fromInts.Kind.Should().Be(MetadataValueKind.IntArray);
        fromInts.AsInt64s().Should().Equal(1L, 2L);
        fromDoubles.Kind.Should().Be(MetadataValueKind.FloatArray);
        fromFloats.Kind.Should().Be(MetadataValueKind.FloatArray);
        fromFloats.AsDoubles().Should().Equal(1.5, 2.5);
        fromBools.Kind.Should().Be(MetadataValueKind.BoolArray);
        new[] { fromString, fromLong, fromDouble, fromBool }.Should().OnlyContain(v => !v.IsArray);
        new[] { fromStrings, fromLongs, fromDoubles, fromBools }.Should().OnlyContain(v => v.IsArray);
    }

    [Theory]
    [MemberData(nameof(OneOfEachKind))]
    public void Accessors_of_another_kind_throw_InvalidOperationException_when_called(MetadataValue value, MetadataValueKind kind)
    {
        var accessors = new (MetadataValueKind Kind, Func<MetadataValue, object> Read)[]
        {
            (MetadataValueKind.String, v => v.AsString()),
            (MetadataValueKind.Int, v => v.AsInt64()),
            (MetadataValueKind.Bool, v => v.AsBoolean()),
            (MetadataValueKind.StringArray, v => v.AsStrings()),
            (MetadataValueKind.IntArray, v => v.AsInt64s()),
            (MetadataValueKind.FloatArray, v => v.AsDoubles()),
            (MetadataValueKind.BoolArray, v => v.AsBooleans()),
        };

        value.Kind.Should().Be(kind);
        foreach (var (accessorKind, read) in accessors)
        {
            var act = () => read(value);
            if (accessorKind == kind)
            {
                act.Should().NotThrow();
            }
            else
            {
                act.Should().Throw<InvalidOperationException>($"As… for {accessorKind} on a {kind}");
            }
        }

        var asDouble = () => value.AsDouble();
        if (kind is MetadataValueKind.Float or MetadataValueKind.Int)
        {
            asDouble.Should().NotThrow("AsDouble reads any number");
        }
        else
        {
            asDouble.Should().Throw<InvalidOperationException>();
        }
    }

    [Fact]
    public void Explicit_casts_read_the_value_and_throw_InvalidOperationException_when_the_kind_differs_or_the_value_is_null()
    {
        ((string)MetadataValue.FromString("s")).Should().Be("s");
        ((long)MetadataValue.FromInt64(7)).Should().Be(7);
        ((double)MetadataValue.FromInt64(7)).Should().Be(7.0);
        ((bool)MetadataValue.FromBoolean(true)).Should().BeTrue();

        new Action[]
        {
            () => _ = (string)MetadataValue.FromInt64(1),
            () => _ = (long)MetadataValue.FromDouble(1.0),
            () => _ = (double)MetadataValue.FromString("1"),
            () => _ = (bool)MetadataValue.FromInt64s([1]),
            () => _ = (long)(MetadataValue)null!,
        }.Should().AllSatisfy(act => act.Should().Throw<InvalidOperationException>());
    }

    [Fact]
    public void AsDouble_widens_an_integer_but_keeps_its_kind_when_read_as_a_number()
    {
        var value = MetadataValue.FromInt64(5);

        value.AsDouble().Should().Be(5.0);
        value.Kind.Should().Be(MetadataValueKind.Int);
        value.ToObject().Should().BeOfType<long>();
    }

    public static TheoryData<object, MetadataValue> AcceptedClrValues() => new()
    {
        { "text", MetadataValue.FromString("text") },
        { string.Empty, MetadataValue.FromString(string.Empty) },
        { true, MetadataValue.FromBoolean(true) },
        { long.MaxValue, MetadataValue.FromInt64(long.MaxValue) },
        { int.MinValue, MetadataValue.FromInt64(int.MinValue) },
        { (short)-3, MetadataValue.FromInt64(-3) },
        { (sbyte)-4, MetadataValue.FromInt64(-4) },
        { (byte)250, MetadataValue.FromInt64(250) },
        { (ushort)65535, MetadataValue.FromInt64(65535) },
        { uint.MaxValue, MetadataValue.FromInt64(uint.MaxValue) },
        { (ulong)long.MaxValue, MetadataValue.FromInt64(long.MaxValue) },
        { 0.1, MetadataValue.FromDouble(0.1) },
        { 0.5f, MetadataValue.FromDouble(0.5) },
        { 2.25m, MetadataValue.FromDouble(2.25) },
        { new[] { "a", "b" }, MetadataValue.FromStrings(["a", "b"]) },
        { new[] { 1L, 2L }, MetadataValue.FromInt64s([1, 2]) },
        { new[] { 1, 2 }, MetadataValue.FromInt64s([1, 2]) },
        { new[] { 1.5, 2.5 }, MetadataValue.FromDoubles([1.5, 2.5]) },
        { new[] { 1.5f }, MetadataValue.FromDoubles([1.5]) },
        { new[] { true, false }, MetadataValue.FromBooleans([true, false]) },
        { new List<int> { 3, 4 }, MetadataValue.FromInt64s([3, 4]) },
        { ImmutableArray.Create("x"), MetadataValue.FromStrings(["x"]) },
        { new object[] { 1, 2L, (byte)3 }, MetadataValue.FromInt64s([1, 2, 3]) },
        { new object[] { 1.5, 2.5f }, MetadataValue.FromDoubles([1.5, 2.5]) },
        { MetadataValue.FromInt64(9), MetadataValue.FromInt64(9) },
    };

    [Theory]
    [MemberData(nameof(AcceptedClrValues))]
    public void FromObject_converts_to_the_expected_kind_and_value_when_given_an_accepted_CLR_type(object clr, MetadataValue expected)
    {
        var value = MetadataValue.FromObject(clr);

        value.Kind.Should().Be(expected.Kind);
        value.Should().Be(expected);
    }

    public static TheoryData<string, object?> RejectedClrValues() => new()
    {
        { "null", null },
        { "DateTime", new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc) },
        { "DateTimeOffset", DateTimeOffset.UnixEpoch },
        { "Guid", Guid.Empty },
        { "char", 'c' },
        { "char[]", new[] { 'a', 'b' } },
        { "nested dictionary", new Dictionary<string, object> { ["inner"] = 1 } },
        { "plain object", new object() },
        { "object[] mixing int and string", new object[] { 1, "one" } },
        { "object[] mixing int and float", new object[] { 1, 1.5 } },
        { "object[] mixing bool and int", new object[] { true, 1 } },
        { "nested array", new[] { new[] { 1, 2 } } },
        { "object[] holding an array", new object[] { "a", new[] { "b" } } },
        { "empty string[]", Array.Empty<string>() },
        { "empty long[]", Array.Empty<long>() },
        { "empty double[]", Array.Empty<double>() },
        { "empty bool[]", Array.Empty<bool>() },
        { "empty object[]", Array.Empty<object>() },
        { "empty list", new List<int>() },
        { "string[] with null", new string?[] { "a", null } },
        { "object[] with null", new object?[] { 1, null } },
        { "NaN", double.NaN },
        { "+Infinity", double.PositiveInfinity },
        { "-Infinity", double.NegativeInfinity },
        { "float NaN", float.NaN },
        { "float -Infinity", float.NegativeInfinity },
        { "double[] with NaN", new[] { 1.0, double.NaN } },
        { "float[] with +Infinity", new[] { 1f, float.PositiveInfinity } },
        { "ulong above long.MaxValue", (ulong)long.MaxValue + 1 },
        { "ulong.MaxValue", ulong.MaxValue },
        { "ulong[] above long.MaxValue", new[] { 1UL, ulong.MaxValue } },
        { "Int128", (Int128)5 },
        { "Half", (Half)1.5f },
    };

    [Theory]
    [MemberData(nameof(RejectedClrValues))]
    public void FromObject_throws_ChromaValidationException_naming_where_when_given_a_rejected_value(string what, object? clr)
    {
        var act = () => MetadataValue.FromObject(clr, "metadatas[3]['year']");

        act.Should().Throw<ChromaValidationException>(what).Which.Message.Should().Contain("metadatas[3]['year']", what);
    }

    [Fact]
    public void FromObject_never_turns_an_unsigned_value_into_a_negative_integer_when_given_a_ulong_array()
    {
        // The CLR lets a ulong[] pass a type test for long[] (same element size): ulong.MaxValue must not come back as -1.
        var act = () => MetadataValue.FromObject(new[] { ulong.MaxValue });

        act.Should().Throw<ChromaValidationException>();
        MetadataValue.FromObject(new ulong[] { 1, 2 }).Should().Be(MetadataValue.FromInt64s([1, 2]), "values that fit are accepted");
    }

    public static TheoryData<string, MetadataValue> AcceptedJson() => new()
    {
        { "\"text\"", MetadataValue.FromString("text") },
        { "5", MetadataValue.FromInt64(5) },
        { "-0", MetadataValue.FromInt64(0) },
        { "9007199254740993", MetadataValue.FromInt64(9_007_199_254_740_993L) },
        { "5.0", MetadataValue.FromDouble(5.0) },
        { "5e0", MetadataValue.FromDouble(5.0) },
        { "1E2", MetadataValue.FromDouble(100.0) },
        { "true", MetadataValue.FromBoolean(true) },
        { "false", MetadataValue.FromBoolean(false) },
        { "[\"b\", \"a\"]", MetadataValue.FromStrings(["b", "a"]) },
        { "[3, 1]", MetadataValue.FromInt64s([3, 1]) },
        { "[1.0, 2.0]", MetadataValue.FromDoubles([1.0, 2.0]) },
        { "[true]", MetadataValue.FromBooleans([true]) },
    };

    [Theory]
    [MemberData(nameof(AcceptedJson))]
    public void FromObject_keeps_JSON_integers_and_floats_apart_when_given_a_JsonElement(string json, MetadataValue expected)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);

        var value = MetadataValue.FromObject(document.RootElement.Clone());

        value.Kind.Should().Be(expected.Kind);
        value.Should().Be(expected);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("{\"a\": 1}")]
    [InlineData("[]")]
    [InlineData("[1, 2.5]")]
    [InlineData("[1, \"a\"]")]
    [InlineData("[[1]]")]
    [InlineData("[1, null]")]
    [InlineData("1e400")]
    [InlineData("\"\\ud800\"")]
    [InlineData("18446744073709551615")]
    [InlineData("-9223372036854775809")]
    [InlineData("1.5e309")]
    public void FromObject_throws_ChromaValidationException_when_a_JsonElement_is_not_a_metadata_value(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var element = document.RootElement.Clone();

        // An integer literal that does not fit 64 bits is refused, not silently turned into a float.
        var act = () => MetadataValue.FromObject(element, "metadatas[0]['n']");

        act.Should().Throw<ChromaValidationException>().Which.Message.Should().Contain("metadatas[0]['n']");
    }

    [Fact]
    public void FromObject_throws_ChromaValidationException_when_given_a_default_JsonElement()
    {
        var act = () => MetadataValue.FromObject(default(System.Text.Json.JsonElement));

        act.Should().Throw<ChromaValidationException>();
    }

    [Fact]
    public void Factories_throw_ChromaValidationException_when_given_null_empty_or_non_finite_values()
    {
        new Action[]
        {
            () => MetadataValue.FromString(null!),
            () => MetadataValue.FromDouble(double.NaN),
            () => MetadataValue.FromDouble(double.NegativeInfinity),
            () => MetadataValue.FromStrings(null!),
            () => MetadataValue.FromStrings([]),
            () => MetadataValue.FromStrings(["a", null!]),
            () => MetadataValue.FromInt64s([]),
            () => MetadataValue.FromDoubles([]),
            () => MetadataValue.FromDoubles([1, double.PositiveInfinity]),
            () => MetadataValue.FromBooleans([]),
            () => _ = (MetadataValue)(string)null!,
            () => _ = (MetadataValue)float.NaN,
            () => _ = (MetadataValue)Array.Empty<int>(),
            () => _ = (MetadataValue)new[] { float.NaN },
        }.Should().AllSatisfy(act => act.Should().Throw<ChromaValidationException>());
    }

    [Fact]
    public void Equals_keeps_int_and_float_apart_when_numerically_equal()
    {
        MetadataValue five = 5;
        MetadataValue fiveFloat = 5.0;

        five.Equals(fiveFloat).Should().BeFalse();
        fiveFloat.Equals(five).Should().BeFalse();
        (five == fiveFloat).Should().BeFalse();
        (five != fiveFloat).Should().BeTrue();
        MetadataValue.FromInt64s([1, 2]).Should().NotBe(MetadataValue.FromDoubles([1, 2]));
        MetadataValue.FromString("5").Should().NotBe(five);
        MetadataValue.FromBoolean(true).Should().NotBe(MetadataValue.FromInt64(1));
    }

    [Fact]
    public void Equals_compares_arrays_element_by_element_when_instances_differ()
    {
        var source = new[] { "a", "B" };
        var left = MetadataValue.FromStrings(source);
        var right = MetadataValue.FromStrings(new List<string> { "a", "B" });

        left.Should().Be(right);
        (left == right).Should().BeTrue();
        left.GetHashCode().Should().Be(right.GetHashCode());
        left.Should().NotBe(MetadataValue.FromStrings(["B", "a"]), "order matters");
        left.Should().NotBe(MetadataValue.FromStrings(["a", "b"]), "strings compare ordinally");
        left.Should().NotBe(MetadataValue.FromStrings(["a"]), "length matters");
        MetadataValue.FromDoubles([0.5, 1]).Should().Be(MetadataValue.FromDoubles([0.5, 1]));
        MetadataValue.FromBooleans([true]).Should().NotBe(MetadataValue.FromBooleans([true, true]));

        source[0] = "changed";
        left.AsStrings()[0].Should().Be("a", "a value is immutable: it does not share the caller's array");
    }

    [Fact]
    public void Equality_operators_and_Equals_handle_null_when_either_side_is_null()
    {
        MetadataValue? none = null;
        MetadataValue value = 1;

        (none == null).Should().BeTrue();
        (value == none).Should().BeFalse();
        (none == value).Should().BeFalse();
        (none != value).Should().BeTrue();
        value!.Equals((MetadataValue?)null).Should().BeFalse();
        value!.Equals((object)"1").Should().BeFalse();
    }

    [Fact]
    public void GetHashCode_agrees_with_Equals_when_values_are_equal_but_built_differently()
    {
        var pairs = new (MetadataValue A, MetadataValue B)[]
        {
            (MetadataValue.FromObject(5), MetadataValue.FromInt64(5)),
            (MetadataValue.FromObject((byte)5), MetadataValue.FromObject(5L)),
            (MetadataValue.FromObject(0.5f), MetadataValue.FromDouble(0.5)),
            (MetadataValue.FromDouble(0.0), MetadataValue.FromDouble(-0.0)),
            (MetadataValue.FromDoubles([0.0]), MetadataValue.FromDoubles([-0.0])),
            (MetadataValue.FromObject(new[] { 1, 2 }), MetadataValue.FromInt64s([1, 2])),
            (MetadataValue.FromObject(new List<string> { "x" }), MetadataValue.FromStrings(["x"])),
            (MetadataValue.FromObject(new string(['a', 'b'])), MetadataValue.FromString("ab")),
        };

        foreach (var (a, b) in pairs)
        {
            a.Should().Be(b);
            a.GetHashCode().Should().Be(b.GetHashCode(), $"{a} equals {b}");
        }

        new HashSet<MetadataValue> { 5, 5.0, "5", new[] { 5 }, new[] { 5.0 }, 5L }.Should().HaveCount(5);
    }

    [Theory]
    [MemberData(nameof(OneOfEachKind))]
    public void ToObject_round_trips_through_FromObject_with_CLR_types_of_the_kind_when_read(MetadataValue value, MetadataValueKind kind)
    {
        var clr = value.ToObject();

        clr.GetType().Should().Be(kind switch
        {
            MetadataValueKind.String => typeof(string),
            MetadataValueKind.Int => typeof(long),
            MetadataValueKind.Float => typeof(double),
            MetadataValueKind.Bool => typeof(bool),
            MetadataValueKind.StringArray => typeof(string[]),
            MetadataValueKind.IntArray => typeof(long[]),
            MetadataValueKind.FloatArray => typeof(double[]),
            _ => typeof(bool[]),
        });
        MetadataValue.FromObject(clr).Should().Be(value);
    }

    [Fact]
    public void ToObject_returns_a_new_array_each_time_when_the_caller_changes_it()
    {
        var value = MetadataValue.FromInt64s([1, 2]);

        var first = (long[])value.ToObject();
        first[0] = 99;

        value.AsInt64s().Should().Equal(1L, 2L);
        ((long[])value.ToObject()).Should().Equal(1L, 2L);
    }

    [Fact]
    public void ToString_shows_values_as_JSON_would_when_called_on_each_kind()
    {
        MetadataValue.FromString("sci-fi").ToString().Should().Be("\"sci-fi\"");
        MetadataValue.FromInt64(-3).ToString().Should().Be("-3");
        MetadataValue.FromDouble(5.0).ToString().Should().Be("5");
        MetadataValue.FromBoolean(true).ToString().Should().Be("true");
        MetadataValue.FromStrings(["a", "b"]).ToString().Should().Be("[\"a\", \"b\"]");
        MetadataValue.FromInt64s([1, 2]).ToString().Should().Be("[1, 2]");
        MetadataValue.FromBooleans([false]).ToString().Should().Be("[false]");
        double.Parse(MetadataValue.FromDouble(0.1).ToString(), CultureInfo.InvariantCulture).Should().Be(0.1, "floats print round-trippably");
        double.Parse(MetadataValue.FromDouble(1e-300).ToString(), CultureInfo.InvariantCulture).Should().Be(1e-300);
    }

    [Fact]
    public void ToString_uses_the_invariant_culture_when_the_current_culture_uses_a_decimal_comma()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // The build runs with invariant globalization: make a culture with a decimal comma and a different minus.
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            comma.NumberFormat.NegativeSign = "~";
            CultureInfo.CurrentCulture = comma;
            MetadataValue.FromDouble(1.5).ToString().Should().Be("1.5");
            MetadataValue.FromDoubles([1.5, -2.25]).ToString().Should().Be("[1.5, -2.25]");
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void ToString_escapes_control_characters_and_line_breaks_when_a_string_holds_them()
    {
        var nasty = "line1\nline2\r\0\u001b[31m\u2028\ud800end";
        foreach (var value in new[] { MetadataValue.FromString(nasty), MetadataValue.FromStrings([nasty, "ok"]) })
        {
            var text = value.ToString();

            text.Should().NotContainAny("\n", "\r", "\0", "\u001b", "\u2028");
            text.Any(char.IsSurrogate).Should().BeFalse("an unpaired surrogate is escaped");
            text.Should().Contain("\\n");
        }
    }

    [Fact]
    public void ToString_escapes_a_double_quote_when_a_string_holds_one()
    {
        // "As JSON would show it": a string holding `", "` must not print like two array elements.
        var oneElement = MetadataValue.FromStrings(["a\", \"b"]);
        var twoElements = MetadataValue.FromStrings(["a", "b"]);

        oneElement.ToString().Should().NotBe(twoElements.ToString());
        MetadataValue.FromString("say \"hi\"").ToString().Should().Be("\"say \\\"hi\\\"\"");
    }

    [Fact]
    public void Map_keeps_null_values_and_converts_the_others_when_given_CLR_values()
    {
        var map = MetadataValue.Map(new Dictionary<string, object?> { ["year"] = 1999, ["gone"] = null, ["score"] = 0.5 });

        map["year"].Should().Be(MetadataValue.FromInt64(1999));
        map["gone"].Should().BeNull();
        map["score"]!.Kind.Should().Be(MetadataValueKind.Float);
    }

    [Fact]
    public void Map_throws_ChromaValidationException_naming_the_key_when_a_value_is_rejected()
    {
        var act = () => MetadataValue.Map(new Dictionary<string, object?> { ["when"] = DateTime.UnixEpoch });

        act.Should().Throw<ChromaValidationException>().WithMessage("*when*");
    }

    private static readonly Gen<double> FiniteDouble = Gen.Double.Where(double.IsFinite);

    private static readonly Gen<string> AnyString = Gen.Char.Array[0, 12].Select(a => new string(a));

    private static readonly Gen<MetadataValue> AnyValue = Gen.OneOf(
        AnyString.Select(MetadataValue.FromString),
        Gen.Long.Select(MetadataValue.FromInt64),
        FiniteDouble.Select(MetadataValue.FromDouble),
        Gen.Bool.Select(MetadataValue.FromBoolean),
        AnyString.Array[1, 5].Select(a => MetadataValue.FromStrings(a)),
        Gen.Long.Array[1, 5].Select(a => MetadataValue.FromInt64s(a)),
        FiniteDouble.Array[1, 5].Select(a => MetadataValue.FromDoubles(a)),
        Gen.Bool.Array[1, 5].Select(a => MetadataValue.FromBooleans(a)));

    [Fact]
    public void FromObject_of_ToObject_equals_the_value_with_the_same_hash_for_generated_values()
    {
        // One sample of a list under a fixed seed, single-threaded: the same 2,000 values on every run.
        AnyValue.Array[2_000].Sample(
            values =>
            {
                foreach (var value in values)
                {
                    var back = MetadataValue.FromObject(value.ToObject());
                    back.Kind.Should().Be(value.Kind);
                    back.Should().Be(value);
                    back.GetHashCode().Should().Be(value.GetHashCode());
                    _ = value.ToString();
                }
            },
            seed: new PCG(11, 20_261_206).ToString(),
            iter: 1,
            threads: 1);
    }

    [Fact]
    public void Equals_differs_whenever_kind_differs_for_generated_pairs()
    {
        Gen.Select(AnyValue, AnyValue).Array[2_000].Sample(
            pairs =>
            {
                foreach (var (a, b) in pairs)
                {
                    if (a.Kind != b.Kind)
                    {
                        a.Equals(b).Should().BeFalse();
                    }

                    if (a.Equals(b))
                    {
                        a.GetHashCode().Should().Be(b.GetHashCode());
                        b.Equals(a).Should().BeTrue();
                    }
                }
            },
            seed: new PCG(12, 20_261_206).ToString(),
            iter: 1,
            threads: 1);
    }
}
