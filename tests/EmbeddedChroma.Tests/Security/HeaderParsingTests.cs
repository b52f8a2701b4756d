using System.Diagnostics;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Adversarial <c>Authorization</c> / <c>X-Chroma-Token</c> values. Accepted: <c>Bearer</c> in any ASCII case,
/// one or more spaces (RFC 6750: 1*SP), then the exact key; nothing else.
/// </summary>
public sealed class HeaderParsingTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Key => _h.AdminKey;

    private string AdminId => _h.AdminContext.KeyId;

    private void ShouldReject(string? authorization, string? token = null, string because = "")
    {
        var act = () => _h.Store.AuthenticateHeaders(authorization, token);
        act.Should().Throw<ChromaAuthenticationException>(because);
    }

    [Fact]
    public void AuthenticateHeader_throws_authentication_when_there_is_no_credential()
    {
        var nullHeader = () => _h.Store.AuthenticateHeader(null!);
        nullHeader.Should().Throw<ChromaAuthenticationException>();
        ShouldReject(null, null);
        ShouldReject("", null);
        ShouldReject(null, "");
        ShouldReject("", "");
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer    ")]
    [InlineData("bearer")]
    [InlineData(" ")]
    public void AuthenticateHeader_throws_authentication_when_bearer_has_no_token(string header)
    {
        var act = () => _h.Store.AuthenticateHeader(header);

        act.Should().Throw<ChromaAuthenticationException>();
    }

    [Theory]
    [InlineData("Bearer ")]
    [InlineData("bearer ")]
    [InlineData("BEARER ")]
    [InlineData("bEaReR ")]
    [InlineData("Bearer  ")]
    [InlineData("Bearer     ")]
    public void AuthenticateHeader_accepts_key_when_scheme_case_or_space_count_varies(string prefix)
    {
        _h.Store.AuthenticateHeader(prefix + Key).KeyId.Should().Be(AdminId);
    }

    [Fact]
    public void AuthenticateHeader_throws_authentication_when_one_token_letter_is_flipped()
    {
        for (var i = 4; i < Key.Length; i += 7)
        {
            if (!char.IsAsciiLetter(Key[i]))
            {
                continue;
            }

            var flipped = Key[..i] + (char.IsAsciiLetterUpper(Key[i]) ? char.ToLowerInvariant(Key[i]) : char.ToUpperInvariant(Key[i])) + Key[(i + 1)..];
            ShouldReject("Bearer " + flipped, because: $"letter {i} flipped");
        }

        _h.Store.AuthenticateHeader("Bearer " + Key).KeyId.Should().Be(AdminId);
    }

    public static TheoryData<string> Mangled => new()
    {
        " Bearer {0}",          // leading space
        "Bearer {0} ",          // trailing space
        "Bearer {0}  ",
        "\tBearer {0}",
        "Bearer\t{0}",          // tab instead of space
        "Bearer \t{0}",
        "Bearer {0}\t",
        "Bearer {0}\r\n",       // CR/LF (header injection)
        "Bearer {0}\n",
        "Bearer\r\n {0}",       // obsolete line folding
        "Bearer{0}",            // no space at all
        "Bearer\u00A0{0}",      // no-break space
        "Bearer\u3000{0}",      // ideographic space
        "Bearer {0}\0",         // NUL appended
        "Bearer \0{0}",
        "Bearer {0}\0garbage",
        "Bearer eck_\0{1}",     // NUL embedded
        "Basic {0}",
        "Token {0}",
        "Bearer: {0}",
        "Bearer Bearer {0}",
        "Bearer {0} {0}",
        "Bearer {0},{0}",
        "Bearer \"{0}\"",
        "{0}",                  // no scheme
        "B\u0435arer {0}",      // Cyrillic е in the scheme
        "Ｂearer {0}",          // full-width B in the scheme
        "Bearer {2}",           // full-width ｅ in the key
        "Bearer {3}",           // Cyrillic е in the key
    };

    [Theory]
    [MemberData(nameof(Mangled))]
    public void AuthenticateHeader_throws_authentication_when_header_is_mangled(string format)
    {
        var key = Key;
        var fullWidth = "\uFF45" + key[1..];
        var cyrillic = "\u0435" + key[1..];
        var header = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, key, key[4..], fullWidth, cyrillic);

        var act = () => _h.Store.AuthenticateHeader(header);

        act.Should().Throw<ChromaAuthenticationException>();
    }

    [Theory]
    [InlineData(" {0}")]
    [InlineData("{0} ")]
    [InlineData("{0}\0")]
    [InlineData("{0}\r\n")]
    [InlineData("Bearer {0}")]
    [InlineData("\uFF45ck_{1}")]
    public void AuthenticateHeaders_throws_authentication_when_x_chroma_token_is_mangled(string format)
    {
        var token = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, Key, Key[4..]);

        ShouldReject(null, token);
    }

    [Fact]
    public void AuthenticateHeader_throws_authentication_quickly_when_header_is_one_megabyte()
    {
        var huge = "Bearer " + Key + new string('A', 1 << 20);
        var hugeToken = new string('A', 1 << 20);
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < 100; i++)
        {
            ShouldReject(huge);
            ShouldReject(null, hugeToken);
            ShouldReject(huge, hugeToken);
        }

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "an oversized header is refused on its length, before any parsing or hashing");
        var audit = _h.AdminRing.ReadAudit().Where(e => e.Event == "auth.denied");
        audit.Should().BeEmpty("a header refused on its length never reaches the key ring");
    }

    [Fact]
    public void AuthenticateHeaders_throws_authentication_when_both_headers_carry_different_keys()
    {
        var other = _h.Mint([ChromaActions.Count]);

        ShouldReject("Bearer " + Key, other.Key);
        ShouldReject("Bearer " + other.Key, Key);
        ShouldReject("Bearer " + Key, Key + " ");
        ShouldReject("Bearer " + Key, Key.ToUpperInvariant());
    }

    [Fact]
    public void AuthenticateHeaders_accepts_key_when_both_headers_carry_the_same_key()
    {
        _h.Store.AuthenticateHeaders("Bearer " + Key, Key).KeyId.Should().Be(AdminId);
        _h.Store.AuthenticateHeaders("bearer   " + Key, Key).KeyId.Should().Be(AdminId);
    }

    [Fact]
    public void AuthenticateHeaders_accepts_key_when_only_x_chroma_token_is_present()
    {
        _h.Store.AuthenticateHeaders(null, Key).KeyId.Should().Be(AdminId);
    }

    [Fact]
    public void AuthenticateHeaders_throws_authentication_when_authorization_is_malformed_even_if_token_is_valid()
    {
        ShouldReject("Basic " + Key, Key);
        ShouldReject("", Key);
        ShouldReject("Bearer", Key);
    }

    [Fact]
    public void AuthenticateHeaders_throws_authentication_with_the_common_message_when_rejected()
    {
        var wrongSecret = _h.Store.AuthenticateHeaders(null, Key);
        wrongSecret.Should().NotBeNull();
        var messages = new[] { ("Basic " + Key, (string?)null), ("", null), ("Bearer " + Key, "x"), (" Bearer " + Key, null) }
            .Select(p =>
            {
                var act = () => _h.Store.AuthenticateHeaders(p.Item1, p.Item2);
                return act.Should().Throw<ChromaAuthenticationException>().Which.Message;
            })
            .ToList();

        messages.Distinct().Should().ContainSingle();
        messages[0].Should().NotContain(Key).And.NotContain(KeyRingHarness.SecretOf(Key));
    }
}
