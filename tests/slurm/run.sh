#!/usr/bin/env bash
# The slurm suite: the job scripts in jobs/ submitted as users submit them, to a real
# one-node SLURM on this machine (tests/slurm/slurm-localhost.sh, a copy of the tested recipe).
#
#   tests/slurm/run.sh single-node|multi-node|overnight      (meson test --suite slurm)
#
# Each call starts the cluster unless it is already up, and on exit — pass, fail or
# interrupt — cancels the jobs it submitted and stops exactly the daemons it started
# (a cluster that was already running is left alone). Needs root (the recipe runs the
# daemons as root) and slurm-wlm + munge; without them it exits 77 (skipped) and says why.
#
# Environment: SSW_BUILD_DIR (the meson build dir, set by meson), SSW_SOURCE_DIR,
# SLURM_LOCAL_DIR (the recipe's state, default /tmp/slurm-local), SSW_SLURM_KEEP=1 keeps
# the work directory (job logs, files) even on success.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SSW_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
build=${SSW_BUILD_DIR:?run through meson test, or set SSW_BUILD_DIR to the build directory}
test_name=${1:?usage: $0 single-node|multi-node|overnight}
export SHALLOWSWEEP=$build/src/cli/shallowsweep
export SLURM_LOCAL_DIR=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PY=/usr/bin/python3   # Debian's python, with h5py
recipe=$here/slurm-localhost.sh
job_prefix=ssw-test-$$   # every job this call submits is named $job_prefix-*

say() { echo "[slurm-test $test_name $(date +%T)] $*"; }
skip() { say "SKIP: $*"; exit 77; }
fail() { say "FAIL: $*"; exit 1; }

for prog in slurmctld slurmd munged sbatch squeue scontrol; do
  command -v "$prog" >/dev/null || skip "$prog not found: apt-get install -y --no-install-recommends slurm-wlm munge"
done
[[ $(id -u) -eq 0 ]] || skip "needs root: the one-node SLURM recipe runs slurmctld/slurmd as root"
[[ -x $SHALLOWSWEEP ]] || fail "$SHALLOWSWEEP not built"

