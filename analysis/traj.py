"""Trajectories: a recorded series against step, log-log, one line per value of an axis.

    python3 -m analysis.traj FILE --by width [--at k=v ...] [--series loss] -o OUT.png

Each line is the median over the seeds (finished cells only); the band is the spread across
seeds (interquartile range with 4 or more seeds, min-max otherwise). A cell that stopped
early (converged or diverged) has NaN after its last step, so the median is drawn only
where at least half of the finished seeds are still running (no survivor bias); the band
covers every seed still running. Step 0 cannot sit on a log axis and is left out.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from ._cli import Parser, parse_at, run
from .load import PENDING, SEED_AXIS, STEP_DIM, AnalysisError, load
from .select import axis_label, check_axis, require_resolved, slice_at, slice_title

SERIES_LABELS = {
    "loss": "training loss L = (1/2n) Σ (f(x_i) - y_i)²",
    "grad_norm": "gradient norm ‖∇L‖ (trained parameters)",
    "inner_dist": "‖W_t - W_0‖_F / ‖W_0‖_F",
    "outer_dist": "‖a_t - a_0‖ / ‖a_0‖",
    "pattern_change": "fraction of activation patterns changed since step 0",
    "test_loss": "test loss (fresh samples)",
}
FIGSIZE_IN = (7.0, 4.8)
DPI = 100


def traj_data(ds, by: str, series: str = "loss", at=None):
    """(median, lo, hi, n_running) over seeds as DataArrays with dims (by, step), step > 0."""
    if series not in SERIES_LABELS and series not in ds:
        raise AnalysisError(f"unknown series '{series}' (choose from: {', '.join(SERIES_LABELS)})")
    if series not in ds or STEP_DIM not in ds[series].dims:
        raise AnalysisError(f"series '{series}' is not in this file's /traj")
    ds = slice_at(ds, at or {}, keep=[by])
    check_axis(ds, by, "--by")
    if by == SEED_AXIS:
        raise AnalysisError("--by seed: seeds are summarised by the median and band; choose another axis")
    require_resolved(ds, [by], "traj")
    ds = ds.isel({a: 0 for a in ds.attrs["axes"] if a in ds.dims and a not in (by, SEED_AXIS)})
    done = ds["status"] != PENDING
    if not bool(done.any()):
        raise AnalysisError("empty slice: no cell in it has finished yet (all pending)")
    v = ds[series].where(done).sel({STEP_DIM: ds[STEP_DIM] > 0})
    seed = [SEED_AXIS] if SEED_AXIS in v.dims else []
    n_done = done.sum(seed) if seed else done.astype(int)
    running = np.isfinite(v).sum(seed) if seed else np.isfinite(v).astype(int)
    med = v.median(seed, skipna=True) if seed else v
    med = med.where(running * 2 >= n_done)
    q = (0.25, 0.75) if ds.sizes.get(SEED_AXIS, 1) >= 4 else (0.0, 1.0)
    lo = v.quantile(q[0], dim=seed, skipna=True).drop_vars("quantile") if seed else v
    hi = v.quantile(q[1], dim=seed, skipna=True).drop_vars("quantile") if seed else v
    order = [by, STEP_DIM]
    return (med.transpose(*order), lo.transpose(*order), hi.transpose(*order),
            running.transpose(*order), q, ds)


def plot_traj(ds, by: str, series: str = "loss", at=None, dpi: int = DPI):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():  # all-NaN steps (every seed stopped) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        med, lo, hi, _, q, sub = traj_data(ds, by, series, at)
    done = (sub["status"] != PENDING)
    done = done.sum(SEED_AXIS) if SEED_AXIS in done.dims else done.astype(int)
    seeds = sub.sizes.get(SEED_AXIS, 1)
    fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=dpi, layout="constrained")
    steps = med[STEP_DIM].values.astype(float)
    cmap = plt.get_cmap("viridis")
    nb = med.sizes[by]
    for i in range(nb):
        color = cmap(0.9 * i / max(nb - 1, 1))
        label = f"{by} = {axis_label(med, by, med[by].values[i])}"
        nd = int(done.isel({by: i}))
        if nd < seeds:
            label += " (pending)" if nd == 0 else f" ({nd}/{seeds} seeds done)"
        m, l, h = (a.isel({by: i}).values.astype(float) for a in (med, lo, hi))
        ok = np.isfinite(l) & np.isfinite(h)
        ax.fill_between(steps, np.where(ok, l, np.nan), np.where(ok, h, np.nan), color=color, alpha=0.2, lw=0)
        ax.plot(steps, m, color=color, lw=1.8, label=label)
    ax.set_xscale("log")
    positive = np.concatenate([a.values.ravel() for a in (med, lo, hi)])
    positive = positive[np.isfinite(positive) & (positive > 0)]
    if positive.size:
        ax.set_yscale("log")
    ax.set_xlabel("step (log scale; step 0 not shown)")
    ax.set_ylabel(SERIES_LABELS.get(series, series))
    band = "interquartile range" if q == (0.25, 0.75) else "min-max"
    where = slice_title(sub, skip=[by])
    name = sub.attrs.get("sweep", {}).get("name", "")
    ax.set_title(f"{name}: {series} by {by}" + (f" at {where}" if where else "")
                 + f"\nmedian over {seeds} seed{'s' * (seeds != 1)}, band: {band}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best", ncol=1 if nb <= 8 else 2)
    return fig


def traj(source, by: str, series: str = "loss", at=None, out=None, dpi: int = DPI):
    """Load (path or Dataset), draw, save to `out` if given; returns the Figure."""
    ds = load(source) if not hasattr(source, "data_vars") else source
    fig = plot_traj(ds, by, series, at, dpi=dpi)
    if out:
        fig.savefig(out, dpi=dpi)
    return fig


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.traj",
               description="Trajectories of a shallowsweep file, one line per value of an axis.")
    p.add_argument("file")
    p.add_argument("--by", required=True, help="one line per value of this axis")
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="fix another axis at one value (repeatable, or comma-separated)")
    p.add_argument("--series", default="loss", help=f"one of {', '.join(SERIES_LABELS)} (default loss)")
    p.add_argument("--dpi", type=int, default=DPI)
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    a = p.parse_args(argv)
    if a.series not in SERIES_LABELS:
        raise AnalysisError(f"unknown series '{a.series}' (choose from: {', '.join(SERIES_LABELS)})")
    traj(a.file, a.by, a.series, parse_at(a.at), out=a.output, dpi=a.dpi)
    print(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run("analysis.traj", main))
