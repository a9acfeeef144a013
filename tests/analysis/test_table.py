"""The per-cell table: `summary --csv` read back equals the file's values read with h5py (axes
exactly, by their labels), cell_table and xarray's to_dataframe have one row per cell."""
import csv
import io
import itertools
import math
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import fixtures
from analysis import load
from analysis.summary import cell_table
from conftest import SOURCE_DIR

AXES = ["width", "lr", "activation", "seed"]


@pytest.fixture(scope="module")
def exact(tmp_path_factory):
    """An axis value that only its shortest exact text reads back as (0.1 + 0.2), a text axis,
    and pending cells."""
    p = tmp_path_factory.mktemp("table") / "exact.h5"
    grid = {"width": [8, 16, 32], "lr": [0.1, 0.1 + 0.2], "activation": ["relu", "tanh"], "seed": [0, 1]}
    pending = np.zeros((3, 2, 2, 2), bool)
    pending[2, 1] = True
    fixtures.make_file(p, grid, pending=pending, failed=(3,))
    return p


def summary(*args):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    return subprocess.run([sys.executable, "-m", "analysis.summary", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=120)


def flag_names(d, before=None):
    """{code: name} of an enum dataset (flag_values, flag_meanings), else `before`."""
    if "flag_meanings" not in d.attrs:
        return before
    meanings = d.attrs["flag_meanings"]
    meanings = meanings.decode() if isinstance(meanings, bytes) else meanings
    return dict(zip((int(c) for c in d.attrs["flag_values"]), meanings.split()))


def h5_cells(path):
    """{axis: values}, {scalar: flat values}, {enum scalar: {code: name}}, from h5py alone."""
    with h5py.File(path, "r") as f:
        axes = [a.decode() if isinstance(a, bytes) else a for a in f.attrs["axes"]]
        values = {a: f["cell"][a][()] for a in axes}
        values = {a: [x.decode() if isinstance(x, bytes) else x for x in v] for a, v in values.items()}
        scalars = {k: d[()].ravel() for k, d in f["cell"].items() if k not in axes}
        # format 1 files carry no names: those of 0.1
        enums = {"status": flag_names(f["cell/status"], dict(enumerate(
            ["pending", "converged", "max_iters", "diverged", "failed"])))}
        if "diagnosis" in f["cell"]:
            enums["diagnosis"] = flag_names(f["cell/diagnosis"])
    return axes, values, scalars, enums


def check_rows(rows, path):
    axes, values, scalars, enums = h5_cells(path)
    cells = list(itertools.product(*(values[a] for a in axes)))
    assert len(rows) == len(cells)
    for i, (row, coords) in enumerate(zip(rows, cells)):
        for a, v in zip(axes, coords):
            assert (row[a] == v) if isinstance(v, str) else (float(row[a]) == v), (i, a, row[a], v)
        for k, col in scalars.items():
            if k in enums:
                assert row[k] == enums[k][int(col[i])], (i, k, row[k], col[i])
                continue
            want, got = col[i], row[k]
            if k == "message":
                assert got == want.decode().rstrip("\0"), (i, got, want)
            elif np.issubdtype(col.dtype, np.floating):
                assert (got == "" and math.isnan(want)) or float(got) == want, (i, k, got, want)
            else:
                assert int(got) == want, (i, k, got, want)


@pytest.mark.parametrize("name", ["exact", "partial"])
def test_csv_reads_back_as_the_file(exact, files, tmp_path, name):
    path = exact if name == "exact" else files["partial"]
    out = tmp_path / "cells.csv"
    r = summary(path, "--csv", out)
    assert r.returncode == 0, r.stderr
    assert "cells:" in r.stdout  # the summary as well
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    axes, _, scalars, _ = h5_cells(path)
    assert list(rows[0])[: len(axes) + 1] == axes + ["status"]
    assert set(rows[0]) == set(axes) | set(scalars)
    check_rows(rows, path)


def test_csv_to_stdout(exact):
    r = summary(exact, "--csv", "-")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    check_rows(rows, exact)
    assert rows[-1]["lr"] == "0.30000000000000004" and rows[-1]["status"] == "pending"


def test_csv_unwritable_exits_2(exact, tmp_path):
    r = summary(exact, "--csv", tmp_path / "no" / "dir" / "x.csv")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--csv" in r.stderr, r.stderr


def test_cell_table_and_to_dataframe_shapes(exact):
    ds = load(exact)
    ncells = 3 * 2 * 2 * 2
    table = cell_table(ds)
    _, _, scalars, _ = h5_cells(exact)
    assert table.shape == (ncells, len(AXES) + len(scalars))
    assert list(table.columns[:5]) == AXES + ["status"] and list(table.columns[-3:]) == ["rank", "checksum", "message"]
    assert (table["status"] == "pending").sum() == 4
    # xarray's own export, as the README shows it
    cells = ds.drop_dims("step").to_dataframe()
    assert cells.shape == (ncells, len(scalars)) and list(cells.index.names) == AXES
    assert sorted(cells.columns) == sorted(scalars)
    np.testing.assert_array_equal(cells["status"].values, ds["status"].values.ravel())
    traj = ds[["loss", "inner_dist"]].to_dataframe()
    assert traj.shape == (ncells * ds.sizes["step"], 2) and list(traj.index.names) == AXES + ["step"]
