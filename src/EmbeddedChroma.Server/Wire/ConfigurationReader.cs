using System.Text.Json;

namespace EmbeddedChroma.Server.Wire;

/// <summary>Chroma's <c>configuration</c> (create) and <c>new_configuration</c> (modify) objects.</summary>
internal static class ConfigurationReader
{
    private static readonly string[] CreateFields = ["space", "ef_construction", "ef_search", "max_neighbors", "num_threads", "resize_factor", "sync_threshold", "batch_size"];
    private static readonly string[] ModifyFields = ["ef_search", "max_neighbors", "num_threads", "resize_factor", "sync_threshold", "batch_size"];

    /// <summary>
    /// The configuration of a create request, or <see langword="null"/> when it sets no index (no <c>hnsw</c> and no
    /// <c>spann</c>): then Chroma's legacy <c>hnsw:*</c> metadata decides, as on Chroma's server. A <c>spann</c> section
    /// (Chroma's distributed index) is accepted and, as on Chroma's local server, leaves the HNSW defaults.
    /// </summary>
    public static CollectionConfiguration? ForCreate(JsonElement body, string name)
    {
        if (WireReader.Field(body, name) is not { } configuration)
        {
            return null;
        }

        Object(configuration, name);
        var hnsw = WireReader.Field(configuration, "hnsw");
        var spann = WireReader.Field(configuration, "spann");
        if (hnsw is null && spann is null)
        {
            return null;
        }

        var result = new CollectionConfiguration();
        if (hnsw is not { } section)
        {
            return result;
        }

        Object(section, $"{name}.hnsw");
        foreach (var property in section.EnumerateObject())
        {
            var field = $"{name}.hnsw.{property.Name}";
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            result = property.Name switch
            {
                "space" => result with { Space = CollectionConfiguration.ParseSpace(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : throw WireException.Shape(field, "expected a string")) },
                "ef_construction" => result with { EfConstruction = Count(property.Value, field) },
                "ef_search" => result with { EfSearch = Count(property.Value, field) },
                "max_neighbors" => result with { MaxNeighbors = Count(property.Value, field) },
                "num_threads" or "sync_threshold" or "batch_size" => Ignored(Count(property.Value, field), result),
                "resize_factor" => Ignored(Number(property.Value, field), result),
                _ => throw Unknown(field, property.Name, CreateFields),
            };
        }

        return result;
    }

    /// <summary>The configuration change of a modify request, or <see langword="null"/>.</summary>
    public static CollectionConfigurationUpdate? ForModify(JsonElement body, string name)
    {
        if (WireReader.Field(body, name) is not { } configuration)
        {
            return null;
        }

        Object(configuration, name);
        if (WireReader.Field(configuration, "hnsw") is not { } section)
        {
            return null;
        }

        Object(section, $"{name}.hnsw");
        var result = new CollectionConfigurationUpdate();
        foreach (var property in section.EnumerateObject())
        {
            var field = $"{name}.hnsw.{property.Name}";
            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            result = property.Name switch
            {
                "ef_search" => result with { EfSearch = Count(property.Value, field) },
                "max_neighbors" => result with { MaxNeighbors = Count(property.Value, field) },
                "num_threads" or "sync_threshold" or "batch_size" => Ignored(Count(property.Value, field), result),
                "resize_factor" => Ignored(Number(property.Value, field), result),
                _ => throw Unknown(field, property.Name, ModifyFields),
            };
        }

        return result;
    }

    /// <summary>A setting of Chroma's that has no effect here (threads, batching, file growth): its type was checked by the caller's read, the result is unchanged.</summary>
    private static T Ignored<T>(double checkedValue, T result)
    {
        _ = checkedValue;
        return result;
    }

    private static void Object(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw WireException.Shape(field, $"expected an object, got {WireReader.Kind(value)}");
        }
    }

    private static int Count(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) && n is >= 0 and <= int.MaxValue
            ? (int)n
            : throw WireException.Shape(field, $"invalid value {value.GetRawText()}, expected a non-negative integer");

    private static double Number(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw WireException.Shape(field, $"expected a number, got {WireReader.Kind(value)}");

    private static WireException Unknown(string field, string name, string[] expected) =>
        WireException.Shape(field, $"unknown field `{name}`, expected one of {string.Join(", ", expected.Select(e => $"`{e}`"))}");
}
