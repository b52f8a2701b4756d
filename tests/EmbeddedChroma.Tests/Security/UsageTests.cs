using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EmbeddedChroma.Tests.Security;

/// <summary>Usage counters by action and outcome, last use, and the calls counter seen through a MeterListener.</summary>
public sealed class UsageTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public UsageTests() => _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]]);

    public void Dispose() => _h.Dispose();

    /// <summary>A key with a rate limit, used so that every outcome occurs: 3 allowed counts, 1 forbidden, 1 out of scope, 1 rate limited, then unauthenticated.</summary>
    private CreatedApiKey Exercise()
    {
        var key = _h.Mint([ChromaActions.Count], ["default_tenant/default_database/test"], rate: new ApiKeyRateLimit(1, 3));
        var context = _h.Login(key);
        var client = _h.Store.GetClient(context);
        var collection = client.GetCollection("test");               // allowed: db:get_collection (implied by collection:count)
        _h.Clock.Advance(TimeSpan.FromSeconds(5));                   // refill
        collection.Count();                                          // allowed
        collection.Count();                                          // allowed
        _h.Clock.Advance(TimeSpan.FromSeconds(1));
        collection.Count();                                          // allowed, at Start + 6 s
        var forbidden = () => collection.Get();
        forbidden.Should().Throw<ChromaAuthorizationException>();    // forbidden: collection:get
        var hidden = () => client.GetCollection("elsewhere");
        hidden.Should().Throw<ChromaNotFoundException>();            // out of scope: db:get_collection
        collection.Count();                                          // allowed (last token)
        var limited = () => collection.Count();
        limited.Should().Throw<ChromaRateLimitedException>();        // rate limited: collection:count
        var wrong = () => _h.Store.Authenticate(EmbeddedChroma.Security.ApiKeyFormat.Create(key.Info.KeyId));
        wrong.Should().Throw<ChromaAuthenticationException>();       // unauthenticated: authenticate
        _h.AdminRing.DisableKey(key.Info.KeyId);
        limited.Should().Throw<ChromaAuthenticationException>();     // unauthenticated: collection:count
        return key;
    }

    [Fact]
    public void GetUsage_counts_calls_by_action_and_outcome_when_every_outcome_occurs()
    {
        var key = Exercise();

        var usage = _h.AdminRing.GetUsage(key.Info.KeyId);

        usage.KeyId.Should().Be(key.Info.KeyId);
        usage.LastUsed.Should().Be(ManualTimeProvider.Start + TimeSpan.FromSeconds(6));
        usage.Counts.Should().BeEquivalentTo(new Dictionary<(string Action, ApiKeyOutcome Outcome), long>
        {
            [(ChromaActions.GetCollection, ApiKeyOutcome.Allowed)] = 1,
            [(ChromaActions.Count, ApiKeyOutcome.Allowed)] = 4,
            [(ChromaActions.Get, ApiKeyOutcome.Forbidden)] = 1,
            [(ChromaActions.GetCollection, ApiKeyOutcome.OutOfScope)] = 1,
            [(ChromaActions.Count, ApiKeyOutcome.RateLimited)] = 1,
            [(ChromaActions.Count, ApiKeyOutcome.Unauthenticated)] = 1,
            [("authenticate", ApiKeyOutcome.Unauthenticated)] = 1,
        });
        _h.AdminRing.GetKey(key.Info.KeyId).LastUsed.Should().Be(usage.LastUsed);
    }

    [Fact]
    public void GetUsage_keeps_counts_and_last_use_when_store_is_reopened()
    {
        var key = Exercise();
        var before = _h.AdminRing.GetUsage(key.Info.KeyId);

        _h.Fx.Reopen();
        var ring = _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey));
        var after = ring.GetUsage(key.Info.KeyId);

        after.LastUsed.Should().Be(before.LastUsed);
        after.Counts.Should().BeEquivalentTo(before.Counts);
        ring.GetKey(key.Info.KeyId).LastUsed.Should().Be(before.LastUsed);
    }

    [Fact]
    public void GetUsage_has_no_last_use_when_key_was_never_used()
    {
        var key = _h.Mint([ChromaActions.Count]);

        var usage = _h.AdminRing.GetUsage(key.Info.KeyId);

        usage.LastUsed.Should().BeNull();
        usage.Counts.Should().BeEmpty();
        _h.AdminRing.GetKey(key.Info.KeyId).LastUsed.Should().BeNull();
    }

    [Fact]
    public void Authenticate_counts_throttled_failures_as_rate_limited_when_the_failure_throttle_refuses()
    {
        // ApiKeyOutcome.RateLimited: "the key's rate limit, or the failure throttle, refused the call".
        var key = _h.Mint([ChromaActions.Count]);
        var outcomes = new List<Type>();
        for (var i = 0; i < 15; i++)
        {
            try
            {
                _h.Store.Authenticate(EmbeddedChroma.Security.ApiKeyFormat.Create(key.Info.KeyId));
            }
            catch (ChromaException ex)
            {
                outcomes.Add(ex.GetType());
            }
        }

        var usage = _h.AdminRing.GetUsage(key.Info.KeyId);

        var refused = outcomes.Count(t => t == typeof(ChromaAuthenticationException));
        var throttled = outcomes.Count(t => t == typeof(ChromaRateLimitedException));
        (refused + throttled).Should().Be(15);
        throttled.Should().BePositive();
        usage.Counts.Should().BeEquivalentTo(new Dictionary<(string Action, ApiKeyOutcome Outcome), long>
        {
            [("authenticate", ApiKeyOutcome.Unauthenticated)] = refused,
            [("authenticate", ApiKeyOutcome.RateLimited)] = throttled,
        });
    }

    [Fact]
    public void Calls_counter_reports_key_id_action_and_outcome_when_a_meter_listener_listens()
    {
        var key = _h.Mint([ChromaActions.Count], ["default_tenant/default_database/test"], rate: new ApiKeyRateLimit(1, 3));
        var seen = new ConcurrentBag<(string? KeyId, string? Action, string? Outcome, long Value)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "EmbeddedChroma" && instrument.Name == "embeddedchroma.keyring.calls")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? id = null, action = null, outcome = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "key.id": id = tag.Value as string; break;
                    case "action": action = tag.Value as string; break;
                    case "outcome": outcome = tag.Value as string; break;
                }
            }

            if (id == key.Info.KeyId)
            {
                seen.Add((id, action, outcome, value));
            }
        });
        listener.Start();

        var collection = _h.Store.GetClient(_h.Login(key)).GetCollection("test");
        collection.Count();
        var forbidden = () => collection.Get();
        forbidden.Should().Throw<ChromaAuthorizationException>();
        collection.Count();
        var limited = () => collection.Count();
        limited.Should().Throw<ChromaRateLimitedException>();
        var hidden = () => _h.Store.GetClient(_h.Login(key)).GetCollection("elsewhere");
        hidden.Should().Throw<ChromaNotFoundException>();

        seen.Select(m => (m.Action, m.Outcome, m.Value)).Should().BeEquivalentTo(new[]
        {
            (ChromaActions.GetCollection, "Allowed", 1L),
            (ChromaActions.Count, "Allowed", 1L),
            (ChromaActions.Get, "Forbidden", 1L),
            (ChromaActions.Count, "Allowed", 1L),
            (ChromaActions.Count, "RateLimited", 1L),
            (ChromaActions.GetCollection, "OutOfScope", 1L),
        });
    }
}
