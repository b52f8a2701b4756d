#!/usr/bin/env bash
# Through the store's public API on a quiet machine, after this session's changes: 100,000 × 384 clustered l2,
# ingest to index ready, unfiltered and filtered queries (a fresh filter text per query), reopen; then the bare
# 2-thread build of the same vectors for the ingest ratio. Output: ann-100k-384-store-s3.jsonl (session 3; the
# session-2 run is ann-100k-384-store-final.jsonl). Run from the repo root.
set -euo pipefail
D=${D:-/tmp/ann100k384}
OUT=${OUT:-benchmarks/results/ann-100k-384-store-s3.jsonl}
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 384 --queries 500 --clusters 100 --seed 1 --out $D
$B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --engine store --m 16 --ef-construction 128 \
  --ef 64,128 --filter-selectivity 1,0.01,0.1,0.5 --distinct-filters 1 --json $OUT
$B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --engine hnsw --m 16 --ef-construction 128 \
  --ef 64 --threads 2 --json $OUT
