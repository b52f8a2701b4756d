using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Checksums of a stored record, kept in its row (<c>records.psum</c>, <c>records.vsum</c>) and verified on every read
/// of the columns they cover. SQLite checks a page's structure, not its content: a flipped byte inside a document,
/// a metadata JSON text or an embedding blob reads back without an error, and only these sums catch it.
/// <list type="bullet">
/// <item><c>psum</c>: the id, the document, the metadata JSON as stored (the canonical text <see cref="MetadataCodec.Encode"/> wrote)
/// and the uri when the record has one (a record without a uri sums as it did before uris existed, so a store of schema
/// version 2 keeps every checksum it had);</item>
/// <item><c>vsum</c>: the id and the embedding blob.</item>
/// </list>
/// Two sums rather than one so a read verifies exactly the columns it returns: a query returning documents does not
/// have to read (and hash) the embedding blobs it does not return. Each is XxHash3 (64-bit) chained over the fields
/// (each field's hash seeds the next; a null field hashes empty with another seed than an empty one), over the
/// UTF-16 code units of the text and the little-endian bytes of the floats: no copy, no allocation.
/// </summary>
internal static class RecordChecksum
{
    private const long PayloadDomain = 0x5053_554D_0000_0001; // "PSUM"
    private const long VectorDomain = 0x5653_554D_0000_0001; // "VSUM"
    private const long Present = 0x1F3D_5B79_A3C5_E7F9;
    private const long Absent = 0x2E4C_6A88_B4D6_F81A;
    private const long UriPresent = 0x7552_4900_C3A5_1D6B; // "uRI"

    /// <summary>
    /// False only in benchmarks measuring what the integrity work costs: record and catalog sums are stored as 0 and
    /// not checked, the write chain and <c>chroma.seq</c> are not written. Never false in a store that is used for real
    /// (a store written with it false fails its checks once they are on again).
    /// </summary>
    internal static bool Enabled = true;

    public static long Payload(string id, string? document, string? metadataJson, string? uri)
    {
        if (!Enabled)
        {
            return 0;
        }

        var h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()), PayloadDomain);
        h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(document.AsSpan()), (long)h ^ (document is null ? Absent : Present));
        h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(metadataJson.AsSpan()), (long)h ^ (metadataJson is null ? Absent : Present));
        if (uri is not null)
        {
            // Only a present uri is hashed (with its own seed, so "" differs from none): rows without one keep their sums.
            h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(uri.AsSpan()), (long)h ^ UriPresent);
        }

        return (long)h;
    }

    public static long Vector(string id, ReadOnlySpan<byte> embedding)
    {
        if (!Enabled)
        {
            return 0;
        }

        var h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()), VectorDomain);
        return (long)XxHash3.HashToUInt64(embedding, (long)h ^ Present);
    }

    /// <summary>
    /// The checksum of a collection's catalog row (<c>collections.csum</c>): everything a read of the collection trusts
    /// (uuid, database, name, dimension, space, HNSW parameters, metadata JSON), but not the sequence numbers (a damaged
    /// one only makes a derived file look stale, and it is rebuilt). Verified when the catalog is loaded at open.
    /// </summary>
    public static long CollectionRow(string uuid, long databaseId, string name, int? dimension, string space, int efConstruction, int efSearch, int maxNeighbors, string? metadataJson)
    {
        var fields = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{uuid}\n{databaseId}\n{name.Length}:{name}\n{dimension?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}\n{space}\n{efConstruction}\n{efSearch}\n{maxNeighbors}\n");
        var h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(fields.AsSpan()), PayloadDomain + 2);
        return (long)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(metadataJson.AsSpan()), (long)h ^ (metadataJson is null ? Absent : Present));
    }

    /// <summary>The catalog row checksum of <paramref name="state"/> with the given changed fields (see the overload above).</summary>
    public static long CollectionRow(CollectionState state, int? dimension, string name, int efSearch, string? metadataJson) =>
        CollectionRow(
            state.Uuid.ToString(), state.DatabaseId, name, dimension, CollectionConfiguration.SpaceName(state.Configuration.Space),
            state.Configuration.EfConstruction, efSearch, state.Configuration.MaxNeighbors, metadataJson);

    /// <summary>What a payload checksum mismatch names as damaged.</summary>
    public const string PayloadFields = "document or metadata or uri";

    public static void VerifyPayload(CollectionState state, string id, string? document, string? metadataJson, string? uri, long stored)
    {
        if (Enabled && Payload(id, document, metadataJson, uri) != stored)
        {
            throw Mismatch(state.Name, id, PayloadFields);
        }
    }

    public static void VerifyVector(CollectionState state, string id, ReadOnlySpan<byte> embedding, long stored)
    {
        if (Enabled && Vector(id, embedding) != stored)
        {
            throw Mismatch(state.Name, id, "embedding");
        }
    }

    /// <summary>The exception for a record whose stored fields do not match their checksum (or cannot be decoded).</summary>
    public static ChromaCorruptStoreException Mismatch(string collection, string id, string what, Exception? inner = null) =>
        new($"The store is corrupt: in collection '{Printable(collection)}', record '{Printable(id)}' has a damaged {what} " +
            "(its stored checksum does not match its content). Restore the store folder from a backup; " +
            "ChromaClient.VerifyIntegrity lists every damaged record.", inner);

    /// <summary>Text for a message: keys masked, shortened, control characters and lone surrogates escaped.</summary>
    internal static string Printable(string text) => Internal.Echo.Text(text);
}
