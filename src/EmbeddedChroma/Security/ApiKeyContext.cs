using EmbeddedChroma.Security;

namespace EmbeddedChroma;

/// <summary>
/// An authenticated caller: what every operation is checked against. Create one with
/// <see cref="ChromaStore.Authenticate(string)"/> or <see cref="ChromaStore.AuthenticateHeader(string)"/>.
/// Holds no secret; the key's state is re-checked on every call, so revoking a key stops contexts
/// created before the revocation on their very next operation.
/// </summary>
public sealed class ApiKeyContext
{
    internal ApiKeyContext(KeyRing ring, KeyRecord record)
    {
        Ring = ring;
        Record = record;
    }

    internal KeyRing Ring { get; }

    internal KeyRecord Record { get; }

    /// <summary>The key's public id (not secret).</summary>
    public string KeyId => Record.KeyId;

    /// <summary>The key's name.</summary>
    public string KeyName => Record.Name;

    /// <summary>
    /// The key's scope as given when it was created: resource paths <c>tenant[/database[/collection]]</c>, each segment a
    /// name or <c>*</c> (<c>*</c> alone: the whole store). Not secret; a host answers Chroma's <c>auth/identity</c> from it.
    /// </summary>
    public IReadOnlyList<string> Resources => Array.ConvertAll(Record.Resources, r => r.Text);

    /// <summary>The key's display form: prefix and key id only, never the secret.</summary>
    public override string ToString() => ApiKeyFormat.Display(Record.KeyId);
}
