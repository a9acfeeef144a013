#!/usr/bin/env bash
# Engine benchmarks (prints figures; never fails on time). Usage:
#   tests/bench/bench_engine.sh BUILD_DIR SOURCE_DIR
# 1. dispatch rate of rank 0 with zero-work cells: 1 and 3 workers, batching off and on
# 2. write cost per cell (independent HDF5 writes, one process and two)
# 3. engine overhead on sweeps/quickstart.yaml with 2 ranks (share of worker time training)
set -uo pipefail
build=${1:-build}
src=${2:-.}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
driver=$build/tests/mpi/engine_driver
exe=$build/src/cli/shallowsweep
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== dispatch rate, zero-work cells (mpirun -n W+1 engine_driver dispatch N BATCH)"
for batch in 1 0; do
  for ranks in 2 4; do
    mpirun -n $ranks "$driver" dispatch 100000 $batch
  done
done
echo "== write cost per cell (engine_driver write N 0 FILE)"
"$driver" write 5000 0 "$tmp/w1.h5"
mpirun -n 3 "$driver" write 5000 0 "$tmp/w3.h5"
echo "== engine overhead: mpirun -n 2 shallowsweep run sweeps/quickstart.yaml"
mpirun -n 2 "$exe" run "$src/sweeps/quickstart.yaml" -o "$tmp/q2.h5" 2>&1 | grep '^shallowsweep run:'
echo "== all cores training: mpirun -n 3 --oversubscribe shallowsweep run sweeps/quickstart.yaml"
mpirun -n 3 "$exe" run "$src/sweeps/quickstart.yaml" -o "$tmp/q3.h5" 2>&1 | grep '^shallowsweep run:'
exit 0
