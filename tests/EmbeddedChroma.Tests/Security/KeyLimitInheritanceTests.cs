namespace EmbeddedChroma.Tests.Security;

/// <summary>A key cannot mint or rotate its way around its own rate limit, quota or disabled state.</summary>
public sealed class KeyLimitInheritanceTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private KeyRingClient RingOf(CreatedApiKey key) => _h.Store.GetKeyRing(_h.Login(key));

    [Fact]
    public void CreateKey_throws_authorization_when_a_rate_limited_key_mints_an_unlimited_or_looser_key()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey], rate: new ApiKeyRateLimit(10, 10));
        var ring = RingOf(parent);

        var unlimited = () => ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query] });
        var looser = () => ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query], RateLimit = new ApiKeyRateLimit(100, 10) });

        unlimited.Should().Throw<ChromaAuthorizationException>().WithMessage("*rate limit*");
        looser.Should().Throw<ChromaAuthorizationException>().WithMessage("*rate limit*");
        ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query], RateLimit = new ApiKeyRateLimit(5, 5) })
            .Info.RateLimit.Should().Be(new ApiKeyRateLimit(5, 5));
    }

    [Fact]
    public void CreateKey_throws_authorization_when_a_key_with_a_quota_mints_a_key_with_more_uses()
    {
        var parent = _h.Mint([ChromaActions.AllData, ChromaActions.CreateKey], maxUses: 10);
        var ring = RingOf(parent);

        var unlimited = () => ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query] });
        var more = () => ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query], MaxUses = 1_000 });

        unlimited.Should().Throw<ChromaAuthorizationException>().WithMessage("*uses*");
        more.Should().Throw<ChromaAuthorizationException>().WithMessage("*uses*");
        ring.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.Query], MaxUses = 3 }).Info.RemainingUses.Should().Be(3);
    }

    [Fact]
    public void RotateKey_throws_validation_and_leaves_the_key_disabled_when_the_key_is_disabled()
    {
        var target = _h.Mint([ChromaActions.Query]);
        _h.AdminRing.DisableKey(target.Info.KeyId);

        var rotate = () => _h.AdminRing.RotateKey(target.Info.KeyId, TimeSpan.FromMinutes(5));

        rotate.Should().Throw<ChromaValidationException>().WithMessage("*disabled*");
        _h.AdminRing.GetKey(target.Info.KeyId).State.Should().Be(ApiKeyState.Disabled);
        _h.AdminRing.ListKeys().Should().NotContain(k => k.CreatedBy == _h.AdminContext.KeyId && k.Name == target.Info.Name && k.KeyId != target.Info.KeyId);
    }
}
