#!/usr/bin/env bash
# The README's first command: set up, run sweeps/quickstart.yaml on every local core, print
# its status and draw quickstart.png (width x n phase diagram, fraction of seeds converged).
# Run again, it resumes the same file (a finished sweep resumes instantly).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [[ $(id -u) -eq 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
cores=$(nproc)
out=${SSW_QUICKSTART_OUT:-quickstart.h5}
resume=()
[[ -e $out ]] && resume=(--resume)
# cores workers beside a master that sleeps while it waits: every core trains.
mpirun --oversubscribe -n $((cores + 1)) build/src/cli/shallowsweep run sweeps/quickstart.yaml -o "$out" "${resume[@]}"
build/src/cli/shallowsweep status "$out"
/usr/bin/python3 -m analysis.phase "$out" --x width --y n --metric converged --theory counting_outer \
  -o "${out%.h5}.png"
echo "quickstart: wrote $out and ${out%.h5}.png"
