namespace EmbeddedChroma.Tests.TestUtilities;

/// <summary>
/// A fact that needs root on Linux (it mounts a tmpfs). Anywhere else it is reported as skipped, with the reason;
/// CI runs as root on Linux, so there it always runs.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Needs Linux (mounts a small tmpfs to make a full or read-only file system).";
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            Skip = "Needs root (mounts a small tmpfs to make a full or read-only file system); CI runs it as root.";
        }
    }
}
