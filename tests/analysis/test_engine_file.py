"""The analysis package on files the engine really wrote (not fixtures): phase()'s fraction
converged agrees with `shallowsweep status --json`, per axis value and overall, on a finished
file and on one stopped half-way by a signal; xarray sees the axes; the CLI draws it."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import SOURCE_DIR  # noqa: F401  (puts the source tree on sys.path)
from analysis import load
from analysis.phase import phase_data

BUILD = Path(os.environ.get("SSW_BUILD_DIR", SOURCE_DIR / "build"))
EXE = BUILD / "src" / "cli" / "shallowsweep"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1", OPENBLAS_NUM_THREADS="1")

# Small enough for a few seconds on one rank; both verdicts appear (narrow nets stall).
SWEEP = """name: analysis-real
model: {activation: relu}
data: {dim: 4, target: random_gaussian}
train: {lr: 1, max_iters: 3000, tol_rel: 1e-3, record_points: 12}
grid:
  width: [2, 8, 64]
  n: [8, 32]
  seeds: 3
"""


def status_json(path):
    p = subprocess.run([str(EXE), "status", str(path), "--json"], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    # meson builds the binary first (depends:); missing, this is a failure, never a skip
    assert EXE.exists(), f"{EXE} is not built: run 'ninja -C {BUILD}' first"
    d = tmp_path_factory.mktemp("real")
    path = d / "sweep.yaml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def finished(sweep_file):
    out = sweep_file.parent / "finished.h5"
    p = subprocess.run([str(EXE), "run", str(sweep_file), "-o", str(out), "--quiet"], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture(scope="module")
def stopped(sweep_file):
    """A file with pending cells: the run gets SIGTERM once a few cells are done."""
    out = sweep_file.parent / "stopped.h5"
    slow = ["--set", "max_iters=200000", "--set", "record_points=20"]
    p = subprocess.Popen([str(EXE), "run", str(sweep_file), "-o", str(out), "--quiet", *slow], env=ENV,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.1)
        if out.exists() and status_json(out)["done"] >= 3:
            break
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    assert p.returncode == 75, p.stderr.read()
    return out


def marginal_counts(pd, axis):
    """Converged and finished counts per value of `axis` from phase_data (fraction x done)."""
    conv = (pd["converged"].fillna(0) * pd["n_done"]).round().astype(int)
    other = [a for a in ("width", "n") if a != axis]
    return conv.sum(other).values, pd["n_done"].sum(other).values


@pytest.mark.parametrize("which", ["finished", "stopped"])
def test_fraction_converged_matches_status(which, request):
    path = request.getfixturevalue(which)
    js = status_json(path)
    pd = phase_data(load(str(path)), "width", "n")
    assert int(pd["n_done"].sum()) == js["done"]
    total_conv = int((pd["converged"].fillna(0) * pd["n_done"]).round().sum())
    assert total_conv == js["counts"]["converged"]
    if which == "finished":
        assert js["done"] == js["ncells"] == 18
        assert 0 < js["counts"]["converged"] < 18, "the sweep should show both verdicts"
    else:
        assert 3 <= js["done"] < js["ncells"]
    for axis in js["axes"]:
        if axis["name"] not in ("width", "n"):
            continue
        conv, done = marginal_counts(pd, axis["name"])
        want_conv = [c["converged"] for c in axis["counts"]]
        want_done = [sum(v for k, v in c.items() if k != "pending") for c in axis["counts"]]
        assert list(conv) == want_conv, (axis["name"], list(conv), want_conv)
        assert list(done) == want_done, (axis["name"], list(done), want_done)


def test_xarray_sees_axes_and_values(finished):
    with xr.open_dataset(finished, engine="h5netcdf", group="cell") as cell:
        assert cell["status"].dims == ("width", "n", "seed")
        assert list(cell["width"].values) == [2, 8, 64]
        assert list(cell["n"].values) == [8, 32]
        assert set(np.unique(cell["status"].values)) <= {1, 2}
    with xr.open_dataset(finished, engine="h5netcdf", group="traj") as traj:
        assert traj["loss"].dims == ("width", "n", "seed", "step")
        assert traj["step"].values[0] == 0 and traj["step"].values[-1] == 3000


def test_cli_draws_the_real_file(finished, stopped, tmp_path):
    for src in (finished, stopped):
        png = tmp_path / (src.stem + ".png")
        p = subprocess.run(["/usr/bin/python3", "-m", "analysis.phase", str(src), "--x", "width", "--y", "n",
                            "-o", str(png)], env=dict(ENV, MPLBACKEND="Agg"), cwd=SOURCE_DIR,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# A value whose shortest exact text has 17 digits: every reader must show it the same way.
ODD = "0.30000000000000004"
ROUND_TRIP = f"""name: labels
model: {{activation: relu, width: 4}}
data: {{dim: 2, n: 4}}
train: {{max_iters: 5, record_points: 3}}
grid:
  lr: [0.1, {ODD}]
