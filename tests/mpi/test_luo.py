"""The finding of docs/experiments/luo-phase-diagram.md, quick (issue 16): the relative change of
the inner weights falls with width in the linear regime (gamma = 1/2, the NTK init), stays O(1)
on the critical line (gamma = 1, mean field) and grows in the condensed regime (gamma = 2); no
cell unstable. Runs tests/mpi/luo_quick.yaml (gamma' = 0, width 64..1024, 3 seeds) on 2 workers."""
import os
import sys

from test_quickstart import SOURCE, run_without_unstable_cells

sys.path.insert(0, SOURCE)

# Margins around what the full sweep measured (about -0.5, 0 and +0.5).
LINEAR_BELOW = -0.3
CONDENSED_ABOVE = 0.3
CRITICAL_WITHIN = 0.15


def test_inner_dist_slopes_give_the_three_regimes(tmp_path):
    from analysis import load
    from analysis.slope import slopes
    out = tmp_path / "luo.h5"
    run_without_unstable_cells(os.path.join(SOURCE, "tests", "mpi", "luo_quick.yaml"), out)
    res = slopes(load(str(out)), "width", "inner_dist", ["gamma", "gammap"], B=200)
    got = {q["gamma"]: q["slope"] for q in res["points"]}
    print("slope of log inner_dist vs log width by gamma:", got)
    assert got[0.5] < LINEAR_BELOW, got
    assert abs(got[1.0]) < CRITICAL_WITHIN, got
    assert got[2.0] > CONDENSED_ABOVE, got
