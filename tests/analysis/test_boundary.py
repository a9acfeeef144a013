"""analysis.boundary against boundaries known in advance: files whose cells converge exactly when
width > C·n^p·(seed noise), so that the crossing, its interval and the exponent are known; columns
built by hand whose crossing is known to the last digit (log against linear interpolation, the
monotone fit of a non-monotone column); columns without a crossing; pending and failed seeds;
the JSON; the command line; and a file the engine wrote."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import fixtures  # noqa: E402
from analysis import load  # noqa: E402
from analysis.boundary import boundary, boundary_data  # noqa: E402
from analysis.boundary_fit import isotonic  # noqa: E402
from analysis.load import AnalysisError  # noqa: E402
from conftest import SOURCE_DIR, png_size  # noqa: E402

WIDTHS = [int(v) for v in np.round(np.geomspace(4, 4096, 21))]   # geometric, factor ~1.41
NS = [8, 16, 32, 64, 128]
SIGMA = 0.3        # seed noise of the threshold, in log width
SEEDS = 12


def status_file(path, grid, status):
    """A fixture file over `grid` with /cell/status replaced by `status` (grid-shaped)."""
    fixtures.make_file(path, grid)
    with h5py.File(path, "r+") as f:
        f["cell/status"][...] = np.asarray(status, np.int8)
    return path


def power_law_file(path, p, C, seeds=SEEDS, sigma=SIGMA, rng_seed=1):
    """width x n x seed; a seed converges (1) iff width > C n^p exp(sigma z), z ~ N(0, 1) drawn per
    cell and seed, else stalls (2): the 50 % boundary is width* = C n^p exactly."""
    grid = {"width": WIDTHS, "n": NS, "seed": list(range(seeds))}
    w, n, _ = np.meshgrid(WIDTHS, NS, range(seeds), indexing="ij")
    z = np.random.default_rng(rng_seed).standard_normal(w.shape)
    return status_file(path, grid, np.where(w > C * n ** p * np.exp(sigma * z), 1, 2))


def column_file(path, widths, fractions, seeds=4, extra=None):
    """One n (8) and a column of given converged fractions over `widths` (k/seeds each), plus
    other n columns from `extra` ({n: fractions}); the first round(f * seeds) seeds converge."""
    cols = {8: fractions, **(extra or {})}
    grid = {"width": widths, "n": list(cols), "seed": list(range(seeds))}
    st = np.full((len(widths), len(cols), seeds), 2, np.int8)
    for j, fr in enumerate(cols.values()):
        for i, f in enumerate(fr):
            st[i, j, : int(round(f * seeds))] = 1
    return status_file(path, grid, st)


@pytest.fixture(scope="module")
def laws(tmp_path_factory):
    d = tmp_path_factory.mktemp("boundary")
    return {1: power_law_file(d / "p1.h5", 1, 2.0), 2: power_law_file(d / "p2.h5", 2, 0.25)}


def cli(*args):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    return subprocess.run([sys.executable, "-m", "analysis.boundary", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.mark.parametrize("p, C", [(1, 2.0), (2, 0.25)])
def test_recovers_the_exponent_and_constant(laws, p, C):
    res = boundary_data(load(laws[p]), "width", "n")
    lo, hi = res["exponent_ci"]
    assert lo < p < hi, (p, res["exponent"], res["exponent_ci"])
    assert hi - lo < 0.6, f"exponent interval {res['exponent_ci']} is too wide to tell p=1 from p=2"
    assert abs(res["exponent"] - p) < 0.15, res["exponent"]
    assert res["constant_ci"][0] < C < res["constant_ci"][1], (C, res["constant_ci"])
    blo, bhi = res["exponent_ci_bootstrap"]
    assert blo < res["exponent"] < bhi and bhi - blo < 0.6
    # the points: each near C n^p, and most 95 % intervals hold the true boundary
    truth = {n: C * n ** p for n in NS}
    held = [pt["ci"][0] <= truth[pt["y"]] <= pt["ci"][1] for pt in res["points"]]
    assert sum(held) >= len(held) - 1, [(pt["y"], pt["x"], pt["ci"], truth[pt["y"]]) for pt in res["points"]]
    for pt in res["points"]:
        assert abs(math.log(pt["x"] / truth[pt["y"]])) < 0.35, (pt, truth[pt["y"]])
        assert pt["ratio_to_fit"] == pytest.approx(math.exp(pt["residual_log"]))
    # p = 2 puts 0.25 * 128^2 = 4096 on the grid's last width: no crossing there, reported
    if p == 2:
        assert [m["y"] for m in res["no_crossing"]] == [128.0] and res["no_crossing"][0]["reason"] == "below"
        assert len(res["points"]) == 4
    else:
        assert res["no_crossing"] == [] and len(res["points"]) == 5


def sharp_file(path, boundary_of_n, widths=(4, 8, 16, 32, 64, 128, 256, 512, 1024), seeds=3):
    """Every seed of a cell agrees: width > boundary_of_n(n) converges. The bootstrap has nothing
    to resample, so each point's error is the grid's resolution alone."""
    widths, ns = list(widths), [8, 16, 32, 64, 128]
    w, n, _ = np.meshgrid(widths, ns, range(seeds), indexing="ij")
    grid = {"width": widths, "n": ns, "seed": list(range(seeds))}
    return status_file(path, grid, np.where(w > np.vectorize(boundary_of_n)(n), 1, 2))


def test_seeds_that_agree_leave_the_grid_resolution(tmp_path):
    """width > 2n on widths 4, 8, ..., 1024: each crossing is halfway (in log) between 2n and 4n, so
    p = 1 exactly; the bootstrap intervals have zero width, and the exponent's interval is the grid
    resolution's: sigma = log 2 / sqrt 12 per point, t with 3 degrees of freedom."""
    from scipy import stats

    res = boundary_data(load(sharp_file(tmp_path / "s.h5", lambda n: 2 * n)), "width", "n", B=100)
    assert res["exponent"] == pytest.approx(1.0, abs=1e-12)
    assert res["constant"] == pytest.approx(2 * math.sqrt(2), rel=1e-12)
    for pt in res["points"]:
        assert pt["bracket"] == [2 * pt["y"], 4 * pt["y"]] and pt["ci"] == [pt["x"], pt["x"]]
    u = np.log([8, 16, 32, 64, 128])
    half = stats.t.ppf(0.975, 3) * math.log(2) / math.sqrt(12) / math.sqrt(np.sum((u - u.mean()) ** 2))
    assert res["exponent_ci"] == pytest.approx([1 - half, 1 + half], rel=1e-9)
    assert res["chi2_reduced"] == pytest.approx(0.0, abs=1e-20) and res["ci_method"] == "t"


