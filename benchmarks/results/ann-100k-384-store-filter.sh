#!/usr/bin/env bash
# Filtered-query cost before/after the in-memory metadata filter index (see ../HNSW.md), 100,000 × 384 l2.
# BEFORE: a checkout of 9617e82 with this branch's Ann/AnnRunner.cs and Ann/AnnStoreRunner.cs copied in (for
# --distinct-filters), built in Release, in $BEFORE. Run from the repo root. Two rounds, before then after.
set -euo pipefail
D=${D:-/tmp/ann100k384}
BEFORE=${BEFORE:-/tmp/fi-before}
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
ARGS="--base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric l2 --engine store --m 16 --ef-construction 128 --ef 64,128 --filter-selectivity 1,0.01,0.1,0.5 --distinct-filters 1"
for round in 1 2; do
  uptime; (cd $BEFORE && dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll ann $ARGS --json $OLDPWD/benchmarks/results/ann-100k-384-store-filter-before.jsonl)
  uptime; dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll ann $ARGS --json benchmarks/results/ann-100k-384-store-filter-after.jsonl
done
# Threshold sweep: graph search for every filtered query (--exact-scan-limit 1).
dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll ann ${ARGS/--filter-selectivity 1,0.01,0.1,0.5/--filter-selectivity 1,0.005,0.01,0.02,0.05,0.1,0.2} --exact-scan-limit 1 --json benchmarks/results/ann-100k-384-store-filter-sweep.jsonl
