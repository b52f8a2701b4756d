#!/usr/bin/env bash
# Store (public API) vs bare HNSW build on 100,000 × 384 clustered data; appends to $OUT. Run from the repo root.
set -euo pipefail
D=${D:-/tmp/ann100k384}
OUT=${OUT:-benchmarks/results/ann-100k-384-store.jsonl}
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 384 --queries 500 --clusters 100 --seed 1 --out $D
uptime
$B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --engine store --m 16 --ef-construction 128 --ef 32,64,128,256 --filter-selectivity 1,0.01,0.1,0.5 --json $OUT
uptime
$B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --engine hnsw --m 16 --ef-construction 128 --ef 32,64,128,256 --threads 2 --json $OUT
uptime
