#!/usr/bin/env bash
# Regenerates ann-20k-384-usearch-quantized.jsonl: the quantization anchors of issue #17, native hnswlib 0.6.2 (float)
# and USearch 2.26.6 with float32, float16 and int8 storage (its own quantization), built in one process and queried
# with alternating passes per ef. Run from the repo root. 20k because the shared machine was at load average 60-80;
# N=100000 for the size.
set -euo pipefail
dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks
[ -f benchmarks/native/build/libhnswlib_shim.so ] || benchmarks/native/build-hnswlib.sh
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
N=${N:-20000}
D=${D:-/tmp/ann-$N-384}
[ -f $D/base.fbin ] || $B ann-gen --n $N --dim 384 --queries 200 --clusters 100 --seed 1 --out $D
OUT=benchmarks/results/ann-$((N / 1000))k-384-usearch-quantized.jsonl
rm -f $OUT
uptime
$B ann --base $D/base.fbin --queries $D/queries.fbin --truth $D/truth.ibin --metric cosine \
  --engine hnswlib+usearch+usearch-f16+usearch-i8 --m 16 --ef-construction 128 --ef 32,64,128 --threads 2 --json $OUT
