using EmbeddedChroma.Tests.TestUtilities;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Tests.Reliability;

/// <summary>
/// Every record carries checksums of its id, embedding, metadata, document and uri; a read of a damaged field (a change
/// SQLite's page checks cannot see) is a <see cref="ChromaCorruptStoreException"/> naming the collection and the record,
/// and <see cref="ChromaClient.VerifyIntegrity"/> finds it. A store of the previous schema is upgraded once, with a log line.
/// </summary>
public sealed class PayloadChecksumTests : IDisposable
{
    private readonly CapturingLogger _log = new();
    private readonly StoreFixture _fx;

    public PayloadChecksumTests() => _fx = new StoreFixture(new ChromaStoreOptions { Logger = _log });

    public void Dispose() => _fx.Dispose();

    private Collection Populate()
    {
        var collection = _fx.CreateCollection("docs");
        collection.Add(
            ["a", "b", "c"],
            [[1f, 0f, 0f], [0f, 1f, 0f], [0f, 0f, 1f]],
            [StoreFixture.Meta(("n", 1L)), StoreFixture.Meta(("n", 2L)), StoreFixture.Meta(("n", 3L))],
            ["alpha", "beta", "gamma"]);
        return collection;
    }

    /// <summary>Changes stored bytes behind the store's back (as a flipped bit on disk would), with the store closed.</summary>
    /// <summary>Closes the store and runs <paramref name="sql"/> on its database file, as an outside editor would.</summary>
    private void EditClosed(string sql)
    {
        _fx.Close();
        SqliteConnection.ClearAllPools();
        StoreDatabase.Execute(_fx.Folder, sql);
    }

    private void Tamper(string sql)
    {
        EditClosed(sql);
        _fx.Reopen();
    }

    private static void ShouldName(ChromaCorruptStoreException ex, string record, string what)
    {
        ex.Message.Should().Contain("'docs'").And.Contain($"'{record}'").And.Contain(what).And.Contain("backup");
    }

