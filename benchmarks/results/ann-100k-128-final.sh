#!/usr/bin/env bash
# EmbeddedChroma HNSW vs native hnswlib 0.6.2 on 100,000 × 128 clustered l2, M 16, efC 128, after the query-path
# tuning, on a quiet machine (load < 2.5): one paired run per build thread count, ef 64 and 128 (the first ef with
# recall >= 0.95 and >= 0.99). Output: ann-100k-128-s3.jsonl (session 3, two rounds: ROUNDS=2); the session-2 run is
# ann-100k-128-final.jsonl. Run from the repo root.
set -euo pipefail
D=${D:-/tmp/ann100k}
OUT=${OUT:-benchmarks/results/ann-100k-128-s3.jsonl}
bash benchmarks/native/build-hnswlib.sh
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 128 --queries 1000 --clusters 100 --seed 1 --out $D
for round in $(seq ${ROUNDS:-1}); do for t in 1 2; do
  echo "threads $t $(cat /proc/loadavg)"
  $B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --m 16 --ef-construction 128 \
    --ef 64,128 --engine hnswlib+hnsw --threads $t --json $OUT
done; done
