using CsCheck;
using EmbeddedChroma.Security;

namespace EmbeddedChroma.Tests.Security;

/// <summary>Finding leaked keys in text by prefix, shape and checksum, and redacting them.</summary>
public sealed class ApiKeyScannerTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public ApiKeyScannerTests()
    {
        Key = _h.AdminKey;
        Other = _h.Mint([ChromaActions.Count]).Key;
    }

    public void Dispose() => _h.Dispose();

    private string Key { get; }

    private string Other { get; }

    private static string Display(string key) => $"eck_{KeyRingHarness.KeyIdOf(key)}_…";

    public static TheoryData<string> Wrappers => new()
    {
        "{0}",
        "{{\"api_key\":\"{0}\",\"user\":\"x\"}}",
        "2030-01-01T00:00:00Z INFO auth header=Bearer {0} status=401",
        "export CHROMA_KEY={0}\n",
        "key: '{0}'",
        "({0})",
        "[{0}]",
        "<{0}>",
        "{0}.",
        "{0},",
        "{0};",
        "=={0}==",
        "X-Chroma-Token:{0}\r\n",
        "url?token={0}&x=1",
        "«{0}»",
        "\t{0}\t",
    };

    [Theory]
    [MemberData(nameof(Wrappers))]
    public void Find_finds_the_key_when_it_is_embedded_in_text(string format)
    {
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, Key);

        var found = ApiKeyScanner.Find(text);

        found.Should().ContainSingle();
        found[0].Index.Should().Be(text.IndexOf(Key, StringComparison.Ordinal));
        found[0].Length.Should().Be(Key.Length);
        found[0].Display.Should().Be(Display(Key));
        ApiKeyScanner.Redact(text).Should().Be(text.Replace(Key, Display(Key), StringComparison.Ordinal));
    }

    [Fact]
    public void Find_finds_every_key_when_several_are_adjacent_or_repeated()
    {
        var text = $"{Key} {Other}\n{Key},{Other}";

        var found = ApiKeyScanner.Find(text);

        found.Select(f => f.Display).Should().Equal(Display(Key), Display(Other), Display(Key), Display(Other));
        var redacted = ApiKeyScanner.Redact(text);
        redacted.Should().Be($"{Display(Key)} {Display(Other)}\n{Display(Key)},{Display(Other)}");
        redacted.Should().NotContain(KeyRingHarness.SecretOf(Key)).And.NotContain(KeyRingHarness.SecretOf(Other));
    }

    [Fact]
    public void Redact_masks_the_key_when_one_checksum_character_is_flipped()
    {
        for (var i = 1; i <= 6; i++)
        {
            var c = Key[^i];
            // Another base62 character (the key is random: 'Z' + 1 would be '[', which ends the key-shaped text).
            var flipped = Key[..^i] + (c == 'z' ? 'y' : c == 'Z' ? 'Y' : c == '9' ? '8' : (char)(c + 1)) + (i > 1 ? Key[^(i - 1)..] : "");
            flipped.Length.Should().Be(Key.Length);

            ApiKeyScanner.Find($"token={flipped}").Should().BeEmpty($"checksum character -{i} changed: not a valid key");
            ApiKeyScanner.Redact($"token={flipped}").Should().Be($"token={Display(Key)}", "key-shaped text is masked even when its checksum fails");
        }
    }

    public static TheoryData<string, string> GluedNeighbours => new()
    {
        { "x", "" },
        { "token", "" },
        { "%3D", "" },
        { "Bearer9", "" },
        { "", "0" },
        { "", "abc" },
        { "9", "Z" },
    };

    [Theory]
    [MemberData(nameof(GluedNeighbours))]
    public void Find_finds_the_key_when_letters_or_digits_are_glued_to_it(string before, string after)
    {
        var text = before + Key + after;

        var found = ApiKeyScanner.Find(text);

        found.Should().ContainSingle().Which.Should().Be(new DetectedApiKey(before.Length, Key.Length, Display(Key)));
        ApiKeyScanner.Redact(text).Should().Be(before + Display(Key) + after);
    }

    [Fact]
    public void Find_finds_both_keys_when_two_keys_are_glued_together()
    {
        foreach (var text in new[] { Key + Other, Other + Key, "eck_" + Key + Other + "eck" })
        {
            var found = ApiKeyScanner.Find(text);

            found.Select(f => f.Index).Should().Equal(text.IndexOf(Key[..20], StringComparison.Ordinal) < text.IndexOf(Other[..20], StringComparison.Ordinal)
                ? [text.IndexOf(Key[..20], StringComparison.Ordinal), text.IndexOf(Other[..20], StringComparison.Ordinal)]
                : [text.IndexOf(Other[..20], StringComparison.Ordinal), text.IndexOf(Key[..20], StringComparison.Ordinal)]);
            var redacted = ApiKeyScanner.Redact(text);
            redacted.Should().NotContain(KeyRingHarness.SecretOf(Key)[..8]).And.NotContain(KeyRingHarness.SecretOf(Other)[..8]);
        }
    }

    [Fact]
    public void Redact_masks_a_truncated_key_when_any_part_of_the_secret_remains()
    {
        var id = KeyRingHarness.KeyIdOf(Key);
        foreach (var cut in new[] { 1, 6, 7, 20, 48, 65 })
        {
            var truncated = Key[..(Key.Length - cut)];
            var text = $"key={truncated} end";

            ApiKeyScanner.Find(text).Should().BeEmpty("a truncated key is not a valid key");
            var redacted = ApiKeyScanner.Redact(text);
            if (cut <= 49)
            {
                redacted.Should().Be($"key={Display(Key)} end", $"{cut} characters cut still leave part of the secret");
            }
            else
            {
                redacted.Should().Be(text, "no secret character is left to hide");
            }
        }

        ApiKeyScanner.Redact($"eck_{id}_ and eck_{id}").Should().Be($"eck_{id}_ and eck_{id}", "prefix and id alone hold no secret");
    }

    [Fact]
    public void Redact_masks_a_truncated_key_without_swallowing_a_whole_key_glued_after_it()
    {
        var text = Other[..30] + Key;

        var redacted = ApiKeyScanner.Redact(text);

        redacted.Should().Be(Display(Other) + Display(Key));
    }

    [Fact]
    public void Redact_masks_the_key_when_its_case_was_changed()
    {
        foreach (var changed in new[] { Key.ToUpperInvariant(), Key.ToLowerInvariant() })
        {
            ApiKeyScanner.Find(changed).Should().BeEmpty();
            ApiKeyScanner.Redact($"[{changed}]").Should().NotContain(changed[20..40]);
        }
    }

    [Fact]
    public void Find_rejects_text_that_is_not_a_whole_valid_key()
    {
        ApiKeyScanner.Find(Key[..^1]).Should().BeEmpty();
        ApiKeyScanner.Find(Key[..^1] + " ").Should().BeEmpty();
        ApiKeyScanner.Find("eck_eck_eck_").Should().BeEmpty();
        ApiKeyScanner.Find("").Should().BeEmpty();
        ApiKeyScanner.Find(Key.ToUpperInvariant()).Should().BeEmpty();
        var unsafeNull = () => ApiKeyScanner.Find(null!);
        unsafeNull.Should().Throw<ArgumentNullException>();
        var unsafeRedact = () => ApiKeyScanner.Redact(null!);
        unsafeRedact.Should().Throw<ArgumentNullException>();
    }

    /// <summary>
    /// Random text (letters, digits, punctuation, stray prefixes) with valid, altered and truncated keys spliced in at
    /// random places, neighbours included: Find reports exactly the valid keys at their positions, and Redact leaves
    /// no 8-character piece of any secret.
    /// </summary>
    [Fact]
    public void Find_and_Redact_hold_for_keys_spliced_into_random_text()
    {
        var random = new Random(20261206);
        string Secret() => new(Enumerable.Range(0, 43).Select(_ => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[random.Next(62)]).ToArray());
        var keys = new[]
        {
            ApiKeyFormat.Compose("4niavj2kYRvi", Secret()), ApiKeyFormat.Compose("AbCdEfGhIjKl", Secret()),
            ApiKeyFormat.Compose("000000000eck", Secret()), ApiKeyFormat.Compose("zzzzzzzzzzzz", Secret()),
        };
        var noise = Gen.OneOf(
            Gen.Char["abcxyzABCXYZ0123456789"].Array[0, 6].Select(c => new string(c)),
            Gen.OneOf(Gen.Const(" "), Gen.Const("_"), Gen.Const("="), Gen.Const("%3D"), Gen.Const("\n"), Gen.Const("eck_"), Gen.Const("eck"), Gen.Const("\"\""), Gen.Const("é")));
        var piece = Gen.Int[0, keys.Length - 1].SelectMany(k => Gen.Int[0, 2].SelectMany(kind => Gen.Int[1, 42].SelectMany(n => Gen.Int[17, 65].Select(at => (keys[k], kind, n, at)))));
        var sample = Gen.Select(noise.Array[0, 8], piece.Array[0, 4], noise.Array[0, 8]);

        sample.Sample(
            (before, pieces, after) =>
            {
                var text = new System.Text.StringBuilder(string.Concat(before));
                var expected = new List<int>();
                var secrets = new List<string>();
                foreach (var (key, kind, n, at) in pieces)
                {
                    var start = text.Length;
                    switch (kind)
                    {
                        case 0: // valid
                            text.Append(key);
                            expected.Add(start);
                            secrets.Add(KeyRingHarness.SecretOf(key));
                            break;
                        case 1: // one character of secret or checksum changed to another letter or digit
                            var c = key[at];
                            text.Append(key[..at]).Append(c == 'q' ? 'r' : 'q').Append(key[(at + 1)..]);
                            secrets.Add(KeyRingHarness.SecretOf(key));
                            break;
                        default: // cut short inside the secret, at least one secret character left
                            text.Append(key[..(17 + n)]);
                            secrets.Add(key.Substring(17, n));
                            break;
                    }

                    text.Append(string.Concat(after.Take(1)));
                }

                text.Append(string.Concat(after));
                var s = text.ToString();

                ApiKeyScanner.Find(s).Select(f => f.Index).Should().Equal(expected, s);
                var redacted = ApiKeyScanner.Redact(s);
                foreach (var secret in secrets)
                {
                    for (var i = 0; i + 8 <= secret.Length; i++)
                    {
                        redacted.Should().NotContain(secret.Substring(i, 8), $"text: {s}");
                    }
                }
            },
            seed: new PCG(10, 42).ToString(),
            iter: 20_000);
    }

    [Fact]
    public void Find_finds_the_key_when_a_false_prefix_precedes_it()
    {
        var text = "eck_" + Key;

        var found = ApiKeyScanner.Find(text);

        // "eck_eck_…" : the key starts after an underscore, which is not a letter or digit.
        found.Should().ContainSingle().Which.Index.Should().Be(4);
    }

    [Fact]
    public void Redact_returns_the_same_text_when_there_is_no_key()
    {
        const string text = "nothing eck_ here eck_123";

        ApiKeyScanner.Redact(text).Should().BeSameAs(text);
    }
}
