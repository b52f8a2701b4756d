using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Client;

/// <summary>Chroma's JSON bodies: what the official clients send, and reading what the server answers.</summary>
internal static class Wire
{
    public static void Metadata(Utf8JsonWriter w, IReadOnlyDictionary<string, MetadataValue?> metadata, bool keepNulls)
    {
        w.WriteStartObject();
        foreach (var (key, value) in metadata)
        {
            if (value is null)
            {
                if (keepNulls)
                {
                    w.WriteNull(key);
                }

                continue;
            }

            w.WritePropertyName(key);
            Value(w, value);
        }

        w.WriteEndObject();
    }

    public static void Value(Utf8JsonWriter w, MetadataValue value) => MetadataJson.WriteValue(w, value);

    /// <summary>A float that reads back as a float (Chroma keeps <c>1</c> and <c>1.0</c> apart).</summary>
    public static void Float(Utf8JsonWriter w, double value) => MetadataJson.WriteFloat(w, value);

    /// <summary>Embeddings as JSON arrays of numbers, or as base64 of little-endian float32 (what the official clients send when the server supports it).</summary>
    public static void Embeddings(Utf8JsonWriter w, IReadOnlyList<float[]> embeddings, bool base64)
    {
        w.WriteStartArray();
        foreach (var e in embeddings)
        {
            if (base64)
            {
                if (BitConverter.IsLittleEndian)
                {
                    w.WriteBase64StringValue(MemoryMarshal.AsBytes(e.AsSpan()));
                }
                else
                {
                    var bytes = new byte[e.Length * 4];
                    for (var i = 0; i < e.Length; i++)
                    {
                        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), e[i]);
                    }

                    w.WriteBase64StringValue(bytes);
                }
            }
            else
            {
                w.WriteStartArray();
                foreach (var x in e)
                {
                    w.WriteNumberValue(x);
                }

                w.WriteEndArray();
            }
        }

        w.WriteEndArray();
    }

    public static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string?> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            if (v is null)
            {
                w.WriteNullValue();
            }
            else
            {
                w.WriteStringValue(v);
            }
        }

        w.WriteEndArray();
    }

    public static void Include(Utf8JsonWriter w, Include include)
    {
        w.WriteStartArray("include");
        if (include.HasFlag(EmbeddedChroma.Include.Documents))
        {
            w.WriteStringValue("documents");
        }

        if (include.HasFlag(EmbeddedChroma.Include.Embeddings))
        {
            w.WriteStringValue("embeddings");
        }

        if (include.HasFlag(EmbeddedChroma.Include.Metadatas))
        {
            w.WriteStringValue("metadatas");
        }

        if (include.HasFlag(EmbeddedChroma.Include.Distances))
        {
            w.WriteStringValue("distances");
        }

        if (include.HasFlag(EmbeddedChroma.Include.Uris))
        {
            w.WriteStringValue("uris");
        }

        w.WriteEndArray();
    }

    public static void Filters(Utf8JsonWriter w, Where? where, WhereDocument? whereDocument)
    {
        if (where is not null)
        {
            w.WritePropertyName("where");
            where.WriteTo(w);
        }

        if (whereDocument is not null)
        {
            w.WritePropertyName("where_document");
            whereDocument.WriteTo(w);
        }
    }

    // ---- reading ----

    public static string String(JsonElement e, string property, string what) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String
            ? p.GetString()!
            : throw Unexpected(what, $"no string '{property}'");

    public static ChromaTransportException Unexpected(string what, string detail) =>
        new($"{what}: the server's answer is not shaped as Chroma's ({detail}).", null, null);

    /// <summary>A metadata object as the server returns it; an empty object is no metadata (Chroma's server answers <c>{}</c> for a record stored without).</summary>
    public static IReadOnlyDictionary<string, MetadataValue>? ReadMetadata(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        // Chroma's server answers keys in no fixed order (it differs between two reads of one record): sorted, a
        // record reads the same every time.
        Dictionary<string, MetadataValue>? result = null;
        foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (p.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            try
            {
                (result ??= new Dictionary<string, MetadataValue>(StringComparer.Ordinal))[p.Name] = MetadataValue.FromObject(p.Value, $"{what}['{Echo.Text(p.Name)}']");
            }
            catch (ChromaValidationException ex)
            {
                throw new ChromaTransportException($"{what}: the server returned a metadata value this client cannot represent ({ex.Message}).", null, null, ex);
            }
        }

        return result;
    }

    public static float[] ReadEmbedding(JsonElement e, string what)
    {
        try
        {
            return ReadEmbeddingCore(e, what);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            throw new ChromaTransportException($"{what}: the server returned an embedding this client cannot read ({ex.GetType().Name}).", null, null, ex);
        }
    }

    private static float[] ReadEmbeddingCore(JsonElement e, string what)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            var bytes = e.GetBytesFromBase64();
            var floats = new float[bytes.Length / 4];
            for (var i = 0; i < floats.Length; i++)
            {
                floats[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
            }

            return floats;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            throw Unexpected(what, "an embedding is not an array");
        }

        var v = new float[e.GetArrayLength()];
        var j = 0;
        foreach (var x in e.EnumerateArray())
        {
            v[j++] = x.GetSingle();
        }

        return v;
    }

    public static CollectionInfo ReadCollection(JsonElement e, string what)
    {
        try
        {
            return ReadCollectionCore(e, what);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            throw new ChromaTransportException($"{what}: the server's collection is not shaped as Chroma's ({ex.GetType().Name}).", null, null, ex);
        }
    }

    private static CollectionInfo ReadCollectionCore(JsonElement e, string what)
    {
        var id = Guid.Parse(String(e, "id", what), CultureInfo.InvariantCulture);
        var name = String(e, "name", what);
        var tenant = String(e, "tenant", what);
        var database = String(e, "database", what);
        var metadata = e.TryGetProperty("metadata", out var m) ? ReadMetadata(m, what + " metadata") : null;
        int? dimension = e.TryGetProperty("dimension", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : null;
        var configuration = new CollectionConfiguration();
        if (e.TryGetProperty("configuration_json", out var cj) && cj.ValueKind == JsonValueKind.Object
            && cj.TryGetProperty("hnsw", out var h) && h.ValueKind == JsonValueKind.Object)
        {
            configuration = new CollectionConfiguration
            {
                Space = h.TryGetProperty("space", out var s) && s.ValueKind == JsonValueKind.String ? CollectionConfiguration.ParseSpace(s.GetString()!) : DistanceSpace.L2,
                EfConstruction = h.TryGetProperty("ef_construction", out var ec) && ec.ValueKind == JsonValueKind.Number ? ec.GetInt32() : 100,
                EfSearch = h.TryGetProperty("ef_search", out var es) && es.ValueKind == JsonValueKind.Number ? es.GetInt32() : 100,
                MaxNeighbors = h.TryGetProperty("max_neighbors", out var mn) && mn.ValueKind == JsonValueKind.Number ? mn.GetInt32() : 16,
            };
        }

        if (e.TryGetProperty("configuration_json", out var cv) && cv.ValueKind == JsonValueKind.Object
            && cv.TryGetProperty("vector_storage", out var vs) && vs.ValueKind == JsonValueKind.String)
        {
            // EmbeddedChroma's HTTP host reports it for collections not stored as float32.
            configuration = configuration with { VectorStorage = CollectionConfiguration.ParseVectorStorage(vs.GetString()!) };
        }

        return new CollectionInfo(id, name, tenant, database, metadata, configuration, dimension);
    }

    /// <summary>A count the server answered (a JSON integer).</summary>
    public static int Count(JsonElement e, string what) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) ? n : throw Unexpected(what, "not an integer");

    /// <summary>An optional list property: <see langword="null"/> when missing or JSON null.</summary>
    public static JsonElement? List(JsonElement e, string property) =>
        e.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.Array ? p : null;
}
