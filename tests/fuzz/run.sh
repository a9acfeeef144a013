#!/bin/sh
# Build the libFuzzer target in its own build directory (clang, address and undefined
# sanitizers, the whole library instrumented for coverage) and fuzz the sweep and expression
# parsers for FUZZ_SECONDS (60) seconds from the seed corpus. Exit nonzero on a crash, a
# leak, a hang (> 10 s on one input) or a failed round-trip property.
#   tests/fuzz/run.sh [BUILD_DIR]        (default: build-fuzz in the source root)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$src" -Dfuzzing=true -Dbenchmarks=false -Dbuildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
fi
ninja -C "$build" tests/fuzz/fuzz_sweep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src"/tests/fuzz/corpus/* "$work"/
cd "$work"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
"$build/tests/fuzz/fuzz_sweep" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 "$work"
