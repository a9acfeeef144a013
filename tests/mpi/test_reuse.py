"""run --reuse (DESIGN.md §17): the finished cells of older sweep files whose parameters equal a
new cell's are copied, not trained, and the new file equals a fresh run of the new sweep bit for
bit in every dataset but the run-dependent ones (wall_s, gflops, rank and the checksum over them,
which keep the old file's values); a damaged, foreign, running or unrelated old file is refused
in one line, exit 2, nothing created; a cell whose checksum fails is trained; old files are
never written; plan --reuse counts the copies and leaves them out of the cost."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import h5py
import numpy as np
import pytest

from test_engine import ENV, EXE, VOLATILE, cmd, run, stable, status

HERE = os.path.dirname(os.path.abspath(__file__))
# grids (width, output_scale, n, seed); output_scale 20 diverges, some 0.5 cells converge
OLD = os.path.join(HERE, "reuse_old.yaml")        # width [4, 8], output_scale [0.5, 20], n [8], seeds 2
NEW = os.path.join(HERE, "reuse_new.yaml")        # width [4, 6, 8], output_scale [0.5, 20], n [8], seeds 4
SCALAR = os.path.join(HERE, "reuse_scalar.yaml")  # width 6, output_scale 0.5 (scalars), n [8], seeds 3
LONG = os.path.join(HERE, "engine_long.yaml")     # four cells of about 1.5 s
COPIED = re.compile(r"--reuse: copied (\d+) finished cells? \(([^)]*)\)")
OLD_WIDTHS, NEW_WIDTHS = [4, 8], [4, 6, 8]


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def one_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one line, got {len(lines)}:\n{err}"
    return lines[0]


def cell_values(path, name):
    with h5py.File(path, "r", locking=False) as f:
        return f["cell"][name][()]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("reuse")
    old, scalar, fresh = d / "old.h5", d / "scalar.h5", d / "fresh.h5"
    run(OLD, old, 2, "--quiet")
    run(SCALAR, scalar, 1, "--quiet")
    run(NEW, fresh, 2, "--quiet")
    return {"dir": d, "old": old, "scalar": scalar, "fresh": fresh, "old_sha": digest(old),
            "scalar_sha": digest(scalar)}


def assert_equals_fresh(path, fresh):
    got, want = stable(path), stable(fresh)
    assert sorted(got) == sorted(want)
    bad = [k for k in want if got[k] != want[k]]
    assert not bad, f"datasets differ from a fresh run: {bad}"
    with h5py.File(path, "r", locking=False) as a, h5py.File(fresh, "r", locking=False) as b:
        assert sorted(a["cell"]) == sorted(b["cell"]) and sorted(a["traj"]) == sorted(b["traj"])


def test_reuse_equals_a_fresh_run(files):
    out = files["dir"] / "new.h5"
    p = run(NEW, out, 2, "--reuse", str(files["old"]))
    m = COPIED.search(p.stderr)
    assert m, p.stderr
    assert int(m.group(1)) == 8 and m.group(2) == f"8 from {files['old']}"  # 2 widths x 2 scales x 2 seeds
    # every kind of finished cell is among them
    assert {1, 2, 3} <= set(cell_values(files["old"], "status").ravel().tolist())
    assert_equals_fresh(out, files["fresh"])
    # the copied cells were not trained again: their run-dependent values are the old file's
    for name in VOLATILE:
        new, old = cell_values(out, name), cell_values(files["old"], name)
        for i, w in enumerate(OLD_WIDTHS):
            j = NEW_WIDTHS.index(w)
            assert new[j, :, 0, :2].tobytes() == old[i, :, 0, :].tobytes(), f"{name} of width {w} was not copied"
    # ... and the others were: wall_s of a trained cell is never exactly an old one's
    wall = cell_values(out, "wall_s")
    trained = np.concatenate([wall[:, :, 0, 2:].ravel(), wall[1, :, 0, :2].ravel()])
    assert trained.size == 16 and not set(trained.tolist()) & set(cell_values(files["old"], "wall_s").ravel().tolist())
    assert "0 damaged" in status(out, "--verify")
    assert digest(files["old"]) == files["old_sha"]


def test_two_old_files_and_an_axis_that_was_a_scalar(files):
    out = files["dir"] / "two.h5"
    p = run(NEW, out, 2, "--quiet", "--reuse", str(files["old"]), "--reuse", str(files["scalar"]))
    m = COPIED.search(p.stderr)
    assert m and int(m.group(1)) == 11, p.stderr  # 8 from old, width 6 output_scale 0.5 seeds 0..2 from scalar
    assert m.group(2) == f"8 from {files['old']}, 3 from {files['scalar']}"
    assert_equals_fresh(out, files["fresh"])
    assert cell_values(out, "wall_s")[1, 0, 0, :3].tobytes() == cell_values(files["scalar"], "wall_s")[0, :].tobytes()
    assert "0 damaged" in status(out, "--verify")
    assert digest(files["old"]) == files["old_sha"] and digest(files["scalar"]) == files["scalar_sha"]


def test_a_series_only_one_file_has(tmp_path):
    """test_loss exists in a file when some cell has test_n > 0; a cell with test_n 0 has NaN
    there, so it copies either way, with its checksum over the new file's series."""
    text = open(OLD).read().replace(", test_n: 16}", "}")
    without = tmp_path / "without.yaml"  # no test_loss anywhere
    without.write_text(text)
    axis = tmp_path / "axis.yaml"        # test_n [0, 16]: test_loss in the file
    axis.write_text(text.replace("  n:     [8]\n", "  n:     [8]\n  test_n: [0, 16]\n"))
    for old, new, copied in ((without, axis, 8), (axis, without, 8)):
        old_h5, new_h5, fresh = tmp_path / f"{old.stem}.h5", tmp_path / f"{new.stem}-reused.h5", tmp_path / f"{new.stem}.h5"
        for sweep, out in ((old, old_h5), (new, fresh)):
            if not out.exists():
                run(str(sweep), out, 1, "--quiet")
        p = run(str(new), new_h5, 1, "--quiet", "--reuse", str(old_h5))
        assert int(COPIED.search(p.stderr).group(1)) == copied, p.stderr
        assert_equals_fresh(new_h5, fresh)
        with h5py.File(new_h5, "r", locking=False) as f:
            assert ("test_loss" in f["traj"]) == (new == axis)
        assert "0 damaged" in status(new_h5, "--verify")


