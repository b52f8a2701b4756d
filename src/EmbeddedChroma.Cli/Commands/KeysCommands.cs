using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace EmbeddedChroma.Cli.Commands;

/// <summary><c>embeddedchroma keys create | list | show | roll | disable | enable | revoke | usage | audit</c>.</summary>
internal static class KeysCommands
{
    /// <summary>Every action name (ChromaActions' constants), offered by shell completion for <c>--actions</c>.</summary>
    private static readonly string[] ActionNames = typeof(ChromaActions)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .Order(StringComparer.Ordinal)
        .ToArray();

    public static Command Create()
    {
        var keys = new Command("keys", "Manage the store's API keys: create, list, show, roll, disable, enable, revoke, usage, audit.");
        keys.Add(CreateKey());
        keys.Add(List());
        keys.Add(Show());
        keys.Add(Roll());
        keys.Add(Simple("disable", "Disable a key (reversible with `keys enable`); the keys issued below it stop working too.", (ring, id) => ring.DisableKey(id), "disabled"));
        keys.Add(Simple("enable", "Enable a disabled key.", (ring, id) => ring.EnableKey(id), "enabled"));
        keys.Add(Simple("revoke", "Revoke a key, irreversibly: it and every key issued below it fail from their next call on.", (ring, id) => ring.RevokeKey(id), "revoked"));
        keys.Add(Usage());
        keys.Add(Audit());
        return keys;
    }

    private static Argument<string> KeyId() => new("KEY-ID") { Description = "The key's id (12 characters, as `keys list` shows it; never the key itself)." };

