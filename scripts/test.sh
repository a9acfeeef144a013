#!/usr/bin/env bash
# Set up, build and run every test suite; the last line is "N passed, N failed".
#   scripts/test.sh      (what CI runs: .ci/run)
# Suites: unit, reference, cli, store, mpi, analysis, slurm (meson), then the unit suite again
# under AddressSanitizer + UBSan, then 60 s of libFuzzer over the sweep and expression parsers.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0

finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# Add a meson test run's summary ("Ok: N", "Fail: N", ...) to the totals. A skipped test counts
# as failed: every resource the tests need is installed by setup.
count_meson() {
  local log=$1 ok fail
  ok=$(awk '/^Ok:/{s+=$2} /^Expected Fail:/{s+=$3} END{print s+0}' "$log")
  fail=$(awk '/^Fail:/{s+=$2} /^Unexpected Pass:/{s+=$3} /^Skipped:/{s+=$2} /^Timeout:/{s+=$2} END{print s+0}' "$log")
  if ! grep -q '^Ok:' "$log"; then fail=$((fail + 1)); fi # meson itself failed
  passed=$((passed + ok))
  failed=$((failed + fail))
}

if ! scripts/setup.sh; then
  failed=$((failed + 1))
  echo "test: setup or build failed (see above)" >&2
  finish; exit 1
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
log=$(mktemp)
meson test -C build --no-suite bench --print-errorlogs --num-processes 2 2>&1 | tee "$log"
count_meson "$log"

# The unit suite again with AddressSanitizer and UndefinedBehaviorSanitizer.
echo "== unit suite under -fsanitize=address,undefined"
if meson setup build-sanitize --buildtype=debugoptimized -Db_sanitize=address,undefined \
     -Db_lundef=false -Dbenchmarks=false >/dev/null && ninja -C build-sanitize >/dev/null; then
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-sanitize --suite unit --print-errorlogs 2>&1 | tee "$log"
  count_meson "$log"
else
  echo "test: sanitizer build failed" >&2
  failed=$((failed + 1))
fi

# libFuzzer over the sweep-file and expression parsers (60 s).
if [[ -x tests/fuzz/run.sh ]]; then
  echo "== fuzzing the sweep and expression parsers for ${SSW_FUZZ_SECONDS:-60} s"
  if FUZZ_SECONDS=${SSW_FUZZ_SECONDS:-60} tests/fuzz/run.sh "$PWD/build-fuzz"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi
rm -f "$log"
finish
