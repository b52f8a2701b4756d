using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Security;

/// <summary>The key ring's per-hour usage record (<see cref="KeyRingClient.GetUsageHistory"/>): what the keys dashboard charts.</summary>
public sealed class UsageHistoryTests : IDisposable
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly KeyRingHarness _h = new();

    public UsageHistoryTests() => _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]]);

    public void Dispose() => _h.Dispose();

    private CreatedApiKey CountKey() => _h.Mint([ChromaActions.Count], ["default_tenant/default_database/test"]);

    private void Count(CreatedApiKey key, int times)
    {
        var collection = _h.Store.GetClient(_h.Login(key)).GetCollection("test");
        for (var i = 0; i < times; i++)
        {
            collection.Count();
        }
    }

    [Fact]
    public void GetUsageHistory_counts_calls_in_the_hour_they_were_made_when_calls_span_two_hours()
    {
        var key = CountKey();
        Count(key, 2);
        _h.AdminRing.GetUsage(key.Info.KeyId);              // a read writes the counters, as the 10-second flush does
        _h.Clock.Advance(Hour);
        Count(key, 3);

        var history = _h.AdminRing.GetUsageHistory(key.Info.KeyId, DateTimeOffset.MinValue);

        history.Should().Equal(
            new ApiKeyUsageBucket(ManualTimeProvider.Start, ChromaActions.Count, ApiKeyOutcome.Allowed, 2),
            new ApiKeyUsageBucket(ManualTimeProvider.Start, ChromaActions.GetCollection, ApiKeyOutcome.Allowed, 1),
            new ApiKeyUsageBucket(ManualTimeProvider.Start + Hour, ChromaActions.Count, ApiKeyOutcome.Allowed, 3),
            new ApiKeyUsageBucket(ManualTimeProvider.Start + Hour, ChromaActions.GetCollection, ApiKeyOutcome.Allowed, 1));
        history.Where(b => b.Action == ChromaActions.Count).Sum(b => b.Count)
            .Should().Be(_h.AdminRing.GetUsage(key.Info.KeyId).Counts[(ChromaActions.Count, ApiKeyOutcome.Allowed)]);
    }

    [Fact]
    public void GetUsageHistory_returns_only_the_hours_from_since_when_since_is_within_an_hour()
    {
        var key = CountKey();
        Count(key, 2);
        _h.AdminRing.GetUsage(key.Info.KeyId);
        _h.Clock.Advance(Hour);
        Count(key, 1);

        var history = _h.AdminRing.GetUsageHistory(key.Info.KeyId, ManualTimeProvider.Start + Hour + TimeSpan.FromMinutes(30));

        history.Should().OnlyContain(b => b.Hour == ManualTimeProvider.Start + Hour);
        history.Single(b => b.Action == ChromaActions.Count).Count.Should().Be(1);
    }

    [Fact]
    public void GetUsageHistory_counts_failures_by_outcome_when_a_call_is_refused()
    {
        var key = CountKey();
        var collection = _h.Store.GetClient(_h.Login(key)).GetCollection("test");
        var forbidden = () => collection.Get();
        forbidden.Should().Throw<ChromaAuthorizationException>();

        var history = _h.AdminRing.GetUsageHistory(key.Info.KeyId, ManualTimeProvider.Start);

        history.Should().Contain(new ApiKeyUsageBucket(ManualTimeProvider.Start, ChromaActions.Get, ApiKeyOutcome.Forbidden, 1));
    }

    [Fact]
    public void GetUsageHistory_keeps_the_hours_when_store_is_reopened()
    {
        var key = CountKey();
        Count(key, 4);
        var before = _h.AdminRing.GetUsageHistory(key.Info.KeyId, DateTimeOffset.MinValue);

        _h.Fx.Reopen();
        var after = _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey)).GetUsageHistory(key.Info.KeyId, DateTimeOffset.MinValue);

        before.Should().NotBeEmpty();
        after.Should().Equal(before);
    }

    [Fact]
    public void GetUsageHistory_drops_hours_older_than_31_days_when_a_later_hour_is_written()
    {
        var key = CountKey();
        Count(key, 2);
        _h.AdminRing.GetUsage(key.Info.KeyId);
        _h.Clock.Advance(TimeSpan.FromDays(32));
        Count(key, 1);

        var history = _h.AdminRing.GetUsageHistory(key.Info.KeyId, DateTimeOffset.MinValue);

        history.Should().NotBeEmpty().And.OnlyContain(b => b.Hour == ManualTimeProvider.Start + TimeSpan.FromDays(32));
    }

    [Fact]
    public void GetUsageHistory_records_again_when_ring_was_written_before_the_record_existed()
    {
        var key = CountKey();
        _h.Store.Dispose();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(_h.Fx.Folder, "keyring.sqlite3")};Pooling=False"))
        {
            connection.Open();
            using var drop = connection.CreateCommand();
            drop.CommandText = "DROP TABLE usage_hourly";
            drop.ExecuteNonQuery();
        }

        _h.Fx.Reopen();
        var ring = _h.Store.GetKeyRing(_h.Store.Authenticate(_h.AdminKey));
        var collection = _h.Store.GetClient(_h.Store.Authenticate(key.Key)).GetCollection("test");
        collection.Count();

        ring.GetUsageHistory(key.Info.KeyId, DateTimeOffset.MinValue)
            .Should().Contain(new ApiKeyUsageBucket(ManualTimeProvider.Start, ChromaActions.Count, ApiKeyOutcome.Allowed, 1));
    }

    [Fact]
    public void GetUsageHistory_throws_not_found_when_key_id_is_unknown()
    {
        var act = () => _h.AdminRing.GetUsageHistory("nosuchkeyid", DateTimeOffset.MinValue);

        act.Should().Throw<ChromaNotFoundException>();
    }
}
