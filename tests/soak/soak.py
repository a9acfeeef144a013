"""Soak test of the sweep file's safety (issue 13): random kill -9 of random ranks at random
times, each followed by a check of every finished cell against a clean run, and resumes until
the sweep is done, round after round. Not part of CI (minutes long); see README, "Soak".

    /usr/bin/python3 tests/soak/soak.py BUILD_DIR [--kills 100] [--ranks 3] [--seed 1] [--usr1 0.2]

Each try starts `mpirun -n RANKS shallowsweep run soak.yaml -o OUT --resume`, waits a random
0.2-3 s, then sends SIGKILL to one random process of the job (mpirun itself, rank 0 or a
worker) or, with probability --usr1, SIGUSR1 to mpirun (a clean stop, exit 75). Whatever
survives the victim is given 10 s to leave, then killed. After every try: each cell whose
status is set must equal the clean run's bytes in every dataset but the run-dependent ones
(wall_s, gflops, rank, checksum), `status --verify` must find no damaged cell and the frozen
metadata intact. When a run finishes (exit 0) the whole file is compared with the clean run,
and the next round starts from nothing. Prints the counts and exits 1 on any failure.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VOLATILE = {"wall_s", "gflops", "rank", "checksum"}  # timing and placement, and the checksum over them
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
ENV.setdefault("OMPI_MCA_btl", "self,vader")  # one node: halves start-up (a cluster sets its own)
ENV.setdefault("OMPI_MCA_pml", "ob1")
LEAVE_S = 10  # what survivors of a kill get to exit on their own


def job(exe, sweep, out, ranks):
    return ["mpirun", "-n", str(ranks), "--oversubscribe", exe, "run", sweep, "-o", out, "--resume", "--quiet"]


def ranks_of(pid):
    """The shallowsweep processes below mpirun (its children), rank order unknown."""
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(k) for k in kids]


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def finish(p, pids):
    """Wait for the job to end; kill what is left after LEAVE_S. Returns the count killed."""
    deadline = time.time() + LEAVE_S
    while time.time() < deadline and (p.poll() is None or any(alive(k) for k in pids)):
        time.sleep(0.05)
    left = [k for k in pids if alive(k)] + ([p.pid] if p.poll() is None else [])
    for k in left:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.wait()
    for k in pids:
        while alive(k) and os.path.exists(f"/proc/{k}") and open(f"/proc/{k}/stat").read().split()[2] != "Z":
            time.sleep(0.01)
    return len(left)


def stable(path):
    with h5py.File(path, "r", locking=False) as f:
        status = f["cell/status"][()]
        data = {f"{g}/{k}": f[g][k][()] for g in ("cell", "traj") for k in f[g] if k not in VOLATILE}
    return status, data


def check_done_cells(out, clean):
    """Problems found in the finished cells of out (empty list: none)."""
    status, data = stable(out)
    done = status != 0
    problems = []
    for name, ref in clean.items():
        mine = data[name]
        if mine.shape == ref.shape and mine.ndim and name.split("/")[1] not in ("step",) and mine.shape[:done.ndim] == done.shape:
            if mine[done].tobytes() != ref[done].tobytes():
                problems.append(f"{name}: a finished cell differs from the clean run")
        elif mine.tobytes() != ref.tobytes():
            problems.append(f"{name}: differs from the clean run")
    return problems, int(done.sum())


def verify(exe, out):
    r = subprocess.run([exe, "status", out, "--verify"], capture_output=True, text=True, env=ENV, timeout=120)
    ok = r.returncode == 0 and ", 0 damaged" in r.stdout and "frozen metadata matches" in r.stdout
    return ok, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--ranks", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--usr1", type=float, default=0.2, help="share of tries that stop cleanly with SIGUSR1")
    a = ap.parse_args()
    exe = os.path.join(os.path.abspath(a.build), "src", "cli", "shallowsweep")
    sweep = os.path.join(HERE, "soak.yaml")
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="ssw-soak-")
    clean_path = os.path.join(work, "clean.h5")
    subprocess.run(job(exe, sweep, clean_path, a.ranks), env=ENV, check=True, capture_output=True, timeout=900)
    _, clean = stable(clean_path)
    counts = {"kill mpirun": 0, "kill rank 0": 0, "kill worker": 0, "usr1": 0, "exit 0": 0, "exit 75": 0,
              "checks": 0, "rounds": 0, "survivors killed": 0, "creating left": 0, "failures": 0}
    out = os.path.join(work, "out.h5")
    kills = 0
    t0 = time.time()
    while kills < a.kills:
        p = subprocess.Popen(job(exe, sweep, out, a.ranks), env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(rng.uniform(0.2, 3.0))
        pids = sorted(ranks_of(p.pid))
        if p.poll() is None:
            if rng.random() < a.usr1:
                p.send_signal(signal.SIGUSR1)
                counts["usr1"] += 1
            else:
                victim = rng.choice(["mpirun"] + [f"rank {i}" for i in range(len(pids))])
                pid = p.pid if victim == "mpirun" else pids[int(victim.split()[1])]
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                # the lowest pid is rank 0 in practice, not by contract: counted as such
                counts["kill mpirun" if victim == "mpirun" else "kill rank 0" if victim == "rank 0" else "kill worker"] += 1
                kills += 1
        counts["survivors killed"] += finish(p, pids)
        if p.returncode in (0, 75):
            counts[f"exit {p.returncode}"] += 1
        stale = [n for n in os.listdir(work) if ".creating." in n]
        counts["creating left"] += len(stale)
        for n in stale:
            os.unlink(os.path.join(work, n))
        if not os.path.exists(out):
            continue
        problems, done = check_done_cells(out, clean)
        ok, text = verify(exe, out)
        if not ok:
            problems.append("status --verify: " + text.strip().splitlines()[-1])
        counts["checks"] += 1
        if problems:
            counts["failures"] += 1
            print(f"try {sum(counts[k] for k in ('kill mpirun', 'kill rank 0', 'kill worker', 'usr1'))}: "
                  + "; ".join(problems), file=sys.stderr)
        if p.returncode == 0:
            counts["rounds"] += 1
            os.unlink(out)
        print(f"\r{kills}/{a.kills} kills, {counts['rounds']} rounds, {done} cells done in this one, "
              f"{time.time() - t0:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("soak: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 1 if counts["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