    private static Command CreateKey()
    {
        var name = new Option<string>("--name") { Description = "A name for people (free text).", Required = true };
        var actions = new Option<string[]>("--actions")
        {
            Description = "Allowed actions, comma-separated or repeated: e.g. collection:query,collection:get; '*' = every data action, 'keyring:*' = key management.",
            HelpName = "A[,A…]",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        actions.CompletionSources.Add(ActionNames);
        var resources = new Option<string[]>("--resources")
        {
            Description = "Resources, comma-separated or repeated: tenant/database/collection, '*' segments, shorter = subtree (e.g. default_tenant/default_database/books, or '*').",
            HelpName = "R[,R…]",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var expires = new Option<string?>("--expires") { Description = "Expiry: an ISO 8601 date/time (UTC) or a duration from now (30d, 12h, 2w).", HelpName = "WHEN" };
        var rate = new Option<string?>("--rate") { Description = "Rate limit: calls per second, optionally with a burst (50, 50/s, 50:100).", HelpName = "RATE" };
        var maxUses = new Option<long?>("--max-uses") { Description = "A quota of calls.", HelpName = "N" };
        var command = new Command("create", "Create a key and print it once (only its hash is stored).") { Cli.Store, name, actions, resources, expires, rate, maxUses, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            var spec = new ApiKeySpec
            {
                Name = parse.GetRequiredValue(name),
                Actions = Cli.List(parse.GetValue(actions)),
                Resources = Cli.List(parse.GetValue(resources)),
                ExpiresAt = parse.GetValue(expires) is { } e ? Values.Expiry(e) : null,
                RateLimit = parse.GetValue(rate) is { } r ? Values.Rate(r) : null,
                MaxUses = parse.GetValue(maxUses),
            };
            using var session = Session.Open(parse);
            var created = session.Ring().CreateKey(spec);
            PrintSecret(parse, created, $"Created key {created.Info.KeyId} ('{created.Info.Name}').");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The one-time display of a new key: the warning on standard error, the key alone on standard output.</summary>
    private static void PrintSecret(ParseResult parse, CreatedApiKey created, string what)
    {
        if (parse.GetValue(Cli.Json))
        {
            Terminal.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("key", created.Key);
                w.WritePropertyName("info");
                WriteInfo(w, created.Info);
                w.WriteEndObject();
            });
            return;
        }

        Terminal.Note(what);
        Terminal.Note("The key follows. It is shown only this once (the store keeps only its hash): keep it in a secret store");
        Terminal.Note("or an environment variable, never in source control or a file others can read.");
        Terminal.Line(created.Key);
    }

    private static Command List()
    {
        var command = new Command("list", "List the keys the caller may see (never a secret).") { Cli.Store, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            using var session = Session.Open(parse);
            var keys = session.Ring().ListKeys();
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartArray();
                    foreach (var key in keys)
                    {
                        WriteInfo(w, key);
                    }

                    w.WriteEndArray();
                });
            }
            else
            {
                Terminal.Table(
                    ["id", "name", "state", "actions", "resources", "created", "expires", "last used"],
                    keys.Select(k => (IReadOnlyList<string?>)[k.KeyId, k.Name, k.State.ToString(), string.Join(',', k.Actions), string.Join(',', k.Resources), Terminal.Time(k.Created), Terminal.Time(k.ExpiresAt), Terminal.Time(k.LastUsed)]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var id = KeyId();
        var command = new Command("show", "Show one key (never its secret).") { id, Cli.Store, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            using var session = Session.Open(parse);
            var key = session.Ring().GetKey(parse.GetRequiredValue(id));
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w => WriteInfo(w, key));
            }
            else
            {
                Terminal.Fields(
                [
                    ("id", key.KeyId), ("name", key.Name), ("state", key.State.ToString()), ("actions", string.Join(',', key.Actions)),
                    ("resources", string.Join(',', key.Resources)), ("created", Terminal.Time(key.Created)), ("created by", key.CreatedBy ?? "-"),
                    ("expires", Terminal.Time(key.ExpiresAt)), ("last used", Terminal.Time(key.LastUsed)),
                    ("remaining uses", key.RemainingUses?.ToString(CultureInfo.InvariantCulture) ?? "-"),
                    ("rate limit", key.RateLimit is { } r ? $"{Terminal.Number(r.PermitsPerSecond)}/s, burst {r.Burst}" : "-"),
                    ("successor", key.SuccessorKeyId ?? "-"), ("grace until", Terminal.Time(key.GraceUntil)),
                ]);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Roll()
    {
        var id = KeyId();
        var grace = new Option<string>("--grace")
        {
            Description = "How long the old key keeps working (0 = dead at once, for a leaked key).",
            HelpName = "DURATION",
            DefaultValueFactory = _ => "0",
        };
        var command = new Command("roll", "Rotate a key: print its successor (same scope) once; the old key works for the grace period.") { id, Cli.Store, grace, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            var period = Values.Duration(parse.GetRequiredValue(grace), "--grace");
            using var session = Session.Open(parse);
            var created = session.Ring().RotateKey(parse.GetRequiredValue(id), period);
            PrintSecret(parse, created, $"Rolled key {parse.GetRequiredValue(id)}: its successor is {created.Info.KeyId}" + (period > TimeSpan.Zero ? $"; the old key works until {Terminal.Time(DateTimeOffset.UtcNow + period)}." : "; the old key is dead."));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Simple(string verb, string description, Action<KeyRingClient, string> act, string done)
    {
        var id = KeyId();
        var command = new Command(verb, description) { id, Cli.Store, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            var keyId = parse.GetRequiredValue(id);
            using var session = Session.Open(parse);
            var ring = session.Ring();
            act(ring, keyId);
            var state = ring.GetKey(keyId).State;
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("keyId", keyId);
                    w.WriteString("state", state.ToString());
                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Line($"Key {keyId} {done}; its state is now {state}.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Usage()
    {
        var id = KeyId();
        var command = new Command("usage", "A key's last use and its calls by action and outcome.") { id, Cli.Store, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            using var session = Session.Open(parse);
            var usage = session.Ring().GetUsage(parse.GetRequiredValue(id));
            var rows = usage.Counts.OrderBy(c => c.Key.Action, StringComparer.Ordinal).ThenBy(c => c.Key.Outcome).ToList();
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("keyId", usage.KeyId);
                    if (usage.LastUsed is { } last)
                    {
                        w.WriteString("lastUsed", last);
                    }
                    else
                    {
                        w.WriteNull("lastUsed");
                    }

                    w.WriteStartArray("counts");
                    foreach (var ((action, outcome), count) in rows)
                    {
                        w.WriteStartObject();
                        w.WriteString("action", action);
                        w.WriteString("outcome", outcome.ToString());
                        w.WriteNumber("count", count);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Note($"Key {usage.KeyId}, last used {Terminal.Time(usage.LastUsed)}.");
                Terminal.Table(["action", "outcome", "calls"], rows.Select(r => (IReadOnlyList<string?>)[r.Key.Action, r.Key.Outcome.ToString(), r.Value.ToString(CultureInfo.InvariantCulture)]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Audit()
    {
        var after = new Option<long>("--after") { Description = "Only entries after this sequence number.", HelpName = "SEQ" };
        var limit = new Option<int>("--limit") { Description = "At most this many entries.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var verify = new Option<bool>("--verify") { Description = "Also check the log's MAC chain and the key rows (admin key); exit code 5 when it fails." };
        var command = new Command("audit", "The key ring's audit log (lifecycle events and denials), oldest first.") { Cli.Store, after, limit, verify, Cli.Json };
        Cli.SetAction(command, parse =>
        {
            using var session = Session.Open(parse);
            var ring = session.Ring();
            var entries = ring.ReadAudit(parse.GetValue(after), parse.GetValue(limit));
            var check = parse.GetValue(verify) ? ring.VerifyAudit() : null;
            if (parse.GetValue(Cli.Json))
            {
                Terminal.Json(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("entries");
                    foreach (var e in entries)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("sequence", e.Sequence);
                        w.WriteString("time", e.Time);
                        w.WriteString("event", e.Event);
                        w.WriteString("keyId", e.KeyId);
                        w.WriteString("actorKeyId", e.ActorKeyId);
                        w.WriteString("detail", e.Detail);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    if (check is not null)
                    {
                        w.WriteStartObject("verification");
                        w.WriteBoolean("valid", check.IsValid);
                        w.WriteNumber("entries", check.Entries);
                        w.WriteString("headMac", check.HeadMac);
                        w.WriteString("ringProblem", check.RingProblem);
                        if (check.FirstInvalidSequence is { } bad)
                        {
                            w.WriteNumber("firstInvalidSequence", bad);
                        }

                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                });
            }
            else
            {
                Terminal.Table(
                    ["seq", "time", "event", "key", "by", "detail"],
                    entries.Select(e => (IReadOnlyList<string?>)[e.Sequence.ToString(CultureInfo.InvariantCulture), Terminal.Time(e.Time), e.Event, e.KeyId ?? "-", e.ActorKeyId ?? "-", e.Detail ?? string.Empty]));
                if (check is not null)
                {
                    Terminal.Note(check.IsValid
                        ? $"Audit chain valid: {check.Entries} entries, head MAC {check.HeadMac} (keep it elsewhere to detect a rollback of the whole ring)."
                        : $"Audit chain INVALID: first bad entry {check.FirstInvalidSequence?.ToString(CultureInfo.InvariantCulture) ?? "-"}; {check.RingProblem}");
                }
            }

            if (check is { IsValid: false })
            {
                throw new CliException(ExitCodes.Corrupt, "the key ring's audit chain or key rows failed verification.", "restore the store from a backup and re-apply revocations from an audit export.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteInfo(Utf8JsonWriter w, ApiKeyInfo key) => ApiKeyJson.Write(w, key);
}