def test_scatter_beyond_the_errors_widens_the_interval_to_ols(tmp_path):
    """Sharp boundaries off the line by factors of 2 (all errors equal, the grid's): the reduced
    chi-square is above 1 and the interval is ordinary least squares', as scipy's linregress has it."""
    from scipy import stats

    jitter = {8: 1, 16: 4, 32: 1, 64: 4, 128: 2}
    res = boundary_data(load(sharp_file(tmp_path / "j.h5", lambda n: 2 * n * jitter[n])), "width", "n", B=0)
    assert res["chi2_reduced"] > 1 and "scaled" in res["ci_method"]
    lr = stats.linregress(np.log([p["y"] for p in res["points"]]), np.log([p["x"] for p in res["points"]]))
    q = stats.t.ppf(0.975, 3)
    assert res["exponent"] == pytest.approx(lr.slope, rel=1e-9)
    assert res["exponent_ci"] == pytest.approx([lr.slope - q * lr.stderr, lr.slope + q * lr.stderr], rel=1e-9)
    assert res["constant_ci"] == pytest.approx([math.exp(lr.intercept - q * lr.intercept_stderr),
                                                math.exp(lr.intercept + q * lr.intercept_stderr)], rel=1e-9)


def test_fit_range_fits_a_subset_and_reports_every_residual(tmp_path):
    """The jittered sharp file fitted from n = 32 on: the same as fitting a file of those points
    alone; the points below are kept, marked not fitted, with their residual from that line."""
    from scipy import stats

    jitter = {8: 1, 16: 4, 32: 1, 64: 4, 128: 2}
    ds = load(sharp_file(tmp_path / "j.h5", lambda n: 2 * n * jitter[n]))
    res = boundary_data(ds, "width", "n", B=50, fit_range=(32, None))
    assert [p["fitted"] for p in res["points"]] == [False, False, True, True, True]
    fitted = [p for p in res["points"] if p["fitted"]]
    lr = stats.linregress(np.log([p["y"] for p in fitted]), np.log([p["x"] for p in fitted]))
    assert res["exponent"] == pytest.approx(lr.slope, rel=1e-9) and res["dof"] == 1
    p8 = res["points"][0]
    assert p8["residual_log"] == pytest.approx(math.log(p8["x"]) - lr.intercept - lr.slope * math.log(8), rel=1e-9)
    one = boundary_data(ds, "width", "n", B=0, fit_range=(100, 200))
    assert one["exponent"] is None and "fewer than 2 points in --fit-range" in one["fit_note"]


