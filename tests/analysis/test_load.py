"""load(): the layout contract (DESIGN.md §4) and the Dataset it gives."""
import subprocess
import sys

import h5py
import numpy as np
import pytest
import xarray as xr

from analysis.load import AnalysisError, _is_geometric, load, sweep_value
from fixtures import standard_grid


@pytest.mark.parametrize("group", ["cell", "traj"])
def test_xarray_h5netcdf_sees_named_dims_with_coordinates(files, group):
    grid = standard_grid()
    with xr.open_dataset(files["partial"], engine="h5netcdf", group=group) as ds:
        var = ds["status"] if group == "cell" else ds["loss"]
        expect = list(grid) + (["step"] if group == "traj" else [])
        assert list(var.dims) == expect
        for a, values in grid.items():
            np.testing.assert_array_equal(ds[a].values, values)
        if group == "traj":
            assert ds["step"].values[0] == 0 and ds.sizes["step"] == 8


def test_load_dims_coords_and_variables(files):
    ds = load(files["full"])
    grid = standard_grid()
    assert ds.attrs["axes"] == list(grid)
    assert dict(ds["status"].sizes) == {a: len(v) for a, v in grid.items()}
    assert ds["loss"].dims == tuple(grid) + ("step",)
    for a, values in grid.items():
        np.testing.assert_array_equal(ds[a].values, values)
    for name in ("status", "init_loss", "final_loss", "iters", "iters_to_tol", "wall_s", "gflops",
                 "rank", "ntk_min", "ntk_max", "message", "checksum", "loss", "grad_norm",
                 "inner_dist", "outer_dist", "pattern_change", "test_loss"):
        assert name in ds, name
    with h5py.File(files["full"], "r") as f:
        np.testing.assert_array_equal(ds["status"].values, f["cell/status"][()])
        np.testing.assert_array_equal(ds["loss"].values, f["traj/loss"][()])
    assert ds["message"].values.ravel()[7] == "dsyevd failed: info=3"


def test_sweep_parsed_into_attrs(files):
    ds = load(files["full"])
    assert ds.attrs["format"] == "shallowsweep/1"
    assert ds.attrs["sweep"]["data"]["dim"] == 4
    assert ds.attrs["sweep"]["train"]["max_iters"] == 1000
    assert ds.attrs["sweep"]["name"] == "fixture"
    assert ds.attrs["sweep"]["grid"] == {"width": [4, 8, 16, 32, 64], "n": [8, 16, 32, 64],
                                         "lr": [0.5, 8.0], "seeds": 3}
    assert "lr" not in ds.attrs["sweep"]["train"]    # an axis is listed under grid only
    assert sweep_value(ds.attrs["sweep"], "dim") == 4
    assert sweep_value(ds.attrs["sweep"], "output_scale") == "1/sqrt(width)"


def test_enum_axis_stored_as_indices_gets_its_labels(files):
    ds = load(files["enum_index"])
    assert list(ds["activation"].values) == ["relu", "tanh"]
    assert ds["activation"].attrs["scale"] == "category"
    assert float(ds["status"].sel(activation="tanh", width=8, seed=0)) > 0


def test_axis_scales(files):
    ds = load(files["full"])
    assert [ds[a].attrs["scale"] for a in ds.attrs["axes"]] == ["log", "log", "log", "category"]
    mixed = load(files["mixed"])
    assert [mixed[a].attrs["scale"] for a in mixed.attrs["axes"]] == ["log", "linear", "category", "category"]
    assert list(mixed["activation"].values) == ["relu", "tanh"]


@pytest.mark.parametrize("values, geometric", [
    ([16, 32, 64, 128], True), ([16, 23, 32, 45, 64, 91, 128], True), ([1, 2, 3, 4], False),
    ([0.01, 0.1, 1, 10], True), ([0, 1, 2], False), ([1, 2], False), ([1, 8], True),
    ([-4, -2, -1], False), ([100, 200, 300, 400], False)])
def test_geometric_detection(values, geometric):
    assert _is_geometric(np.array(values)) is geometric


def test_pending_cells_are_nan_even_if_partly_written(files, tmp_path):
    """A worker writes trajectories before status: a pending cell must not look finished."""
    path = tmp_path / "half.h5"
    path.write_bytes(files["partial"].read_bytes())
    with h5py.File(path, "r+") as f:
        f["traj/loss"][4, 0, 0, 0, :] = 0.5       # trajectory written, status still 0
        f["cell/final_loss"][4, 0, 0, 0] = 0.5
    ds = load(path)
    assert ds["status"].values[4, 0, 0, 0] == 0
    assert np.isnan(ds["loss"].values[4, 0, 0, 0]).all()
    assert np.isnan(ds["final_loss"].values[4, 0, 0, 0])
    assert np.isfinite(ds["final_loss"].values[0, 0, 0, 0])


WRITER = r"""
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:        # default locking: holds the file lock
    f["cell/final_loss"][4, 1, 0, 0] = 0.25
    f["cell/status"][4, 1, 0, 0] = 1          # status last, as the engine does
    f.flush()
    print("ready", flush=True)
    sys.stdin.readline()
"""


def test_load_while_a_writer_holds_the_file(files, tmp_path):
    path = tmp_path / "running.h5"
    path.write_bytes(files["partial"].read_bytes())
    w = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        ds = load(path)
        assert ds["status"].values[4, 1, 0, 0] == 1
        assert ds["final_loss"].values[4, 1, 0, 0] == 0.25
        assert ds["status"].values[4, 2, 0, 0] == 0
    finally:
        w.communicate("\n", timeout=30)
    assert w.returncode == 0


def test_not_a_shallowsweep_file(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("hello\n")
    with pytest.raises(AnalysisError, match="not a shallowsweep file .not HDF5"):
        load(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["format"] = "netcdf"
    with pytest.raises(AnalysisError, match="format is 'netcdf', expected one of shallowsweep/2, shallowsweep/1"):
        load(other)
    bare = tmp_path / "bare.h5"
    h5py.File(bare, "w").close()
    with pytest.raises(AnalysisError, match="no 'format' attribute"):
        load(bare)
    with pytest.raises(AnalysisError, match="no such file"):
        load(tmp_path / "missing.h5")
