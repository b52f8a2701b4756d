using System.Diagnostics;

namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>The shell commands the mount fixtures (<see cref="TmpfsMount"/>, <see cref="Ext4LoopMount"/>) share.</summary>
internal static class MountCommands
{
    /// <summary>Runs <paramref name="command"/>; a non-zero exit throws with its standard error.</summary>
    public static void Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
        }
    }

    /// <summary>Unmounts <paramref name="mountPoint"/> (lazily), then runs <paramref name="afterUnmount"/> and deletes the folder, whatever failed.</summary>
    public static void UnmountAndDelete(string mountPoint, Action? afterUnmount = null)
    {
        try
        {
            Run("umount", "-l", mountPoint);
        }
        finally
        {
            afterUnmount?.Invoke();
            try
            {
                Directory.Delete(mountPoint, recursive: true);
            }
            catch (IOException)
            {
                // Still busy: a later run's cleanup of the temp folder removes it.
            }
        }
    }
}
