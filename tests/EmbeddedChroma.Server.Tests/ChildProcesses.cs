using System.Diagnostics;

namespace EmbeddedChroma.Server.Tests;

/// <summary>
/// The child processes a test starts (ready hosts), killed whatever happens: <see cref="Dispose"/> kills each one still
/// running with its process tree (a test that failed before its own stop, a stop that timed out, a start that never
/// became ready), and a watchdog per child kills it when this test process ends without disposing (crash, abort, a
/// runner killed on a hang): the watchdog's standard input is a pipe from this process, which the system closes at its
/// exit, whatever the exit. The watchdog kills the child itself, not its children: fit for a process that starts none
/// (the ready host runs in the <c>dotnet</c> process it is started in).
/// </summary>
internal sealed class ChildProcesses : IDisposable
{
    private readonly List<(Process Child, Process Watchdog)> _started = [];

    /// <summary>Starts <paramref name="info"/> and its watchdog; the child is killed on <see cref="Dispose"/> if still running.</summary>
    public Process Start(ProcessStartInfo info)
    {
        var child = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start.");
        Process watchdog;
        try
        {
            // `read` is the shell's own: no grandchild to leave behind. It returns non-zero at the end of input, which comes
            // only when this process closes the pipe: at its exit, or in Abandon (tests).
            var guard = new ProcessStartInfo("sh") { RedirectStandardInput = true, UseShellExecute = false };
            guard.ArgumentList.Add("-c");
            guard.ArgumentList.Add($"while read -r _; do :; done; kill -KILL {child.Id} 2>/dev/null");
            watchdog = Process.Start(guard) ?? throw new InvalidOperationException("The watchdog shell did not start.");
        }
        catch
        {
            Kill(child);
            child.Dispose();
            throw;
        }

        lock (_started)
        {
            _started.Add((child, watchdog));
        }

        return child;
    }

    /// <summary>
    /// Closes the watchdogs' pipes without killing anything, as the system does when this process ends without disposing
    /// (tests of the watchdog).
    /// </summary>
    internal void Abandon()
    {
        lock (_started)
        {
            foreach (var (_, watchdog) in _started)
            {
                watchdog.StandardInput.Close();
            }
        }
    }

    /// <summary>Kills every child still running (its whole tree), then its watchdog, and waits for both.</summary>
    public void Dispose()
    {
        List<(Process Child, Process Watchdog)> started;
        lock (_started)
        {
            started = [.. _started];
            _started.Clear();
        }

        foreach (var (child, watchdog) in started)
        {
            // The watchdog first: once the child is reaped its id may be reused, and the watchdog must never kill that.
            Kill(watchdog);
            Kill(child);
            watchdog.Dispose();
            child.Dispose();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile (or never associated with a running process): nothing to kill.
        }
    }
}
