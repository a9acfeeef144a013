"""The file test_store writes, read as the analysis reads it (DESIGN.md §4): h5py for the
layout, fill values and checksums, xarray (h5netcdf) for named dims and coordinates.

test_store is run once without mpirun and once with 2 ranks (collective creation, cells
written by both); the two files must hold the same data but for the rank of each cell."""
import os
import shutil
import subprocess
import zlib

import h5py
import numpy as np
import pytest
import xarray as xr

BUILD = os.environ.get("SSW_BUILD_DIR", "build")
EXE = os.path.join(BUILD, "tests", "store", "test_store")
K = 5
# /cell's scalars in the order store.h documents (the checksum's order): format 2
SCALARS = ["init_loss", "final_loss", "iters", "iters_to_tol", "wall_s", "gflops", "rank",
           "ntk_min", "ntk_max", "loss_rises", "max_rise", "edge_ratio_init", "edge_ratio_final",
           "final_grad_norm", "final_inner_dist", "final_outer_dist", "final_pattern_change",
           "final_test_loss", "loss_ratio", "diagnosis", "message", "checksum", "status"]
SERIES = ["loss", "grad_norm", "inner_dist", "outer_dist", "pattern_change"]
MPI_ENV = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def run_store(path, ranks):
    cmd = [EXE, str(path)]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), "--oversubscribe"] + cmd
    out = subprocess.run(cmd, env=MPI_ENV, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    return {1: run_store(d / "one.h5", 1), 2: run_store(d / "two.h5", 2)}


def expected_status(c):
    return 0 if c % 7 == 3 or c == 0 else 4 if c == 5 else 1 + c % 3  # cell 0 reset by the test


def test_root_attributes(files):
    with h5py.File(files[2], "r", locking=False) as f:
        assert f.attrs["format"] == "shallowsweep/2"
        assert list(f.attrs["axes"]) == ["width", "activation", "lr", "seed"]
        assert list(f.attrs["series"]) == SERIES
        assert f.attrs["record_points"] == K
        for key in ["sweep_yaml", "sweep_canonical", "created", "software_version", "name"]:
            assert isinstance(f.attrs[key], str) and f.attrs[key]
        assert sorted(f["cell"].keys()) == sorted(SCALARS + ["width", "activation", "lr", "seed"])
        assert sorted(f["traj"].keys()) == sorted(SERIES + ["width", "activation", "lr", "seed", "step"])


def test_types_and_fill_values(files):
    with h5py.File(files[1], "r", locking=False) as f:
        c = f["cell"]
        assert c["status"].dtype == np.int8 and c["checksum"].dtype == np.uint32
        assert c["rank"].dtype == np.int32 and c["iters"].dtype == np.int64
        assert c["message"].dtype == np.dtype("S256")
        assert c["activation"].dtype.kind == "S" and c["width"].dtype == np.int64
        assert c["lr"].dtype == np.float64
        status = c["status"][()].ravel()
        pending = status == 0
        never = np.arange(36) % 7 == 3
        assert np.all(pending[never]) and np.all(np.isnan(c["final_loss"][()].ravel()[never]))
        assert np.all(c["iters_to_tol"][()].ravel()[pending & (np.arange(36) % 7 == 3)] == -1)
        assert np.all(c["rank"][()].ravel()[np.arange(36) % 7 == 3] == -1)
        assert np.all(np.isnan(f["traj/loss"][()].reshape(36, K)[np.arange(36) % 7 == 3]))
        assert list(f["traj/step"][()]) == [0, 1, 10, 100, 1000]


def test_xarray_named_dims_and_coordinates(files):
    for group, dims in [("cell", ("width", "activation", "lr", "seed")),
                        ("traj", ("width", "activation", "lr", "seed", "step"))]:
        ds = xr.open_dataset(files[2], engine="h5netcdf", group=group)
        var = ds["status" if group == "cell" else "loss"]
        assert var.dims == dims
        assert list(ds["activation"].values) == ["relu", "tanh", "erf"]  # str, not bytes
        assert list(ds["width"].values) == [16, 32]
        assert list(ds["lr"].values) == [0.1, 0.5]
        assert list(ds["seed"].values) == [0, 1, 2]
        ds.close()
    ds = xr.open_dataset(files[2], engine="h5netcdf", group="cell")
    assert ds.status.dtype == np.int8  # no fill-value masking turns it into floats
    assert ds.status.sel(width=16, activation="relu", lr=0.5, seed=2).item() == expected_status(5)
    assert ds.message.sel(width=16, activation="relu", lr=0.5, seed=2).item() == \
        "cell 5: key 'lr': diverged at birth"
    ds.close()
    tr = xr.open_dataset(files[2], engine="h5netcdf", group="traj")
    loss = tr.loss.sel(width=16, activation="relu", lr=0.1, seed=1).values  # cell 1: stops at 3
    assert np.allclose(loss[:3], [1.0, 1.001, 1.002]) and np.all(np.isnan(loss[3:]))
    tr.close()


def test_statuses_and_values(files):
    for ranks, path in files.items():
        with h5py.File(path, "r", locking=False) as f:
            status = f["cell/status"][()].ravel()
            assert list(status) == [expected_status(c) for c in range(36)]
            loss = f["traj/loss"][()].reshape(36, K)
            for c in np.flatnonzero(status):
                stop = 3 if c % 4 == 1 else K
                assert np.array_equal(loss[c, :stop], c + 0.001 * np.arange(stop))
            rank = f["cell/rank"][()].ravel()
            assert set(rank[status != 0]) == set(range(ranks))


def checksum(f, c):
    """CRC-32 of a cell as store.h documents it: series, scalars but checksum, status last."""
    shape = f["cell/status"].shape
    idx = np.unravel_index(c, shape)
    crc = 0
    for name in f.attrs["series"]:
        crc = zlib.crc32(f["traj/" + name][idx].astype("<f8").tobytes(), crc)
    for name in SCALARS:
        if name == "checksum":
            continue
        v = f["cell/" + name][idx]
        crc = zlib.crc32(np.asarray(v).tobytes() if name != "message" else v.ljust(256, b"\0"), crc)
    return crc


def test_checksums_recomputed_in_python(files):
    with h5py.File(files[2], "r", locking=False) as f:
        status = f["cell/status"][()].ravel()
        stored = f["cell/checksum"][()].ravel()
        for c in np.flatnonzero(status):
            assert checksum(f, c) == stored[c], f"cell {c}"


def test_one_and_two_ranks_agree(files):
    with h5py.File(files[1], "r", locking=False) as a, h5py.File(files[2], "r", locking=False) as b:
        for name in SERIES:
            assert np.array_equal(a["traj/" + name][()], b["traj/" + name][()], equal_nan=True)
        for name in SCALARS:
            if name in ("rank", "checksum"):
                continue
            x, y = a["cell/" + name][()], b["cell/" + name][()]
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def test_refuses_existing_file(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"not hdf5")
    out = subprocess.run([EXE, str(path)], env=MPI_ENV, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert path.read_bytes() == b"not hdf5"
    assert not [p for p in os.listdir(tmp_path) if "creating" in p]