"""


def test_one_text_for_a_value_in_validate_status_and_python(tmp_path):
    """validate, status (text and --json), the file's labels, load() and slice titles agree on
    0.30000000000000004; --at finds the same cell in C and in Python."""
    sweep = tmp_path / "labels.yaml"
    sweep.write_text(ROUND_TRIP)
    run = lambda *a: subprocess.run([str(EXE), *map(str, a)], env=ENV, capture_output=True, text=True,  # noqa: E731
                                    timeout=120)
    v = run("validate", sweep)
    assert v.returncode == 0, v.stderr
    assert f"0.1, {ODD}" in v.stdout, v.stdout
    out = tmp_path / "labels.h5"
    r = run("run", sweep, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    st = run("status", out)
    assert st.returncode == 0, st.stderr
    assert f"\n  {ODD}" in st.stdout, st.stdout
    axes = {a["name"]: a["values"] for a in status_json(out)["axes"]}
    assert axes["lr"] == ["0.1", ODD]
    import h5py
    with h5py.File(out, "r") as f:
        stored = [x.decode() if isinstance(x, bytes) else x for x in f["cell/lr"].attrs["labels"]]
        assert stored == ["0.1", ODD]
        names = f["cell/status"].attrs["flag_meanings"]
        names = names.decode() if isinstance(names, bytes) else names
        assert names.split() == ["pending", "converged", "max_iters", "diverged", "failed", "skipped"]
        assert list(f["cell/status"].attrs["flag_values"]) == [0, 1, 2, 3, 4, 5]
    from analysis.select import axis_label, index_of, slice_at, slice_title
    ds = load(out)
    assert [axis_label(ds, "lr", x) for x in ds["lr"].values] == ["0.1", ODD]
    assert slice_title(slice_at(ds, {"lr": ODD})) == f"lr={ODD}"
    # a number within 1e-12 names the value on both sides, one farther away on neither
    assert index_of(ds, "lr", "0.3") == 1
    c = run("cell", sweep, "--at", "lr=0.3", "--json")
    assert c.returncode == 0, c.stderr
    assert json.loads(c.stdout)["index"] == 1
    with pytest.raises(Exception):
        index_of(ds, "lr", "0.3000000001")
    assert run("cell", sweep, "--at", "lr=0.3000000001").returncode == 2


def test_status_names_come_from_the_file(finished):
    from analysis.load import status_names
    ds = load(finished)
    expect = {0: "pending", 1: "converged", 2: "max_iters", 3: "diverged", 4: "failed"}
    if len(status_names(ds)) == 6:  # engines with adaptive sweeps (issue 15) name skipped in every file
        expect[5] = "skipped"
    assert status_names(ds) == expect


V1_SCALARS = ["init_loss", "final_loss", "iters", "iters_to_tol", "wall_s", "gflops", "rank", "ntk_min", "ntk_max",
              "message", "checksum", "status"]


def as_format_1(src, dst):
    """dst: src as shallowsweep 0.1 wrote it (format 1): no format-2 scalars, no labels or status
    names, checksums over the format-1 scalars (store.h's list)."""
    import shutil
    import zlib
    import h5py
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        f.attrs["format"] = "shallowsweep/1"
        del f.attrs["frozen_checksum"]  # 0.1 wrote none (and the edits below would fail it)
        for name in list(f["cell"].keys()):
            if name not in V1_SCALARS and name not in f.attrs["axes"]:
                del f["cell/" + name]
        for group in ("cell", "traj"):
            for a in f.attrs["axes"]:
                del f[group][a].attrs["labels"]
        for attr in ("flag_values", "flag_meanings"):
            del f["cell/status"].attrs[attr]
        status = f["cell/status"][()]
        checksums = f["cell/checksum"][()]
        for idx in zip(*np.nonzero(status)):
            crc = 0
            for s in f.attrs["series"]:
                crc = zlib.crc32(f["traj/" + s][idx].astype("<f8").tobytes(), crc)
            for name in V1_SCALARS:
                if name != "checksum":
                    v = f["cell/" + name][idx]
                    crc = zlib.crc32(np.asarray(v).tobytes() if name != "message" else v.ljust(256, b"\0"), crc)
            checksums[idx] = crc
        f["cell/checksum"][()] = checksums


def test_format_1_files_read_and_refuse_resume(finished, sweep_file, tmp_path):
    old = tmp_path / "old.h5"
    as_format_1(finished, old)
    new, was = status_json(finished), status_json(old)
    assert was["counts"] == new["counts"] and [a["values"] for a in was["axes"]] == [a["values"] for a in new["axes"]]
    assert was["diagnosis"] == {"unstable": 0, "slow": 0, "plateau": 0}  # format 1 has none
    v = subprocess.run([str(EXE), "status", str(old), "--verify"], env=ENV, capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and ", 0 damaged" in v.stdout, v.stdout + v.stderr
    ds = load(old)
    assert "diagnosis" not in ds and ds.attrs["format"] == "shallowsweep/1"
    assert list(ds["width"].attrs["label_of"].values()) == ["2", "8", "64"]
    r = subprocess.run([str(EXE), "run", str(sweep_file), "-o", str(old), "--resume"], env=ENV, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "refusing to resume" in r.stderr and "shallowsweep 0.1" in r.stderr and len(r.stderr.splitlines()) == 1


def test_format_2_cells_carry_their_diagnosis(finished):
    ds = load(finished)
    st, dg = ds["status"].values, ds["diagnosis"].values
    assert set(dg[st == 2]) <= {1, 2, 3} and set(dg[st != 2]) == {0}  # max_iters cells only, every one
    assert np.all(ds["edge_ratio_init"].values > 0) and np.all(ds["loss_rises"].values >= 0)
    assert np.allclose(ds["loss_ratio"].values, ds["final_loss"].values / ds["init_loss"].values, rtol=1e-15)
    counts = status_json(finished)["diagnosis"]
    assert counts == {name: int(np.sum(dg == code)) for code, name in [(1, "unstable"), (2, "slow"), (3, "plateau")]}


def test_verdict_map_unstable_marks_and_summary(finished):
    from analysis.phase import VERDICTS, legend_texts, phase
    from analysis.phase_theory import theory_condition
    from analysis.summary import summary_text
    ds = load(finished)
    _, pd = phase(ds, "width", "n", metric="verdict")
    st, dg = ds["status"].values, ds["diagnosis"].values  # (width, n, seed)
    names = {1: "converged", 3: "diverged", 4: "failed"}
    unstable_seeds = ((st == 2) & (dg == 1)).sum(-1)
    assert unstable_seeds.sum() > 0, "the fixture sweep should have unstable cells (lr 1, relu)"
    for i in range(st.shape[0]):
        for j in range(st.shape[1]):
            per = [names.get(s) or {1: "unstable", 2: "slow", 3: "plateau"}[d] for s, d in zip(st[i, j], dg[i, j])]
            counts = {v: per.count(v) for v in per}
            top = max(counts.values())
            want = max(VERDICTS.index(v) for v, c in counts.items() if c == top)  # ties: the later one
            assert pd["value"].sel(width=ds["width"].values[i], n=ds["n"].values[j]).item() == want
            assert pd["unstable"].sel(width=ds["width"].values[i], n=ds["n"].values[j]).item() == unstable_seeds[i, j]
    fig, pdc = phase(ds, "width", "n")
    cells = int((unstable_seeds > 0).sum())
    assert any(t.startswith(f"{cells} cell") and "unstable seed" in t for t in legend_texts(fig)), legend_texts(fig)
    failing = pdc["converged"].values < 0.5
    if 2 * int((failing & (pdc["unstable"].values > 0)).sum()) >= int(failing.sum()):  # mostly artifacts: no fit
        with pytest.raises(Exception, match="had an unstable seed, so their boundary is the step size's"):
            theory_condition("oymak2020:fit", pdc)
    one = pdc.copy(deep=True)  # one unstable failing cell among reliable ones: fitted without it
    u = np.zeros_like(one["unstable"].values)
    u[np.unravel_index(np.flatnonzero(failing)[0], u.shape)] = 1
    one["unstable"].values[...] = u
    fitted = theory_condition("oymak2020:fit", one)
    assert "1 unstable cell left out of the fit" in fitted.label, fitted.label
    js = status_json(finished)["diagnosis"]
    assert f"why max_iters: unstable {js['unstable']}, slow {js['slow']}, plateau {js['plateau']}" in summary_text(ds)


def test_record_sharpness_adds_the_edge_ratio_series(tmp_path):
    import h5py
    sweep = tmp_path / "sharp.yaml"
    sweep.write_text("model: {activation: tanh, width: 8}\ndata: {dim: 3}\n"
                     "train: {lr: 0.5, max_iters: 50, record_points: 6, record_sharpness: true}\ngrid: {n: [4, 8]}\n")
    out = tmp_path / "sharp.h5"
    r = subprocess.run([str(EXE), "run", str(sweep), "-o", str(out), "--quiet"], env=ENV, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = json.loads(subprocess.run([str(EXE), "cell", str(sweep), "--at", "n=8", "--json"], env=ENV,
                                  capture_output=True, text=True, check=True).stdout)
    with h5py.File(out, "r") as f:
        assert "edge_ratio" in list(f.attrs["series"])
        got = f["traj/edge_ratio"][1, 0]  # n=8, seed 0
        assert np.array_equal(got, np.array(c["series"]["edge_ratio"], dtype=float))
        assert got[0] == f["cell/edge_ratio_init"][1, 0]
    plain = tmp_path / "plain.h5"
    r = subprocess.run([str(EXE), "run", str(sweep), "-o", str(plain), "--quiet", "--set", "record_sharpness=false"],
                       env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with h5py.File(plain, "r") as f:
        assert "edge_ratio" not in f["traj"]


def test_csv_and_line_on_the_real_file(finished, stopped, tmp_path):
    """summary --csv of engine files (format 2: diagnosis, pending cells) reads back as h5py
    reads them; analysis.line plots the file's own final_inner_dist scalar."""
    from test_table import check_rows  # noqa: E402  (tests/analysis is on sys.path)
    import csv

    env = dict(ENV, MPLBACKEND="Agg")
    for src in (finished, stopped):
        out = tmp_path / (src.stem + ".csv")
        p = subprocess.run(["/usr/bin/python3", "-m", "analysis.summary", str(src), "--csv", str(out)], env=env,
                           cwd=SOURCE_DIR, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
        assert "diagnosis" in rows[0]
        check_rows(rows, src)
        p = subprocess.run(["/usr/bin/python3", "-m", "analysis.line", str(src), "--x", "width", "--y",
                            "final_inner_dist", "--hue", "n", "--json"], env=env, cwd=SOURCE_DIR,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert [ln["hue"] for ln in doc["lines"]] == ["8", "32"] and doc["seeds"] == 3
