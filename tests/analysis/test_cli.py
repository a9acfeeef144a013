"""The command lines: PNGs of the expected pixel size, the summary table, errors exit 2."""
import os
import subprocess
import sys

import h5py
import pytest

from conftest import SOURCE_DIR, png_size

PY = sys.executable


def cli(module, *args):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    return subprocess.run([PY, "-m", f"analysis.{module}", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=SOURCE_DIR, timeout=120)


@pytest.mark.parametrize("extra, size", [
    (["--at", "lr=0.5"], (550, 525)),                      # one panel: 5.5 x 5.25 in at 100 dpi
    (["--facet", "lr"], (950, 525)),                       # 1 x 2 panels: 9.5 x 5.25 in
    (["--at", "lr=0.5", "--dpi", "40"], (220, 210)),
    # 5 legend lines in one column: one more line of 0.1875 in -> 5.4375 in
    (["--at", "lr=0.5", "--metric", "iters_to_tol", "--theory", "counting"], (550, 543)),
])
def test_phase_writes_png_of_expected_size(files, tmp_path, extra, size):
    out = tmp_path / "phase.png"
    r = cli("phase", files["partial"], "--x", "width", "--y", "n", *extra, "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 5000
    assert png_size(out) == size


def test_traj_writes_png(files, tmp_path):
    out = tmp_path / "traj.png"
    r = cli("traj", files["partial"], "--by", "width", "--at", "lr=0.5,n=16", "--series", "grad_norm", "-o", out)
    assert r.returncode == 0, r.stderr
    assert png_size(out) == (700, 480) and out.stat().st_size > 5000


def test_summary_table(files):
    r = cli("summary", files["partial"])
    assert r.returncode == 0, r.stderr
    with h5py.File(files["partial"], "r") as f:
        st = f["cell/status"][()]
    lines = r.stdout.splitlines()
    row = next(line for line in lines if line.split()[:1] == ["all"] and line.split()[1].isdigit())
    assert [int(x) for x in row.split()[1:6]] == [int((st == k).sum()) for k in range(5)]
    width64 = [line for line in lines if line.split()[:1] == ["64"]][0].split()
    assert int(width64[1]) == st[4].size and width64[-1] == "0.0%"


def not_shallowsweep(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "netcdf"
    return p


@pytest.mark.parametrize("module, args, message", [
    ("phase", ["{text}", "--x", "width", "--y", "n"], "not a shallowsweep file (not HDF5)"),
    ("phase", ["{other}", "--x", "width", "--y", "n"], "not a shallowsweep file (format is 'netcdf'"),
    ("summary", ["{missing}"], "no such file"),
    ("phase", ["{full}", "--x", "depth", "--y", "n"], "unknown axis 'depth' for --x"),
    ("phase", ["{full}", "--x", "width", "--y", "n", "--at", "lr=2"], "empty slice: axis 'lr' has no value 2"),
    ("phase", ["{full}", "--x", "width", "--y", "n", "--at", "bogus=2"], "unknown axis 'bogus' in --at"),
    ("phase", ["{full}", "--x", "width", "--y", "n", "--at", "lr"], "--at 'lr': expected key=value"),
    ("phase", ["{full}", "--x", "width", "--y", "n", "--metric", "speed"], "unknown metric 'speed'"),
    ("phase", ["{full}", "--x", "width", "--y", "n"], "axis 'lr' has 2 values"),
    ("phase", ["{full}", "--x", "width", "--y", "n", "--facet", "lr", "--theory", "ntk"], "unknown theory 'ntk'"),
    ("phase", ["{no_ntk}", "--x", "width", "--y", "n", "--metric", "ntk_min"], "ntk_eigs: true"),
    ("phase", ["{full}", "--x", "width"], "the following arguments are required: --y"),
    ("traj", ["{all_pending}", "--by", "width", "--at", "lr=0.5,n=8"], "empty slice: no cell in it has finished"),
    ("traj", ["{full}", "--by", "width", "--at", "lr=0.5"], "axis 'n' has 4 values"),
    ("traj", ["{full}", "--by", "width", "--at", "lr=0.5,n=8", "--series", "accuracy"], "unknown series 'accuracy'"),
])
def test_errors_exit_2_with_one_line(files, tmp_path, module, args, message):
    paths = dict(files, text=tmp_path / "notes.h5", other=not_shallowsweep(tmp_path),
                 missing=tmp_path / "missing.h5")
    paths["text"].write_text("not hdf5\n")
    args = [a.format(**paths) for a in args]
    out = tmp_path / "x.png"
    r = cli(module, *args, *(["-o", out] if module != "summary" else []))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"analysis.{module}: error: ") and message in lines[0], lines[0]
    assert not out.exists()


# The figure scripts of docs/experiments/ start with analysis._cli.figure_script and end in run():
# a wrong command line or a missing or foreign file is one line and exit 2, and no OUTDIR is made.
FIGURE_SCRIPTS = sorted(p.name for p in (SOURCE_DIR / "docs" / "experiments").glob("*.py"))


def test_figure_script_returns_the_file_and_makes_outdir(files, tmp_path):
    from analysis._cli import figure_script
    path, outdir, ds = figure_script([str(files["full"]), str(tmp_path / "out")], "")
    assert path == str(files["full"]) and os.path.isdir(outdir)
    assert ds["status"].shape == tuple(ds.sizes[a] for a in ds.attrs["axes"])


@pytest.mark.parametrize("script", FIGURE_SCRIPTS)
def test_figure_scripts_bad_input_exit_2_on_one_line(script, files, tmp_path):
    exe = SOURCE_DIR / "docs" / "experiments" / script
    env = dict(os.environ, MPLBACKEND="Agg")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    for args, cause in (([], f"usage: /usr/bin/python3 docs/experiments/{script} FILE.h5 OUTDIR"),
                        ([tmp_path / "missing.h5", tmp_path / "out"], "missing.h5: no such file"),
                        ([foreign, tmp_path / "out"], "not a shallowsweep file")):
        p = subprocess.run([PY, str(exe), *map(str, args)], capture_output=True, text=True, env=env, timeout=120)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        assert p.stderr.startswith(f"{script}: error: ") and cause in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()
