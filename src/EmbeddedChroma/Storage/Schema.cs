namespace EmbeddedChroma.Storage;

/// <summary>The SQLite schema of a store (version <see cref="SqliteDb.SchemaVersion"/>).</summary>
internal static class Schema
{
    public const string Create = """
        CREATE TABLE store_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE tenants(name TEXT PRIMARY KEY, created_seq INTEGER NOT NULL);
        CREATE TABLE databases(
            id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, created_seq INTEGER NOT NULL,
            UNIQUE(tenant, name));
        CREATE TABLE collections(
            id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, database_id INTEGER NOT NULL, name TEXT NOT NULL,
            dimension INTEGER, space TEXT NOT NULL, ef_construction INTEGER NOT NULL, ef_search INTEGER NOT NULL,
            max_neighbors INTEGER NOT NULL, metadata TEXT, created_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
            csum INTEGER NOT NULL DEFAULT 0,
            UNIQUE(database_id, name));
        CREATE TABLE records(
            rid INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL, id TEXT NOT NULL, slot INTEGER NOT NULL,
            seq INTEGER NOT NULL, document TEXT, metadata TEXT, embedding BLOB NOT NULL,
            psum INTEGER NOT NULL DEFAULT 0, vsum INTEGER NOT NULL DEFAULT 0, uri TEXT,
            UNIQUE(collection_id, id), UNIQUE(collection_id, slot));
        CREATE TABLE record_meta(
            collection_id INTEGER NOT NULL, rid INTEGER NOT NULL, key TEXT NOT NULL, elem INTEGER NOT NULL,
            s TEXT, n REAL, b INTEGER);
        CREATE TABLE write_chain(seq INTEGER PRIMARY KEY, chain INTEGER NOT NULL);
        CREATE INDEX records_seq ON records(collection_id, seq);
        CREATE INDEX record_meta_s ON record_meta(collection_id, key, elem, s, rid) WHERE s IS NOT NULL;
        CREATE INDEX record_meta_n ON record_meta(collection_id, key, elem, n, rid) WHERE n IS NOT NULL;
        CREATE INDEX record_meta_b ON record_meta(collection_id, key, elem, b, rid) WHERE b IS NOT NULL;
        CREATE INDEX record_meta_rid ON record_meta(rid);
        CREATE VIRTUAL TABLE documents_fts USING fts5(
            document, tokenize='trigram case_sensitive 1', detail=none, columnsize=0, content='records', content_rowid='rid');
        INSERT INTO documents_fts(documents_fts, rank) VALUES ('automerge', 16);
        """;

    /// <summary>
    /// Version 1 → 2: record checksums (<see cref="RecordChecksum"/>) and the write chain (<see cref="StoreIdentity"/>).
    /// The new columns are filled by <c>ChromaStore.MigrateSchema</c> in the same transaction.
    /// </summary>
    public const string MigrateFrom1 = """
        ALTER TABLE collections ADD COLUMN csum INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN psum INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE records ADD COLUMN vsum INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE write_chain(seq INTEGER PRIMARY KEY, chain INTEGER NOT NULL);
        """;

    /// <summary>
    /// Version 2 → 3: each record's optional uri (Chroma's <c>uris</c>), last in <c>records</c> as in <see cref="Create"/>.
    /// Nothing else changes: a record without a uri has the checksum it had (<see cref="RecordChecksum.Payload"/> hashes
    /// the uri only when there is one), so no row is rewritten.
    /// </summary>
    public const string MigrateFrom2 = """
        ALTER TABLE records ADD COLUMN uri TEXT;
        """;

    /// <summary>
    /// Version 3 → 4: documents are indexed for <c>where_document</c> after the write that stores them, by the store's
    /// background document indexer (<see cref="PendingDocuments"/>). Every collection without a mark gets one at the store's
    /// last write: a version-3 library indexed every document in the batch that wrote it. No table changes; an older library refuses the store (it would
    /// not know that documents past a mark are missing from the index).
    /// </summary>
    public const string MigrateFrom3 = $"""
        INSERT OR IGNORE INTO store_meta(key, value)
        SELECT '{Filtering.SqlFilterBuilder.DocumentsIndexedKeyPrefix}' || id, (SELECT value FROM store_meta WHERE key = 'seq') FROM collections;
        """;
}
