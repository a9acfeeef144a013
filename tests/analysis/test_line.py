"""analysis.line against numbers known in advance: a fixture whose scalar is c·width²·(1+seed)²·s
per cell (skewed over seeds, so that a mean is not the median), so that the median, the band and a slope-2 reference are known exactly; the last
value of a series and the converged fraction against h5py; pending points; one seed."""
import json
import os
import subprocess
import sys

import h5py
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import fixtures  # noqa: E402
from analysis.line import line  # noqa: E402
from analysis.load import AnalysisError  # noqa: E402
from conftest import SOURCE_DIR  # noqa: E402

WIDTHS = [4, 8, 16, 32]
SCALES = [0.5, 1.0, 2.0]
C = 1e-3


def known_file(path, seeds):
    """width x init_scale x seed; wall_s = C width² (1 + seed)² init_scale; seed 0 of width 32 at
    scale 2 pending (so its point is the median of the other seeds)."""
    grid = {"width": WIDTHS, "init_scale": SCALES, "seed": list(range(seeds))}
    pending = np.zeros((len(WIDTHS), len(SCALES), seeds), bool)
    pending[3, 2, 0] = True
    fixtures.make_file(path, grid, pending=pending)
    w, s, k = np.meshgrid(WIDTHS, SCALES, range(seeds), indexing="ij")
    with h5py.File(path, "r+") as f:
        f["cell/wall_s"][...] = np.where(pending, np.nan, C * w**2.0 * (1 + k)**2 * s)
    return path


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    d = tmp_path_factory.mktemp("line")
    return {3: known_file(d / "three.h5", 3), 4: known_file(d / "four.h5", 4)}


