namespace EmbeddedChroma.Server;

/// <summary>Options of <see cref="ChromaDashboardEndpoints.MapChromaDashboard"/>.</summary>
public sealed record ChromaDashboardOptions
{
    /// <summary>Default of <see cref="SessionIdleTimeout"/>: 15 minutes.</summary>
    public static readonly TimeSpan DefaultSessionIdleTimeout = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Serve callers from other machines too. Off by default: the page answers only loopback connections (remote
    /// address 127.0.0.0/8 or ::1) that name a loopback host (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>; which also
    /// shuts out DNS rebinding). Turn it on only behind TLS (the session cookie is then <c>Secure</c>).
    /// </summary>
    public bool AllowRemote { get; init; }

    /// <summary>A session unused for this long ends (the next request answers 401 and the page asks for the key again).</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = DefaultSessionIdleTimeout;

    /// <summary>Failed logins allowed at once from one address before further attempts are refused (429) for a while.</summary>
    public int LoginFailureBurst { get; init; } = 5;

    /// <summary>After <see cref="LoginFailureBurst"/> failures, one more attempt is allowed per this period.</summary>
    public TimeSpan LoginFailureRefill { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>The clock of session expiry and the login throttle (tests pass their own).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
