#!/usr/bin/env bash
# Issue #17, resident memory / open time / first where_document read (branch memory). The JSON lines beside this file
# were produced by these commands on the shared 2-core machine at 1-minute load average 16-70 (each line records it).
# "before" = the binary before the open/FTS changes (commit 7d4f7d9^ plus the OpenTrace/scale-open commands), "after" = this branch.
set -euo pipefail
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
D=/tmp/mem384
$B ann-gen --n 300000 --dim 384 --queries 500 --clusters 100 --seed 1 --k 1 --out $D
$B scale-build --data $D --n 100000 --folder /tmp/memwork/s100k      # the scale collection (M 16, ef_c 100, docs, metadata)
$B scale-build --data $D --n 300000 --folder /tmp/memwork/s300k
# store alone in a fresh process: open steps, RSS by mapping, first/second where_document get
$B scale-open --data $D --folder /tmp/memwork/s100k --ef 64  --where-document 1 --json before-100k.jsonl / after-100k.jsonl
$B scale-open --data $D --folder /tmp/memwork/s300k --ef 128 --where-document 1 --json before-300k.jsonl / after-300k.jsonl
# open → first query, before and after binaries interleaved (3 each), same minute of load
$B scale-open --data $D --folder /tmp/memwork/s300k --ef 128 --queries 50 --json interleaved-300k-{before,after}.jsonl
# the whole scale line at 10k with the store-alone child (store_only) and the in-process breakdown
$B scale --data $D --n 10000 --queries 200 --json scale-10k.jsonl
