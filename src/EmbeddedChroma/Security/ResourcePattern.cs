using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Security;

/// <summary>What an operation touches: a tenant, a database in it, a collection (by name) in that; or nothing (store-wide).</summary>
internal readonly record struct ResourceRef(string? Tenant, string? Database = null, string? Collection = null)
{
    public int Depth => Tenant is null ? 0 : Database is null ? 1 : Collection is null ? 2 : 3;

    public string? Segment(int i) => i switch { 0 => Tenant, 1 => Database, 2 => Collection, _ => null };

    public override string ToString() => Depth switch
    {
        0 => "the store",
        1 => $"tenant '{Echo.Text(Tenant)}'",
        2 => $"database '{Echo.Text(Tenant)}/{Echo.Text(Database)}'",
        _ => $"collection '{Echo.Text(Tenant)}/{Echo.Text(Database)}/{Echo.Text(Collection)}'",
    };
}

/// <summary>
/// A resource path of a key's scope: 1–3 segments <c>tenant/database/collection</c>, each a name or <c>*</c>.
/// A path covers its resource and everything below it.
/// </summary>
internal sealed class ResourcePattern
{
    private readonly string[] _segments;

    private ResourcePattern(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    public string Text { get; }

    /// <summary>The pattern <c>*</c>: the whole store.</summary>
    public bool IsEverything => _segments.Length == 1 && _segments[0] == "*";

    public static ResourcePattern Parse(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new ChromaValidationException("Key resources: a resource path must be non-empty ('*', 'tenant', 'tenant/database' or 'tenant/database/collection').");
        }

        var segments = text.Split('/');
        if (segments.Length > 3)
        {
            throw new ChromaValidationException($"Key resources: '{Echo.Text(text)}' has more than three segments (tenant/database/collection).");
        }

        foreach (var segment in segments)
        {
            if (segment != "*")
            {
                Names.Validate(segment, "resource path segment");
            }
        }

        return new ResourcePattern(text, segments);
    }

    /// <summary>The resource lies within this pattern (it, or something below it).</summary>
    public bool Covers(in ResourceRef resource)
    {
        if (resource.Depth < _segments.Length && !(_segments.Length == 1 && _segments[0] == "*"))
        {
            // The resource is above the pattern (e.g. a whole tenant for a one-database key): not covered.
            return false;
        }

        return SegmentsMatch(resource, Math.Min(_segments.Length, resource.Depth));
    }

    /// <summary>The resource is covered, or is an ancestor of what the pattern covers (it may be seen and navigated through).</summary>
    public bool Touches(in ResourceRef resource) => SegmentsMatch(resource, Math.Min(_segments.Length, resource.Depth));

    private bool SegmentsMatch(in ResourceRef resource, int count)
    {
        for (var i = 0; i < count; i++)
        {
            if (_segments[i] != "*" && !string.Equals(_segments[i], resource.Segment(i), StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Everything <paramref name="other"/> covers is covered by this pattern.</summary>
    public bool Contains(ResourcePattern other)
    {
        if (_segments.Length == 1 && _segments[0] == "*")
        {
            return true;
        }

        if (other._segments.Length < _segments.Length)
        {
            return false;
        }

        for (var i = 0; i < _segments.Length; i++)
        {
            if (_segments[i] != "*" && (other._segments[i] == "*" || other._segments[i] != _segments[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Text;
}
