using System.Text.Json;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma;

/// <summary>
/// The embedding function a collection remembers (Chroma's <c>configuration.embedding_function</c>), persisted with
/// the collection: <see cref="Default"/> (<c>{"type": "known", "name": "default", "config": {}}</c>, Chroma's
/// all-MiniLM-L6-v2, wired again automatically when the collection is opened) or <see cref="Legacy"/> (a generator the
/// store cannot rebuild, such as an OpenAI or Ollama client: pass it again when opening the collection).
/// </summary>
/// <param name="Type">Chroma's kind: <c>known</c> (rebuilt from <see cref="Name"/>) or <c>legacy</c> (not rebuildable).</param>
/// <param name="Name">The function's name for a <c>known</c> one (<c>default</c>), or null.</param>
public sealed record EmbeddingFunctionConfiguration(string Type, string? Name)
{
    /// <summary>Chroma's default embedding function, all-MiniLM-L6-v2, provided by the EmbeddedChroma.Embeddings.MiniLM package.</summary>
    public static EmbeddingFunctionConfiguration Default { get; } = new("known", EmbeddingFunctions.DefaultName);

    /// <summary>A generator given by the caller, which the store cannot rebuild (Chroma's <c>legacy</c>).</summary>
    public static EmbeddingFunctionConfiguration Legacy { get; } = new("legacy", null);

    /// <summary>Chroma's JSON form, e.g. <c>{"type":"known","name":"default","config":{}}</c>.</summary>
    public string ToJson() =>
        Type == "known"
            ? JsonSerializer.Serialize(new Dictionary<string, object> { ["type"] = Type, ["name"] = Name ?? "", ["config"] = new Dictionary<string, object>() })
            : JsonSerializer.Serialize(new Dictionary<string, object> { ["type"] = Type });

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
            return type == "known" && name == EmbeddingFunctions.DefaultName ? Default
                : type == "legacy" ? Legacy
                : new EmbeddingFunctionConfiguration(type, name);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ChromaValidationException($"configuration.embedding_function is not valid JSON of Chroma's form: '{Echo.Text(json)}'.");
        }
    }
}