def test_log_axis_interpolates_in_log_x(tmp_path):
    """Fractions 0, 1/4, 3/4, 1 at widths 4, 16, 64, 256: the crossing is halfway between 16 and 64
    in log width, sqrt(16 * 64) = 32 (linear interpolation would give 40)."""
    res = boundary_data(load(column_file(tmp_path / "c.h5", [4, 16, 64, 256], [0, 0.25, 0.75, 1])),
                        "width", "n", B=0)
    assert res["x_scale"] == "log"
    assert res["points"][0]["x"] == pytest.approx(32.0, rel=1e-12)


def test_linear_axis_interpolates_in_x(tmp_path):
    res = boundary_data(load(column_file(tmp_path / "c.h5", [10, 20, 30, 40], [0, 0.25, 0.75, 1])),
                        "width", "n", B=0)
    assert res["x_scale"] == "linear"
    assert res["points"][0]["x"] == pytest.approx(25.0, rel=1e-12)


def test_non_monotone_column_crosses_where_its_monotone_fit_does(tmp_path):
    """0, 1/2, 1/4, 1 (4 seeds each): the monotone fit pools 1/2 and 1/4 to 3/8, so the one crossing
    is between widths 64 (3/8) and 256 (1), a fifth of the way in log: 64 * 4^(1/5). The first cell
    to reach 1/2 (width 16) is not the boundary."""
    res = boundary_data(load(column_file(tmp_path / "c.h5", [4, 16, 64, 256], [0, 0.5, 0.25, 1])),
                        "width", "n", B=0)
    assert res["points"][0]["x"] == pytest.approx(64 * 4 ** 0.2, rel=1e-12)
    np.testing.assert_allclose(isotonic([0, 0.5, 0.25, 1], [4, 4, 4, 4]), [0, 0.375, 0.375, 1])
    np.testing.assert_allclose(isotonic([0, 0.5, 0.25, 1], [4, 1, 3, 4]), [0, 0.3125, 0.3125, 1])


def test_a_run_at_exactly_one_half_gives_its_middle(tmp_path):
    res = boundary_data(load(column_file(tmp_path / "c.h5", [4, 8, 16, 32, 64], [0, 0.5, 0.5, 0.5, 1])),
                        "width", "n", B=0)
    assert res["points"][0]["x"] == pytest.approx(16.0, rel=1e-12)


def test_columns_without_a_crossing_are_excluded_and_counted(tmp_path):
    widths = [4, 16, 64, 256]
    path = column_file(tmp_path / "c.h5", widths, [0, 0.25, 0.75, 1], extra={
        16: [0, 0.25, 0.75, 1],     # crosses at 32 too
        32: [1, 1, 1, 1],           # converged everywhere: the boundary is below the grid
        64: [0, 0, 0, 0],           # never: above the grid
        128: [0.5, 0.5, 0.5, 0.5],  # constant one half: touches, never crosses
        256: [0, 0, 0.25, 0.5]})    # reaches one half only at the last width
    res = boundary_data(load(path), "width", "n", B=50)
    assert [pt["y"] for pt in res["points"]] == [8.0, 16.0]
    reasons = {m["y"]: m["reason"] for m in res["no_crossing"]}
    assert reasons == {32.0: "above", 64.0: "below", 128.0: "below", 256.0: "below"}
    assert res["excluded_columns"] == 4
    assert res["exponent"] == pytest.approx(0.0, abs=1e-12)  # two points, both at 32


def test_pending_and_failed_seeds_are_excluded_and_counted(tmp_path):
    """The column 0, 1/4, 3/4, 1 (4 seeds) with extra seeds that are pending or failed: counted as not
    converged they would move the crossing up; excluded, it stays at 32."""
    widths, seeds = [4, 16, 64, 256], 6
    grid = {"width": widths, "n": [8], "seed": list(range(seeds))}
    st = np.full((4, 1, seeds), 2, np.int8)
    for i, k in enumerate([0, 1, 3, 4]):
        st[i, 0, :k] = 1
    st[:, 0, 4] = 0          # seed 4 pending everywhere
    st[2:, 0, 5] = 4         # seed 5 failed at the two widest
    st[:2, 0, 5] = 0         # and pending at the others
    res = boundary_data(load(status_file(tmp_path / "p.h5", grid, st)), "width", "n", B=200)
    assert res["points"][0]["x"] == pytest.approx(32.0, rel=1e-12)
    assert res["excluded_by"] == {"pending": 6, "failed": 2, "unstable": 0, "no_value": 0}
    assert res["excluded"] == 8
    assert res["points"][0]["usable"] == [4, 4, 4, 4]