def cli_json(*args):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    r = subprocess.run([sys.executable, "-m", "analysis.line", *map(str, args), "--json"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def expected(seeds, q):
    """{scale: (median, lo, hi) over widths} from the formula, quantiles of factors 1..seeds."""
    out = {}
    for s in SCALES:
        rows = []
        for i, w in enumerate(WIDTHS):
            factors = np.arange(1, seeds + 1, dtype=float) ** 2
            if i == 3 and s == 2.0:
                factors = factors[1:]  # seed 0 pending
            v = C * w**2 * factors * s
            rows.append((np.median(v), np.quantile(v, q[0]), np.quantile(v, q[1])))
        out[s] = np.array(rows).T
    return out


@pytest.mark.parametrize("seeds, q, band", [(3, (0.0, 1.0), "min-max"), (4, (0.25, 0.75), "interquartile range")])
def test_json_medians_and_bands_are_the_known_numbers(known, seeds, q, band):
    doc = cli_json(known[seeds], "--x", "width", "--y", "wall_s", "--hue", "init_scale")
    assert doc["band"] == band and doc["seeds"] == seeds
    want = expected(seeds, q)
    assert [ln["hue"] for ln in doc["lines"]] == ["0.5", "1", "2"]
    for ln, s in zip(doc["lines"], SCALES):
        assert ln["x"] == ["4", "8", "16", "32"]
        np.testing.assert_allclose(ln["median"], want[s][0], rtol=1e-12)
        np.testing.assert_allclose(ln["lo"], want[s][1], rtol=1e-12)
        np.testing.assert_allclose(ln["hi"], want[s][2], rtol=1e-12)
        assert ln["n_done"] == [seeds] * 3 + [seeds - (s == 2.0)]


def test_figure_lines_are_the_medians_and_the_slope_is_exact(known):
    fig, _ = line(known[3], "width", "wall_s", hue="init_scale", logy=True, slopes=(2.0, 1.0))
    ax = fig.axes[0]
    want = expected(3, (0.0, 1.0))
    by_gid = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    for s, label in zip(SCALES, ["0.5", "1", "2"]):
        ln = by_gid[f"median:{label}"]
        np.testing.assert_allclose(ln.get_xdata(), WIDTHS)
        np.testing.assert_allclose(ln.get_ydata(), want[s][0], rtol=1e-12)
    # the bands: one PolyCollection per line, spanning lo..hi
    bands = ax.collections
    assert len(bands) == 3
    ys = bands[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(want[0.5][1].min()) and ys.max() == pytest.approx(want[0.5][2].max())
    medians = np.concatenate([w[0] for w in want.values()])
    x0, y0 = np.exp(np.mean(np.log(WIDTHS))), np.exp(np.mean(np.log(medians)))
    for k in (2.0, 1.0):
        xy = by_gid[f"slope:{k:g}"].get_xydata()
        slopes = np.diff(np.log(xy[:, 1])) / np.diff(np.log(xy[:, 0]))
        np.testing.assert_allclose(slopes, k, rtol=1e-9)
        np.testing.assert_allclose(np.interp(np.log(x0), np.log(xy[:, 0]), np.log(xy[:, 1])), np.log(y0), rtol=1e-9)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # one point has a pending seed: the title counts the finished seeds per point, 2 to 3
    assert "median over 2–3 finished seeds, band: min-max" in ax.get_title()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:3] == ["init_scale = 0.5", "init_scale = 1", "init_scale = 2"]
    assert any(t.startswith("slope 2") for t in texts) and "some seeds pending" in texts
    colors = [by_gid[f"median:{label}"].get_color() for label in ["0.5", "1", "2"]]
    assert len(set(map(str, colors))) == 3


def last_finite(a):
    out = np.full(a.shape[:-1], np.nan)
    for idx in np.ndindex(a.shape[:-1]):
        ok = np.flatnonzero(np.isfinite(a[idx]))
        if ok.size:
            out[idx] = a[idx][ok[-1]]
    return out


def test_series_last_value_and_converged_fraction_against_h5py(files):
    """Standard fixture, lr=0.5, n as hue: pending points (width 64) are null."""
    with h5py.File(files["partial"], "r") as f:
        inner = last_finite(f["traj/inner_dist"][:, :, 0, :, :])   # (width, n, seed)
        status = f["cell/status"][:, :, 0, :]
    inner = np.where(status > 0, inner, np.nan)
    doc = cli_json(files["partial"], "--x", "width", "--y", "inner_dist", "--hue", "n", "--at", "lr=0.5")
    for j, ln in enumerate(doc["lines"]):
        for i in range(5):
            vals = inner[i, j][np.isfinite(inner[i, j])]
            if vals.size == 0:
                assert ln["median"][i] is None and ln["n_done"][i] == 0
            else:
                assert ln["median"][i] == pytest.approx(np.median(vals), rel=1e-12)
                assert ln["lo"][i] == pytest.approx(vals.min()) and ln["hi"][i] == pytest.approx(vals.max())
    doc = cli_json(files["partial"], "--x", "width", "--y", "converged", "--hue", "n", "--at", "lr=0.5")
    for j, ln in enumerate(doc["lines"]):
        for i in range(4):
            done = status[i, j] > 0
            assert ln["median"][i] == pytest.approx((status[i, j] == 1).sum() / done.sum())
            assert ln["lo"][i] is None


def test_one_seed_says_which(tmp_path, files):
    p = tmp_path / "one.h5"
    fixtures.make_file(p, {"width": [4, 8, 16], "n": [8, 16], "seed": [3]})
    fig, _ = line(p, "width", "final_loss", hue="n")
    title = fig.axes[0].get_title()
    assert title.endswith("\nseed 3") and "median" not in title
    assert len(fig.axes[0].collections) == 0  # no band
    # one seed picked out of three with --at
    fig, ld = line(files["full"], "width", "final_loss", hue="n", at={"lr": "0.5", "seed": "2"})
    assert fig.axes[0].get_title().endswith("\nseed 2") and len(fig.axes[0].collections) == 0
    with h5py.File(files["full"], "r") as f:
        want = f["cell/final_loss"][:, :, 0, 2].T  # (n, width)
    np.testing.assert_array_equal(ld["median"].values, want)


@pytest.mark.parametrize("kwargs, message", [
    (dict(y="speed"), "unknown metric 'speed' (this file has: converged, final_loss"),
    (dict(y="final_loss", hue="width"), "--x and --hue are both 'width'"),
    (dict(y="final_loss", hue="seed"), "--hue seed: seeds are summarised"),
    (dict(y="final_loss", hue="n"), "axis 'lr' has 2 values"),
    (dict(y="final_loss", hue="depth", at={"lr": "0.5"}), "unknown axis 'depth' for --hue"),
])
def test_errors(files, kwargs, message):
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        line(files["full"], "width", **kwargs)


def test_cli_errors_exit_2(files, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    for args, message in ((["--y", "speed", "--at", "lr=0.5", "--json"], "unknown metric 'speed'"),
                          (["--y", "final_loss", "--at", "lr=0.5"], "give -o OUT.png, --json, or both")):
        r = subprocess.run([sys.executable, "-m", "analysis.line", str(files["full"]), "--x", "width", *args],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 2 and r.stdout == "", r
        assert len(r.stderr.splitlines()) == 1 and message in r.stderr, r.stderr
