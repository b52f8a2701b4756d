// Reference token ids and embeddings for the MiniLM parity fixture, computed the way Chroma's default embedding
// function (Python ONNXMiniLM_L6_V2) does: HuggingFace `tokenizers` (the Rust library, here through its Node binding)
// loading tokenizer.json, truncation to 256 tokens, padding to 256, ONNX Runtime on model.onnx, mean pooling over the
// attention mask, L2 normalisation with a 1e-12 guard. A second, independent vector comes from transformers.js
// (@huggingface/transformers: its own JS tokenizer, onnxruntime-node) pointed at the same local files.
//
// Usage: node reference.mjs MODEL_DIR OUT.json.gz [--count N] [--vector-every K] [--seed S]
//   MODEL_DIR holds tokenizer.json, tokenizer_config.json, config.json, vocab.txt, onnx/model.onnx, as written by
//   `dotnet run --project tests/EmbeddedChroma.Embeddings.MiniLM.Parity -- export MODEL_DIR`.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import tokenizers from "tokenizers";
import * as ort from "onnxruntime-node";
import { makeCorpus } from "./corpus.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const [modelDir, outFile] = args;
const count = opt("--count", 3000), vectorEvery = opt("--vector-every", 10), seed = opt("--seed", 13);
const MaxTokens = 256, Dim = 384;

const texts = makeCorpus(seed, count);
const tok = tokenizers.Tokenizer.fromFile(path.join(modelDir, "tokenizer.json"));
tok.setTruncation(MaxTokens);
const ids = [];
for (const t of texts) ids.push(Array.from((await tok.encode(t)).getIds()));

const session = await ort.InferenceSession.create(path.join(modelDir, "onnx", "model.onnx"), { intraOpNumThreads: 2 });
const vectorIndices = texts.map((_, i) => i).filter((i) => i % vectorEvery === 0);
const vectors = [];
for (let b = 0; b < vectorIndices.length; b += 16) {
  const batch = vectorIndices.slice(b, b + 16);
  const n = batch.length;
  const inputIds = new BigInt64Array(n * MaxTokens), mask = new BigInt64Array(n * MaxTokens);
  batch.forEach((ti, r) => ids[ti].forEach((id, t) => { inputIds[r * MaxTokens + t] = BigInt(id); mask[r * MaxTokens + t] = 1n; }));
  const dims = [n, MaxTokens];
  const out = await session.run({
    input_ids: new ort.Tensor("int64", inputIds, dims),
    attention_mask: new ort.Tensor("int64", mask, dims),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(n * MaxTokens), dims),
  });
  const hidden = out.last_hidden_state.data;
  batch.forEach((ti, r) => {
    const v = new Float64Array(Dim);
    const len = ids[ti].length;
    for (let t = 0; t < len; t++) for (let d = 0; d < Dim; d++) v[d] += hidden[(r * MaxTokens + t) * Dim + d];
    let norm = 0;
    for (let d = 0; d < Dim; d++) { v[d] /= len; norm += v[d] * v[d]; }
    norm = Math.sqrt(norm) || 1e-12;
    vectors.push(Float32Array.from(v, (x) => x / norm));
  });
}

// The second opinion: transformers.js's feature-extraction pipeline on the same files (mean pooling, normalize).
let transformersVectors = null, transformersIdsAgree = null;
try {
  const { pipeline, env } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(path.resolve(modelDir));
  const extractor = await pipeline("feature-extraction", path.basename(path.resolve(modelDir)), { dtype: "fp32", local_files_only: true });
  transformersVectors = [];
  transformersIdsAgree = [];
  for (const ti of vectorIndices) {
    const encoded = await extractor.tokenizer(texts[ti], { truncation: true, max_length: MaxTokens });
    const theirs = Array.from(encoded.input_ids.data, Number);
    transformersIdsAgree.push(theirs.length === ids[ti].length && theirs.every((id, k) => id === ids[ti][k]));
    const out = await extractor(texts[ti], { pooling: "mean", normalize: true });
    transformersVectors.push(Float32Array.from(out.data));
  }
} catch (e) {
  console.error(`transformers.js reference skipped: ${e.message}`);
}

const b64 = (f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
const fixture = {
  generator: "tests/js/embeddings/reference.mjs",
  seed, count, maxTokens: MaxTokens,
  tokenizers: JSON.parse(readFileSync(new URL("./node_modules/tokenizers/package.json", import.meta.url))).version,
  // UTF-16LE in base64, so lone surrogates survive (JSON readers reject them).
  texts: texts.map((t) => Buffer.from(t, "utf16le").toString("base64")), ids, vectorIndices,
  vectors: vectors.map(b64),
  transformersVectors: transformersVectors?.map(b64) ?? null,
  // Whether transformers.js's own (JS) tokenizer produced HuggingFace's ids for that text.
  transformersIdsAgree,
};
writeFileSync(outFile, gzipSync(JSON.stringify(fixture), { level: 9 }));
console.log(`${texts.length} texts, ${vectors.length} vectors -> ${outFile}`);
