#!/usr/bin/env bash
# Builds the hnswlib C-ABI shim used by `ann --engine hnswlib` into benchmarks/native/build/ (untracked).
# Needs Debian's libhnswlib-dev (hnswlib 0.6.2, header-only): installed with apt-get when missing (run as root).
# Flags: -O3 -march=native, the class hnswlib's own pip build uses (setup.py: -O3 plus -march=native where the
# compiler supports it), so its SSE/AVX/AVX-512 distance kernels are enabled for this CPU.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f /usr/include/hnswlib/hnswalg.h ]; then
  apt-get update
  apt-get install -y libhnswlib-dev
fi
mkdir -p "$here/build"
g++ -O3 -march=native -shared -fPIC -std=c++17 -pthread -DNDEBUG \
  -o "$here/build/libhnswlib_shim.so" "$here/hnswlib_shim.cpp"
echo "$here/build/libhnswlib_shim.so"
