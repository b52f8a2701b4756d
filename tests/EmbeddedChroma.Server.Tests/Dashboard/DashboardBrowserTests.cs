using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>
/// The keys dashboard end to end in a real headless browser: Debian's chromium driven by Playwright (issue #16).
/// Screenshots of each page go to <c>artifacts/dashboard/*.png</c> under the repository root.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private static readonly string Artifacts = Path.Combine(Repo.Root, "artifacts", "dashboard");

    [BrowserFact]
    public async Task Dashboard_logs_in_creates_shows_once_rolls_revokes_and_charts_usage_when_driven_in_chromium()
    {
        var clock = Stopwatch.StartNew();
        await Chromium.EnsureInstalledAsync();
        Directory.CreateDirectory(Artifacts);
        await using var host = await DashboardFixture.StartAsync(o => o with { TimeProvider = TimeProvider.System });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium.Path, Args = ["--no-sandbox"], Headless = true });
        await using var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 }, BaseURL = host.BaseAddress.ToString() });
        // Generous waits: CI runs every test assembly at once on two cores (a passing run takes about 12 s).
        SetDefaultExpectTimeout(20_000);
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        // Script errors and CSP refusals (chromium logs a 401 answer as "Failed to load resource": the page's own
        // session probe before login, which is expected).
        var consoleErrors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource: the server responded with a status of 401", StringComparison.Ordinal))
            {
                consoleErrors.Add(m.Text);
            }
        };
        page.PageError += (_, e) => consoleErrors.Add(e);
        page.Response += (_, r) =>
        {
            if (r.Status >= 400 && r.Status != 401)
            {
                consoleErrors.Add($"{r.Status} {r.Url}");
            }
        };
        var foreignRequests = new List<string>();
        page.Request += (_, r) =>
        {
            if (!r.Url.StartsWith(host.Origin, StringComparison.Ordinal))
            {
                foreignRequests.Add(r.Url);
            }
        };

        async Task Shot(string name)
        {
            var file = Path.Combine(Artifacts, name + ".png");
            // A screenshot is a file: the one-time secret and the login field are masked, so no key is ever written.
            await page.ScreenshotAsync(new() { Path = file, FullPage = true, Mask = [page.Locator("#secret-value"), page.Locator("#login-key")] });
            output.WriteLine($"screenshot: {file}");
        }

        // Log in.
        await page.GotoAsync("/dashboard/");
        await Expect(page.Locator("#login-view")).ToBeVisibleAsync();
        await Shot("01-login");
        await page.FillAsync("#login-key", host.AdminKey);
        await page.ClickAsync("#login-form button[type=submit]");
        await Expect(page.Locator("#keys-table tbody tr")).ToHaveCountAsync(1);
        (await page.EvaluateAsync<string>("document.cookie")).Should().BeEmpty("the session cookie is HttpOnly");
        (await page.EvaluateAsync<int>("localStorage.length + sessionStorage.length")).Should().Be(0);
        (await page.ContentAsync()).Should().NotContain(host.AdminKey, "the key is not kept in the page");

        // Create a key: its secret is shown once, with a copy button and a warning.
        await page.ClickAsync("#create summary");
        await page.FillAsync("#create-name", "e2e-reader");
        await page.FillAsync("#create-actions", "db:list_collections, db:create_collection");
        await page.FillAsync("#create-resources", "default_tenant/default_database");
        await page.ClickAsync("#create-form button[type=submit]");
        await Expect(page.Locator("#secret-panel")).ToBeVisibleAsync();
        await Expect(page.Locator("#secret-panel")).ToContainTextAsync("shown only this once");
        var secret = await page.InputValueAsync("#secret-value");
        secret.Should().StartWith("eck_");
        var keyId = host.Store.Authenticate(secret).KeyId;
        await page.ClickAsync("#secret-copy");
        await Expect(page.Locator("#secret-copied")).ToBeVisibleAsync();
        await Expect(page.Locator($"tr[data-key-id='{keyId}']")).ToContainTextAsync("Active");
        await Shot("02-created-key");

        // Gone after a reload; the session survives it.
        await page.ReloadAsync();
        await Expect(page.Locator($"tr[data-key-id='{keyId}']")).ToBeVisibleAsync();
        await Expect(page.Locator("#secret-panel")).ToBeHiddenAsync();
        (await page.ContentAsync()).Should().NotContain(secret);
        (await page.InputValueAsync("#secret-value")).Should().BeEmpty();

        // Usage: the chart changes after real calls with the new key.
        await page.Locator($"tr[data-key-id='{keyId}'] button[data-action=usage]").ClickAsync();
        await Expect(page.Locator("#usage-chart svg")).ToHaveAttributeAsync("data-total", "0");
        using (var chroma = new HttpClient { BaseAddress = host.BaseAddress })
        {
            chroma.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            for (var i = 0; i < 5; i++)
            {
                (await chroma.GetAsync(HostFixture.Db + "/collections")).StatusCode.Should().Be(HttpStatusCode.OK);
            }
        }

        await page.ClickAsync("#usage-refresh");
        await Expect(page.Locator("#usage-chart svg")).ToHaveAttributeAsync("data-total", "5");
        await Expect(page.Locator("#usage-chart svg rect")).Not.ToHaveCountAsync(0);
        await Expect(page.Locator("#usage-totals")).ToContainTextAsync("db:list_collections");
        await Shot("03-usage");

        // Roll with a grace period: the successor's secret is shown once; the old key is rotating.
        await page.ClickAsync(".tab[data-tab=keys]");
        await page.Locator($"tr[data-key-id='{keyId}'] button[data-action=roll]").ClickAsync();
        await Expect(page.Locator("#roll-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#roll-grace", "30");
        await page.ClickAsync("#roll-confirm");
        await Expect(page.Locator("#secret-panel")).ToBeVisibleAsync();
        var successor = await page.InputValueAsync("#secret-value");
        successor.Should().StartWith("eck_").And.NotBe(secret);
        var successorId = host.Store.Authenticate(successor).KeyId;
        await Expect(page.Locator($"tr[data-key-id='{keyId}']")).ToContainTextAsync("Rotating");
        await Expect(page.Locator($"tr[data-key-id='{successorId}']")).ToContainTextAsync("Active");
        await Shot("04-rolled");
        await page.ClickAsync("#secret-done");

        // Revoke asks for confirmation: cancel changes nothing, confirm revokes.
        var revoke = page.Locator($"tr[data-key-id='{successorId}'] button[data-action=revoke]");
        await revoke.ClickAsync();
        await Expect(page.Locator("#revoke-dialog")).ToBeVisibleAsync();
        await Expect(page.Locator("#revoke-dialog")).ToContainTextAsync("cannot be undone");
        await Shot("05-revoke-confirm");
        await page.ClickAsync("#revoke-dialog [data-close]");
        await Expect(page.Locator("#revoke-dialog")).ToBeHiddenAsync();
        host.Store.Authenticate(successor).KeyId.Should().Be(successorId, "cancel revokes nothing");
        await revoke.ClickAsync();
        await page.ClickAsync("#revoke-confirm");
        await Expect(page.Locator($"tr[data-key-id='{successorId}']")).ToContainTextAsync("Revoked");
        var revoked = () => host.Store.Authenticate(successor);
        revoked.Should().Throw<ChromaAuthenticationException>();

        // The audit log with its chain verification.
        await page.ClickAsync(".tab[data-tab=audit]");
        await Expect(page.Locator("#audit-state")).ToHaveAttributeAsync("data-valid", "true");
        await Expect(page.Locator("#audit-table")).ToContainTextAsync("key.revoked");
        await Shot("06-audit");

        // Log out: back to the login form; the session is gone.
        await page.ClickAsync("#logout");
        await Expect(page.Locator("#login-view")).ToBeVisibleAsync();
        await page.ReloadAsync();
        await Expect(page.Locator("#login-view")).ToBeVisibleAsync();

        consoleErrors.Should().BeEmpty("the page runs under its CSP without script errors or refusals");
        foreignRequests.Should().BeEmpty("nothing is fetched from elsewhere");
        output.WriteLine($"screenshots in {Artifacts}; browser test took {clock.Elapsed.TotalSeconds:F1} s");
    }
}
