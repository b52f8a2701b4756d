#!/usr/bin/env bash
# Writer stalls during checkpoints (issue #17), 100,000 × 384 cosine, before and after the checkpoint left the
# collection lock. Each Add waits (untimed) until the index has linked everything, the moment the worker checkpoints,
# so every checkpoint meets a writer. Each line: Add latency, every checkpoint's duration, and each batch's wait for
# the collection's write lock (the embeddedchroma.collection.write_wait histogram). Run from the repository root;
# "before" is the same command built at commit b67f18f (benchmark and instrument, old indexer).
set -euo pipefail
D=${D:-/tmp/scale384}
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
[ -f $D/base.fbin ] || $B ann-gen --n 300000 --dim 384 --queries 500 --clusters 100 --seed 1 --k 1 --out $D
nice $B scale-ingest --data $D --n 100000 --pace caught-up --json benchmarks/results/checkpoint-stall-100k-384.jsonl