def test_resume_copies_only_into_pending_cells(files):
    out = files["dir"] / "resumed.h5"
    shutil.copy(files["fresh"], out)
    with h5py.File(out, "r+", locking=False) as f:  # a run stopped after some cells
        st = f["cell/status"][()]
        st[0, :, 0, 1:] = 0   # width 4, seeds 1..3: seed 1 is in old
        st[2, 0, 0, 3] = 0    # width 8, output_scale 0.5, seed 3: not in old
        f["cell/status"][...] = st
    before = cell_values(out, "wall_s")
    p = run(NEW, out, 1, "--resume", "--quiet", "--reuse", str(files["old"]))
    m = COPIED.search(p.stderr)
    assert m and int(m.group(1)) == 2, p.stderr  # only width 4 seed 1 (both scales): the done ones stay
    after, old = cell_values(out, "wall_s"), cell_values(files["old"], "wall_s")
    assert after[0, :, 0, 1].tobytes() == old[0, :, 0, 1].tobytes()
    assert after[0, :, 0, 0].tobytes() == before[0, :, 0, 0].tobytes()  # done cells untouched
    assert after[2, :, 0, :3].tobytes() == before[2, :, 0, :3].tobytes()
    assert after[2, 0, 0, 3] != before[2, 0, 0, 3]  # trained again
    assert_equals_fresh(out, files["fresh"])
    assert "0 damaged" in status(out, "--verify")


def test_a_cell_failing_its_checksum_is_trained(files):
    bad = files["dir"] / "bad.h5"
    shutil.copy(files["old"], bad)
    with h5py.File(bad, "r+", locking=False) as f:  # width 8, 0.5, seed 1: a loss changed under its checksum
        f["traj/loss"][1, 0, 0, 1, 0] += 1.0
    sha = digest(bad)
    out = files["dir"] / "from_bad.h5"
    p = run(NEW, out, 1, "--reuse", str(bad))
    lines = [l for l in p.stderr.splitlines() if "does not match its checksum" in l]
    assert len(lines) == 1 and "cell 5 (width=8,output_scale=0.5,n=8,seed=1)" in lines[0], p.stderr
    assert "cell 17 (width=8,output_scale=0.5,n=8,seed=1) is trained instead" in lines[0], p.stderr
    m = COPIED.search(p.stderr)
    assert m and int(m.group(1)) == 7, p.stderr
    assert_equals_fresh(out, files["fresh"])
    assert cell_values(out, "wall_s")[2, 0, 0, 1] != cell_values(bad, "wall_s")[1, 0, 0, 1]  # trained, not copied
    assert cell_values(out, "wall_s")[2, 0, 0, 0] == cell_values(bad, "wall_s")[1, 0, 0, 0]
    assert "0 damaged" in status(out, "--verify")
    assert digest(bad) == sha


