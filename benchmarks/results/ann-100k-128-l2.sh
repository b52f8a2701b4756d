#!/usr/bin/env bash
# Regenerates ann-100k-128-l2.jsonl and ann-100k-128-l2-filtered.jsonl (see ../HNSW.md). Run from the repo root.
set -euo pipefail
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
D=${D:-/tmp/ann100k}
[ -f $D/base.fbin ] || $B ann-gen --n 100000 --dim 128 --queries 1000 --clusters 100 --seed 1 --out $D
OUT=benchmarks/results
COMMON="--base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --m 16 --ef-construction 128"
rm -f $OUT/ann-100k-128-l2.jsonl $OUT/ann-100k-128-l2-filtered.jsonl
uptime
$B ann $COMMON --engine exact --json $OUT/ann-100k-128-l2.jsonl
# Two rounds, the engines back to back within each, so their ratio is taken under the same load.
for round in 1 2; do
  for threads in 1 2; do
    for engine in hnsw usearch; do
      uptime
      $B ann $COMMON --engine $engine --ef 10,16,32,64,128,256 --threads $threads --json $OUT/ann-100k-128-l2.jsonl
    done
  done
done
for s in 0.01 0.1 0.5; do
  for engine in exact hnsw usearch; do
    uptime
    $B ann $COMMON --engine $engine --ef 64,128,256 --threads 2 --filter-selectivity $s --json $OUT/ann-100k-128-l2-filtered.jsonl
  done
done
