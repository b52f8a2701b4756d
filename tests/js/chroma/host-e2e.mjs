// Drives the whole Chroma API v2 with the official chromadb 3.5.0 client against EmbeddedChroma's host.
// Run by tests/EmbeddedChroma.Server.Tests/JsClientTests.cs, which starts the host and issues the keys:
//   HOST, PORT      where the host listens
//   ADMIN_KEY       an admin key
//   READER_KEY      get / get_collection / count on default_tenant/default_database/books only
//   REVOKE_KEY      a full key the test revokes when this script prints "REVOKE-NOW" (it answers on stdin)
// Prints one "ok <step>" line per step and "DONE <n>" at the end; any failure exits 1 with the reason.
import assert from "node:assert/strict";
import readline from "node:readline";
import { ChromaClient, AdminClient } from "chromadb";

const { HOST, PORT, ADMIN_KEY, READER_KEY, REVOKE_KEY } = process.env;
const base = { host: HOST, port: Number(PORT), ssl: false };
const db = { tenant: "default_tenant", database: "default_database" };
const bearer = (key) => ({ Authorization: `Bearer ${key}` });
const admin = new ChromaClient({ ...base, ...db, headers: bearer(ADMIN_KEY) });
const ef = { name: "test-ef", generate: async (texts) => texts.map((t) => [0, 1, t.length]) };

let steps = 0;
const step = async (name, body) => {
  await body();
  steps++;
  console.log(`ok ${name}`);
};
const rejects = async (promise, errorName, because) => {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, errorName, `${because}: got ${e.name}: ${e.message}`);
    return e;
  }
  assert.fail(`${because}: expected ${errorName}, the call succeeded`);
};

