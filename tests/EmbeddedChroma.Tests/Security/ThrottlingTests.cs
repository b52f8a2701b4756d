using EmbeddedChroma.Security;

namespace EmbeddedChroma.Tests.Security;

/// <summary>The failure throttle per key id, per-key rate limits and quotas under concurrency, on a frozen clock.</summary>
public sealed class ThrottlingTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public ThrottlingTests() => _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]]);

    public void Dispose() => _h.Dispose();

    /// <summary>Runs <paramref name="call"/> on <paramref name="threads"/> threads released together; returns each outcome.</summary>
    private static List<Exception?> Race(int threads, Action call)
    {
        using var start = new Barrier(threads);
        var outcomes = new Exception?[threads];
        var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                call();
            }
            catch (Exception ex)
            {
                outcomes[i] = ex;
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        return [.. outcomes];
    }

    [Fact]
    public void Authenticate_throws_rate_limited_after_a_burst_of_wrong_secrets_while_the_real_key_still_works()
    {
        var victim = _h.Mint([ChromaActions.Count]);
        var keyId = victim.Info.KeyId;
        var outcomes = new Dictionary<Type, int>();

        for (var i = 0; i < 10_000; i++)
        {
            var guess = ApiKeyFormat.Create(keyId);
            try
            {
                _h.Store.Authenticate(guess);
            }
            catch (ChromaException ex)
            {
                outcomes[ex.GetType()] = outcomes.GetValueOrDefault(ex.GetType()) + 1;
            }

            if (i % 1000 == 999)
            {
                _h.Login(victim).KeyId.Should().Be(keyId, "the owner is never locked out by guesses at their key id");
            }
        }

        outcomes.Keys.Should().BeEquivalentTo([typeof(ChromaAuthenticationException), typeof(ChromaRateLimitedException)]);
        outcomes[typeof(ChromaAuthenticationException)].Should().BeInRange(1, 10, "only a burst of failures is answered before throttling");
        outcomes[typeof(ChromaRateLimitedException)].Should().Be(10_000 - outcomes[typeof(ChromaAuthenticationException)]);
        _h.Store.GetClient(victim.Key).GetCollection("test").Count().Should().Be(1);
        var otherId = () => _h.Store.Authenticate(ApiKeyFormat.Create(_h.AdminContext.KeyId));
        otherId.Should().Throw<ChromaAuthenticationException>("the throttle is per key id");
    }

    [Fact]
    public void Authenticate_keeps_throttling_a_key_id_when_more_than_ten_thousand_other_key_ids_are_tried_in_between()
    {
        var victim = _h.Mint([ChromaActions.Count]);
        var guess = () => _h.Store.Authenticate(ApiKeyFormat.Create(victim.Info.KeyId));
        for (var i = 0; i < 20; i++)
        {
            try
            {
                guess();
            }
            catch (ChromaException)
            {
            }
        }

        guess.Should().Throw<ChromaRateLimitedException>();

        // Unknown key ids each take a throttle entry: flooding them must not reset the victim's throttle.
        for (var i = 0; i < 10_010; i++)
        {
            try
            {
                _h.Store.Authenticate(ApiKeyFormat.Create(ApiKeyFormat.NewKeyId()));
            }
            catch (ChromaException)
            {
            }
        }

        guess.Should().Throw<ChromaRateLimitedException>();
        _h.Login(victim).KeyId.Should().Be(victim.Info.KeyId);
    }

    [Fact]
    public void Authenticate_throws_rate_limited_with_retry_after_and_recovers_when_clock_advances()
    {
        var victim = _h.Mint([ChromaActions.Count]);
        var guess = ApiKeyFormat.Create(victim.Info.KeyId);
        ChromaRateLimitedException? limited = null;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            try
            {
                _h.Store.Authenticate(guess);
            }
            catch (ChromaRateLimitedException ex)
            {
                limited = ex;
            }
            catch (ChromaAuthenticationException)
            {
            }
        }

        limited.Should().NotBeNull();
        limited!.RetryAfter.Should().BePositive();

        _h.Clock.Advance(limited.RetryAfter);

        var again = () => _h.Store.Authenticate(guess);
        again.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public void Rate_limit_lets_exactly_the_burst_through_when_eight_threads_race_on_a_frozen_clock()
    {
        var limited = _h.Mint([ChromaActions.Count, ChromaActions.Get], rate: new ApiKeyRateLimit(5, 5));
        var other = _h.Mint([ChromaActions.Count], rate: new ApiKeyRateLimit(5, 5));
        var collection = _h.Store.GetClient(_h.Login(limited)).GetCollection("test");
        var otherCollection = _h.Store.GetClient(_h.Login(other)).GetCollection("test");
        _h.Clock.Advance(TimeSpan.FromSeconds(10)); // refill both buckets, then freeze

        var outcomes = Race(8, () => collection.Count());

        outcomes.Count(e => e is null).Should().Be(5);
        outcomes.Where(e => e is not null).Should().AllBeOfType<ChromaRateLimitedException>().And.HaveCount(3);
        for (var i = 0; i < 5; i++)
        {
            otherCollection.Count().Should().Be(1, "another key has its own bucket");
        }

        var sixth = () => otherCollection.Count();
        sixth.Should().Throw<ChromaRateLimitedException>();
        _h.Fx.Client.GetCollection("test").Count().Should().Be(1, "keys without a rate limit are unaffected");

        _h.Clock.Advance(TimeSpan.FromMilliseconds(200));
        collection.Count().Should().Be(1, "one permit refills in 1/5 s");
        var next = () => collection.Count();
        next.Should().Throw<ChromaRateLimitedException>().Which.RetryAfter.Should().BePositive();
    }

    [Fact]
    public void MaxUses_of_one_lets_exactly_one_call_through_when_two_threads_race()
    {
        for (var round = 0; round < 20; round++)
        {
            var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 1);
            var client = _h.Store.GetClient(_h.Login(key));

            var outcomes = Race(2, () => client.Heartbeat());

            outcomes.Count(e => e is null).Should().Be(1, $"round {round}");
            outcomes.Single(e => e is not null).Should().BeOfType<ChromaAuthenticationException>();
            var after = () => client.Heartbeat();
            after.Should().Throw<ChromaAuthenticationException>();
            var login = () => _h.Login(key);
            login.Should().Throw<ChromaAuthenticationException>();
            var info = _h.AdminRing.GetKey(key.Info.KeyId);
            info.RemainingUses.Should().Be(0);
            info.State.Should().Be(ApiKeyState.Expired);
        }
    }

    [Fact]
    public void MaxUses_survives_a_reopen_when_some_uses_were_spent()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat], maxUses: 3);
        var client = _h.Store.GetClient(_h.Login(key));
        client.Heartbeat();
        client.Heartbeat();

        _h.Fx.Reopen();

        var reopened = _h.Fx.Store.GetClient(_h.Fx.Store.Authenticate(key.Key));
        reopened.Heartbeat().Should().BePositive();
        var fourth = () => reopened.Heartbeat();
        fourth.Should().Throw<ChromaAuthenticationException>();
    }
}
