using EmbeddedChroma.Storage;
using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// The storage boundary's one mapping (<see cref="StorageErrors.Map"/>): every file-system and SQLite error becomes the
/// <see cref="ChromaException"/> that names its true cause, with the original kept as the inner exception.
/// </summary>
public sealed class ExceptionWrappingTests
{
    public static TheoryData<string, Exception, Type> Faults() => new()
    {
        { "ENOSPC", new IOException("No space left on device", 28), typeof(ChromaStorageFullException) },
        { "SQLITE_FULL", new SqliteException("database or disk is full", 13, 13), typeof(ChromaStorageFullException) },
        { "EROFS", new IOException("Read-only file system", 30), typeof(ChromaReadOnlyException) },
        { "EACCES/EPERM (immutable)", new UnauthorizedAccessException("Access to the path is denied."), typeof(ChromaReadOnlyException) },
        { "SQLITE_READONLY", new SqliteException("attempt to write a readonly database", 8, 8), typeof(ChromaReadOnlyException) },
        { "SQLITE_PERM", new SqliteException("access permission denied", 3, 3), typeof(ChromaReadOnlyException) },
        { "SQLITE_CORRUPT", new SqliteException("database disk image is malformed", 11, 11), typeof(ChromaCorruptStoreException) },
        { "SQLITE_NOTADB", new SqliteException("file is not a database", 26, 26), typeof(ChromaCorruptStoreException) },
        { "SQLITE_BUSY", new SqliteException("database is locked", 5, 5), typeof(ChromaStoreLockedException) },
        { "SQLITE_LOCKED", new SqliteException("database table is locked", 6, 6), typeof(ChromaStoreLockedException) },
        { "SQLITE_IOERR with free space", new SqliteException("disk I/O error", 10, 778), typeof(ChromaStorageIOException) },
        { "SQLITE_CANTOPEN with free space", new SqliteException("unable to open database file", 14, 14), typeof(ChromaStorageIOException) },
        { "EIO", new IOException("Input/output error", 5), typeof(ChromaStorageIOException) },
        { "JSON", new System.Text.Json.JsonException("'x' is an invalid start of a value."), typeof(ChromaCorruptStoreException) },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void Map_names_the_true_cause_and_keeps_the_original_when_storage_fails(string cause, Exception fault, Type expected)
    {
        using var temp = new TempStoreFolder("ec-map");
        var file = Path.Combine(temp.Path, "chroma.sqlite3");
        var mapped = StorageErrors.Map(fault, file, bytesNeeded: 4096);
        mapped.Should().BeOfType(expected, cause);
        mapped.InnerException.Should().BeSameAs(fault);
        mapped.Message.Should().Contain(temp.Path);
        if (expected != typeof(ChromaCorruptStoreException))
        {
            mapped.Message.Should().NotContainEquivalentOf("restore", "only real damage advises restoring from a backup");
        }

        if (mapped is ChromaStorageFullException full)
        {
            full.Folder.Should().Be(temp.Path);
            full.BytesNeeded.Should().Be(4096);
        }
    }

    [Fact]
    public void Map_returns_a_chroma_exception_unchanged()
    {
        var original = new ChromaNotFoundException("x");
        StorageErrors.Map(original, "/tmp").Should().BeSameAs(original);
    }
}
