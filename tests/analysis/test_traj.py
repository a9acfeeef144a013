"""analysis.traj: --cell draws exactly the named cell's recorded series (against h5py), names
a bad key or a missing axis in one line with exit 2; one seed is titled by its seed; lines
have distinct colours."""
import os
import subprocess
import sys

import h5py
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import fixtures  # noqa: E402
from analysis.traj import traj  # noqa: E402
from conftest import SOURCE_DIR  # noqa: E402


def cli(*args):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    return subprocess.run([sys.executable, "-m", "analysis.traj", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.mark.parametrize("series", ["loss", "inner_dist"])
def test_cell_draws_exactly_that_cell(files, series):
    """width=32 (index 3), n=16 (1), lr=0.5 (0), seed=2 (2) in the standard grid."""
    fig = traj(files["full"], cells=[{"width": "32", "n": "16", "seed": "2"}], at={"lr": "0.5"}, series=series)
    with h5py.File(files["full"], "r") as f:
        steps = f["traj/step"][()]
        want = f[f"traj/{series}"][3, 1, 0, 2]
        status = f["cell/status"][3, 1, 0, 2]
    (ln,) = fig.axes[0].get_lines()
    keep = steps > 0
    np.testing.assert_array_equal(ln.get_xdata(), steps[keep])
    np.testing.assert_array_equal(ln.get_ydata(), want[keep])  # NaN after the stop included
    label = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert label == f"width=32, n=16, lr=0.5, seed=2: {['', 'converged', 'max_iters'][status]}"
    assert "width=32, n=16, lr=0.5, seed=2" in fig.axes[0].get_title()


def test_several_cells_one_line_each_in_distinct_colours(files):
    cells = [{"width": w, "n": "16", "lr": "0.5", "seed": "0"} for w in ("4", "8", "16", "32", "64")]
    fig = traj(files["full"], cells=cells)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 5
    assert len({tuple(matplotlib.colors.to_rgb(ln.get_color())) for ln in lines}) == 5
    assert len({ln.get_marker() for ln in lines}) == 5


@pytest.mark.parametrize("args, message", [
    (["--cell", "width=64,n=32,depth=3,seed=0", "--at", "lr=0.5"], "--cell width=64,n=32,depth=3,seed=0: unknown axis 'depth'"),
    (["--cell", "width=64,n=32,seed=0"], "--cell width=64,n=32,seed=0: axis 'lr' not given (its values: 0.5, 8)"),
    (["--cell", "width=65,n=32,lr=0.5,seed=0"], "axis 'width' has no value 65"),
    (["--cell", "width=64,n32"], "--cell 'n32': expected key=value"),
    (["--cell", "width=64,n=32,lr=0.5,seed=0", "--by", "n"], "argument --by: not allowed with argument --cell"),
])
def test_bad_cell_exits_2_naming_the_key(files, tmp_path, args, message):
    out = tmp_path / "t.png"
    r = cli(files["full"], *args, "-o", out)
    assert r.returncode == 2, r
    assert len(r.stderr.splitlines()) == 1 and message in r.stderr, r.stderr
    assert not out.exists()


def test_pending_cell_is_refused(files, tmp_path):
    r = cli(files["partial"], "--cell", "width=64,n=32,lr=0.5,seed=0", "-o", tmp_path / "t.png")
    assert r.returncode == 2 and "has not finished yet (pending)" in r.stderr, r.stderr


def test_one_seed_title_names_the_seed(tmp_path):
    p = tmp_path / "one.h5"
    fixtures.make_file(p, {"width": [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048], "n": [16], "seed": [5]})
    fig = traj(p, "width")
    title = fig.axes[0].get_title()
    assert title.splitlines()[-1] == "seed 5", title
    assert "median" not in title and "band" not in title
    colors = [tuple(matplotlib.colors.to_rgb(ln.get_color())) for ln in fig.axes[0].get_lines()]
    assert len(colors) == 10 and len(set(colors)) == 10
    # qualitative, not shades of one map: every pair of neighbours differs clearly
    assert min(np.abs(np.subtract(a, b)).sum() for a, b in zip(colors, colors[1:])) > 0.3


def test_several_seeds_keep_median_and_band(files):
    fig = traj(files["full"], "width", at={"lr": "0.5", "n": "16"})
    assert fig.axes[0].get_title().splitlines()[-1] == "median over 3 seeds, band: min-max"


def test_one_seed_picked_with_at_is_named(files):
    fig = traj(files["full"], "width", at={"lr": "0.5", "n": "16", "seed": "1"})
    assert fig.axes[0].get_title().splitlines()[-1] == "seed 1"
