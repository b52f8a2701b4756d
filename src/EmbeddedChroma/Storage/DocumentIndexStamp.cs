using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Storage;

/// <summary>
/// Remembers, in <c>store_meta</c>, that the FTS5 document index was found equal to the documents, so that the next open
/// need not run FTS5's whole <c>integrity-check</c> again (seconds per 100,000 documents) before its first
/// <c>where_document</c> read. The stamp is <c>seq:chain:digest</c>: the store's last write (sequence number and write
/// chain value, <see cref="StoreIdentity"/>) and an XxHash3 digest of every row of the index's own tables
/// (<c>documents_fts_data</c>, <c>_idx</c>, <c>_config</c>: a read of the index, no tokenizing) and of the collections'
/// marks of what the index holds (<see cref="PendingDocuments"/>).
/// </summary>
/// <remarks>
/// The stamp is trusted only when all three parts match the store as it is: a write after it moves the sequence number,
/// and any change to the index that did not come through the store's own writes — an edit, a damaged page that still
/// reads — moves the digest; either sends the next <c>where_document</c> read to the full check (which rebuilds the index
/// when it differs, then stamps it again). The documents themselves are covered by the records' checksums, verified on
/// every read that returns them. Recorded when the full check passes (or a rebuild ends), and on close when this open
/// trusted the index and wrote after its stamp (the store's own writes keep the index in step).
/// </remarks>
internal static class DocumentIndexStamp
{
    /// <summary>The <c>store_meta</c> key of the stamp.</summary>
    public const string MetaKey = "document_index_verified";

    /// <summary>The stamp recorded in the database, or null.</summary>
    public static string? Read(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT value FROM store_meta WHERE key = $k";
        command.Parameters.AddWithValue("$k", MetaKey);
        return command.ExecuteScalar() as string;
    }

    /// <summary>True when the recorded stamp names this write (<paramref name="seq"/>, <paramref name="chain"/>) and the index's tables still hash to its digest.</summary>
    public static bool Matches(SqliteConnection connection, SqliteTransaction? transaction, long seq, long chain)
    {
        var recorded = Read(connection, transaction);
        var prefix = Prefix(seq, chain);
        return recorded is not null
            && recorded.StartsWith(prefix, StringComparison.Ordinal)
            && recorded.AsSpan(prefix.Length).SequenceEqual(Digest(connection, transaction).ToString("x16", CultureInfo.InvariantCulture));
    }

    /// <summary>True when the recorded stamp names this write: nothing was written since it was recorded (its digest is not checked).</summary>
    public static bool IsAt(SqliteConnection connection, SqliteTransaction? transaction, long seq, long chain) =>
        Read(connection, transaction)?.StartsWith(Prefix(seq, chain), StringComparison.Ordinal) == true;

    /// <summary>Records the index as verified at write <paramref name="seq"/> (inside the caller's write transaction; takes no sequence number).</summary>
    public static void Record(SqliteConnection connection, SqliteTransaction transaction, long seq, long chain)
    {
        var stamp = Prefix(seq, chain) + Digest(connection, transaction).ToString("x16", CultureInfo.InvariantCulture);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO store_meta(key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
        command.Parameters.AddWithValue("$k", MetaKey);
        command.Parameters.AddWithValue("$v", stamp);
        command.ExecuteNonQuery();
    }

    private static string Prefix(long seq, long chain) => string.Create(CultureInfo.InvariantCulture, $"{seq}:{chain}:");

    /// <summary>XxHash3 of every row of the FTS5 index's tables, in key order (each value with its length, so rows cannot shift into each other).</summary>
    public static ulong Digest(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var hash = new XxHash3();
        Span<byte> number = stackalloc byte[9];
        foreach (var sql in (ReadOnlySpan<string>)[
            "SELECT id, block FROM documents_fts_data ORDER BY id",
            "SELECT segid, term, pgno FROM documents_fts_idx ORDER BY segid, term",
            "SELECT k, v FROM documents_fts_config ORDER BY k",
            // The marks tell which documents the index holds (PendingDocuments): a changed mark must not be trusted either.
            "SELECT key, value FROM store_meta WHERE key LIKE '" + Filtering.SqlFilterBuilder.DocumentsIndexedKeyPrefix + "%' ORDER BY key"])
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var columns = reader.FieldCount;
            hash.Append(Encoding.ASCII.GetBytes(sql));
            while (reader.Read())
            {
                for (var i = 0; i < columns; i++)
                {
                    // Each value with its type and length, so neighbouring values cannot shift into each other.
                    switch (reader.GetValue(i))
                    {
                        case long integer:
                            number[0] = 1;
                            BinaryPrimitives.WriteInt64LittleEndian(number[1..], integer);
                            hash.Append(number);
                            break;
                        case byte[] bytes:
                            Append(hash, number, 2, bytes);
                            break;
                        case string text:
                            Append(hash, number, 3, Encoding.UTF8.GetBytes(text));
                            break;
                        case double real:
                            number[0] = 4;
                            BinaryPrimitives.WriteDoubleLittleEndian(number[1..], real);
                            hash.Append(number);
                            break;
                        default:
                            number.Clear();
                            hash.Append(number);
                            break;
                    }
                }
            }
        }

        return hash.GetCurrentHashAsUInt64();
    }

    private static void Append(XxHash3 hash, Span<byte> prefix, byte type, byte[] bytes)
    {
        prefix[0] = type;
        BinaryPrimitives.WriteInt64LittleEndian(prefix[1..], bytes.Length);
        hash.Append(prefix);
        hash.Append(bytes);
    }
}