def test_unstable_seeds_are_kept_and_counted_or_excluded(tmp_path):
    """0, 1/4, 3/4, 1 converged of 4 seeds, plus 2 seeds that stalled diagnosed unstable (DESIGN.md
    §2) at every width: kept, the fractions are 0, 1/6, 1/2, 2/3 and x* is the cell at 1/2 (64);
    with exclude_unstable they are left out and x* is 32 again."""
    widths, seeds = [4, 16, 64, 256], 6
    grid = {"width": widths, "n": [8], "seed": list(range(seeds))}
    st = np.full((4, 1, seeds), 2, np.int8)
    for i, k in enumerate([0, 1, 3, 4]):
        st[i, 0, :k] = 1
    path = status_file(tmp_path / "u.h5", grid, st)
    with h5py.File(path, "r+") as f:
        dg = np.zeros(st.shape, np.int8)
        dg[:, :, 4:] = 1
        d = f["cell"].create_dataset("diagnosis", data=dg)
        d.attrs["flag_values"] = np.array([0, 1, 2, 3], np.int8)
        d.attrs["flag_meanings"] = "none unstable slow plateau"
    kept = boundary_data(load(path), "width", "n", B=0)
    assert kept["points"][0]["x"] == pytest.approx(64.0, rel=1e-12) and kept["unstable_kept"] == 8
    assert kept["excluded"] == 0
    dropped = boundary_data(load(path), "width", "n", B=0, exclude_unstable=True)
    assert dropped["points"][0]["x"] == pytest.approx(32.0, rel=1e-12)
    assert dropped["excluded_by"]["unstable"] == 8 and dropped["unstable_kept"] == 0


def test_a_column_with_nothing_finished_is_empty(tmp_path):
    widths = [4, 16, 64, 256]
    grid = {"width": widths, "n": [8, 16, 32], "seed": [0, 1]}
    st = np.full((4, 3, 2), 2, np.int8)
    st[2:] = 1
    st[:, 2, :] = 0
    res = boundary_data(load(status_file(tmp_path / "e.h5", grid, st)), "width", "n", B=20)
    assert [(m["y"], m["reason"]) for m in res["no_crossing"]] == [(32.0, "empty")]
    assert res["excluded_by"]["pending"] == 8 and res["exponent"] == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_is_reproducible_and_seeded(laws):
    ds = load(laws[1])
    a = boundary_data(ds, "width", "n", B=200, seed=3)
    b = boundary_data(ds, "width", "n", B=200, seed=3)
    c = boundary_data(ds, "width", "n", B=200, seed=4)
    assert [p["ci"] for p in a["points"]] == [p["ci"] for p in b["points"]]
    assert a["exponent_ci_bootstrap"] == b["exponent_ci_bootstrap"]
    assert [p["ci"] for p in a["points"]] != [p["ci"] for p in c["points"]]
    # the point estimates do not depend on the bootstrap
    assert [p["x"] for p in a["points"]] == [p["x"] for p in c["points"]]


def test_falling_success_is_found_by_auto_direction(laws):
    """Converged falls with n at fixed width: the boundary n*(width) = (width / 2)^1 has exponent 1."""
    res = boundary_data(load(laws[1]), "n", "width", B=100)
    assert res["direction"] == "down"
    # falling: a narrow net fails at every n (n* below the grid), a wide one converges at every n
    reasons = {m["y"]: m["reason"] for m in res["no_crossing"]}
    assert reasons[4.0] == "below" and reasons[4096.0] == "above", reasons
    lo, hi = res["exponent_ci"]
    assert lo < 1 < hi, res["exponent_ci"]
    forced = boundary_data(load(laws[1]), "n", "width", B=0, direction="up")
    assert forced["direction"] == "up" and len(forced["points"]) < len(res["points"])


