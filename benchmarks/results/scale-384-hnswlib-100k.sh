#!/usr/bin/env bash
# hnswlib 0.6.2's 2-thread build of the scale table's first 100,000 rows (ann-gen seed 1: the base rows are drawn first,
# so --n 100000 gives the same rows as the first 100k of the 300k set), paired in one process with this project's bare
# HNSW (M = 16, ef_construction = 100 as the store's default, cosine). Run from the repository root.
set -euo pipefail
D=${D:-/tmp/scale384-100k}
bash benchmarks/native/build-hnswlib.sh
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 384 --queries 200 --clusters 100 --seed 1 --k 10 --out $D
nice $B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric cosine --engine hnswlib+hnsw \
  --m 16 --ef-construction 100 --ef 64,128 --threads 2 --json benchmarks/results/scale-384-hnswlib-100k.jsonl
