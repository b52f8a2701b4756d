namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>
/// Debian's <c>chromium</c> for the browser test: installed with apt-get when <c>/usr/bin/chromium</c> is missing
/// (as root; CI runs as root with Debian's registry), serialized across test processes by a flock.
/// Playwright's own browser download is never used.
/// </summary>
internal static class Chromium
{
    public const string Path = "/usr/bin/chromium";

    private static readonly SemaphoreSlim Once = new(1, 1);

    public static bool IsRoot => Environment.UserName == "root";

    public static async Task EnsureInstalledAsync()
    {
        await Once.WaitAsync();
        try
        {
            if (File.Exists(Path))
            {
                return;
            }

            var (code, output) = await Repo.RunAsync("flock", ["/tmp/embeddedchroma-chromium.lock", "bash", "-c",
                "test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }"],
                Repo.Root, TimeSpan.FromMinutes(10));
            code.Should().Be(0, "apt-get install chromium must succeed:\n" + output);
            File.Exists(Path).Should().BeTrue("apt-get installed chromium");
        }
        finally
        {
            Once.Release();
        }
    }
}

/// <summary>A fact that needs Debian's chromium: runs when it is installed or can be (as root), else skips saying why.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Needs Linux (drives Debian's chromium).";
        }
        else if (!File.Exists(Chromium.Path) && !Chromium.IsRoot)
        {
            Skip = "Needs /usr/bin/chromium, or root to install it with apt-get; CI runs as root.";
        }
    }
}
