using System.Diagnostics;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// <see cref="ChildProcesses"/>, which starts the ready hosts of <see cref="ReadyHostTests"/>: no child outlives its test,
/// whether the test disposes it or this process ends without disposing (its watchdog then kills it).
/// </summary>
public sealed class ChildProcessesTests
{
    private static ProcessStartInfo LongSleep() => new("sleep", ["600"]) { UseShellExecute = false };

    private static bool Running(int id)
    {
        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    public void Dispose_kills_every_child_still_running_when_the_test_never_stopped_it()
    {
        int first, second;
        using (var children = new ChildProcesses())
        {
            first = children.Start(LongSleep()).Id;
            second = children.Start(LongSleep()).Id;
            Running(first).Should().BeTrue();
        }

        Running(first).Should().BeFalse();
        Running(second).Should().BeFalse();
    }

    [Fact]
    public void Watchdog_kills_the_child_when_the_test_process_ends_without_disposing()
    {
        using var children = new ChildProcesses();
        var child = children.Start(LongSleep());

        children.Abandon();

        child.WaitForExit(TimeSpan.FromSeconds(20)).Should().BeTrue("the watchdog kills the child once its pipe from this process closes");
    }
}
