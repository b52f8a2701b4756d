using System.Text.Json;

namespace EmbeddedChroma;

/// <summary>
/// One JSON form for what may be shown of a key (<see cref="ApiKeyInfo"/>: never a secret, only its id and display),
/// written by the command line's <c>--json</c> listings and the keys dashboard's API alike, so scripts and the page read
/// the same fields: keyId, name, display, state, actions, resources, created, expiresAt, lastUsed, createdBy,
/// successorKeyId, graceUntil, remainingUses, rateLimit {permitsPerSecond, burst} (absent values are null).
/// </summary>
internal static class ApiKeyJson
{
    public static void Write(Utf8JsonWriter w, ApiKeyInfo key)
    {
        w.WriteStartObject();
        w.WriteString("keyId", key.KeyId);
        w.WriteString("name", key.Name);
        w.WriteString("display", key.Display);
        w.WriteString("state", key.State.ToString());
        WriteStrings(w, "actions", key.Actions);
        WriteStrings(w, "resources", key.Resources);
        w.WriteString("created", key.Created);
        WriteTime(w, "expiresAt", key.ExpiresAt);
        WriteTime(w, "lastUsed", key.LastUsed);
        w.WriteString("createdBy", key.CreatedBy);
        w.WriteString("successorKeyId", key.SuccessorKeyId);
        WriteTime(w, "graceUntil", key.GraceUntil);
        if (key.RemainingUses is { } uses)
        {
            w.WriteNumber("remainingUses", uses);
        }
        else
        {
            w.WriteNull("remainingUses");
        }

        if (key.RateLimit is { } rate)
        {
            w.WriteStartObject("rateLimit");
            w.WriteNumber("permitsPerSecond", rate.PermitsPerSecond);
            w.WriteNumber("burst", rate.Burst);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("rateLimit");
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            w.WriteString(name, t);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
