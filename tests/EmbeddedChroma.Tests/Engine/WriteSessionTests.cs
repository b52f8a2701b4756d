using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Engine;

/// <summary>
/// The one write transaction of a store (<see cref="EmbeddedChroma.Engine.WriteSession"/>): its hooks run exactly on the
/// side the transaction ended on, and a transaction begun for a later commit (compaction's path) rolls back whatever
/// it wrote when it is dropped uncommitted.
/// </summary>
public sealed class WriteSessionTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private EmbeddedChroma.Engine.WriteSession Session => _fx.Store.Session;

    private long StoredSeq() => _fx.Store.InRead(() => long.Parse((string)Session.ReadCommand("SELECT value FROM store_meta WHERE key = 'seq'").ExecuteScalar()!, System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Run_runs_rollback_steps_and_no_commit_steps_when_the_action_throws()
    {
        var steps = new List<string>();
        var before = StoredSeq();

        var act = () => Session.Run<int>(() =>
        {
            Session.OnCommit(() => steps.Add("commit"));
            Session.OnRollback(() => steps.Add("rollback"));
            Session.NextSeq();
            throw new InvalidOperationException("batch failed");
        });

        act.Should().Throw<InvalidOperationException>().WithMessage("batch failed");
        steps.Should().Equal("rollback");
        StoredSeq().Should().Be(before, "the sequence number written inside the failed transaction rolled back with it");
    }

    [Fact]
    public void Run_runs_commit_steps_then_after_commit_and_no_rollback_steps_when_the_action_succeeds()
    {
        var steps = new List<string>();
        var before = StoredSeq();

        var result = Session.Run(
            () =>
            {
                Session.OnCommit(() => steps.Add("commit"));
                Session.OnRollback(() => steps.Add("rollback"));
                return Session.NextSeq();
            },
            seq => steps.Add($"after {seq - before}"));

        steps.Should().Equal("commit", "after 1");
        StoredSeq().Should().Be(result);
        Session.CurrentTransaction.Should().BeNull();
    }

    [Fact]
    public void Begin_rolls_back_what_it_wrote_when_disposed_without_commit()
    {
        var before = StoredSeq();
        var rolledBack = false;
        lock (Session.Db.WriteLock)
        {
            using var tx = Session.Begin();
            Session.OnRollback(() => rolledBack = true);
            Session.NextSeq();
        }

        rolledBack.Should().BeTrue();
        Session.CurrentTransaction.Should().BeNull();
        StoredSeq().Should().Be(before);
        _fx.Client.CreateCollection("after-rollback").Count().Should().Be(0, "the writer is usable again");
    }

    [Fact]
    public void OnCommit_throws_when_no_transaction_is_active()
    {
        var act = () => Session.OnCommit(() => { });

        act.Should().Throw<InvalidOperationException>();
    }
}
