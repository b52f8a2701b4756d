using EmbeddedChroma.Tests.Api;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A derived file that cannot be used is rebuilt from SQLite with a logged warning naming the file and the reason;
/// a sound store logs nothing. No entry carries a key.
/// </summary>
public sealed class DerivedFileLogTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;

    public DerivedFileLogTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private (Collection Collection, string Arena) Populate()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(["a", "b", "c"], [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f]], documents: ["alpha", "beta", "gamma"]);
        return (collection, _fx.ArenaPath(collection.Id));
    }

    private List<CapturingLogger.Entry> Warnings() => _log.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();

    [Fact]
    public void Sound_store_logs_no_warning_when_reopened()
    {
        Populate();
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[1f, 0f, 0f]], 1).Ids[0].Should().Equal("a");
        Warnings().Should().BeEmpty();
    }

    public static TheoryData<string, string> Damage => new()
    {
        { "row bytes", "checksum" },
        { "header magic", "damaged header" },
        { "header stamp", "damaged header" },
        { "truncated", "wrong length" },
        { "emptied", "truncated" },
        { "garbage", "damaged header" },
        { "deleted", "missing" },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void Damaged_arena_is_rebuilt_with_a_warning_naming_file_and_reason(string damage, string reason)
    {
        var (_, arena) = Populate();
        _fx.Close();
        if (damage == "deleted")
        {
            File.Delete(arena);
        }
        else
        {
            PersistenceTests.Corrupt(arena, damage);
        }

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Query([[0f, 1f, 0f]], 1).Ids[0].Should().Equal("b");

        var warning = Warnings().Should().ContainSingle().Subject;
        warning.EventId.Id.Should().Be(1);
        warning.Message.Should().Contain(arena).And.Contain(reason).And.Contain("docs").And.Contain("rebuilding");
        warning.Message.Should().NotContain(_fx.AdminKey);
    }
}
