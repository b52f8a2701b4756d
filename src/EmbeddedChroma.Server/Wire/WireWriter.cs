using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Server.Wire;

/// <summary>Writes Chroma's response bodies (field names, order and nulls as Chroma's server sends them).</summary>
internal static class WireWriter
{
    /// <summary>Escapes only what JSON requires (and control characters): bodies are <c>application/json</c>, never HTML, and Chroma's server writes text unescaped too.</summary>
    public static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Collection(Utf8JsonWriter w, Guid id, string name, string tenant, string database, IReadOnlyDictionary<string, MetadataValue>? metadata, CollectionConfiguration configuration, int? dimension)
    {
        w.WriteStartObject();
        w.WriteString("id", id.ToString("D"));
        w.WriteString("name", name);
        w.WriteStartObject("configuration_json");
        w.WriteStartObject("hnsw");
        w.WriteString("space", CollectionConfiguration.SpaceName(configuration.Space));
        w.WriteNumber("ef_construction", configuration.EfConstruction);
        w.WriteNumber("ef_search", configuration.EfSearch);
        w.WriteNumber("max_neighbors", configuration.MaxNeighbors);
        w.WritePropertyName("resize_factor");
        w.WriteRawValue("1.2");
        w.WriteNumber("sync_threshold", 1000);
        w.WriteEndObject();
        w.WriteNull("spann");
        if (configuration.VectorStorage != VectorStorage.Float32)
        {
            // EmbeddedChroma's own field, written only when not the default so float32 collections answer as Chroma's server does.
            w.WriteString("vector_storage", CollectionConfiguration.VectorStorageName(configuration.VectorStorage));
        }
        if (configuration.EmbeddingFunction is { } function)
        {
            // What the collection remembers, in Chroma's form (a client sent it, or the embedded store chose it).
            w.WritePropertyName("embedding_function");
            w.WriteRawValue(function.ToJson());
        }
        else
        {
            w.WriteNull("embedding_function");
        }
        w.WriteEndObject();
        w.WriteNull("schema");
        w.WritePropertyName("metadata");
        Metadata(w, metadata);
        if (dimension is { } d)
        {
            w.WriteNumber("dimension", d);
        }
        else
        {
            w.WriteNull("dimension");
        }

        w.WriteString("tenant", tenant);
        w.WriteString("database", database);
        w.WriteNumber("log_position", 0);
        w.WriteNumber("version", 0);
        w.WriteEndObject();
    }

    public static void Collection(Utf8JsonWriter w, IChromaCollection c) =>
        Collection(w, c.Id, c.Name, c.Tenant, c.Database, c.Metadata, c.Configuration, c.Dimension);

    public static void Collection(Utf8JsonWriter w, CollectionInfo c) =>
        Collection(w, c.Id, c.Name, c.Tenant, c.Database, c.Metadata, c.Configuration, c.Dimension);

    /// <summary>A database (<c>id</c> is a stable name-based UUID: the store keys databases by name and has no public id).</summary>
    public static void Database(Utf8JsonWriter w, string tenant, string name)
    {
        w.WriteStartObject();
        w.WriteString("id", DatabaseId(tenant, name).ToString("D"));
        w.WriteString("name", name);
        w.WriteString("tenant", tenant);
        w.WriteEndObject();
    }

    private static Guid DatabaseId(string tenant, string name)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{tenant}\n{name}"), hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    public static void Metadata(Utf8JsonWriter w, IReadOnlyDictionary<string, MetadataValue>? metadata)
    {
        if (metadata is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartObject();
        foreach (var (key, value) in metadata)
        {
            w.WritePropertyName(key);
            Value(w, value);
        }

        w.WriteEndObject();
    }

    private static void Value(Utf8JsonWriter w, MetadataValue value) => MetadataJson.WriteValue(w, value);

    /// <summary>A float as Chroma's server writes it: shortest round-trip form, always with a fraction or exponent (<c>2.0</c>, not <c>2</c>), so clients keep it a float.</summary>
    public static void Double(Utf8JsonWriter w, double value) => MetadataJson.WriteFloat(w, value);

    public static void Single(Utf8JsonWriter w, float value) => MetadataJson.WriteFloat(w, value);


    public static void Vector(Utf8JsonWriter w, float[] vector)
    {
        w.WriteStartArray();
        foreach (var f in vector)
        {
            Single(w, f);
        }

        w.WriteEndArray();
    }

    public static void GetResult(Utf8JsonWriter w, GetResult r, IReadOnlyList<string> include)
    {
        w.WriteStartObject();
        w.WriteStartArray("ids");
        foreach (var id in r.Ids)
        {
            w.WriteStringValue(id);
        }

        w.WriteEndArray();
        w.WritePropertyName("embeddings");
        List(w, r.Embeddings, Vector);
        w.WritePropertyName("documents");
        List(w, r.Documents, NullableString);
        w.WritePropertyName("uris");
        List(w, r.Uris, NullableString);
        w.WritePropertyName("metadatas");
        List(w, r.Metadatas, Metadata);
        Include(w, include);
        w.WriteEndObject();
    }

    public static void QueryResult(Utf8JsonWriter w, QueryResult r, IReadOnlyList<string> include)
    {
        w.WriteStartObject();
        w.WritePropertyName("ids");
        List(w, r.Ids, (w2, ids) => List(w2, ids, (w3, id) => w3.WriteStringValue(id)));
        w.WritePropertyName("embeddings");
        List(w, r.Embeddings, (w2, list) => List(w2, list, Vector));
        w.WritePropertyName("documents");
        List(w, r.Documents, (w2, list) => List(w2, list, NullableString));
        w.WritePropertyName("uris");
        List(w, r.Uris, (w2, list) => List(w2, list, NullableString));
        w.WritePropertyName("metadatas");
        List(w, r.Metadatas, (w2, list) => List(w2, list, Metadata));
        w.WritePropertyName("distances");
        List(w, r.Distances, (w2, list) => List(w2, list, Single));
        Include(w, include);
        w.WriteEndObject();
    }

    private static void Include(Utf8JsonWriter w, IReadOnlyList<string> include)
    {
        w.WriteStartArray("include");
        foreach (var name in include)
        {
            w.WriteStringValue(name);
        }

        w.WriteEndArray();
    }

    private static void NullableString(Utf8JsonWriter w, string? value)
    {
        if (value is null)
        {
            w.WriteNullValue();
        }
        else
        {
            w.WriteStringValue(value);
        }
    }

    private static void List<T>(Utf8JsonWriter w, IReadOnlyList<T>? list, Action<Utf8JsonWriter, T> item)
    {
        if (list is null)
        {
            w.WriteNullValue();
            return;
        }

        w.WriteStartArray();
        foreach (var x in list)
        {
            item(w, x);
        }

        w.WriteEndArray();
    }
}
