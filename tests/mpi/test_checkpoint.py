"""Checkpointed stops (DESIGN.md §13): a run stopped by SIGUSR1 keeps every cell in hand in
OUT.h5.checkpoints/, exits 75, and `--resume` (with any rank count) continues those cells from
where they stopped; the finished file equals an uninterrupted run's bit for bit (wall_s, gflops,
rank and the checksum over them aside). A damaged checkpoint is refused in one line and its cell
recomputed, to the same bits."""
import os
import re
import signal
import subprocess
import time

import h5py
import pytest

from test_engine import ENV, assert_same, cmd, run, stable, status

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = os.path.join(HERE, "engine_long.yaml")
KEPT = re.compile(r"cell (\d+) \([^)]*\): stopped at step (\d+): kept in (\S+)")
CONTINUED = re.compile(r"cell (\d+) \([^)]*\): continued from its checkpoint at step (\d+)")


def checkpoints(out):
    d = f"{out}.checkpoints"
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def catches_usr1(pid):
    """Whether process pid has a handler for SIGUSR1 (bit 9 of SigCgt in /proc/PID/status)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(mask & (1 << (signal.SIGUSR1 - 1)))


def stop_mid_cell(out, ranks, *extra, after=0.8):
    """Start a run, send SIGUSR1 `after` s after the file appears (cells take ~1.5 s: every
    worker holds one), expect exit 75; return stderr."""
    p = subprocess.Popen(cmd(LONG, out, ranks, *extra), env=ENV, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    deadline = time.time() + 30
    while not os.path.exists(out) and time.time() < deadline:
        time.sleep(0.02)
    if ranks == 1:  # --resume finds the file at once: wait until the handler is in (else USR1 kills)
        while not catches_usr1(p.pid) and time.time() < deadline:
            time.sleep(0.02)
    time.sleep(after)
    p.send_signal(signal.SIGUSR1)  # mpirun forwards USR1 to every rank, as the SLURM scripts do
    _, err = p.communicate(timeout=60)
    assert p.returncode == 75, f"exit {p.returncode}\n{err}"
    return err


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("long") / "clean.h5"
    run(LONG, out, 1, "--quiet")
    return out


def test_usr1_keeps_cells_in_hand_and_resume_continues_them(clean, tmp_path):
    out = tmp_path / "s.h5"
    err = stop_mid_cell(out, 3)
    kept = {int(m.group(1)): int(m.group(2)) for m in KEPT.finditer(err)}
    assert kept, f"no cell kept:\n{err}"
    assert checkpoints(out) == sorted(f"cell-{c}.ckpt" for c in kept), err
    assert f"checkpoints: 0 cells continued from one, {len(kept)} stopped cells kept in one" in err
    with h5py.File(out, "r", locking=False) as f:
        st = f["cell/status"][()].ravel()
    assert all(st[c] == 0 for c in kept) and all(0 < s < 60000 for s in kept.values())
    # another rank count continues them: the state is the cell's, not the rank's
    p = run(LONG, out, 2, "--resume")
    continued = {int(m.group(1)): int(m.group(2)) for m in CONTINUED.finditer(p.stderr)}
    assert continued == kept, p.stderr
    assert not os.path.exists(f"{out}.checkpoints"), "the checkpoint directory outlived the sweep"
    assert_same(stable(out), stable(clean))
    assert "0 damaged" in status(out, "--verify")


def test_stopped_twice_alone(clean, tmp_path):
    """One rank (rank 0 trains), stopped twice in the same cell or the next: still the same bits,
    and the second stop's checkpoint replaces the first."""
    out = tmp_path / "s.h5"
    first = stop_mid_cell(out, 1, after=0.5)
    assert KEPT.search(first), first
    second = stop_mid_cell(out, 1, "--resume", after=0.6)
    assert CONTINUED.search(second) or KEPT.search(second), second
    run(LONG, out, 1, "--resume", "--quiet")
    assert checkpoints(out) == []
    assert_same(stable(out), stable(clean))


def test_damaged_checkpoint_is_refused_and_the_cell_recomputed(clean, tmp_path):
    out = tmp_path / "s.h5"
    err = stop_mid_cell(out, 1)
    m = KEPT.search(err)
    assert m, err
    path = m.group(3)
    with open(path, "r+b") as f:  # one bit of the parameters
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0x01]))
    p = run(LONG, out, 1, "--resume")
    assert re.search(rf"cell {m.group(1)} .*ignoring its checkpoint .*CRC-32.*starts again from step 0", p.stderr), p.stderr
    assert not CONTINUED.search(p.stderr)
    assert_same(stable(out), stable(clean))
