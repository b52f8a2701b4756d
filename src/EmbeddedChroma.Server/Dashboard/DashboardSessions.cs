using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace EmbeddedChroma.Server.Dashboard;

/// <summary>
/// The dashboard's sessions: an opaque random id (in the HttpOnly cookie) → the authenticated admin key's context and
/// the session's CSRF token. The key's text is never kept: the context holds no secret. The map is keyed by the id's
/// SHA-256, so a lookup does not compare the id itself. A session unused for <see cref="ChromaDashboardOptions.SessionIdleTimeout"/> ends.
/// </summary>
internal sealed class DashboardSessions
{
    private const int MaxSessions = 1_000;
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;

    public DashboardSessions(TimeProvider time, TimeSpan idle)
    {
        _time = time;
        _idle = idle;
    }

    public sealed class Session(ApiKeyContext key, string csrf, long lastSeen)
    {
        public ApiKeyContext Key { get; } = key;

        public string Csrf { get; } = csrf;

        public long LastSeenTicks = lastSeen;

        /// <summary>Constant-time check of a request's CSRF header against this session's token.</summary>
        public bool CsrfMatches(string? candidate) =>
            candidate is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), Encoding.UTF8.GetBytes(Csrf));
    }

    /// <summary>Starts a session for <paramref name="key"/>; returns the cookie's id and the session.</summary>
    public (string Id, Session Session) Start(ApiKeyContext key)
    {
        Sweep();
        if (_sessions.Count >= MaxSessions)
        {
            throw new ChromaLimitExceededException($"The dashboard has {MaxSessions} open sessions; log out of some or wait for them to expire.", "dashboard sessions", MaxSessions);
        }

        var id = NewToken();
        var session = new Session(key, NewToken(), _time.GetUtcNow().UtcTicks);
        _sessions[Hash(id)] = session;
        return (id, session);
    }

    /// <summary>The live session of a cookie value, refreshed; null when unknown or idle too long (then ended).</summary>
    public Session? Find(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 100)
        {
            return null;
        }

        var hash = Hash(id);
        if (!_sessions.TryGetValue(hash, out var session))
        {
            return null;
        }

        var now = _time.GetUtcNow().UtcTicks;
        if (now - Interlocked.Read(ref session.LastSeenTicks) >= _idle.Ticks)
        {
            _sessions.TryRemove(hash, out _);
            return null;
        }

        Interlocked.Exchange(ref session.LastSeenTicks, now);
        return session;
    }

    public void End(string? id)
    {
        if (!string.IsNullOrEmpty(id))
        {
            _sessions.TryRemove(Hash(id), out _);
        }
    }

    private void Sweep()
    {
        var now = _time.GetUtcNow().UtcTicks;
        foreach (var (hash, session) in _sessions)
        {
            if (now - Interlocked.Read(ref session.LastSeenTicks) >= _idle.Ticks)
            {
                _sessions.TryRemove(hash, out _);
            }
        }
    }

    private static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Hash(string id) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
