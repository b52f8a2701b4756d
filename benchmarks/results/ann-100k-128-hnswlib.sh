#!/usr/bin/env bash
# EmbeddedChroma HNSW vs native hnswlib 0.6.2 vs USearch on 100,000 × 128 clustered l2 (see ../HNSW.md, "Against
# hnswlib"). Appends to $OUT; ROUNDS rounds, each building the three engines in one process for 1, then 2 build
# threads, and alternating their query passes per ef (paired mode, --engine hnswlib+hnsw+usearch): on a loaded
# shared machine that keeps the QPS ratios meaningful. SEQUENTIAL=1 runs one engine per process instead (the
# layout of ann-100k-128-hnswlib-sequential.jsonl).
# Run from the repo root (as root if libhnswlib-dev must be installed).
set -euo pipefail
D=${D:-/tmp/ann100k}
OUT=${OUT:-benchmarks/results/ann-100k-128-hnswlib.jsonl}
ROUNDS=${ROUNDS:-3}
bash benchmarks/native/build-hnswlib.sh
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B=${B:-"dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"}
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 128 --queries 1000 --clusters 100 --seed 1 --out $D
COMMON="--base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --m 16 --ef-construction 128 --ef 10,16,32,64,128,256,512"
for round in $(seq 1 $ROUNDS); do
  for threads in 1 2; do
    if [ "${SEQUENTIAL:-0}" = 1 ]; then
      for engine in hnsw hnswlib usearch; do
        echo "round $round threads $threads engine $engine $(cat /proc/loadavg)"
        $B ann $COMMON --engine $engine --threads $threads --json $OUT
      done
    else
      echo "round $round threads $threads paired $(cat /proc/loadavg)"
      $B ann $COMMON --engine hnswlib+hnsw+usearch --threads $threads --json $OUT
    fi
  done
done
