using System.Text.Json;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma;

/// <summary>
/// The embedding function a collection remembers (Chroma's <c>configuration.embedding_function</c>), persisted with
/// the collection: <see cref="Default"/> (<c>{"type": "known", "name": "default", "config": {}}</c>, Chroma's
/// all-MiniLM-L6-v2, wired again automatically when the collection is opened) or <see cref="Legacy"/> (a generator the
/// store cannot rebuild, such as an OpenAI or Ollama client: pass it again when opening the collection).
/// </summary>
/// <param name="Type">Chroma's kind: <c>known</c> (rebuilt from <see cref="Name"/>), <c>legacy</c> (not rebuildable) or
/// <c>unknown</c> (Chroma's marker for a function it cannot describe; kept and returned, never resolved).</param>
/// <param name="Name">The function's name for a <c>known</c> one (<c>default</c>), or null.</param>
public sealed record EmbeddingFunctionConfiguration(string Type, string? Name)
{
    /// <summary>
    /// The settings of a <c>known</c> function as Chroma's clients send them (its <c>config</c> object, e.g.
    /// <c>{"model_name":"text-embedding-3-small","api_key_env_var":"OPENAI_API_KEY"}</c>), as compact JSON text; null for
    /// none (<c>{}</c>). Persisted and returned as given; the store resolves a function by its name only.
    /// </summary>
    public string? Config { get; init; }

    /// <summary>Chroma's default embedding function, all-MiniLM-L6-v2, provided by the EmbeddedChroma.Embeddings.MiniLM package.</summary>
    public static EmbeddingFunctionConfiguration Default { get; } = new("known", EmbeddingFunctions.DefaultName);

    /// <summary>A generator given by the caller, which the store cannot rebuild (Chroma's <c>legacy</c>).</summary>
    public static EmbeddingFunctionConfiguration Legacy { get; } = new("legacy", null);

    /// <summary>Chroma's JSON form, e.g. <c>{"type":"known","name":"default","config":{}}</c>.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", Type);
            if (Type == "known")
            {
                writer.WriteString("name", Name ?? "");
                writer.WritePropertyName("config");
                if (Config is { } config)
                {
                    writer.WriteRawValue(config);
                }
                else
                {
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads Chroma's JSON form.</summary>
    /// <exception cref="ChromaValidationException">Not an embedding function configuration.</exception>
    public static EmbeddingFunctionConfiguration FromJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var type = root.GetProperty("type").GetString() ?? throw new JsonException("type is null");
            string? name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            string? config = type == "known" && root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object && c.EnumerateObject().Any()
                ? JsonSerializer.Serialize(c)
                : null;
            return type == "known" && name == EmbeddingFunctions.DefaultName && config is null ? Default
                : type == "legacy" ? Legacy
                : new EmbeddingFunctionConfiguration(type, name) { Config = config };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ChromaValidationException($"configuration.embedding_function is not valid JSON of Chroma's form: '{Echo.Text(json)}'.");
        }
    }
}
