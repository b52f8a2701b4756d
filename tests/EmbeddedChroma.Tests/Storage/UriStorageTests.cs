using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Storage;

/// <summary>
/// Uris in the store: kept in <c>records.uri</c> across reopen, backup and compaction; covered by the record's payload
/// checksum (a damaged, added or removed uri is corruption naming the collection and the record, on read and in
/// <see cref="ChromaClient.VerifyIntegrity"/>); a store of schema version 2 (before uris) is upgraded once, in place,
/// keeping every record and every checksum as it was.
/// </summary>
public sealed class UriStorageTests : IDisposable
{
    private const Include Payload = Include.Uris | Include.Documents | Include.Metadatas;

    private static readonly string?[] StoredUris = ["file:///images/a.png", "https://example.org/b?x=1&y=é", null, "s3://bucket/d 😀.jpg"];

    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;
    private readonly TempStoreFolder _copies = new("ec-uris");

    public UriStorageTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log, AutoCompaction = false });

    public void Dispose()
    {
        _fx.Dispose();
        SqliteConnection.ClearAllPools();
        _copies.Dispose();
    }

    private string DatabaseFile => Path.Combine(_fx.Folder, "chroma.sqlite3");

    private Collection Populate()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(
            ["a", "b", "c", "d"],
            [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f], [1f, 1f, 0f]],
            [StoreFixture.Meta(("n", 1L)), null, StoreFixture.Meta(("n", 3L)), null],
            ["alpha", "beta", null, "delta"],
            StoredUris);
        return collection;
    }

    /// <summary>Closes the store and runs <paramref name="sql"/> on its database file, as an outside editor (or a flipped bit) would.</summary>
    private void EditClosed(string sql)
    {
        _fx.Close();
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={DatabaseFile};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Every record's id, uri and payload checksum as stored (store closed).</summary>
    private List<(string Id, string? Uri, long Psum)> StoredRows()
    {
        _fx.Close();
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={DatabaseFile};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, uri, psum FROM records ORDER BY rid";
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string?, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2)));
        }

        return rows;
    }

    [Fact]
    public void Reopen_keeps_every_uri_when_the_store_is_closed_and_opened_again()
    {
        Populate();

        _fx.Reopen();

        var collection = _fx.Client.GetCollection("docs");
        collection.Get(include: Include.Uris).Uris.Should().Equal(StoredUris);
        collection.Query([[0f, 0f, 1f]], 1, include: Include.Uris).Uris![0].Should().Equal(new string?[] { null });
        collection.Query([[1f, 1f, 0.1f]], 1, include: Include.Uris).Uris![0].Should().Equal("s3://bucket/d 😀.jpg");
        _fx.Client.VerifyIntegrity();
    }

    [Fact]
    public void Open_upgrades_a_store_of_schema_2_once_keeping_every_record_and_its_checksum()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(
            ["a", "b", "c"],
            [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f]],
            [StoreFixture.Meta(("n", 1L)), null, StoreFixture.Meta(("n", 3L))],
            ["alpha", null, "gamma"]);
        var before = StoredRows();
        // Back to schema 2 as the previous library wrote it: no uri column.
        EditClosed("ALTER TABLE records DROP COLUMN uri; UPDATE store_meta SET value = '2' WHERE key = 'schema_version';");

        _fx.Reopen();

        var migrated = _log.Entries.Where(e => e.EventId.Id == 4).Should().ContainSingle().Subject;
        migrated.Level.Should().Be(LogLevel.Information);
        migrated.Message.Should().Contain("from schema version 2 to 4");
        StoredRows().Should().Equal(before, "no row is rewritten: a record without a uri sums as before");
        _fx.Reopen();
        _log.Entries.Count(e => e.EventId.Id == 4).Should().Be(1, "the upgrade runs once");
        _fx.Client.VerifyIntegrity();
        var upgraded = _fx.Client.GetCollection("docs");
        var all = upgraded.Get(include: Include.Embeddings | Payload);
        all.Ids.Should().Equal("a", "b", "c");
        all.Documents.Should().Equal("alpha", null, "gamma");
        all.Uris.Should().Equal(null, null, null);
        all.Embeddings![2].Should().Equal(0f, 0f, 1f);
        StoreFixture.ShouldHaveMetadata(all.Metadatas![0], ("n", 1L));

        upgraded.Update(["b"], uris: ["file:///b.png"]);
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(include: Include.Uris).Uris.Should().Equal(null, "file:///b.png", null);
        _fx.Client.VerifyIntegrity();
    }

    [Fact]
    public void Open_with_ReadOnly_throws_read_only_and_changes_nothing_when_the_store_is_of_schema_2()
    {
        _fx.CreateCollection("docs").Add(["a"], [[1f, 0f, 0f]], documents: ["alpha"]);
        EditClosed("ALTER TABLE records DROP COLUMN uri; UPDATE store_meta SET value = '2' WHERE key = 'schema_version';");
        SqliteConnection.ClearAllPools();
        var before = File.ReadAllBytes(DatabaseFile);

        var open = () => ChromaStore.Open(_fx.Folder, new ChromaStoreOptions { ReadOnly = true });

        open.Should().Throw<ChromaReadOnlyException>().Which.Message.Should().Contain("schema version 2").And.Contain("ReadOnly");
        SqliteConnection.ClearAllPools();
        File.ReadAllBytes(DatabaseFile).Should().Equal(before, "a read-only open writes nothing, not even the upgrade");
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(include: Include.Uris | Include.Documents).Documents.Should().Equal("alpha");
    }

    [Fact]
    public void Open_upgrades_a_store_of_schema_1_through_2_and_3_to_4_with_one_log_line()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(["a", "b"], [[1f, 0f, 0f], [0f, 1f, 0f]], documents: ["alpha", "beta"]);
        var current = StoredRows();
        EditClosed("""
            ALTER TABLE records DROP COLUMN uri; ALTER TABLE records DROP COLUMN psum; ALTER TABLE records DROP COLUMN vsum;
            ALTER TABLE collections DROP COLUMN csum; DROP TABLE write_chain; DELETE FROM store_meta WHERE key = 'store_id';
            DROP INDEX records_seq; UPDATE store_meta SET value = '1' WHERE key = 'schema_version';
            """);

        _fx.Reopen();

        _log.Entries.Where(e => e.EventId.Id == 4).Should().ContainSingle().Which.Message.Should().Contain("from schema version 1 to 4").And.Contain("2 records");
        StoredRows().Should().Equal(current, "version 1 → 2 computes the sums a new store writes, 2 → 3 and 3 → 4 change none");
        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(include: Payload).Documents.Should().Equal("alpha", "beta");
        _fx.Client.VerifyIntegrity();
    }

    public static TheoryData<string> UriDamage => new()
    {
        "UPDATE records SET uri = 'https://example.org/b?x=1&y=É' WHERE id = 'b'",
        "UPDATE records SET uri = NULL WHERE id = 'b'",
        "UPDATE records SET uri = '' WHERE id = 'b'",
        "UPDATE records SET uri = 'file:///injected' WHERE id = 'c'",
        "UPDATE records SET uri = uri || ' ' WHERE id = 'b'",
    };

    [Theory]
    [MemberData(nameof(UriDamage))]
    public void Get_and_query_throw_corrupt_store_naming_collection_and_record_when_a_stored_uri_changed(string sql)
    {
        Populate();
        EditClosed(sql);
        _fx.Reopen();
        var damaged = sql.Contains("id = 'c'", StringComparison.Ordinal) ? "c" : "b";
        var collection = _fx.Client.GetCollection("docs");

        foreach (var include in new[] { Include.Uris, Include.Documents, Include.Metadatas })
        {
            collection.Invoking(c => c.Get(include: include)).Should().Throw<ChromaCorruptStoreException>()
                .Which.Message.Should().Contain("'docs'").And.Contain($"'{damaged}'").And.Contain("uri").And.Contain("backup");
        }

        var query = damaged == "b" ? new[] { 0f, 1f, 0f } : [0f, 0f, 1f];
        collection.Invoking(c => c.Query([query], 1, include: Include.Uris)).Should().Throw<ChromaCorruptStoreException>()
            .Which.Message.Should().Contain($"'{damaged}'");
        _fx.Client.Invoking(c => c.VerifyIntegrity()).Should().Throw<ChromaCorruptStoreException>()
            .Which.Message.Should().Contain("'docs'").And.Contain($"'{damaged}'").And.Contain("uri");

        // The intact records still read, and a read that returns no payload needs none.
        collection.Get(ids: ["a", "d"], include: Include.Uris).Uris.Should().Equal("file:///images/a.png", "s3://bucket/d 😀.jpg");
        collection.Get(include: Include.Embeddings).Ids.Should().HaveCount(4);
    }

    [Fact]
    public void Update_throws_corrupt_store_instead_of_keeping_a_damaged_uri()
    {
        Populate();
        EditClosed("UPDATE records SET uri = 'file:///images/A.png' WHERE id = 'a'");
        _fx.Reopen();

        _fx.Client.GetCollection("docs").Invoking(c => c.Update(["a"], documents: ["new"]))
            .Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'a'");
    }

    [Fact]
    public void Backup_carries_every_uri_into_the_copy()
    {
        Populate().Update(["c"], uris: ["file:///c-late"]);
        var destination = Path.Combine(_copies.Path, "backup");

        var result = _fx.Client.Backup(destination);

        using var copy = ChromaStore.Open(result.Path);
        var client = copy.GetClient(_fx.AdminKey);
        client.GetCollection("docs").Get(include: Include.Uris).Uris.Should().Equal("file:///images/a.png", "https://example.org/b?x=1&y=é", "file:///c-late", "s3://bucket/d 😀.jpg");
        client.VerifyIntegrity();
    }

    [Fact]
    public void Compact_keeps_every_live_uri_with_its_record_when_records_move_to_lower_slots()
    {
        var collection = _fx.CreateCollection("docs");
        var ids = Enumerable.Range(0, 60).Select(i => $"r{i:D2}").ToArray();
        string? UriOf(int i) => i % 4 == 0 ? null : $"file:///data/{i}.bin";
        collection.Add(
            ids,
            ids.Select((_, i) => new[] { i, 1f, -i }).ToArray(),
            uris: ids.Select((_, i) => UriOf(i)).ToArray());
        collection.Delete(ids.Where((_, i) => i % 3 != 0).ToArray());
        var live = Enumerable.Range(0, 60).Where(i => i % 3 == 0).ToArray();

        var result = collection.Compact();

        result.RecordsMoved.Should().BePositive();
        var all = collection.Get(include: Include.Uris);
        all.Ids.Should().Equal(live.Select(i => ids[i]));
        all.Uris.Should().Equal(live.Select(UriOf));
        foreach (var i in new[] { 57, 33, 0 })
        {
            var hit = collection.Query([[i, 1f, -i]], 1, include: Include.Uris);
            hit.Ids[0].Should().Equal(ids[i]);
            hit.Uris![0].Should().Equal(UriOf(i));
        }

        _fx.Reopen();
        _fx.Client.GetCollection("docs").Get(include: Include.Uris).Uris.Should().Equal(live.Select(UriOf));
        _fx.Client.VerifyIntegrity();
    }
}
