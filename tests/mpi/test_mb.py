"""The finding of docs/experiments/marion-berthier-two-timescale.md, quick (issue 16): in the d = 1
position model with the authors' target, noise and online SGD, positions trained at 1e-4 of the
outer rate reach low error in every seed, and the same-rate cells stay well above it in most
seeds. Seed by seed (same initial positions, same sample stream) the small ratio ends lower.
Runs tests/mpi/mb_quick.yaml (width 20, seeds 0-5, 300000 steps) on 2 workers; no cell may be
unstable (the edge ratios; SGD's loss rises are noise, DESIGN.md §2)."""
import os
import sys

import h5py
import numpy as np

from test_quickstart import SOURCE, run_without_unstable_cells

sys.path.insert(0, SOURCE)

# Margins around the measured values (2026-12-06, tests/mpi/mb_quick.yaml, seeds 0-5):
# ratio 1e-4: 0.058 0.018 0.031 0.016 0.016 0.006; ratio 1: 0.47 0.215 0.209 0.321 0.072 0.296
# (median 0.017 against 0.256); the full sweep at 1M steps: 10/10 and 2/10 seeds <= 0.1.
LOW_ERROR = 0.1                # the doc's low-error threshold
SMALL_RATIO_ALL_BELOW = 0.1    # every ratio-1e-4 seed (measured at most 0.058)
LOWER_IN_AT_LEAST = 5          # of 6 seeds, ratio 1e-4 below ratio 1 (measured 6)
MEDIAN_FACTOR = 5.0            # median at ratio 1 over median at 1e-4 (measured 15)
SAME_RATE_LOW_AT_MOST = 2      # of 6 ratio-1 seeds at or below LOW_ERROR (measured 1)


def test_small_ratio_reaches_low_error(tmp_path):
    out = tmp_path / "mb.h5"
    run_without_unstable_cells(os.path.join(SOURCE, "tests", "mpi", "mb_quick.yaml"), out)
    with h5py.File(out, "r") as f:
        ratio = f["cell/rate_ratio"][()]                       # (rate_ratio,)
        test = f["cell/final_test_loss"][()][0, :, 0]          # (activation, rate_ratio, width, seed) -> (rate_ratio, seed)
    tiny, same = (int(np.argmin(abs(np.log10(ratio) - e))) for e in (-4, 0))
    print("test_loss by seed:", dict(zip(ratio.tolist(), test.round(3).tolist())))
    assert (test[tiny] <= SMALL_RATIO_ALL_BELOW).all(), test[tiny]
    lower = int((test[tiny] < test[same]).sum())
    assert lower >= LOWER_IN_AT_LEAST, (lower, test[tiny], test[same])
    factor = np.median(test[same]) / np.median(test[tiny])
    assert factor >= MEDIAN_FACTOR, (factor, test[tiny], test[same])
    assert int((test[same] <= LOW_ERROR).sum()) <= SAME_RATE_LOW_AT_MOST, test[same]
