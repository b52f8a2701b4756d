#!/usr/bin/env bash
# What a graph checkpoint writes (issue #17): 100,000 x 384 cosine rows (clustered, seed 17), M 16, ef_construction 100.
# The build saves whenever the background indexer would (>= 5,000 changes and a quarter of the graph); then 3 rounds of
# 1,000 inserts each followed by a save (appended) and, on a copy of the same graph, a whole save (the format before).
# Result: graph-checkpoint-100k-384.jsonl (one JSON line; timings under the load average it records).
# The 300k line (graph-checkpoint-300k-384.jsonl): the same with --n 300000.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet run -c Release --project benchmarks/EmbeddedChroma.Benchmarks -- graph-checkpoint \
  --n 100000 --dim 384 --small 1000 --rounds 3 --folder /tmp/ec-graph-checkpoint \
  --out benchmarks/results/graph-checkpoint-100k-384.jsonl
