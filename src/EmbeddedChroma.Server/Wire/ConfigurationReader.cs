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

    /// <summary>
    /// The <c>vector_storage</c> of a create request's configuration (or a modify request's new configuration) (<c>"float32"</c>, <c>"float16"</c> or <c>"int8"</c>, EmbeddedChroma's
    /// own field), or <see langword="null"/> when none is sent.
    /// </summary>
    public static VectorStorage? VectorStorage(JsonElement body, string name)
    {
        if (WireReader.Field(body, name) is not { } configuration)
        {
            return null;
        }

        Object(configuration, name);
        return WireReader.Field(configuration, "vector_storage") switch
        {
            null or { ValueKind: JsonValueKind.Null } => null,
            { ValueKind: JsonValueKind.String } value => CollectionConfiguration.ParseVectorStorage(value.GetString()!),
            _ => throw WireException.Shape($"{name}.vector_storage", "expected a string ('float32', 'float16' or 'int8')"),
        };
    }

    /// <summary>
    /// The <c>embedding_function</c> of a create request's configuration (Chroma's forms: <c>{"type":"known","name":…,
    /// "config":{…}}</c>, <c>{"type":"legacy"}</c>, <c>{"type":"unknown"}</c>), or <see langword="null"/> when none is
    /// sent. The collection remembers it and get/list return it, as on Chroma's server.
    /// </summary>
    public static EmbeddingFunctionConfiguration? EmbeddingFunction(JsonElement body, string name)
    {
        if (WireReader.Field(body, name) is not { } configuration)
        {
            return null;
        }

        Object(configuration, name);
        var field = $"{name}.embedding_function";
        if (WireReader.Field(configuration, "embedding_function") is not { } function)
        {
            return null;
        }

        Object(function, field);
        var type = WireReader.Field(function, "type") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : throw WireException.Shape($"{field}.type", "missing field `type` (a string)");
        switch (type)
        {
            case "legacy":
                return EmbeddingFunctionConfiguration.Legacy;
            case "unknown":
                return new EmbeddingFunctionConfiguration("unknown", null);
            case "known":
                var functionName = WireReader.Field(function, "name") is { ValueKind: JsonValueKind.String } n ? n.GetString()! : throw WireException.Shape($"{field}.name", "missing field `name` (a string)");
                if (WireReader.Field(function, "config") is not { } config)
                {
                    throw WireException.Shape($"{field}.config", "missing field `config` (an object)");
                }

                Object(config, $"{field}.config");
                return config.EnumerateObject().Any() || functionName != EmbeddingFunctions.DefaultName
                    ? new EmbeddingFunctionConfiguration("known", functionName) { Config = config.EnumerateObject().Any() ? config.GetRawText() : null }
                    : EmbeddingFunctionConfiguration.Default;
            default:
                throw WireException.Shape($"{field}.type", $"unknown variant `{type}`, expected one of `legacy`, `known`, `unknown`");
        }
    }

    /// <summary>The configuration change of a modify request, or <see langword="null"/>.</summary>
    public static CollectionConfigurationUpdate? ForModify(JsonElement body, string name)
    {
        if (WireReader.Field(body, name) is not { } configuration)
        {
            return null;
        }

        Object(configuration, name);

        // EmbeddedChroma's own vector_storage: a change rebuilds the collection's graph in the background.
        var storage = VectorStorage(body, name);
        if (WireReader.Field(configuration, "hnsw") is not { } section)
        {
            return storage is null ? null : new CollectionConfigurationUpdate { VectorStorage = storage };
        }

        Object(section, $"{name}.hnsw");
        var result = new CollectionConfigurationUpdate { VectorStorage = storage };
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
