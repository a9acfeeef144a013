"""Adaptive sweeps through `shallowsweep run` (DESIGN.md §18): which cells are computed is a
pure function of the sweep and the results, so 1, 2 and 4 ranks write the same file, a kill
and --resume end in the file of an uninterrupted run, and every computed cell equals the same
cell of the dense fine-grid sweep; the cells not needed are `skipped`, with no data."""
import json
import os
import random
import subprocess
import time

import h5py
import numpy as np
import pytest

from test_engine import ENV, VOLATILE, assert_same, cmd, kill_9, run, stable, status

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEP = os.path.join(HERE, "refine_small.yaml")
SLOWER = ["--set", "train.max_iters=300000"]  # the kill test: cells that take a while


@pytest.fixture(scope="module")
def by_ranks(tmp_path_factory):
    d = tmp_path_factory.mktemp("refine")
    files = {}
    for ranks in (1, 2, 4):
        files[ranks] = d / f"r{ranks}.h5"
        run(SWEEP, files[ranks], ranks, "--quiet")
    return files


def test_ranks_give_identical_files(by_ranks):
    one = stable(by_ranks[1])
    assert_same(one, stable(by_ranks[2]))
    assert_same(one, stable(by_ranks[4]))
    with h5py.File(by_ranks[1], "r", locking=False) as f:
        st = f["cell/status"][()]
        names = f["cell/status"].attrs["flag_meanings"].split()
        assert names[5] == "skipped" and list(f["cell/status"].attrs["flag_values"]) == [0, 1, 2, 3, 4, 5]
    skipped = int((st == 5).sum())
    assert 0 < skipped < st.size and not (st == 0).any()


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """The dense twin of SWEEP: every fine point, every seed."""
    text = open(SWEEP).read().replace("seeds: {start: 2, max: 4}", "seeds: 4").replace("num: 3}", "num: 9}")
    text = "\n".join(l for l in text.splitlines() if not l.startswith("refine:")) + "\n"
    d = tmp_path_factory.mktemp("dense")
    (d / "dense.yaml").write_text(text)
    run(str(d / "dense.yaml"), d / "dense.h5", 3, "--quiet")
    return d / "dense.h5"


def test_computed_cells_equal_the_dense_sweep(by_ranks, dense):
    with h5py.File(by_ranks[2], "r", locking=False) as r, h5py.File(dense, "r", locking=False) as d:
        for axis in r.attrs["axes"]:
            assert np.array_equal(r["cell"][axis][()], d["cell"][axis][()]), axis
        st = r["cell/status"][()]
        done = (st >= 1) & (st <= 4)
        assert (st[done] == d["cell/status"][()][done]).all()
        for g in ("cell", "traj"):
            for k in r[g]:
                if k in VOLATILE or k in r.attrs["axes"] or k in ("step", "status"):
                    continue
                a, b = r[g][k][()], d[g][k][()]
                assert a[done].tobytes() == b[done].tobytes(), f"{g}/{k} of a computed cell differs"
                if a.dtype.kind == "f":
                    assert np.isnan(a[st == 5]).all(), f"{g}/{k} of a skipped cell holds data"
        # where the dense run's seeds all agree at every corner, nothing finer was needed:
        # the refined sweep computed far fewer cells than the dense one
        assert done.sum() < 0.6 * st.size
    js = json.loads(status(by_ranks[2], "--json"))
    assert js["counts"]["skipped"] == int((st == 5).sum()) and js["done"] == int(done.sum())
    assert "0 damaged" in status(by_ranks[2], "--verify")


def test_kill_9_then_resume_gives_the_uninterrupted_file(tmp_path):
    clean = tmp_path / "clean.h5"
    run(SWEEP, clean, 3, "--quiet", *SLOWER)
    out = tmp_path / "k.h5"
    rng = random.Random(3)
    cut_short = 0  # kills that left cells pending: what the resume has to mend
    for attempt in range(4):
        extra = ["--resume", "--quiet", *SLOWER] if attempt else ["--quiet", *SLOWER]
        p = subprocess.Popen(cmd(SWEEP, out, 3, *extra), env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.8, 2.0))
        kill_9(p)
        if not out.exists():
            continue
        with h5py.File(out, "r", locking=False) as f:
            st = f["cell/status"][()]
        if not (st == 0).any():
            break  # a fast machine finished the sweep: the kills before this one count
        cut_short += 1
    assert cut_short > 0, "every kill came too late to test a resume"
    run(SWEEP, out, 2, "--resume", "--quiet", *SLOWER)
    assert_same(stable(clean), stable(out))
    assert "0 damaged" in status(out, "--verify")


def test_reuse_of_the_dense_file_copies_only_what_the_refined_sweep_needs(by_ranks, dense, tmp_path):
    """--reuse into an adaptive sweep copies the cells its plan needs as the copies decide it,
    never one it would skip: the file equals a fresh refined run, and nothing is trained."""
    out = tmp_path / "reused.h5"
    p = run(SWEEP, out, 2, "--reuse", str(dense))
    assert_same(stable(by_ranks[2]), stable(out))
    with h5py.File(by_ranks[2], "r", locking=False) as f:
        computed = int(((f["cell/status"][()] >= 1) & (f["cell/status"][()] <= 4)).sum())
    assert f"copied {computed} finished cells" in p.stderr, p.stderr
    assert "shallowsweep run: 0 cells in" in p.stderr, p.stderr  # nothing left to train
    with h5py.File(out, "r", locking=False) as f, h5py.File(dense, "r", locking=False) as d:
        done = (f["cell/status"][()] >= 1) & (f["cell/status"][()] <= 4)
        assert (f["cell/wall_s"][()][done] == d["cell/wall_s"][()][done]).all()  # copied, not trained
    assert "0 damaged" in status(out, "--verify")
