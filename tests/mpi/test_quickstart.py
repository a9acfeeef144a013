"""The quickstart shows the truth (issue 11): run as the README runs it, no cell of
sweeps/quickstart.yaml is diagnosed unstable, every stalled cell has a diagnosis, and the
boundary it draws is monotone (a wider network never converges fewer seeds at the same n)."""
import json
import os
import subprocess

import numpy as np

BUILD = os.environ.get("SSW_BUILD_DIR", "build")
SOURCE = os.environ.get("SSW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXE = os.path.join(BUILD, "src", "cli", "shallowsweep")
ENV = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")


def run_without_unstable_cells(sweep, out):
    """Run sweep into out on 2 workers as the README does; every cell done, none unstable.
    Returns `status --json`."""
    r = subprocess.run(["mpirun", "-n", "3", "--oversubscribe", EXE, "run", sweep, "-o", str(out), "--quiet"],
                       env=ENV, capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr
    js = json.loads(subprocess.run([EXE, "status", str(out), "--json"], env=ENV, capture_output=True, text=True,
                                   check=True).stdout)
    assert js["done"] == js["ncells"]
    assert js["diagnosis"]["unstable"] == 0, js["diagnosis"]
    return js


def test_quickstart_has_no_unstable_cell(tmp_path):
    out = tmp_path / "quickstart.h5"
    js = run_without_unstable_cells(os.path.join(SOURCE, "sweeps", "quickstart.yaml"), out)
    assert sum(js["diagnosis"].values()) == js["counts"]["max_iters"]
    import h5py
    with h5py.File(out, "r") as f:
        assert np.all(f["cell/edge_ratio_final"][()] < 0.95)
        converged = (f["cell/status"][()] == 1).sum(-1)  # (width, n)
    assert np.all(np.diff(converged, axis=0) >= 0), converged
