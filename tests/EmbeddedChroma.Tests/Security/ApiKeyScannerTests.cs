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
    public void Find_rejects_the_key_when_one_checksum_character_is_flipped()
    {
        for (var i = 1; i <= 6; i++)
        {
            var c = Key[^i];
            var flipped = Key[..^i] + (c == 'z' ? 'y' : c == '9' ? '8' : (char)(c + 1)) + (i > 1 ? Key[^(i - 1)..] : "");
            flipped.Length.Should().Be(Key.Length);

            ApiKeyScanner.Find($"token={flipped}").Should().BeEmpty($"checksum character -{i} changed");
            ApiKeyScanner.Redact($"token={flipped}").Should().Be($"token={flipped}");
        }
    }

    [Fact]
    public void Find_rejects_the_key_when_it_is_glued_to_other_letters_digits_or_truncated()
    {
        ApiKeyScanner.Find("x" + Key).Should().BeEmpty();
        ApiKeyScanner.Find(Key + "0").Should().BeEmpty();
        ApiKeyScanner.Find(Key[..^1]).Should().BeEmpty();
        ApiKeyScanner.Find(Key[..^1] + " ").Should().BeEmpty();
        ApiKeyScanner.Find("eck_eck_eck_").Should().BeEmpty();
        ApiKeyScanner.Find("").Should().BeEmpty();
        ApiKeyScanner.Find(Key.ToUpperInvariant()).Should().BeEmpty();
        var unsafeNull = () => ApiKeyScanner.Find(null!);
        unsafeNull.Should().Throw<ArgumentNullException>();
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