    public static TheoryData<string, string> Tampering => new()
    {
        { "UPDATE records SET document = 'bexa' WHERE id = 'b'", "document or metadata" },
        { "UPDATE records SET metadata = '{\"n\":7}' WHERE id = 'b'", "document or metadata" },
        { "UPDATE records SET document = NULL WHERE id = 'b'", "document or metadata" },
        { "UPDATE records SET embedding = zeroblob(12) WHERE id = 'b'", "embedding" },
        { "UPDATE records SET id = 'B' WHERE id = 'b'", "'B'" },
        { "UPDATE records SET uri = 'file:///b.png' WHERE id = 'b'", "uri" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public void Get_throws_corrupt_store_naming_collection_and_record_when_a_stored_field_changed(string sql, string what)
    {
        Populate();
        Tamper(sql);
        var record = sql.Contains("id = 'B'", StringComparison.Ordinal) ? "B" : "b";
        var collection = _fx.Client.GetCollection("docs");

        var ex = collection.Invoking(c => c.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents))
            .Should().Throw<ChromaCorruptStoreException>().Which;
        ShouldName(ex, record, what);
        _fx.Client.Invoking(c => c.VerifyIntegrity()).Should().Throw<ChromaCorruptStoreException>()
            .Which.Message.Should().Contain("'docs'").And.Contain($"'{record}'");

        // Records that are intact still read.
        collection.Get(ids: ["a", "c"], include: Include.Embeddings | Include.Metadatas | Include.Documents).Documents.Should().Equal("alpha", "gamma");
    }

    [Fact]
    public void Query_throws_corrupt_store_when_a_returned_document_changed()
    {
        Populate();
        Tamper("UPDATE records SET document = 'betA' WHERE id = 'b'");
        var collection = _fx.Client.GetCollection("docs");

        collection.Invoking(c => c.Query([[0f, 1f, 0f]], 1)).Should().Throw<ChromaCorruptStoreException>()
            .Which.Message.Should().Contain("'b'");
        collection.Query([[1f, 0f, 0f]], 1).Documents![0].Should().Equal("alpha");
        collection.Query([[0f, 1f, 0f]], 1, include: Include.Distances).Ids[0].Should().ContainSingle("ids and distances need no payload").Which.Should().Be("b");
    }

    [Fact]
    public void Filtered_query_asking_only_for_ids_throws_corrupt_store_when_a_returned_metadata_changed_while_closed_though_it_was_read_before()
    {
        var collection = Populate();
        collection.Query([[0f, 1f, 0f]], 1, where: Where.Gte("n", 2L), include: Include.None).Ids[0].Should().Equal("b");
        Tamper("UPDATE records SET metadata = '{\"n\":7}' WHERE id = 'b'");
        collection = _fx.Client.GetCollection("docs");

        collection.Invoking(c => c.Query([[0f, 1f, 0f]], 1, where: Where.Gte("n", 2L), include: Include.None))
            .Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'b'");
        collection.Query([[0f, 0f, 1f]], 1, where: Where.Gte("n", 2L), include: Include.None).Ids[0].Should().Equal("c");
    }

    [Fact]
    public void Update_throws_corrupt_store_instead_of_merging_into_a_damaged_metadata()
    {
        Populate();
        Tamper("UPDATE records SET metadata = '{\"n\":9}' WHERE id = 'c'");

        _fx.Client.GetCollection("docs").Invoking(c => c.Update(["c"], metadatas: [StoreFixture.Meta(("m", 1L))]))
            .Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'c'");
    }

    [Fact]
    public void Arena_rebuild_throws_corrupt_store_when_a_stored_embedding_changed()
    {
        var collection = Populate();
        var arena = _fx.ArenaPath(collection.Id);
        _fx.Close();
        File.Delete(arena);
        Tamper("UPDATE records SET embedding = X'0000803F0000803F0000803F' WHERE id = 'a'");

        _fx.Client.GetCollection("docs").Invoking(c => c.Query([[1f, 0f, 0f]], 1))
            .Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("'a'").And.Contain("embedding");
    }

    [Fact]
    public void Open_upgrades_a_store_of_schema_1_once_with_a_log_line_and_checks_its_records_from_then_on()
    {
        Populate();
        // Back to schema 1 as an older library wrote it.
        EditClosed("""
            ALTER TABLE records DROP COLUMN uri; ALTER TABLE records DROP COLUMN psum; ALTER TABLE records DROP COLUMN vsum; ALTER TABLE collections DROP COLUMN csum;
            DROP TABLE write_chain; DELETE FROM store_meta WHERE key = 'store_id'; DROP INDEX records_seq;
            UPDATE store_meta SET value = '1' WHERE key = 'schema_version';
            """);

        _fx.Reopen();
        var migrated = _log.Entries.Where(e => e.EventId.Id == 4).Should().ContainSingle().Subject;
        migrated.Level.Should().Be(LogLevel.Information);
        migrated.Message.Should().Contain("3 records");
        var collection = _fx.Client.GetCollection("docs");
        collection.Get(include: Include.Embeddings | Include.Metadatas | Include.Documents).Documents.Should().Equal("alpha", "beta", "gamma");
        collection.Query([[0f, 0f, 1f]], 1).Ids[0].Should().Equal("c");
        _fx.Client.VerifyIntegrity();

        _fx.Reopen();
        _log.Entries.Count(e => e.EventId.Id == 4).Should().Be(1, "the upgrade runs once");
        Tamper("UPDATE records SET document = 'gammA' WHERE id = 'c'");
        _fx.Client.GetCollection("docs").Invoking(c => c.Get()).Should().Throw<ChromaCorruptStoreException>();
    }

    [Fact]
    public void Open_throws_corrupt_store_when_a_collection_catalog_row_changed()
    {
        Populate();
        EditClosed("UPDATE collections SET ef_search = 7");

        var open = () => ChromaStore.Open(_fx.Folder, _fx.Options);
        open.Should().Throw<ChromaCorruptStoreException>().Which.Message.Should().Contain("collection").And.Contain("checksum");
    }
}
