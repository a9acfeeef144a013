"""Line plots: a per-cell metric against one axis, one line per value of another (the hue).

    python3 -m analysis.line FILE --x width --y inner_dist [--hue init_scale] [--at n=64 ...]
                             [--logx] [--logy] [--slope 1 --slope 2] [--band auto] [--json] -o OUT.png

Each point is the median over the finished seeds of its cell; the band is their spread: the
interquartile range with 4 or more seeds, min-max with 2 or 3 (--band chooses; the title says
which). A point with some seeds pending is drawn hollow; one with none finished is left out.
A refined sweep's skipped seeds are neither finished nor pending: a point is over its computed
seeds, and one whose seeds were all skipped is left out (analysis.phase fills such points).
The metric is any per-cell scalar of the file (final_loss, iters_to_tol, ntk_min, wall_s,
edge_ratio_init, ...), a recorded series' last value (inner_dist, grad_norm, ...), or
converged, the fraction of finished seeds that converged (no band). iters_to_tol of a seed
that never reached tol counts as +inf and final_loss of a diverged seed as +inf, so a median
that is +inf is not drawn (null in --json).

--slope K draws the power law y = y0 (x / x0)^K dashed, through the anchor (x0, y0): the
geometric mean of the plotted x values and the geometric mean of the positive plotted
medians, the centre of the data on log-log axes. On log-log axes it is a straight line of
slope K, to compare against the lines' slopes, not their heights.
"""
from __future__ import annotations

import json
import sys
import textwrap
import warnings

import numpy as np

from . import _style
from ._cli import Parser, parse_at, run
from .load import CONVERGED, PENDING, SEED_AXIS, STEP_DIM, AnalysisError, done_mask, load
from .select import axes_of, axis_label, check_axis, tick_label, require_resolved, slice_at, slice_title

FIGSIZE_IN = (7.0, 4.8)
DPI = 100
TITLE_WRAP = 72   # characters per title line: long sweep names and slices wrap, not clip
LABEL_WRAP = 48   # characters per y-label line
BANDS = ("auto", "iqr", "minmax", "none")
# Per-cell scalars that are bookkeeping, not measurements of the training.
NOT_METRICS = ("status", "diagnosis", "message", "checksum", "rank")
SLOPE_DASHES = ((6, 3), (2, 2), (8, 3, 2, 3), (1, 1))


def metric_names(ds) -> list:
    """The metrics this file offers: converged, its numeric per-cell scalars, its series."""
    axes = ds.attrs["axes"]
    scalars = [v for v in ds.data_vars if STEP_DIM not in ds[v].dims and set(ds[v].dims) <= set(axes)
               and v not in NOT_METRICS and ds[v].dtype.kind in "iuf"]  # <=: axes sliced by --at are gone
    series = [v for v in ds.data_vars if STEP_DIM in ds[v].dims and v not in scalars]
    return ["converged"] + scalars + series


def per_seed(ds, metric: str):
    """The metric of every finished cell as floats (NaN for pending and skipped), dims as ds's grid."""
    from .phase import _last_finite, _per_seed

    if metric not in metric_names(ds):
        raise AnalysisError(f"unknown metric '{metric}' (this file has: {', '.join(metric_names(ds))})")
    done = done_mask(ds)
    if metric in ("iters_to_tol", "final_loss", "ntk_min"):
        return _per_seed(ds, metric)  # the phase diagram's reading: never / diverged is +inf
    v = ds[metric]
    if STEP_DIM in v.dims:
        v = v.reduce(_last_finite, dim=STEP_DIM)
    return v.astype(float).where(done)


def band_quantiles(band: str, seeds: int):
    """(lo, hi) quantiles of the band and its name; None for no band."""
    if band == "auto":
        band = "none" if seeds < 2 else ("iqr" if seeds >= 4 else "minmax")
    return {"iqr": ((0.25, 0.75), "interquartile range"), "minmax": ((0.0, 1.0), "min-max"),
            "none": (None, "")}[band]


