"""Trajectories: a recorded series against step, log-log, one line per value of an axis, or
one line per cell named with --cell.

    python3 -m analysis.traj FILE --by width [--at k=v ...] [--series loss] -o OUT.png
    python3 -m analysis.traj FILE --cell width=64,n=32,seed=0 [--cell ...] [--series loss] -o OUT.png

Each line is the median over the seeds (finished cells only: a refined sweep's skipped seeds
are left out, and a line whose seeds were all skipped says so); the band is the spread across
seeds (interquartile range with 4 or more seeds, min-max otherwise). A cell that stopped
early (converged or diverged) has NaN after its last step, so the median is drawn only
where at least half of the finished seeds are still running (no survivor bias); the band
covers every seed still running. With one seed there is no median: the title names the seed.
With --cell each line is exactly one cell's recorded series (every axis named, or fixed by
--at, or of one value). Step 0 cannot sit on a log axis and is left out. Lines take distinct
qualitative colours and markers (_style).
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from . import _style
from ._cli import Parser, parse_at, run
from .load import PENDING, SEED_AXIS, STEP_DIM, AnalysisError, done_mask, load, skipped_mask, status_names
from .select import axis_label, check_axis, index_of, require_resolved, slice_at, slice_title

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


def check_series(ds, series: str) -> None:
    if series not in SERIES_LABELS and series not in ds:
        raise AnalysisError(f"unknown series '{series}' (choose from: {', '.join(SERIES_LABELS)})")
    if series not in ds or STEP_DIM not in ds[series].dims:
        raise AnalysisError(f"series '{series}' is not in this file's /traj")


def traj_data(ds, by: str, series: str = "loss", at=None):
    """(median, lo, hi, n_running) over seeds as DataArrays with dims (by, step), step > 0."""
    check_series(ds, series)
    ds = slice_at(ds, at or {}, keep=[by])
    check_axis(ds, by, "--by")
    if by == SEED_AXIS:
        raise AnalysisError("--by seed: seeds are summarised by the median and band; choose another axis")
    require_resolved(ds, [by], "traj")
    ds = ds.isel({a: 0 for a in ds.attrs["axes"] if a in ds.dims and a not in (by, SEED_AXIS)})
    done = done_mask(ds)
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
    done, pend = done_mask(sub), sub["status"] == PENDING
    done = done.sum(SEED_AXIS) if SEED_AXIS in done.dims else done.astype(int)
    pend = pend.sum(SEED_AXIS) if SEED_AXIS in pend.dims else pend.astype(int)
    seeds = sub.sizes.get(SEED_AXIS, 1)
    fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=dpi, layout="constrained")
    steps = med[STEP_DIM].values.astype(float)
    nb = med.sizes[by]
    colors = _style.palette(nb)
    for i in range(nb):
        color = colors[i]
        label = f"{by} = {axis_label(med, by, med[by].values[i])}"
        nd, npend = int(done.isel({by: i})), int(pend.isel({by: i}))
        if nd == 0:
            label += " (pending)" if npend else " (skipped by the refinement)"
        elif npend:
            label += f" ({nd}/{nd + npend} seeds done)"
        m, l, h = (a.isel({by: i}).values.astype(float) for a in (med, lo, hi))
        ok = np.isfinite(l) & np.isfinite(h)
        ax.fill_between(steps, np.where(ok, l, np.nan), np.where(ok, h, np.nan), color=color, alpha=0.2, lw=0)
        ax.plot(steps, m, color=color, lw=1.8, marker=_style.marker(i), ms=4, markevery=_every(steps), label=label)
    _axes(ax, series, np.concatenate([a.values.ravel() for a in (med, lo, hi)]))
    band = "interquartile range" if q == (0.25, 0.75) else "min-max"
    where = slice_title(sub, skip=[by])
    name = sub.attrs.get("sweep", {}).get("name", "")
    if seeds == 1:  # no median, no band: one seed
        sub_title = f"seed {axis_label(sub, SEED_AXIS, sub[SEED_AXIS].values.ravel()[0])}" if SEED_AXIS in sub.coords \
            else "one seed"
    else:
        sub_title = f"median over {seeds} seeds, band: {band}"
    ax.set_title(f"{name}: {series} by {by}" + (f" at {where}" if where else "") + f"\n{sub_title}", fontsize=10)
    ax.legend(fontsize=8, loc="best", ncol=1 if nb <= 8 else 2)
    return fig


def _every(steps):
    """Markers on about 12 points of a line, so that dense records stay lines."""
    return max(1, len(steps) // 12)


def _axes(ax, series: str, shown) -> None:
    """Log step axis; log values when any shown value is positive; labels and grid."""
    ax.set_xscale("log")
    shown = np.asarray(shown, dtype=float)
    if np.any(np.isfinite(shown) & (shown > 0)):
        ax.set_yscale("log")
    ax.set_xlabel("step (log scale; step 0 not shown)")
    ax.set_ylabel(SERIES_LABELS.get(series, series))
    ax.grid(True, which="major", alpha=0.3)


def cell_index(ds, cell: dict, text: str) -> dict:
    """{axis: index} of the one cell that `cell` ({axis: value text}) names; every axis must be
    named unless it has one value. `text` is the --cell argument, for messages."""
    axes = ds.attrs["axes"]
    for key in cell:
        if key not in axes:
            raise AnalysisError(f"--cell {text}: unknown axis '{key}' (axes of this sweep: {', '.join(axes)})")
    missing = [a for a in axes if a not in cell and ds.sizes[a] > 1]
    if missing:
        a = missing[0]
        values = ", ".join(axis_label(ds, a, v) for v in ds[a].values)
        raise AnalysisError(f"--cell {text}: axis '{a}' not given (its values: {values}); name every axis "
                            f"with more than one value")
    return {a: index_of(ds, a, cell[a]) if a in cell else 0 for a in axes}


def cells_data(ds, cells: list, series: str = "loss", at=None) -> list:
    """[(label, status name, recorded steps > 0, values)] of each cell ({axis: value text}),
    its axes completed from `at`."""
    check_series(ds, series)
    for key in at or {}:
        if key not in ds.attrs["axes"]:
            raise AnalysisError(f"unknown axis '{key}' in --at (axes of this sweep: {', '.join(ds.attrs['axes'])})")
    names = status_names(ds)
    out = []
    for cell in cells:
        text = ",".join(f"{k}={v}" for k, v in cell.items())
        one = ds.isel(cell_index(ds, {**(at or {}), **cell}, text))
        status = int(one["status"].values)
        if bool(skipped_mask(one)):
            raise AnalysisError(f"--cell {text}: this cell was skipped by the refinement (never computed)")
        if status == PENDING:
            raise AnalysisError(f"--cell {text}: this cell has not finished yet (pending)")
        label = ", ".join(f"{a}={axis_label(one, a, one[a].values.item())}" for a in ds.attrs["axes"])
        keep = one[STEP_DIM].values > 0
        out.append((label, names.get(status, str(status)), one[STEP_DIM].values[keep].astype(float),
                    one[series].values[keep].astype(float)))
    return out


def plot_cells(ds, cells: list, series: str = "loss", at=None, dpi: int = DPI):
    """One line per named cell: its recorded series against step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = cells_data(ds, cells, series, at)
    fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=dpi, layout="constrained")
    colors = _style.palette(len(data))
    for i, (label, status, steps, values) in enumerate(data):
        ax.plot(steps, values, color=colors[i], lw=1.8, marker=_style.marker(i), ms=4, markevery=_every(steps),
                label=f"{label}: {status}")
    _axes(ax, series, np.concatenate([d[3] for d in data]))
    name = ds.attrs.get("sweep", {}).get("name", "")
    what = data[0][0] if len(data) == 1 else f"{len(data)} cells"
    ax.set_title(f"{name}: {series} of {what}".lstrip(": ") + "\none cell per line, no median over seeds", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return fig


def traj(source, by=None, series: str = "loss", at=None, out=None, dpi: int = DPI, cells=None):
    """Load (path or Dataset), draw, save to `out` if given; returns the Figure.

    by: one line per value of this axis (median over seeds); or cells: a list of {axis: value
    text}, one line per cell (each completed from `at`).
    """
    ds = load(source) if not hasattr(source, "data_vars") else source
    if cells:
        fig = plot_cells(ds, cells, series, at, dpi=dpi)
    else:
        fig = plot_traj(ds, by, series, at, dpi=dpi)
    if out:
        fig.savefig(out, dpi=dpi)
    return fig


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.traj",
               description="Trajectories of a shallowsweep file: one line per value of an axis (median over "
                           "seeds, with a band), or one line per cell named with --cell.")
    p.add_argument("file", help="the sweep's HDF5 file (shallowsweep run -o)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--by", help="one line per value of this axis, the median over seeds")
    mode.add_argument("--cell", action="append", metavar="AXIS=VALUE,...",
                      help="one line for exactly this cell, e.g. width=64,n=32,seed=0 (repeatable)")
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="fix another axis at one value (repeatable, or comma-separated)")
    p.add_argument("--series", default="loss", help=f"one of {', '.join(SERIES_LABELS)} (default loss)")
    p.add_argument("--dpi", type=int, default=DPI)
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    a = p.parse_args(argv)
    if a.series not in SERIES_LABELS:
        raise AnalysisError(f"unknown series '{a.series}' (choose from: {', '.join(SERIES_LABELS)})")
    cells = [parse_at([c], "--cell") for c in a.cell or []]
    traj(a.file, a.by, a.series, parse_at(a.at), out=a.output, dpi=a.dpi, cells=cells)
    print(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run(f"{__package__}.traj", main))
