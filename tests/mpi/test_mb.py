"""The finding of docs/experiments/marion-berthier-two-timescale.md, quick (issue 16): in the d = 1
position model with the authors' target and noise, the smallest rate ratio does not fit best.
Seed by seed (same data, same initial positions) positions at 1e-4 of the outer rate end with a
higher test loss than at 1e-2; and the same-rate cells (both steps 5e-5, the position step the
stability check allows) are still far behind at 36000 steps: they need about 1M (a budget limit,
not their end state). Runs tests/mpi/mb_quick.yaml (width 20, seeds 0-5) on 2 workers; no cell
may be unstable or rise (smooth_step)."""
import os
import sys

import h5py
import numpy as np

from test_quickstart import SOURCE, run_without_unstable_cells

sys.path.insert(0, SOURCE)

# Margins around the full sweep's values at step 35622, width 20, seeds 0-5 (2026-12-06):
# ratio 1e-4: 0.195 0.427 0.340 0.497 0.675 0.237; 1e-2: 0.171 0.358 0.235 0.332 0.018 0.016
# (lower in 6 of 6 seeds, medians 0.38 / 0.20); ratio 1: 1.31 .. 1.56.
LOWER_IN_AT_LEAST = 5          # of 6 seeds, ratio 1e-2 below ratio 1e-4
MEDIAN_FACTOR = 1.3            # median at 1e-4 over median at 1e-2 (measured 1.9)
SAME_RATE_AT_LEAST = 1.0       # every ratio-1 seed's test loss at 36000 steps


def test_smallest_ratio_is_not_best(tmp_path):
    out = tmp_path / "mb.h5"
    run_without_unstable_cells(os.path.join(SOURCE, "tests", "mpi", "mb_quick.yaml"), out)
    with h5py.File(out, "r") as f:
        ratio = f["cell/rate_ratio"][()]                       # (rate_ratio,)
        test = f["cell/final_test_loss"][()][0, :, 0]          # (activation, rate_ratio, width, seed) -> (rate_ratio, seed)
        rises = f["cell/loss_rises"][()]
    tiny, mid, same = (int(np.argmin(abs(np.log10(ratio) - e))) for e in (-4, -2, 0))
    print("test_loss by seed:", dict(zip(ratio.tolist(), test.round(3).tolist())))
    assert (rises == 0).all(), rises
    lower = int((test[mid] < test[tiny]).sum())
    assert lower >= LOWER_IN_AT_LEAST, (lower, test[tiny], test[mid])
    factor = np.median(test[tiny]) / np.median(test[mid])
    assert factor >= MEDIAN_FACTOR, (factor, test[tiny], test[mid])
    assert (test[same] >= SAME_RATE_AT_LEAST).all(), test[same]
