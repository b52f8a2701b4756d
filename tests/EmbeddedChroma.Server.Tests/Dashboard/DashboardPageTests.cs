using System.Net;
using System.Text.RegularExpressions;

namespace EmbeddedChroma.Server.Tests.Dashboard;

/// <summary>The page itself and what every answer carries: CSP without inline script, no framing, no caching, nothing from elsewhere; loopback only by default.</summary>
public sealed partial class DashboardPageTests
{
    public static TheoryData<string> EveryAnswer => new() { "/dashboard/", "/dashboard/app.js", "/dashboard/app.css", "/dashboard/api/keys", "/dashboard/api/session" };

    [Theory]
    [MemberData(nameof(EveryAnswer))]
    public async Task Answer_carries_a_strict_csp_deny_framing_and_no_store_when_requested(string path)
    {
        await using var host = await DashboardFixture.StartAsync();
        using var client = host.Client();

        var (_, _, response) = await client.GetAsync(path);

        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().Contain("default-src 'none'").And.Contain("script-src 'self'").And.Contain("frame-ancestors 'none'").And.NotContain("unsafe-inline").And.NotContain("unsafe-eval");
        response.Headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
    }

    [Fact]
    public async Task Page_has_no_inline_script_and_names_nothing_outside_the_host_when_served()
    {
        await using var host = await DashboardFixture.StartAsync();
        using var client = host.Client();

        var html = (await client.GetAsync("/dashboard/")).Response;
        var page = await html.Content.ReadAsStringAsync();
        var js = await (await client.GetAsync("/dashboard/app.js")).Response.Content.ReadAsStringAsync();
        var css = await (await client.GetAsync("/dashboard/app.css")).Response.Content.ReadAsStringAsync();

        html.StatusCode.Should().Be(HttpStatusCode.OK);
        html.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        ScriptTag().Matches(page).Select(m => m.Value).Should().OnlyContain(tag => tag.Contains("src=\"/dashboard/app.js\"", StringComparison.Ordinal)).And.HaveCount(1);
        page.Should().NotMatchRegex(" on[a-z]+=", "no inline event handlers");
        page.Should().NotContain("style=", "no inline styles");
        foreach (var text in new[] { page, js, css })
        {
            text.Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal).Should().NotMatchRegex("(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", "nothing is fetched from another host");
        }

        js.Should().NotContain("localStorage").And.NotContain("sessionStorage").And.NotContain("document.cookie").And.NotContain("eval(");
    }

    [Fact]
    public async Task Dashboard_answers_403_to_every_route_when_caller_is_not_on_loopback()
    {
        await using var host = await DashboardFixture.StartAsync(pretendRemote: IPAddress.Parse("203.0.113.7"));
        using var client = host.Client();

        (await client.GetAsync("/dashboard/")).Status.Should().Be(HttpStatusCode.Forbidden);
        (await client.GetAsync("/dashboard/app.js")).Status.Should().Be(HttpStatusCode.Forbidden);
        var login = await client.LoginAsync(host.AdminKey);
        login.Status.Should().Be(HttpStatusCode.Forbidden);
        login.Body.GetProperty("error").GetString().Should().Contain("loopback");
        login.Response.Headers.Contains("Set-Cookie").Should().BeFalse();
    }

    [Fact]
    public async Task Dashboard_serves_a_remote_caller_when_AllowRemote_is_set()
    {
        await using var host = await DashboardFixture.StartAsync(o => o with { AllowRemote = true }, pretendRemote: IPAddress.Parse("203.0.113.7"));
        using var client = host.Client();

        (await client.GetAsync("/dashboard/")).Status.Should().Be(HttpStatusCode.OK);
        (await client.LoginAsync(host.AdminKey)).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Dashboard_answers_403_when_host_header_names_another_host_as_dns_rebinding_would()
    {
        await using var host = await DashboardFixture.StartAsync();
        using var client = host.Client();

        var (status, _, _) = await client.SendAsync(HttpMethod.Get, "/dashboard/", configure: r => r.Headers.Host = "rebind.example:" + host.BaseAddress.Port);

        status.Should().Be(HttpStatusCode.Forbidden);
        (await client.SendAsync(HttpMethod.Get, "/dashboard/", configure: r => r.Headers.Host = "localhost:" + host.BaseAddress.Port)).Status.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task MapChromaDashboard_throws_validation_when_an_option_is_out_of_range()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        await using var app = builder.Build();
        var folder = Path.Combine(Path.GetTempPath(), "ec-dash-opt-" + Guid.NewGuid().ToString("N"));
        using var store = ChromaStore.Create(folder, out _);
        try
        {
            var act = () => app.MapChromaDashboard(store, new ChromaDashboardOptions { SessionIdleTimeout = TimeSpan.Zero });

            act.Should().Throw<ChromaValidationException>().WithMessage("*SessionIdleTimeout*");
        }
        finally
        {
            store.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex("<script[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptTag();
}
