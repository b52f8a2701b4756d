#!/usr/bin/env bash
# vector_storage (issue #17, "Memory as a choice"): float32 against float16 at 100,000 × 384 (ann-gen clusters, MiniLM's
# dimension, cosine, M 16, ef_construction 100) through the store's public API, then a cold reopen of each store in a
# fresh process that reports the rows' memory, the RSS while querying and the QPS; then the float32 regression check:
# the bare HNSW graph (ann --engine hnsw) of the commit before this branch (built in BASE, default /tmp/quant-base) and of
# this branch, alternated twice on the same 50,000 rows. Run from the repository root, niced, on a calm machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${B:-"dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"}
BASE=${BASE:-/tmp/quant-base}
OLD="dotnet $BASE/benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
D=benchmarks/data/ann-100k-384
R=benchmarks/data/ann-50k-384
OUT=${OUT:-benchmarks/results/quant-100k-384.jsonl}
REG=${REG:-benchmarks/results/quant-float32-regression-50k-384.jsonl}
[ -f $D/base.fbin ] || nice $B ann-gen --n 100000 --dim 384 --queries 500 --clusters 100 --seed 1 --out $D
[ -f $R/base.fbin ] || nice $B ann-gen --n 50000 --dim 384 --queries 500 --clusters 100 --seed 2 --out $R

if [ "${SKIP_STORE:-0}" != 1 ]; then
for s in ${STORAGES:-float32 float16 int8}; do
  rm -rf /tmp/quant-store-$s
  nice $B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric cosine --engine store \
    --m 16 --ef-construction 100 --ef 16,24,32,48,64,96,128 --vector-storage $s --reopen-rounds 1 \
    --keep-store /tmp/quant-store-$s --json $OUT
  nice $B reopen --folder /tmp/quant-store-$s --queries $D/queries.fbin --json $OUT --label $s
  rm -rf /tmp/quant-store-$s
done
fi

if [ "${SKIP_REGRESSION:-0}" != 1 ]; then
for round in 1 2; do
  nice $OLD ann --base $R/base.fbin --queries $R/queries.fbin --truth $R/truth.ibin --metric cosine --engine hnsw \
    --m 16 --ef-construction 100 --ef 32,64,128 --threads 2 --json $REG.before
  nice $B ann --base $R/base.fbin --queries $R/queries.fbin --truth $R/truth.ibin --metric cosine --engine hnsw \
    --m 16 --ef-construction 100 --ef 32,64,128 --threads 2 --json $REG.after
done
# One file: each line tagged before/after.
{ sed 's/^{/{"build":"before",/' $REG.before; sed 's/^{/{"build":"after",/' $REG.after; } > $REG
rm -f $REG.before $REG.after
fi
