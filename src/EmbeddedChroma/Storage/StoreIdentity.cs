using System.Buffers.Binary;
using System.IO.Hashing;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Which store, and which history of it, a derived file (vector arena, HNSW graph) was written for.
/// <list type="bullet">
/// <item>The store id: random, created with the store (<c>store_meta.store_id</c>); a copy or a backup keeps it.</item>
/// <item>The write chain: every write transaction appends <c>chain = H(previous chain, seq, random nonce)</c> to
/// <c>write_chain</c>. Two copies of a store that both wrote after they were copied hold different chain values for the
/// same sequence number (the nonces differ), so a derived file from the other copy is recognized even at equal sequence
/// numbers.</item>
/// </list>
/// A derived file records its sequence number beside <see cref="Owner"/>(store id, collection id, chain at that
/// sequence number); a load looks the chain up for the file's sequence number and accepts the file only when the bytes
/// are equal. Cost: one 16-byte row per write transaction.
/// </summary>
internal static class StoreIdentity
{
    /// <summary>Bytes of an owner stamp: store id (16), collection id (16), chain (8).</summary>
    public const int OwnerLength = 40;

    /// <summary>The owner stamp of a derived file of <paramref name="collection"/> covering the write whose chain value is <paramref name="chain"/>.</summary>
    public static byte[] Owner(Guid store, Guid collection, long chain)
    {
        var owner = new byte[OwnerLength];
        store.TryWriteBytes(owner);
        collection.TryWriteBytes(owner.AsSpan(16));
        BinaryPrimitives.WriteInt64LittleEndian(owner.AsSpan(32), chain);
        return owner;
    }

    /// <summary>The write chain value recorded for <paramref name="seq"/>, 0 when none is (writes before schema 2).</summary>
    public static long ChainAt(Microsoft.Data.Sqlite.SqliteConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chain FROM write_chain WHERE seq = $s";
        command.Parameters.AddWithValue("$s", seq);
        return command.ExecuteScalar() is long chain ? chain : 0;
    }

    /// <summary>The chain value of write <paramref name="seq"/> after <paramref name="previous"/>.</summary>
    public static long NextChain(long previous, long seq)
    {
        Span<byte> input = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(input, previous);
        BinaryPrimitives.WriteInt64LittleEndian(input[8..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(input[16..], Random.Shared.NextInt64());
        return (long)XxHash3.HashToUInt64(input);
    }
}
