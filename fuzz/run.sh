#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for SECONDS (default 20).
# CI runs it short; a long run is `fuzz/run.sh 3600`. New inputs go to a scratch corpus; the
# seed corpus in fuzz/corpus/ stays as committed (copy interesting finds in by hand).
set -euo pipefail
secs=${1:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja -DMYDOCK_FUZZ=ON -DMYDOCK_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=$(cd "$src/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')
ninja -C "$build" $targets
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
  name=${t#fuzz_}
  mkdir -p "$scratch/$name"
  echo "fuzz: $t for ${secs}s"
  "$build/fuzz/$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    "$scratch/$name" "$src/fuzz/corpus/$name" 2>"$scratch/$name.log" || { tail -50 "$scratch/$name.log"; exit 1; }
  tail -1 "$scratch/$name.log"
done
echo "fuzz: all targets ran without a finding"
