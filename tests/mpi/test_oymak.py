"""The finding of docs/experiments/oymak-soltanolkotabi.md, quick (issue 16): with the first layer
trained alone, GD fits n random labels once width·dim reaches about n (the parameter count),
not n² as the theorem's sufficient condition reads; the stalled cells below the boundary are
plateaus, none unstable. Runs tests/mpi/oymak_quick.yaml (dim 10, n 20..160) on 2 workers."""
import os
import sys

import numpy as np

from test_quickstart import SOURCE, run_without_unstable_cells

sys.path.insert(0, SOURCE)

# Margins around what the full sweep measured (docs/experiments/oymak-soltanolkotabi.md):
# p near 1; the theorem's scaling would give 2.
P_RANGE = (0.6, 1.45)
# width*·dim / n at each crossing: the counting bound is 1.
RATIO_RANGE = (0.5, 4.0)
DIM = 10  # tests/mpi/oymak_quick.yaml's data.dim


def test_boundary_is_linear_not_quadratic(tmp_path):
    from analysis import load
    from analysis.boundary import boundary
    out = tmp_path / "oymak.h5"
    js = run_without_unstable_cells(os.path.join(SOURCE, "tests", "mpi", "oymak_quick.yaml"), out)
    assert js["diagnosis"]["plateau"] > js["diagnosis"]["slow"], js["diagnosis"]
    ds = load(str(out))
    for act in ("softplus", "relu"):
        _, res = boundary(ds, "width", "n", at={"activation": act}, B=200)
        p = res["exponent"]
        ratios = [pt["x"] * DIM / pt["y"] for pt in res["points"]]
        print(act, "p =", p, res["exponent_ci"], "width*·dim/n =", np.round(ratios, 2))
        assert len(res["points"]) >= 3, res["no_crossing"]
        assert P_RANGE[0] <= p <= P_RANGE[1], (act, p, res["exponent_ci"])
        assert all(RATIO_RANGE[0] <= q <= RATIO_RANGE[1] for q in ratios), (act, ratios)