def test_threshold_metric(laws, tmp_path):
    """final_loss <= 1e-6 on a file whose converged seeds end at 1e-9 and the others at 1e-2 gives
    the converged boundary; a seed without a final_loss (NaN) is not usable, and counted."""
    path = tmp_path / "t.h5"
    with h5py.File(laws[1], "r") as f:
        st = f["cell/status"][()]
    grid = {"width": WIDTHS, "n": NS, "seed": list(range(SEEDS))}
    status_file(path, grid, st)
    with h5py.File(path, "r+") as f:
        loss = np.where(st == 1, 1e-9, 1e-2)
        loss[0, 0, 0] = np.nan
        f["cell/final_loss"][...] = loss
    a = boundary_data(load(path), "width", "n", B=0)
    b = boundary_data(load(path), "width", "n", metric="final_loss<=1e-6", B=0)
    assert [p["x"] for p in a["points"]] == [p["x"] for p in b["points"]] and a["points"]
    assert b["metric"] == "final_loss <= 1e-6" and b["excluded_by"]["no_value"] == 1


def test_json_schema_and_figure(laws, tmp_path):
    out = tmp_path / "b.png"
    r = cli(laws[2], "--x", "width", "--y", "n", "--json", "--bootstrap", "200", "-o", out)
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    for key, kind in (("exponent", float), ("constant", float), ("excluded", int), ("points", list),
                      ("exponent_ci", list), ("constant_ci", list), ("no_crossing", list),
                      ("exponent_ci_bootstrap", list), ("excluded_by", dict)):
        assert isinstance(js[key], kind), (key, js.get(key))
    assert len(js["exponent_ci"]) == 2 and js["exponent_ci"][0] < js["exponent"] < js["exponent_ci"][1]
    for pt in js["points"]:
        assert set(pt) >= {"y", "x", "ci", "residual_log"} and len(pt["ci"]) == 2
        assert pt["ci"][0] <= pt["x"] <= pt["ci"][1]
    assert js["excluded"] == 0 and js["bootstrap"] == 200 and js["no_crossing"][0]["y"] == 128
    assert png_size(out) == (700, 600)


def test_figure_draws_points_fit_and_annotation(laws):
    fig, res = boundary(laws[1], "width", "n", B=100, out=None)
    assert fig is None  # drawn only when asked for
    from analysis.boundary_plot import plot_boundary
    fig = plot_boundary(res)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"p = {res['exponent']:.3g} [{res['exponent_ci'][0]:.3g}, {res['exponent_ci'][1]:.3g}]" in t
               for t in texts), texts


def test_summary_printed_without_json(laws, tmp_path):
    r = cli(laws[2], "--x", "width", "--y", "n", "--bootstrap", "50", "-o", tmp_path / "b.png")
    assert r.returncode == 0, r.stderr
    assert "fit width* = C n^p: p = " in r.stdout and "no crossing" in r.stdout
    assert r.stdout.strip().splitlines()[-1] == str(tmp_path / "b.png")


