using EmbeddedChroma.Server.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace EmbeddedChroma.Server;

/// <summary>
/// The keys dashboard: a small static page under <c>/dashboard</c> (HTML, CSS and JavaScript embedded in this
/// assembly; nothing is fetched from elsewhere) over a JSON API under <c>/dashboard/api</c>, for the store's admin key:
/// list keys, create one (its secret shown once), roll, disable/enable, revoke, usage per hour and action as a chart,
/// and the audit log with its chain verification.
/// </summary>
/// <remarks>
/// <para>Security: the admin key is posted once to log in and checked by the key ring; the server then keeps an opaque
/// random session id (cookie <c>HttpOnly</c>, <c>SameSite=Strict</c>, <c>Path=/dashboard</c>, <c>Secure</c> over
/// https) mapped to the key's context, which holds no secret; the key is never stored in the page, in local storage or
/// in the cookie. Sessions end after <see cref="ChromaDashboardOptions.SessionIdleTimeout"/> unused, or on logout.
/// Every state-changing request needs the session's CSRF token in <c>X-CSRF-Token</c> (compared in constant time) and
/// a same-origin <c>Origin</c> (or <c>Sec-Fetch-Site: same-origin</c>). Every answer carries a strict
/// Content-Security-Policy (scripts only from the page's own file), <c>X-Frame-Options: DENY</c> and
/// <c>Cache-Control: no-store</c>. Only loopback callers are served unless <see cref="ChromaDashboardOptions.AllowRemote"/>.
/// Failed logins are throttled per address.</para>
/// <para>The store stays owned by the caller: close it after the application has stopped.</para>
/// </remarks>
public static class ChromaDashboardEndpoints
{
    /// <summary>The path the dashboard is served under.</summary>
    public const string Path = "/dashboard";

    /// <summary>Maps the keys dashboard for <paramref name="store"/> under <see cref="Path"/>.</summary>
    /// <param name="app">The application's endpoint builder.</param>
    /// <param name="store">The open store whose key ring the dashboard manages.</param>
    /// <param name="options">Session, throttle and remote-access settings, or <see langword="null"/> for the defaults (loopback only).</param>
    /// <returns>The route group, for further conventions.</returns>
    /// <exception cref="ChromaValidationException">An option is out of range (a session idle timeout or throttle period that is not positive, a burst below 1).</exception>
    public static RouteGroupBuilder MapChromaDashboard(this IEndpointRouteBuilder app, ChromaStore store, ChromaDashboardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ChromaDashboardOptions();
        if (options.SessionIdleTimeout <= TimeSpan.Zero || options.LoginFailureRefill <= TimeSpan.Zero || options.LoginFailureBurst < 1 || options.TimeProvider is null)
        {
            throw new ChromaValidationException("ChromaDashboardOptions: SessionIdleTimeout and LoginFailureRefill must be positive, LoginFailureBurst at least 1, and TimeProvider set.");
        }

        var api = new DashboardApi(store, options);
        var group = app.MapGroup(Path);
        group.MapGet("/", api.Run(DashboardApi.Page("index.html"), DashboardApi.Access.Public));
        group.MapGet("/app.js", api.Run(DashboardApi.Page("app.js"), DashboardApi.Access.Public));
        group.MapGet("/app.css", api.Run(DashboardApi.Page("app.css"), DashboardApi.Access.Public));
        group.MapGet("/favicon.svg", api.Run(DashboardApi.Page("favicon.svg"), DashboardApi.Access.Public));

        group.MapPost("/api/login", api.Run(api.Login, DashboardApi.Access.Login));
        group.MapGet("/api/session", api.Run(DashboardApi.SessionInfo, DashboardApi.Access.Session));
        group.MapPost("/api/logout", api.Run(api.Logout, DashboardApi.Access.SessionChange));
        group.MapGet("/api/keys", api.Run(DashboardApi.ListKeys, DashboardApi.Access.Session));
        group.MapPost("/api/keys", api.Run(DashboardApi.CreateKey, DashboardApi.Access.SessionChange));
        group.MapPost("/api/keys/{id}/roll", api.Run(DashboardApi.RollKey, DashboardApi.Access.SessionChange));
        group.MapPost("/api/keys/{id}/disable", api.Run(c => DashboardApi.SetState(c, "disable"), DashboardApi.Access.SessionChange));
        group.MapPost("/api/keys/{id}/enable", api.Run(c => DashboardApi.SetState(c, "enable"), DashboardApi.Access.SessionChange));
        group.MapPost("/api/keys/{id}/revoke", api.Run(c => DashboardApi.SetState(c, "revoke"), DashboardApi.Access.SessionChange));
        group.MapGet("/api/keys/{id}/usage", api.Run(DashboardApi.Usage, DashboardApi.Access.Session));
        group.MapGet("/api/audit", api.Run(DashboardApi.Audit, DashboardApi.Access.Session));
        return group;
    }
}