# ---- the cluster: start what is not running, stop on exit only what we started ----
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
ours=()
for d in munged slurmctld slurmd; do alive "$SLURM_LOCAL_DIR/$d.pid" || ours+=("$d"); done
work=
ref_pid=

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $ref_pid ]] && kill "$ref_pid" 2>/dev/null # mpirun passes it on to its ranks
  if [[ -n ${SLURM_CONF:-} ]]; then
    scancel --name="$(squeue -h -o %j | grep "^$job_prefix" | sort -u | paste -sd,)" 2>/dev/null
    for _ in $(seq 1 15); do # let cancelled jobs end before their slurmd goes
      squeue -h -o %j 2>/dev/null | grep -q "^$job_prefix" || break
      sleep 1
    done
  fi
  local d pid
  for d in slurmd slurmctld munged; do
    [[ " ${ours[*]} " == *" $d "* ]] || continue
    if alive "$SLURM_LOCAL_DIR/$d.pid"; then
      pid=$(cat "$SLURM_LOCAL_DIR/$d.pid")
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "stopped $d (pid $pid), which this test started"
    fi
    rm -f "$SLURM_LOCAL_DIR/$d.pid"
  done
  if [[ -n $work && -d $work ]]; then
    if [[ $rc -eq 0 && -z ${SSW_SLURM_KEEP:-} ]]; then rm -rf "$work"; else say "kept $work"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The recipe sizes the node with nproc, which obeys OMP_NUM_THREADS (meson's test
# environment sets it to 1): give it the machine's real core count.
conf_line=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT "$recipe" start) || fail "the one-node SLURM did not start (see $SLURM_LOCAL_DIR/log)"
eval "$conf_line" # export SLURM_CONF=...
export SLURM_CONF
[[ ${#ours[@]} -gt 0 ]] && say "started ${ours[*]} (SLURM_CONF=$SLURM_CONF)"

work=$(mktemp -d /tmp/ssw-slurm-test.XXXXXX)
cd "$work" || fail "no work directory"

# ---- helpers ----
show_logs() { local f; for f in "$@"; do echo "==== $f"; cat "$f"; done; }

# status --json of $1 into globals ndone and ncells.
read_status() {
  local json
  json=$(HDF5_USE_FILE_LOCKING=FALSE "$SHALLOWSWEEP" status "$1" --json) || return 1
  ncells=$(sed -n 's/.*"ncells": \([0-9]*\).*/\1/p' <<<"$json" | head -n1)
  ndone=$(sed -n 's/.*"done": \([0-9]*\).*/\1/p' <<<"$json" | head -n1)
}

# Submit and wait: sbatch --wait ARGS; its exit code is the job's. In the background, so
# that a TERM from meson (timeout) runs the cleanup at once instead of after the job.
submit_wait() {
  sbatch --wait --job-name="$job_prefix-$test_name" "$@" &
  wait $!
}

expect_all_done() { # file, log
  read_status "$1" || fail "status $1 failed"
  [[ $ndone -eq $ncells && $ncells -gt 0 ]] || { show_logs "$2"; fail "$1: $ndone of $ncells cells done"; }
  say "status: $ndone/$ncells cells done"
}

# ---- the tests ----
test_single_node() {
  # mpirun here (srun in multi-node), so both launchers are covered
  LAUNCHER=mpirun submit_wait --ntasks-per-node=2 --time=5 --output=single-%j.out \
    "$src/jobs/single-node.sbatch" "$src/sweeps/quickstart.yaml" qs.h5
  local rc=$?
  [[ $rc -eq 0 ]] || { show_logs single-*.out; fail "single-node.sbatch exited $rc"; }
  grep -q "sweep complete" single-*.out || { show_logs single-*.out; fail "no 'sweep complete' in the job log"; }
  expect_all_done qs.h5 single-*.out
}

test_multi_node() {
  # one seed of the quickstart (run options pass through the script): a quarter of the work
  LAUNCHER=srun submit_wait --nodes=1 --ntasks-per-node=2 --time=5 --output=multi-%j.out \
    "$src/jobs/multi-node.sbatch" "$src/sweeps/quickstart.yaml" qm.h5 --set seeds=1
  local rc=$?
  [[ $rc -eq 0 ]] || { show_logs multi-*.out; fail "multi-node.sbatch exited $rc"; }
  grep -q "srun with 3 ranks on 1 node" multi-*.out ||
    { show_logs multi-*.out; fail "expected 2 tasks + rank 0 on one node in the log"; }
  expect_all_done qm.h5 multi-*.out
}

# squeue of our jobs, one line per job and state change, into history.txt.
watch_chain() {
  local name=$1 limit=$2 t0=$SECONDS last="" now
  while ((SECONDS - t0 < limit)); do
    now=$(squeue -h -n "$name" -o "%i %T %r start=%S limit=%l" 2>/dev/null)
    if [[ $now != "$last" ]]; then
      { echo "-- $(date +%T)"; echo "${now:-(no jobs left)}"; } >>history.txt
      last=$now
    fi
    [[ -z $now ]] && return 0
    sleep 1
  done
  return 1
}

test_overnight() {
  local sweep=$here/overnight.yaml name=$job_prefix-overnight lead=20
  # The uninterrupted reference, outside SLURM, at the same time as the chain: the chain's
  # jobs idle through their margins and between jobs, and the reference fills those gaps.
  mpirun --oversubscribe -n 3 "$SHALLOWSWEEP" run "$sweep" -o ref.h5 --quiet >ref.log 2>&1 &
  ref_pid=$!
  # One-minute jobs, logs $name-JOBID.out (the script's --output=%x-%j.out, follow-ups too),
  # hand-out until 20 s before the limit (not the script's default, 30 s more, which would
  # leave a one-minute job 10 s of work), USR1 20 s before the limit (the engine's hand-out ends then too).
  SIGNAL_LEAD=$lead SSW_DEADLINE_MARGIN=$lead sbatch --job-name="$name" --ntasks-per-node=2 --time=1 --signal=B:USR1@$lead \
    "$src/jobs/overnight.sbatch" "$sweep" chain.h5 >submit.txt ||
    fail "sbatch overnight.sbatch failed: $(cat submit.txt)"
  local first state
  first=$(grep -o '[0-9]*' submit.txt | head -n1)
  for _ in $(seq 1 60); do
    state=$(squeue -h -j "$first" -o "%T %r" 2>/dev/null)
    [[ $state == RUNNING* ]] && break
    sleep 0.5
  done
  [[ $state == RUNNING* ]] || fail "job $first did not start within 30 s: $state ($(sinfo -h -o '%t %c'))"
  say "chain started with job $first"
  # Force one USR1 through the batch shell of the first job (as --signal=B:USR1 delivers it)
  # once it has finished some cells, so the forwarding path is tested whatever SLURM's signal
  # timing does later. Watching for that cell reads the live file, as users do.
  ndone=0
  for _ in $(seq 1 90); do
    [[ -e chain.h5 ]] && read_status chain.h5 2>/dev/null && ((ndone >= 3)) && break
    sleep 1
  done
  ((ndone > 0)) || { show_logs "$name"-*.out; fail "status on the live file never showed a finished cell"; }
  # The job running now gets the signal: on a loaded machine the first job may already have
  # stopped at its own deadline, and a job may end between squeue and scancel, so retry.
  local target="" _try
  for _try in 1 2 3 4 5; do
    target=$(squeue -h -n "$name" -t RUNNING -o %i 2>/dev/null | head -n1)
    if [[ -n $target ]] && scancel --batch --signal=USR1 "$target" 2>/dev/null; then break; fi
    target=""
    sleep 2
  done
  [[ -n $target ]] || fail "could not signal a running job of the chain"
  say "live status: $ndone/$ncells cells done; USR1 sent to job $target"
  watch_chain "$name" 420 || { show_logs "$name"-*.out; fail "the chain did not finish within 7 minutes"; }
  wait "$ref_pid"
  local ref_rc=$?
  ref_pid=
  [[ $ref_rc -eq 0 ]] || { cat ref.log; fail "the reference run failed (exit $ref_rc)"; }

  local logs ids id
  ids=$(ls "$name"-*.out | sed 's/.*-\([0-9]*\)\.out$/\1/' | sort -n | paste -sd' ')
  logs=()
  for id in $ids; do logs+=("$name-$id.out"); done
  say "chain jobs: $ids"
  echo "---- squeue history of the chain"; cat history.txt
  echo "---- scontrol: the chain's jobs"
  for id in $ids; do
    scontrol show job -o "$id" | grep -o 'JobId=[^ ]*\|JobState=[^ ]*\|ExitCode=[^ ]*\|RunTime=[^ ]*\|TimeLimit=[^ ]*\|StartTime=[^ ]*\|EndTime=[^ ]*\|Dependency=[^ ]*' | paste -sd' '
  done
  echo "---- chain.h5.chain: job, end, cells done before, after, exit code of run, cells in checkpoints"
  cat chain.h5.chain
  echo "---- how each job ended"
  grep -h "stopped cleanly\|sweep complete\|USR1:\|deadline (\|error:\|checkpoint" "${logs[@]}"

  [[ ${#logs[@]} -ge 2 ]] || { show_logs "${logs[@]}"; fail "the sweep finished in one job: it should need several"; }
  grep -q "overnight job $target .*USR1: the time limit is near" "$name-$target.out" &&
    grep -q "signal 10: stopping" "$name-$target.out" &&
    grep -q "stopped cleanly (exit 75)" "$name-$target.out" ||
    { show_logs "$name-$target.out"; fail "job $target did not forward USR1 and stop with exit 75"; }
  local stops
  stops=$(grep -l "stopped cleanly (exit 75)" "${logs[@]}" | wc -l)
  [[ $stops -ge 1 ]] || { show_logs "${logs[@]}"; fail "no job stopped cleanly"; }
  grep -q "sweep complete after" "${logs[@]}" || { show_logs "${logs[@]}"; fail "no final summary in the logs"; }
  expect_all_done chain.h5 "${logs[-1]}"
  "$SHALLOWSWEEP" status chain.h5 --verify | grep -q "0 damaged" || fail "status --verify found damaged cells in chain.h5"
  # Graceful stops lose no work (DESIGN.md §13): the USR1 above found cells in hand, which were
  # kept as checkpoints, counted in chain.h5.chain, and continued by a later job of the chain.
  local kept continued
  kept=$(awk '$6 > 0 { n++ } END { print n + 0 }' chain.h5.chain)
  continued=$(grep -h "continued from its checkpoint at step" "${logs[@]}" | wc -l)
  grep -q "stopped at step [0-9]*: kept in .*chain.h5.checkpoints/cell-[0-9]*.ckpt" "$name-$target.out" &&
    ((kept >= 1 && continued >= 1)) ||
    { show_logs "${logs[@]}"; fail "no checkpoint kept by job $target and continued later (chain lines with kept cells: $kept, continued: $continued)"; }
  [[ ! -e chain.h5.checkpoints ]] || fail "chain.h5.checkpoints outlived the sweep: $(ls chain.h5.checkpoints)"
  say "checkpoints: $kept job(s) ended with cells kept, $continued cell(s) continued from one"
  "$PY" "$here/compare_h5.py" chain.h5 ref.h5 || fail "the resumed chain's data differ from the uninterrupted run"
}

case $test_name in
  single-node) test_single_node ;;
  multi-node) test_multi_node ;;
  overnight) test_overnight ;;
  *) fail "unknown test '$test_name'" ;;
esac
say "PASS"
