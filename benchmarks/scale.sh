#!/usr/bin/env bash
# The scale table of issue #17: how every cost of a store grows with its size, through the public API only.
# For each size: `scale` (benchmarks/EmbeddedChroma.Benchmarks/Scale/ScaleCommand.cs) on the first N rows of one ann-gen
# data set (384-d clustered, MiniLM-like dimension; cosine; batches of 1,000 with metadata and ~200-character
# documents), one JSON line per size appended to $OUT; then benchmarks/scale-plot.py draws $OUT as a PNG. Each `scale` run
# also opens its closed store in a child process (`scale-open`): the store's own RSS by mapping, open → first query by
# step and the first where_document read, without the benchmark's data set in the same process (`store_only`).
#
#   benchmarks/scale.sh                         # 10k, 100k, 300k (this session's run; ~1 hour on a loaded 2-core box)
#   SIZES="10000 100000 300000 1000000" OUT=benchmarks/results/scale-384-1m.jsonl benchmarks/scale.sh   # a quiet machine
#
# Run from the repository root. Needs ~2 GiB of /tmp per million rows for the data set (kept in $D between runs) and
# as much again for the store; the machine should be otherwise idle for the figures to mean anything (each line
# records the 1-minute load average at its start and end).
set -euo pipefail
SIZES=${SIZES:-"10000 100000 300000"}
D=${D:-/tmp/scale384}
OUT=${OUT:-benchmarks/results/scale-384.jsonl}
QUERIES=${QUERIES:-500}
NICE=${NICE:-nice}
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done

dotnet build -c Release benchmarks/EmbeddedChroma.Benchmarks >/dev/null
B="dotnet benchmarks/EmbeddedChroma.Benchmarks/bin/Release/net10.0/EmbeddedChroma.Benchmarks.dll"
have=0
if [ -f "$D/base.fbin" ]; then
  have=$(python3 -c "import struct,sys; print(struct.unpack('<i', open(sys.argv[1],'rb').read(4))[0])" "$D/base.fbin")
fi
if [ "$have" -lt "$max" ]; then
  # The generator draws the base rows first from one seeded stream: the first N rows are the same for any --n >= N.
  $NICE $B ann-gen --n "$max" --dim 384 --queries "$QUERIES" --clusters 100 --seed 1 --k 1 --out "$D"
fi

for n in $SIZES; do
  echo "== scale $n"
  # shellcheck disable=SC2086 # EXTRA is a list of options, e.g. EXTRA="--anchor hnswlib" or "--documents off"
  $NICE $B scale --data "$D" --n "$n" --queries "$QUERIES" --json "$OUT" ${EXTRA:-}
done

python3 benchmarks/scale-plot.py "$OUT" "${OUT%.jsonl}.png"