try {
  await step("system", async () => {
    assert.equal(typeof (await admin.heartbeat()), "number");
    assert.equal(await admin.version(), "1.0.0");
    const preflight = await admin.getPreflightChecks();
    assert.equal(preflight.supports_base64_encoding, true);
    assert.ok(preflight.max_batch_size > 0);
    const identity = await admin.getUserIdentity();
    assert.equal(identity.tenant, "default_tenant");
    assert.deepEqual(identity.databases, ["*"]);
  });

  await step("tenants and databases", async () => {
    const adminClient = new AdminClient({ ...base, headers: bearer(ADMIN_KEY) });
    await adminClient.createTenant({ name: "acme" });
    assert.equal(await adminClient.getTenant({ name: "acme" }), "acme");
    await adminClient.createDatabase({ name: "sales", tenant: "acme" });
    await adminClient.createDatabase({ name: "support", tenant: "acme" });
    const dbs = await adminClient.listDatabases({ tenant: "acme" });
    assert.deepEqual(dbs.map((d) => d.name), ["sales", "support"]);
    assert.equal((await adminClient.getDatabase({ name: "sales", tenant: "acme" })).name, "sales");
    await adminClient.deleteDatabase({ name: "support", tenant: "acme" });
    assert.deepEqual((await adminClient.listDatabases({ tenant: "acme" })).map((d) => d.name), ["sales"]);
    await rejects(adminClient.createTenant({ name: "acme" }), "ChromaUniqueError", "an existing tenant");
  });

  let books;
  await step("create, get, list, count collections", async () => {
    books = await admin.createCollection({ name: "books", metadata: { owner: "ann", "hnsw:space": "cosine" }, embeddingFunction: ef });
    assert.equal(books.configuration.hnsw.space, "cosine");
    await admin.createCollection({ name: "secret", configuration: { hnsw: { space: "ip", ef_search: 40 } }, embeddingFunction: ef });
    const secret = await admin.getCollection({ name: "secret", embeddingFunction: ef });
    assert.equal(secret.configuration.hnsw.space, "ip");
    assert.equal(secret.configuration.hnsw.ef_search, 40);
    // The client sent its function's configuration ("legacy": an ad-hoc function); the host remembers and returns it.
    assert.deepEqual(secret.configuration.embedding_function, { type: "legacy" });
    const byId = await admin.getCollectionById(books.id);
    assert.equal(byId.name, "books");
    const same = await admin.getOrCreateCollection({ name: "books", metadata: { other: 1 }, embeddingFunction: ef });
    assert.equal(same.id, books.id);
    assert.deepEqual((await admin.listCollections()).map((c) => c.name), ["books", "secret"]);
    assert.deepEqual((await admin.listCollections({ limit: 1, offset: 1 })).map((c) => c.name), ["secret"]);
    assert.equal(await admin.countCollections(), 2);
    await rejects(admin.createCollection({ name: "books", embeddingFunction: ef }), "ChromaUniqueError", "an existing collection");
    await rejects(admin.getCollection({ name: "missing", embeddingFunction: ef }), "ChromaNotFoundError", "a missing collection");
  });

  await step("add (base64), upsert, update, count", async () => {
    await books.add({
      ids: ["a", "b", "c", "d"],
      embeddings: [[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]],
      metadatas: [{ genre: "sf", year: 1965, tags: ["classic", "desert"] }, { genre: "sf", year: 1984, rating: 4.5 }, { genre: "poetry", year: 1855 }, null],
      documents: ["Dune is a desert planet", "Neuromancer in the sprawl", "Leaves of grass", "Untitled"],
      uris: ["s3://books/a", null, null, null],
    });
    await books.upsert({ ids: ["d", "e"], embeddings: [[0, 0, 2], [0.5, 0.5, 0]], metadatas: [{ genre: "essay", year: 2001 }, { genre: "sf", year: 2020 }], documents: ["On essays", "Sprawl again"] });
    await books.update({ ids: ["b"], metadatas: [{ rating: 5 }] });
    await books.add({ ids: ["z"], documents: ["embedded by the client's function"] });
    assert.equal(await books.count(), 6);
    await rejects(books.add({ ids: ["w"], embeddings: [[1, 2]] }), "ChromaClientError", "a wrong dimension");
  });

  await step("get with filters and include", async () => {
    const all = await books.get({ include: ["embeddings", "metadatas", "documents", "uris"] });
    assert.deepEqual(all.ids, ["a", "b", "c", "d", "e", "z"]);
    assert.equal(all.uris[0], "s3://books/a");
    assert.deepEqual(all.metadatas[1], { genre: "sf", year: 1984, rating: 5 });
    assert.deepEqual(all.metadatas[0].tags, ["classic", "desert"]);
    assert.ok(Math.abs(all.embeddings[1][0] - 0.9) < 1e-6, "embeddings come back as given (base64 float32 on the way in)");
    const sf = await books.get({ where: { $and: [{ genre: "sf" }, { year: { $gte: 1970 } }] }, include: ["metadatas"] });
    assert.deepEqual(sf.ids, ["b", "e"]);
    const doc = await books.get({ whereDocument: { $contains: "Sprawl" } });
    assert.deepEqual(doc.ids, ["e"]);
    const page = await books.get({ limit: 2, offset: 1 });
    assert.deepEqual(page.ids, ["b", "c"]);
    const tagged = await books.get({ where: { tags: { $contains: "desert" } } });
    assert.deepEqual(tagged.ids, ["a"]);
    const inList = await books.get({ where: { genre: { $in: ["poetry", "essay"] } } });
    assert.deepEqual(inList.ids, ["c", "d"]);
    assert.deepEqual((await books.peek({ limit: 1 })).ids, ["a"]);
  });

  await step("query", async () => {
    const q = await books.query({ queryEmbeddings: [[1, 0, 0]], nResults: 2, include: ["distances", "documents"] });
    assert.deepEqual(q.ids, [["a", "b"]]);
    assert.ok(Math.abs(q.distances[0][0]) < 1e-6, "cosine distance of identical directions is 0");
    assert.equal(q.documents[0][0], "Dune is a desert planet");
    const filtered = await books.query({ queryEmbeddings: [[1, 0, 0], [0, 1, 0]], nResults: 1, where: { genre: { $ne: "sf" } } });
    assert.deepEqual(filtered.ids, [["c"], ["c"]]);
    const texts = await books.query({ queryTexts: ["x"], nResults: 1, ids: ["c", "d"] });
    assert.equal(texts.ids[0].length, 1);
  });

  await step("modify and indexing status", async () => {
    await books.modify({ name: "tomes", metadata: { owner: "bob" }, configuration: { hnsw: { ef_search: 77 } } });
    const tomes = await admin.getCollection({ name: "tomes", embeddingFunction: ef });
    assert.equal(tomes.metadata.owner, "bob");
    assert.equal(tomes.configuration.hnsw.ef_search, 77);
    await rejects(tomes.modify({ name: "secret" }), "ChromaUniqueError", "a rename onto a taken name");
    const status = await tomes.getIndexingStatus();
    assert.equal(status.total_ops, 6);
    assert.equal(status.num_unindexed_ops + status.num_indexed_ops, 6);
    books = tomes;
  });

  await step("delete with limit", async () => {
    const limited = await books.delete({ where: { genre: "sf" }, limit: 2 });
    assert.equal(limited.deleted, 2);
    assert.deepEqual((await books.get()).ids, ["c", "d", "e", "z"]);
    const byId = await books.delete({ ids: ["d", "ghost"] });
    assert.equal(byId.deleted, 1);
    assert.equal(await books.count(), 3);
  });

  await step("keys", async () => {
    const anonymous = new ChromaClient({ ...base, ...db });
    await rejects(anonymous.heartbeat(), "ChromaAuthError", "no key");
    await rejects(anonymous.version(), "ChromaAuthError", "no key, version");
    const wrong = new ChromaClient({ ...base, ...db, headers: bearer(ADMIN_KEY.slice(0, -2) + "xx") });
    await rejects(wrong.listCollections(), "ChromaAuthError", "a wrong key");

    await admin.deleteCollection({ name: "tomes" });
    const shelf = await admin.createCollection({ name: "books", embeddingFunction: ef });
    await shelf.add({ ids: ["r1"], embeddings: [[1, 2, 3]] });
    const reader = new ChromaClient({ ...base, ...db, headers: { "X-Chroma-Token": READER_KEY } });
    const readable = await reader.getCollection({ name: "books", embeddingFunction: ef });
    assert.deepEqual((await readable.get()).ids, ["r1"]);
    assert.equal(await readable.count(), 1);
    await rejects(readable.add({ ids: ["r2"], embeddings: [[1, 2, 3]] }), "ChromaForbiddenError", "a narrow key writing");
    await rejects(reader.getCollection({ name: "secret", embeddingFunction: ef }), "ChromaNotFoundError", "a collection outside the key's scope");
    await rejects(reader.createCollection({ name: "mine", embeddingFunction: ef }), "ChromaNotFoundError", "a narrow key creating outside its scope");

    const revokable = new ChromaClient({ ...base, ...db, headers: bearer(REVOKE_KEY) });
    assert.equal(await revokable.countCollections(), 2);
    console.log("REVOKE-NOW");
    const rl = readline.createInterface({ input: process.stdin });
    await new Promise((resolve) => rl.once("line", resolve));
    rl.close();
    await rejects(revokable.countCollections(), "ChromaAuthError", "a revoked key on its next request");
  });

  await step("delete collection", async () => {
    await admin.deleteCollection({ name: "secret" });
    await rejects(admin.deleteCollection({ name: "secret" }), "ChromaNotFoundError", "a deleted collection");
    assert.equal(await admin.countCollections(), 1);
  });

  console.log(`DONE ${steps}`);
} catch (e) {
  console.error(`FAILED after ${steps} steps: ${e.stack ?? e}`);
  process.exit(1);
}