@pytest.mark.parametrize("args, message", [
    (["--x", "widht", "--y", "n", "--json"], "unknown axis 'widht'"),
    (["--x", "width", "--y", "width", "--json"], "both 'width'"),
    (["--x", "seed", "--y", "n", "--json"], "--x seed"),
    (["--x", "width", "--y", "n", "--json", "--metric", "final_loss<=abc"], "not a number"),
    (["--x", "width", "--y", "n", "--json", "--metric", "speed<1"], "unknown metric 'speed'"),
    (["--x", "width", "--y", "n", "--json", "--bootstrap", "-1"], "--bootstrap -1"),
    (["--x", "width", "--y", "n"], "give -o OUT.png, --json, or both"),
    (["--x", "width", "--y", "n", "--json", "--at", "seed=99"], "has no value 99"),
    (["--x", "width", "--y", "n", "--json", "--fit-range", "64"], "--fit-range '64': expected LO:HI"),
    (["--x", "width", "--y", "n", "--json", "--fit-range", "128:32"], "--fit-range '128:32'"),
])
def test_bad_use_exits_2_naming_the_problem(laws, args, message):
    r = cli(laws[1], *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert r.stdout == ""


def test_unresolved_and_category_axes(files):
    ds = load(files["full"])
    with pytest.raises(AnalysisError, match="axis 'lr' has 2 values"):
        boundary_data(ds, "width", "n", B=0)
    with pytest.raises(AnalysisError, match="'activation' is a category"):
        boundary_data(load(files["mixed"]), "width", "activation", B=0)


# ---- a file the engine wrote ---------------------------------------------------------------------

BUILD = Path(os.environ.get("SSW_BUILD_DIR", SOURCE_DIR / "build"))
EXE = BUILD / "src" / "cli" / "shallowsweep"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1", OPENBLAS_NUM_THREADS="1")
# The quickstart's model and step (no cell unstable) on a smaller grid: about 4 s on one rank;
# the boundary width*(n) lies inside the width grid for every n.
SWEEP = """name: boundary-real
model: {activation: relu, output_scale: 1/sqrt(width)}
data: {dim: 8, input: gaussian, target: random_gaussian}
train: {lr: 0.07, max_iters: 80000, tol_rel: 1e-3, record_points: 4, edge_check: error}
grid:
  width: [1, 2, 4, 8, 16, 32, 64]
  n: [8, 16, 32, 64]
  seeds: 4
"""


@pytest.fixture(scope="module")
def engine_files(tmp_path_factory):
    """(finished file, file stopped by SIGTERM with cells pending)."""
    assert EXE.exists(), f"{EXE} is not built: run 'ninja -C {BUILD}' first"
    d = tmp_path_factory.mktemp("engine")
    (d / "s.yaml").write_text(SWEEP)
    done = d / "done.h5"
    p = subprocess.run([str(EXE), "run", str(d / "s.yaml"), "-o", str(done), "--quiet"], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    stopped = d / "stopped.h5"
    p = subprocess.Popen([str(EXE), "run", str(d / "s.yaml"), "-o", str(stopped), "--quiet",
                          "--set", "max_iters=2000000"], env=ENV, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        if stopped.exists() and status_json(stopped)["done"] >= 20:
            break
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    assert p.returncode == 75, p.stderr.read()
    return done, stopped


def status_json(path):
    p = subprocess.run([str(EXE), "status", str(path), "--json"], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def naive_crossing(widths, frac):
    """The 1/2 crossing of a monotone rising column, interpolated in log width, by hand."""
    for i in range(len(frac) - 1):
        if frac[i] < 0.5 <= frac[i + 1]:
            lo, hi = math.log(widths[i]), math.log(widths[i + 1])
            if frac[i + 1] == 0.5:
                j = i + 1
                while frac[j] == 0.5:
                    j += 1
                return math.exp(0.5 * (math.log(widths[i + 1]) + math.log(widths[j - 1])))
            return math.exp(lo + (0.5 - frac[i]) / (frac[i + 1] - frac[i]) * (hi - lo))
    return None


def test_engine_file(engine_files, tmp_path):
    done, _ = engine_files
    with h5py.File(done, "r") as f:
        st = f["cell/status"][()]                   # (width, n, seed)
        widths, ns = list(f["cell/width"][()]), list(f["cell/n"][()])
    assert {1, 2} <= set(np.unique(st)), "the sweep should show both verdicts"
    res = boundary_data(load(done), "width", "n", B=300)
    assert res["x_scale"] == "log" and res["direction"] == "up" and res["excluded"] == 0
    checked = 0
    for pt in res["points"]:
        j = ns.index(pt["y"])
        frac = (st[:, j, :] == 1).mean(-1)
        assert pt["fraction"] == pytest.approx(list(frac))
        assert pt["bracket"][0] <= pt["x"] <= pt["bracket"][1]
        if np.all(np.diff(frac) >= 0):
            assert pt["x"] == pytest.approx(naive_crossing(widths, frac), rel=1e-12)
            checked += 1
    assert checked >= 2 and len(res["points"]) >= 3, res["points"]
    lo, hi = res["exponent_ci"]
    assert lo < res["exponent"] < hi and math.isfinite(hi - lo)
    r = cli(done, "--x", "width", "--y", "n", "--json", "--bootstrap", "100", "-o", tmp_path / "e.png")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["exponent"] == pytest.approx(res["exponent"])
    assert png_size(tmp_path / "e.png") == (700, 600)


def test_engine_file_with_pending_cells(engine_files):
    _, stopped = engine_files
    js = status_json(stopped)
    res = boundary_data(load(stopped), "width", "n", B=50)
    assert 0 < res["excluded_by"]["pending"] == js["ncells"] - js["done"]
    usable = sum(sum(pt["usable"]) for pt in res["points"])
    assert usable <= js["done"]


def test_wilson_interval_known_values():
    """The Wilson score interval of the experiments' seed fractions (analysis.boundary_fit),
    against values worked by hand: 5/10 -> 0.5 -+ 0.2634, 0/10 -> [0, 0.2775], nothing -> [0, 1]."""
    from analysis.boundary_fit import wilson_interval
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.72246, 1.0), abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)
