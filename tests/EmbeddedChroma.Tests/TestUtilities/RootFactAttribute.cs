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

/// <summary>A theory that needs root on Linux (it mounts a file system); skipped with the reason elsewhere, like <see cref="RootFactAttribute"/>.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Needs Linux (mounts a small file system).";
        }
        else if (!Environment.IsPrivilegedProcess)
        {
            Skip = "Needs root (mounts a small file system); CI runs it as root.";
        }
    }
}