def line_data(ds, x: str, y: str, hue=None, at=None, band: str = "auto"):
    """The numbers a line plot shows, as an xarray.Dataset with dims ([hue,] x):

    median      the metric's median over the finished seeds (converged: their fraction)
    lo, hi      the band's edges (NaN without a band)
    n_done      finished seeds;  n_pending  pending seeds (skipped ones are neither)
    attrs: x, y, hue, band (its name, '' for none), seeds, one_seed (the seed's label when there
    is one seed), slice (the fixed axes as text)
    """
    if band not in BANDS:
        raise AnalysisError(f"unknown band '{band}' (choose from: {', '.join(BANDS)})")
    if hue == x:
        raise AnalysisError(f"--x and --hue are both '{x}': choose two different axes")
    if y != "converged" and y not in metric_names(ds):
        raise AnalysisError(f"unknown metric '{y}' (this file has: {', '.join(metric_names(ds))})")
    used = [a for a in (x, hue) if a]
    ds = slice_at(ds, at or {}, keep=used)
    for role, a in (("--x", x), ("--hue", hue)):
        if a is None:
            continue
        check_axis(ds, a, role)
        if a == SEED_AXIS:
            raise AnalysisError(f"{role} seed: seeds are summarised by the median and band; choose another axis")
    require_resolved(ds, used, "line")
    ds = ds.isel({a: 0 for a in axes_of(ds) if a not in used and a != SEED_AXIS})
    seed = [SEED_AXIS] if SEED_AXIS in ds.dims else []
    seeds = ds.sizes.get(SEED_AXIS, 1)
    done = done_mask(ds)  # a refined sweep's skipped seeds are neither done nor pending
    n_done = done.sum(seed) if seed else done.astype(int)
    pend = ds["status"] == PENDING
    n_pending = pend.sum(seed) if seed else pend.astype(int)
    if y == "converged":
        conv = (ds["status"] == CONVERGED)
        med = (conv.sum(seed) if seed else conv.astype(int)) / n_done.where(n_done > 0)
        lo = hi = med * np.nan
        name = ""
    else:
        v = per_seed(ds, y)
        q, name = band_quantiles(band, seeds)
        med = v.median(seed, skipna=True) if seed else v
        if q is None or not seed:
            lo = hi = med * np.nan
            name = ""
        else:
            lo = v.quantile(q[0], dim=seed, skipna=True).drop_vars("quantile")
            hi = v.quantile(q[1], dim=seed, skipna=True).drop_vars("quantile")
    order = ([hue] if hue else []) + [x]
    out = ds.coords.to_dataset()[[]].assign(
        median=med.transpose(*order), lo=lo.transpose(*order), hi=hi.transpose(*order),
        n_done=n_done.transpose(*order), n_pending=n_pending.transpose(*order))
    out = out.drop_vars([c for c in out.coords if c not in order and c not in ds.attrs["axes"]])
    one_seed = axis_label(ds, SEED_AXIS, ds[SEED_AXIS].values.ravel()[0]) if seeds == 1 and SEED_AXIS in ds.coords else ""
    out.attrs = dict(ds.attrs, x=x, y=y, hue=hue or "", band=name, seeds=seeds, one_seed=one_seed,
                     slice=slice_title(ds, skip=used))
    return out


def x_positions(ld) -> tuple:
    """(positions, tick labels or None, is_category) of the x axis."""
    x = ld.attrs["x"]
    vals = ld[x].values
    if ld[x].attrs.get("scale") == "category" or vals.dtype.kind not in "iuf":
        return np.arange(len(vals), dtype=float), [axis_label(ld, x, v) for v in vals], True
    return vals.astype(float), None, False


def slope_anchor(ld, logx: bool) -> tuple:
    """(x0, y0): the centre of the plotted data (geometric means; x arithmetic on a linear axis)."""
    xs, _, _ = x_positions(ld)
    med = ld["median"].values.astype(float)
    pos = med[np.isfinite(med) & (med > 0)]
    if pos.size == 0:
        raise AnalysisError("--slope: no positive finite median to anchor a power law to")
    x0 = float(np.exp(np.mean(np.log(xs)))) if logx else float(np.mean(xs))
    return x0, float(np.exp(np.mean(np.log(pos))))


def _lines(ld):
    """[(hue label or None, DataArray over x)] for the hue values (one line without a hue)."""
    hue = ld.attrs["hue"]
    if not hue:
        return [(None, ld)]
    return [(axis_label(ld, hue, v), ld.isel({hue: i})) for i, v in enumerate(ld[hue].values)]


