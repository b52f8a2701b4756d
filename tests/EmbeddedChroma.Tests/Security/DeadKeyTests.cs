namespace EmbeddedChroma.Tests.Security;

/// <summary>Issue #10, "dead stays dead": rotation never revives a key, a bad grace period writes nothing, the clock's mark survives a reopen.</summary>
public sealed class DeadKeyTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public void RotateKey_throws_validation_and_the_key_stays_dead_when_its_grace_period_is_over()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromMinutes(5));
        _h.Clock.Advance(TimeSpan.FromMinutes(6));
        var before = _h.AdminRing.ListKeys().Count;

        var again = () => _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromDays(1));

        again.Should().Throw<ChromaValidationException>();
        var login = () => _h.Login(key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.ListKeys().Should().HaveCount(before);
    }

    [Fact]
    public void RotateKey_throws_validation_and_keeps_the_grace_end_when_the_key_is_in_its_grace_period()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromMinutes(5));
        var graceEnd = _h.AdminRing.GetKey(key.Info.KeyId).GraceUntil;

        var again = () => _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromDays(1));

        again.Should().Throw<ChromaValidationException>().WithMessage("*rotated already*");
        _h.AdminRing.GetKey(key.Info.KeyId).GraceUntil.Should().Be(graceEnd);
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    public void RotateKey_throws_validation_and_writes_nothing_when_the_grace_period_is_out_of_range(long ticks)
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        var before = _h.AdminRing.ListKeys().Count;

        var rotate = () => _h.AdminRing.RotateKey(key.Info.KeyId, new TimeSpan(ticks));

        rotate.Should().Throw<ChromaValidationException>().WithMessage("*grace*");
        _h.AdminRing.ListKeys().Should().HaveCount(before);
        _h.AdminRing.GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Active);
        _h.Login(key).KeyId.Should().Be(key.Info.KeyId);
    }

    [Fact]
    public void Expired_key_stays_expired_when_the_store_is_reopened_with_the_clock_set_back()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], expires: ManualTimeProvider.Start + TimeSpan.FromHours(1));
        _h.Clock.Advance(TimeSpan.FromHours(2));
        _h.Store.GetClient(_h.AdminContext).Heartbeat(); // a call that moves the clock's mark, no denial logged

        _h.Fx.Reopen();
        _h.Clock.Set(ManualTimeProvider.Start);
        _h.Fx.Reopen();

        var login = () => _h.Store.Authenticate(key.Key);
        login.Should().Throw<ChromaAuthenticationException>();
        _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey)).GetKey(key.Info.KeyId).State.Should().Be(ApiKeyState.Expired);
    }

    [Fact]
    public void RevokeKey_of_a_successor_leaves_the_predecessor_working_until_its_grace_period_ends()
    {
        // Documented: revoking the successor does not end the old key's grace period (revoke both for a leaked key).
        var key = _h.Mint([ChromaActions.SystemHeartbeat]);
        var successor = _h.AdminRing.RotateKey(key.Info.KeyId, TimeSpan.FromHours(1));

        _h.AdminRing.RevokeKey(successor.Info.KeyId);

        _h.Store.GetClient(key.Key).Heartbeat();
        var viaSuccessor = () => _h.Store.GetClient(successor.Key);
        viaSuccessor.Should().Throw<ChromaAuthenticationException>();
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        var viaOld = () => _h.Store.GetClient(key.Key);
        viaOld.Should().Throw<ChromaAuthenticationException>();
    }
}
