using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// A damaged chroma.sqlite3 gives <see cref="ChromaCorruptStoreException"/> naming the file, saying the store is corrupt
/// and pointing at a backup: at open for damage the open reads, at the first read of a damaged page otherwise, and
/// from <see cref="ChromaClient.VerifyIntegrity"/> for any damage. Never a raw SqliteException.
/// </summary>
public sealed class CorruptDatabaseTests : IDisposable
{
    private readonly StoreFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private string DatabaseFile => Path.Combine(_fx.Folder, "chroma.sqlite3");

    private void Populate(int count = 3_000)
    {
        var collection = _fx.CreateCollection();
        var random = new Random(7);
        foreach (var chunk in Enumerable.Range(0, count).Chunk(1_000))
        {
            collection.Add(
                chunk.Select(i => "id" + i).ToArray(),
                chunk.Select(_ => new[] { (float)random.NextDouble(), (float)random.NextDouble() }).ToArray(),
                chunk.Select(i => (IReadOnlyDictionary<string, MetadataValue?>?)StoreFixture.Meta(("n", (long)i))).ToArray(),
                chunk.Select(i => (string?)("a fairly long document so that records span many pages " + i)).ToArray());
        }
    }

    private void ShouldNameTheFile(ChromaCorruptStoreException ex)
    {
        ex.Message.Should().Contain(DatabaseFile).And.Contain("corrupt").And.Contain("backup");
    }

    public static TheoryData<string> OpenDamage => new("garbage bytes", "truncated", "header overwritten", "not a database", "emptied");

    [Theory]
    [MemberData(nameof(OpenDamage))]
    public void Open_throws_corrupt_store_naming_the_file_when_sqlite_file_is_damaged(string damage)
    {
        Populate();
        _fx.Close();
        SqliteConnection.ClearAllPools();
        var length = new FileInfo(DatabaseFile).Length;
        switch (damage)
        {
            case "garbage bytes":
                var garbage = new byte[length];
                new Random(1).NextBytes(garbage);
                File.WriteAllBytes(DatabaseFile, garbage);
                break;
            case "truncated":
                using (var file = new FileStream(DatabaseFile, FileMode.Open))
                {
                    file.SetLength(1_000);
                }

                break;
            case "header overwritten":
                using (var file = new FileStream(DatabaseFile, FileMode.Open))
                {
                    file.Write(new byte[100]);
                }

                break;
            case "not a database":
                File.WriteAllText(DatabaseFile, "These are my notes, not a database.\n" + new string('x', 5_000));
                break;
            case "emptied":
                File.WriteAllBytes(DatabaseFile, []);
                break;
        }

        var open = () => ChromaStore.Open(_fx.Folder);

        ShouldNameTheFile(open.Should().Throw<ChromaCorruptStoreException>().Which);
        // The failed open released the folder: a second attempt fails the same way (not "locked").
        open.Should().Throw<ChromaCorruptStoreException>();
    }

    [Fact]
    public void Read_throws_corrupt_store_naming_the_file_when_a_data_page_is_damaged_after_open()
    {
        Populate();
        _fx.Close();
        SqliteConnection.ClearAllPools();
        DamagePagesOf("records");

        // The open path reads only the schema and the catalog: it succeeds, and the damage surfaces on first use.
        _fx.Reopen();
        var collection = _fx.Client.GetCollection("test");
        var read = () => collection.Get(include: Include.Documents | Include.Metadatas);

        ShouldNameTheFile(read.Should().Throw<ChromaCorruptStoreException>().Which);
        var verify = () => _fx.Client.VerifyIntegrity();
        ShouldNameTheFile(verify.Should().Throw<ChromaCorruptStoreException>().Which);
    }

    [Fact]
    public void VerifyIntegrity_finds_damage_in_an_index_the_queries_have_not_touched()
    {
        Populate();
        _fx.Close();
        SqliteConnection.ClearAllPools();
        DamagePagesOf("record_meta_n");
        _fx.Reopen();

        var verify = () => _fx.Client.VerifyIntegrity();

        var ex = verify.Should().Throw<ChromaCorruptStoreException>().Which;
        ShouldNameTheFile(ex);
        ex.Message.Should().Contain("integrity check");
    }

    [Fact]
    public void VerifyIntegrity_passes_when_store_is_sound()
    {
        Populate(500);
        _fx.Client.GetCollection("test").Delete(["id1", "id2"]);

        var verify = () => _fx.Client.VerifyIntegrity();

        verify.Should().NotThrow();
        _fx.Client.GetCollection("test").Compact();
        verify.Should().NotThrow();
    }

    /// <summary>Overwrites every page of a table or index but its root with garbage (sizes read from the file itself).</summary>
    private void DamagePagesOf(string name)
    {
        var pages = new List<long>();
        int pageSize;
        using (var connection = new SqliteConnection($"Data Source={DatabaseFile};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA page_size";
            pageSize = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            command.CommandText = "SELECT pageno FROM dbstat WHERE name = $n AND pagetype = 'leaf'";
            command.Parameters.AddWithValue("$n", name);
            try
            {
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    pages.Add(reader.GetInt64(0));
                }
            }
            catch (SqliteException)
            {
                // No dbstat: fall back to the root page, which is interior for a table this size.
                command.CommandText = "SELECT rootpage FROM sqlite_master WHERE name = $n";
                pages.Add(Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        pages.Should().NotBeEmpty();
        var garbage = new byte[pageSize];
        new Random(3).NextBytes(garbage);
        using var file = new FileStream(DatabaseFile, FileMode.Open);
        foreach (var page in pages)
        {
            file.Position = (page - 1) * pageSize;
            file.Write(garbage);
        }
    }
}