def plot_line(ld, logx=None, logy: bool = False, slopes=(), dpi: int = DPI):
    """Draw line_data's result. logx None: as the axis is spaced (log for geometric axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y, hue = ld.attrs["x"], ld.attrs["y"], ld.attrs["hue"]
    xs, ticks, category = x_positions(ld)
    if logx is None:
        logx = ld[x].attrs.get("scale") == "log"
    if logx and (category or np.any(xs <= 0)):
        raise AnalysisError(f"--logx: axis '{x}' has values that are not positive numbers")
    fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=dpi, layout="constrained")
    lines = _lines(ld)
    colors, partial_any = _style.palette(len(lines)), False
    for i, (label, one) in enumerate(lines):
        m, lo, hi = (one[k].values.astype(float) for k in ("median", "lo", "hi"))
        m = np.where(np.isfinite(m), m, np.nan)
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            ax.fill_between(xs, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), color=colors[i], alpha=0.18, lw=0)
        ax.plot(xs, m, color=colors[i], lw=1.8, marker=_style.marker(i), ms=5, label=label and f"{hue} = {label}",
                gid=f"median:{label}")
        partial = (one["n_done"].values > 0) & (one["n_pending"].values > 0) & np.isfinite(m)
        if partial.any():
            partial_any = True
            ax.plot(xs[partial], m[partial], ls="none", marker=_style.marker(i), ms=5, mfc="white",
                    mec=colors[i], zorder=3)
    for j, k in enumerate(slopes):
        x0, y0 = slope_anchor(ld, logx)
        gx = np.geomspace(xs.min(), xs.max(), 50) if logx else np.linspace(xs.min(), xs.max(), 50)
        ax.plot(gx, y0 * (gx / x0) ** k, color="0.25", lw=1.2, dashes=SLOPE_DASHES[j % len(SLOPE_DASHES)],
                label=f"slope {k:g}: $\\propto$ {x}$^{{{k:g}}}$", gid=f"slope:{k:g}")
    if partial_any:
        ax.plot([], [], ls="none", marker="o", mfc="white", mec="0.3", label="some seeds pending")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    if ticks is not None:
        ax.set_xticks(xs, ticks)
    elif logx:
        from matplotlib.ticker import FixedLocator, NullLocator
        stride = max(1, -(-len(xs) // 7))  # at most 7 ticks: refined axes have many values
        ax.xaxis.set_major_locator(FixedLocator(xs[::stride]))
        ax.set_xticklabels([tick_label(ld, x, v) for v in ld[x].values[::stride]])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(x + (" (log scale)" if logx else ""))
    ax.set_ylabel(textwrap.fill(_y_label(y) + (" (log scale)" if logy else ""), LABEL_WRAP))
    ax.set_title(_title(ld), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if hue or slopes or partial_any:
        # beside the axes, where it hides no line
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  ncol=1 if len(lines) <= 16 else 2)
    return fig


def _y_label(y: str) -> str:
    from .phase import METRICS
    from .traj import SERIES_LABELS

    if y == "converged":
        return "fraction of finished seeds converged"
    if y in METRICS:
        return f"{y} [{METRICS[y].units}]"
    if y in SERIES_LABELS:
        return f"{y} at the last record [{SERIES_LABELS[y]}]"
    return y


def _title(ld) -> str:
    x, y, hue, seeds = ld.attrs["x"], ld.attrs["y"], ld.attrs["hue"], ld.attrs["seeds"]
    name = ld.attrs.get("sweep", {}).get("name", "")
    where = ld.attrs["slice"]
    head = f"{name}: {y} against {x}" + (f", by {hue}" if hue else "") + (f" at {where}" if where else "")
    if seeds == 1:
        sub = f"seed {ld.attrs['one_seed']}" if ld.attrs["one_seed"] else "one seed"
    elif y == "converged":
        sub = f"fraction of {seeds} seeds"
    else:
        sub = f"median over {_seed_count(ld, seeds)} seeds" + (f", band: {ld.attrs['band']}" if ld.attrs["band"] else "")
    return f"{textwrap.fill(head.lstrip(': '), TITLE_WRAP)}\n{sub}"


def _seed_count(ld, seeds: int) -> str:
    """How many seeds the medians are over: the axis' count, or the range of finished seeds per
    point where that varies (an adaptive sweep runs more seeds only where they are uncertain)."""
    done = ld["n_done"].values
    done = done[done > 0]
    lo, hi = (int(done.min()), int(done.max())) if done.size else (seeds, seeds)
    return f"{lo}" if lo == hi == seeds else f"{lo}–{hi} finished" if lo < hi else f"{lo} finished"


def _num(v):
    v = float(v)
    return v if np.isfinite(v) else None


def line_json(ld, slopes=(), logx=False) -> dict:
    """The plotted numbers for scripts: per line its x labels and values, medians and band."""
    x = ld.attrs["x"]
    xs, _, _ = x_positions(ld)
    out = {"file": ld.attrs.get("path", ""), "x": x, "y": ld.attrs["y"], "hue": ld.attrs["hue"] or None,
           "slice": ld.attrs["slice"], "seeds": int(ld.attrs["seeds"]), "band": ld.attrs["band"] or None,
           "lines": []}
    for label, one in _lines(ld):
        out["lines"].append({
            "hue": label, "x": [axis_label(ld, x, v) for v in ld[x].values], "x_value": [_num(v) for v in xs],
            "median": [_num(v) for v in one["median"].values], "lo": [_num(v) for v in one["lo"].values],
            "hi": [_num(v) for v in one["hi"].values], "n_done": [int(v) for v in one["n_done"].values]})
    out["slopes"] = []
    for k in slopes:
        x0, y0 = slope_anchor(ld, logx)
        out["slopes"].append({"slope": k, "anchor": [x0, y0]})
    return out


def line(source, x: str, y: str, hue=None, at=None, band="auto", logx=None, logy=False, slopes=(),
         out=None, dpi: int = DPI):
    """Load (a path or a Dataset), reduce, draw; save to `out` if given. Returns (fig, data)."""
    ds = load(source) if not hasattr(source, "data_vars") else source
    with warnings.catch_warnings():  # medians of all-pending points are NaN by design
        warnings.simplefilter("ignore", RuntimeWarning)
        ld = line_data(ds, x, y, hue=hue, at=at, band=band)
    fig = plot_line(ld, logx=logx, logy=logy, slopes=slopes, dpi=dpi)
    if out:
        fig.savefig(out, dpi=dpi)
    return fig, ld


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.line",
               description="A metric of a shallowsweep file against one axis, one line per value of another: "
                           "the median over seeds with a band.",
               epilog="Metrics: converged, any numeric scalar of /cell, or a series' last value; "
                      "`shallowsweep keys --outputs` defines them.")
    p.add_argument("file", help="the sweep's HDF5 file (shallowsweep run -o)")
    p.add_argument("--x", required=True, help="axis on the horizontal (e.g. width)")
    p.add_argument("--y", required=True, metavar="METRIC", help="what to plot (e.g. inner_dist, final_loss)")
    p.add_argument("--hue", help="one line per value of this axis (e.g. init_scale)")
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="fix another axis at one value (repeatable, or comma-separated)")
    p.add_argument("--band", default="auto", choices=BANDS,
                   help="spread over seeds: iqr, minmax, none; auto (default): iqr with 4+ seeds, else minmax")
    p.add_argument("--logx", action="store_true", default=None,
                   help="log x axis (default: log when the axis is geometric, as width usually is)")
    p.add_argument("--logy", action="store_true", help="log y axis")
    p.add_argument("--slope", action="append", type=float, default=[], metavar="K",
                   help="reference power law y ∝ x^K through the data's centre (repeatable)")
    p.add_argument("--json", action="store_true", help="print the plotted numbers as JSON on stdout")
    p.add_argument("--dpi", type=int, default=DPI)
    p.add_argument("-o", "--output", help="PNG to write (required unless --json)")
    a = p.parse_args(argv)
    if not a.output and not a.json:
        p.error("give -o OUT.png, --json, or both")
    fig, ld = line(a.file, a.x, a.y, hue=a.hue, at=parse_at(a.at), band=a.band, logx=a.logx, logy=a.logy,
                   slopes=a.slope, out=a.output, dpi=a.dpi)
    if a.json:
        logx = a.logx if a.logx is not None else ld[a.x].attrs.get("scale") == "log"
        print(json.dumps(line_json(ld, a.slope, logx), indent=1))
    elif a.output:
        print(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run(f"{__package__}.line", main))