def plan_json(*extra):
    p = subprocess.run([EXE, "plan", *extra, "--no-measure", "--json"], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_plan_counts_the_reused_cells(files):
    full, reused, old = plan_json(NEW), plan_json(NEW, "--reuse", str(files["old"])), plan_json(OLD)
    assert full["reused"] == 0 and reused["reused"] == 8 and reused["cells"] == full["cells"] == 24
    # the prior's seconds are a function of the parameters: the reused cells cost what OLD costs
    assert reused["core_hours"] == pytest.approx(full["core_hours"] - old["core_hours"], rel=1e-5)
    assert reused["flops"] == pytest.approx(full["flops"] - old["flops"], rel=1e-5)  # printed to 6 digits
    two = plan_json(NEW, "--reuse", str(files["old"]), "--reuse", str(files["scalar"]))
    assert two["reused"] == 11
    bad = files["dir"] / "plan_bad.h5"
    shutil.copy(files["old"], bad)
    with h5py.File(bad, "r+", locking=False) as f:
        f["traj/grad_norm"][0, 0, 0, 0, 0] *= 2
    assert plan_json(NEW, "--reuse", str(bad))["reused"] == 7
    p = subprocess.run([EXE, "plan", NEW, "--no-measure", "--reuse", str(files["old"])], env=ENV, capture_output=True,
                       text=True)
    assert p.returncode == 0 and re.search(r"^reused +8 finished cells", p.stdout, re.M), p.stdout


# ---- refusals: one line naming the file and the cause, exit 2, nothing created, OLD unchanged ----

def damaged_bytes(src, dst):
    data = bytearray(open(src, "rb").read())
    for i in range(200, 1200):  # the superblock's neighbourhood: the root group's object header
        data[i] ^= 0x5A
    open(dst, "wb").write(data)


def make_old(kind, files, d):
    path = d / f"{kind}.h5"
    if kind == "missing":
        return path, "no such file"
    if kind == "text":
        path.write_text("not a sweep file\n")
        return path, "not an HDF5 file"
    if kind == "foreign":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
        return path, "not a shallowsweep file"
    if kind == "truncated":
        path.write_bytes(open(files["old"], "rb").read()[:3000])
        return path, "truncated or damaged"
    if kind == "overwritten":
        damaged_bytes(files["old"], path)
        return path, "truncated or damaged"
    if kind == "frozen":
        shutil.copy(files["old"], path)
        with h5py.File(path, "r+", locking=False) as f:
            f["cell/width"][1] = 9
        return path, "frozen metadata"
    if kind == "canonical":  # a file from before frozen checksums whose sweep text was edited
        shutil.copy(files["old"], path)
        with h5py.File(path, "r+", locking=False) as f:
            del f.attrs["frozen_checksum"]
            f.attrs["sweep_canonical"] = f.attrs["sweep_canonical"].replace("width: [4, 8]", "width: [4, 16]")
        return path, "does not describe its axes"
    if kind == "format1":
        shutil.copy(files["old"], path)
        with h5py.File(path, "r+", locking=False) as f:
            f.attrs["format"] = "shallowsweep/1"
        return path, "format shallowsweep/1"
    if kind == "other_lr":
        run(OLD, path, 1, "--quiet", "--set", "lr=0.25")
        return path, "keys that differ: train.lr, grid.width, grid.seeds"
    if kind == "directory":
        path.mkdir()
        return path, "is a directory"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["missing", "text", "foreign", "truncated", "overwritten", "frozen", "canonical",
                                  "format1", "other_lr", "directory"])
def test_refusals(files, tmp_path, kind):
    old, cause = make_old(kind, files, tmp_path)
    sha = digest(old) if old.is_file() else None
    out = tmp_path / "new.h5"
    p = subprocess.run(cmd(NEW, out, 1, "--reuse", str(old)), env=ENV, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stderr}"
    line = one_line(p.stderr)
    assert str(old) in line and cause in line, line
    assert not out.exists()
    # under mpirun: every rank exits 2, rank 0 alone says why (mpirun adds its own box)
    p = subprocess.run(cmd(NEW, out, 2, "--reuse", str(old)), env=ENV, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stderr}"
    assert [l for l in p.stderr.splitlines() if "--reuse" in l] == [line]
    assert not out.exists()
    assert (digest(old) if old.is_file() else None) == sha
    if kind == "other_lr":  # resuming an existing file: it stays as it was
        shutil.copy(files["fresh"], out)
        before = digest(out)
        p = subprocess.run(cmd(NEW, out, 1, "--resume", "--reuse", str(old)), env=ENV, capture_output=True, text=True)
        assert p.returncode == 2 and "train.lr" in one_line(p.stderr)
        assert digest(out) == before


def test_a_file_being_written_is_refused_and_not_disturbed(tmp_path):
    live, out = tmp_path / "live.h5", tmp_path / "new.h5"
    writer = subprocess.Popen(cmd(LONG, live, 1, "--quiet"), env=ENV, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not live.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    p = subprocess.run(cmd(LONG, out, 1, "--reuse", str(live)), env=ENV, capture_output=True, text=True, timeout=60)
    still_running = writer.poll() is None
    _, err = writer.communicate(timeout=120)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stderr}"
    assert still_running, "the writer ended before the test asked: make engine_long.yaml longer"
    line = one_line(p.stderr)
    assert str(live) in line and "being written" in line
    assert not out.exists()
    assert writer.returncode == 0, err  # undisturbed: it finished its cells
    assert "0 damaged" in status(live, "--verify")
    # once the writer is gone the same file is reused whole
    q = run(LONG, out, 1, "--reuse", str(live))
    assert COPIED.search(q.stderr).group(1) == "4"


def test_the_output_itself_is_refused(files, tmp_path):
    out = tmp_path / "self.h5"
    shutil.copy(files["fresh"], out)
    before = digest(out)
    p = subprocess.run(cmd(NEW, out, 1, "--resume", "--reuse", str(out)), env=ENV, capture_output=True, text=True)
    assert p.returncode == 2 and "output file itself" in one_line(p.stderr)
    assert digest(out) == before
