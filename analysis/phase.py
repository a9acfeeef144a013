"""Phase diagrams: a per-cell metric, reduced over seeds, on any two axes of a sweep.

    python3 -m analysis.phase FILE --x width --y n [--metric converged] [--at k=v ...]
                                   [--facet k] [--theory NAME[:fit] ...] [--equal-aspect] -o OUT.png

Every axis but x, y, seed and the facet must be fixed with --at (or have one value). Cells
whose seeds are all pending are drawn grey; cells with some seeds pending are computed over
their finished seeds and dotted. The 50% converged boundary is drawn on every metric.
On a refined sweep (analysis.refine) skipped seeds are left out of every reduction; a cell whose
seeds were all skipped shows the converged fraction of the coarser square that decided it (the
fill rule), lighter and dotted ("filled from a coarser level"); the 50% contour runs through
computed and filled cells alike. Other metrics leave skipped cells blank (cross-hatched grey).
With --at seed=K nothing is filled.
--equal-aspect gives a factor of 10 the same length on both (log) axes, so that a boundary
width ∝ n^k has its true slope k on the page (45 degrees for k = 1).
"""
from __future__ import annotations

import math
import sys
import textwrap
import warnings
from dataclasses import dataclass

import numpy as np

from . import theory as theory_mod
from .phase_theory import draw_theory, positions, theory_condition
from ._cli import Parser, parse_at, run
from .load import MAX_ITERS, PENDING, SEED_AXIS, AnalysisError, done_mask, load, status_code
from .refine import fraction_map, refine_of
from .select import axis_label, check_axis, tick_label, index_of, require_resolved, slice_at, slice_title

PENDING_GREY = "#c8c8c8"   # light grey: no seed of the cell has finished
FILLED_ALPHA = 0.5         # a filled cell's colour, lighter than a computed cell's
FILLED_HATCH = "...."      # and dotted: its value is inferred, not measured
SKIPPED_HATCH = "xxxx"     # a skipped cell with nothing to show (metrics the fill rule cannot give)
MARK_GREY = "#808080"
PANEL_IN = (4.0, 3.25)     # one panel's size in inches
MARGIN_IN = (1.5, 2.0)     # colour bar + labels (w), title + legend (h), inches
LEGEND_ROW_IN = 0.1875     # one legend line (8 pt text); 4 lines are part of MARGIN_IN[1]
DPI = 100
LEGEND_WRAP = 64           # characters of a legend line (8 pt), one panel wide


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    units: str
    over_label: str = ""   # what a median of +inf means (drawn in the colour bar's 'over')
    log: str = "auto"      # "never" | "auto" | "always": colour scale


METRICS = {m.name: m for m in [
    Metric("converged", "fraction of seeds converged", "finished seeds with L ≤ tol", log="never"),
    Metric("iters_to_tol", "median steps to reach tol", "steps", over_label="never reached tol"),
    Metric("final_loss", "median final loss", "L = (1/2n) Σ (f(x_i) - y_i)²",
           over_label="diverged (not finite)", log="always"),
    Metric("inner_dist", "median inner distance at the end", "‖W_T - W_0‖_F / ‖W_0‖_F"),
    Metric("ntk_min", "median smallest NTK eigenvalue at init", "λ_min(J Jᵀ / n)"),
    Metric("verdict", "verdict of most seeds", "why a cell did or did not converge", log="never"),
    Metric("edge_ratio_init", "median edge ratio at init", "η λ_max / 2: above 1 unstable"),
]}



def metric_info(name: str) -> Metric:
    """How a metric is labelled: the table above, or any other per-cell scalar or series of the
    file (test_loss, pattern_change, outer_dist, ...), drawn as its median over seeds."""
    return METRICS.get(name) or Metric(name, f"median {name} at the end", "per cell; last recorded value")


# The verdict metric's categories, in code order; a cell shows its seeds' most common one,
# ties going to the later (more suspicious) category.
VERDICTS = ["converged", "slow", "plateau", "unstable", "diverged", "failed"]
VERDICT_COLORS = ["#fde725", "#35b779", "#31688e", "#ff7f0e", "#7a0019", "#000000"]
UNSTABLE_HATCH = "////"


def _verdict_per_seed(ds):
    """Each finished cell's verdict code (VERDICTS), NaN for pending."""
    if "diagnosis" not in ds:
        raise AnalysisError("metric verdict: this file has no diagnosis (format 1, shallowsweep 0.1): rerun the "
                            "sweep with this version")
    names = {code: name for code, name in ds.attrs["status_names"].items()}
    st, dg = ds["status"], ds["diagnosis"]
    code = np.full(st.shape, np.nan)
    for st_code, name in names.items():
        if name in VERDICTS:
            code = np.where(st.values == st_code, VERDICTS.index(name), code)
    for d, name in dg.attrs["names"].items():  # the file's names: unstable, slow, plateau
        if name in VERDICTS:
            code = np.where((st.values == MAX_ITERS) & (dg.values == d), VERDICTS.index(name), code)
    return st.copy(data=code)


def _mode(a: np.ndarray, axis: int) -> np.ndarray:
    """The most common category along axis (NaN ignored; ties to the larger code)."""
    a = np.moveaxis(a, axis, -1)
    counts = np.stack([(a == c).sum(-1) for c in range(len(VERDICTS))], -1)  # (..., categories)
    best = len(VERDICTS) - 1 - np.argmax(counts[..., ::-1], -1)
    return np.where(counts.sum(-1) > 0, best.astype(float), np.nan)


def _last_finite(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """Along `axis`, the last finite value (NaN where there is none). a (..., K)."""
    a = np.moveaxis(a, axis, -1)
    ok = np.isfinite(a)
    last = a.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    v = np.take_along_axis(a, last[..., None], axis=-1)[..., 0]
    return np.where(ok.any(axis=-1), v, np.nan)


def _per_seed(ds, metric: str):
    """The metric of every finished cell (NaN for pending and skipped), dims as ds's grid."""
    done = done_mask(ds)
    if metric == "iters_to_tol":
        itt = ds["iters_to_tol"].astype(float)
        return itt.where(itt >= 0, np.inf).where(done)
    if metric == "final_loss":
        v = ds["final_loss"]
        return v.where(np.isfinite(v) | v.isnull(), np.inf).where(done)
    if metric == "inner_dist":
        if "inner_dist" not in ds:
            raise AnalysisError("metric inner_dist: the file has no /traj/inner_dist")
        last = ds["inner_dist"].reduce(_last_finite, dim="step")
        return last.where(done)
    if metric == "edge_ratio_init":
        if "edge_ratio_init" not in ds:
            raise AnalysisError("metric edge_ratio_init: this file has none (format 1, shallowsweep 0.1)")
        return ds["edge_ratio_init"].where(done)
    if metric == "ntk_min":
        v = ds["ntk_min"].where(done)
        if bool(done.any()) and not bool(np.isfinite(v).any()):
            raise AnalysisError("metric ntk_min: not computed in this file (run the sweep with ntk_eigs: true)")
        return v
    raise AnalysisError(f"unknown metric '{metric}' (choose from: {', '.join(METRICS)})")


def phase_data(ds, x: str, y: str, metric: str = "converged", at=None, facet=None):
    """The numbers a phase diagram shows, as an xarray.Dataset with dims ([facet,] y, x):

    value       the metric reduced over seeds (fraction converged, or the median over the
                finished seeds); NaN where no seed has finished; +inf for 'never'/'diverged'
    converged   fraction of finished seeds with status converged (the 50% contour); filled
                at skipped cells of a refined sweep
    unstable    finished seeds diagnosed unstable: failures there are a step-size artifact
    n_done      finished seeds per cell;  n_seeds  seeds per cell;  n_pending  pending seeds
    filled      the cell's seeds were all skipped and value/converged come from the fill rule
    spacing     the fill rule's deciding square at filled cells (2 .. 2^L fine cells), else 0
    skipped     every seed of the cell was skipped (refined sweeps)
    """
    from .line import metric_names, per_seed  # line reads its scalars through _per_seed above

    if metric not in METRICS and metric not in metric_names(ds):
        raise AnalysisError(f"unknown metric '{metric}' (choose from: {', '.join(METRICS)}, or any of "
                            f"this file's: {', '.join(metric_names(ds))})")
    if x == y:
        raise AnalysisError(f"--x and --y are both '{x}': choose two different axes")
    full = ds
    ds = slice_at(ds, at or {}, keep=[a for a in (x, y, facet) if a])
    used = [x, y] + ([facet] if facet else [])
    for role, a in (("--x", x), ("--y", y), ("--facet", facet)):
        if a is None:
            continue
        check_axis(ds, a, role)
        if a == SEED_AXIS:
            raise AnalysisError(f"{role} seed: seeds are reduced over (fraction or median); "
                                f"choose another axis, or --at seed=K for one seed")
    if facet in (x, y):
        raise AnalysisError(f"--facet {facet} is also plotted as --x or --y")
    require_resolved(ds, used, "phase")
    squeeze = {a: 0 for a in ds.attrs["axes"] if a in ds.dims and a not in used and a != SEED_AXIS}
    ds = ds.isel(squeeze)
    status = ds["status"]
    done = done_mask(ds)
    seed_dims = [SEED_AXIS] if SEED_AXIS in status.dims else []
    n_done = done.sum(seed_dims) if seed_dims else done.astype(int)
    pend = status == PENDING
    n_pending = pend.sum(seed_dims) if seed_dims else pend.astype(int)
    conv = _converged_map(full, at or {}, squeeze)
    frac = conv["fraction"]
    unstable = status * 0
    if "diagnosis" in ds:
        code = {name: c for c, name in ds["diagnosis"].attrs["names"].items()}["unstable"]
        unstable = (status == MAX_ITERS) & (ds["diagnosis"] == code)
    n_unstable = unstable.sum(seed_dims) if seed_dims else unstable.astype(int)
    if metric == "converged":
        value = frac
    elif metric == "verdict":
        per = _verdict_per_seed(ds)
        value = per.reduce(_mode, dim=seed_dims[0]) if seed_dims else per
    else:
        per = _per_seed(ds, metric) if metric in METRICS else per_seed(ds, metric)
        value = per.median(seed_dims, skipna=True) if seed_dims else per
    order = ([facet] if facet else []) + [y, x]
    out = ds.coords.to_dataset()[[]].assign(
        value=value.transpose(*order), converged=frac.transpose(*order),
        n_done=n_done.transpose(*order), unstable=n_unstable.transpose(*order),
        n_seeds=xr_full_like(n_done, status.sizes.get(SEED_AXIS, 1)).transpose(*order),
        n_pending=n_pending.transpose(*order), skipped=conv["skipped"].transpose(*order),
        filled=(conv["filled"] & (metric == "converged")).transpose(*order),
        spacing=(conv["spacing"] if metric == "converged" else conv["spacing"] * 0).transpose(*order))
    out = out.drop_vars([c for c in out.coords if c not in order and c not in ds.attrs["axes"]])
    out.attrs = dict(ds.attrs, metric=metric, x=x, y=y, facet=facet or "",
                     slice=slice_title(ds, skip=used))
    return out


def _converged_map(full, at: dict, squeeze: dict):
    """fraction_map of status converged over the finished seeds of the whole file (the fill
    rule needs both refined axes whole), then sliced as phase_data slices: `at`, then `squeeze`.
    A slice of the seed axis is taken first and turns the fill off (one seed has no fraction
    to fill from)."""
    seed_at = {k: v for k, v in at.items() if k == SEED_AXIS}
    src = slice_at(full, seed_at) if seed_at else full
    if seed_at and refine_of(src) is not None:
        src = src.copy()
        src.attrs = {k: v for k, v in src.attrs.items() if k != "refine"}
    conv = fraction_map(src, src["status"] == status_code(src, "converged"), done_mask(src))
    rest = {a: index_of(full, a, text) for a, text in at.items() if a != SEED_AXIS}
    return conv.isel(rest).isel({a: i for a, i in squeeze.items() if a in conv.dims})


def xr_full_like(da, value):
    import xarray as xr

    return xr.full_like(da, value, dtype=int)


# ---- drawing ------------------------------------------------------------------------------

def figure_size(nrows: int, ncols: int, legend_entries: int = 4) -> tuple:
    """Figure size in inches for a grid of panels (the PNG is this times DPI, exactly).

    The legend sits in a row below the panels, two entries per line when there are two or
    more columns; lines beyond 4 make the figure taller.
    """
    lines = math.ceil(legend_entries / (2 if ncols > 1 else 1))
    extra = max(0, lines - 4) * LEGEND_ROW_IN
    return (ncols * PANEL_IN[0] + MARGIN_IN[0], nrows * PANEL_IN[1] + MARGIN_IN[1] + extra)


def _legend_height(ncols: int, legend_entries: int) -> float:
    return max(4, math.ceil(legend_entries / (2 if ncols > 1 else 1))) * LEGEND_ROW_IN


def _grid_shape(npanels: int) -> tuple:
    ncols = math.ceil(math.sqrt(npanels))
    return math.ceil(npanels / ncols), ncols


def _set_axis(ax, which: str, coord, name: str) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    centres, edges, scale = positions(coord)
    axis = ax.xaxis if which == "x" else ax.yaxis
    if scale == "log":
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    (ax.set_xlim if which == "x" else ax.set_ylim)(edges[0], edges[-1])
    labels = [tick_label(coord, name, v) for v in coord.values]
    stride = max(1, math.ceil(len(labels) / (8 if which == "y" else 6)))
    idx = list(range(0, len(labels), stride))
    axis.set_major_locator(FixedLocator([centres[i] for i in idx]))
    axis.set_ticklabels([labels[i] for i in idx])
    axis.set_minor_locator(NullLocator())
    units = {"log": " (log scale)", "linear": "", "category": ""}[scale]
    (ax.set_xlabel if which == "x" else ax.set_ylabel)(name + units)


def _norm(metric: Metric, values: np.ndarray):
    from matplotlib.colors import LogNorm, Normalize

    if metric.name == "converged":
        return Normalize(0.0, 1.0)
    if metric.name == "verdict":
        from matplotlib.colors import BoundaryNorm
        return BoundaryNorm(np.arange(len(VERDICTS) + 1) - 0.5, len(VERDICTS))
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    positive = finite[finite > 0]
    if metric.log == "always" and positive.size or (
            metric.log == "auto" and lo > 0 and hi / lo > 20):
        lo = float(positive.min())
        return LogNorm(lo, hi if hi > lo else lo * 10)
    return Normalize(lo, hi if hi > lo else lo + 1.0)


def _draw_panel(ax, panel, pd, metric, cmap, norm):
    import matplotlib.patheffects as pe

    x, y = pd.attrs["x"], pd.attrs["y"]
    cx, ex, _ = positions(panel[x])
    cy, ey, _ = positions(panel[y])
    n_done, n_pending = panel["n_done"].values, panel["n_pending"].values
    filled, skipped = panel["filled"].values, panel["skipped"].values
    pending = (n_done == 0) & ~skipped
    ax.pcolormesh(ex, ey, np.ma.masked_array(np.ones(pending.shape), ~pending),
                  cmap=_single(PENDING_GREY), vmin=0, vmax=1)
    value = panel["value"].values.astype(float)
    shown = np.where(np.isposinf(value), np.nan, value)
    ax.pcolormesh(ex, ey, np.ma.masked_invalid(np.where(filled, np.nan, shown)), cmap=cmap, norm=norm)
    if filled.any():  # inferred from a coarser square: lighter and dotted
        ax.pcolormesh(ex, ey, np.ma.masked_invalid(np.where(filled, shown, np.nan)), cmap=cmap, norm=norm,
                      alpha=FILLED_ALPHA)
    _hatch(ax, ex, ey, filled, FILLED_HATCH, MARK_GREY)
    _hatch(ax, ex, ey, skipped & ~filled, SKIPPED_HATCH, MARK_GREY)
    over = np.isposinf(value) & ~pending
    if over.any():
        ax.pcolormesh(ex, ey, np.ma.masked_array(np.ones(over.shape), ~over),
                      cmap=_single(cmap.get_over()), vmin=0, vmax=1)
    if metric.name != "verdict":  # the verdict map shows instability as its own colour
        _hatch(ax, ex, ey, panel["unstable"].values > 0, UNSTABLE_HATCH, "#ff7f0e")
    partial = (n_done > 0) & (n_pending > 0)
    if partial.any():
        jy, jx = np.nonzero(partial)
        ax.plot(cx[jx], cy[jy], ls="none", marker="o", ms=3, mfc="white", mec="black", mew=0.6)
    frac = np.ma.masked_invalid(panel["converged"].values.astype(float))
    contour = bool(min(frac.shape) >= 2 and frac.count() >= 4 and frac.min() < 0.5 < frac.max())
    if contour:
        cs = ax.contour(cx, cy, frac, levels=[0.5], colors="white", linewidths=1.8)
        for c in cs.collections:
            c.set_path_effects([pe.Stroke(linewidth=3.4, foreground="black"), pe.Normal()])
    _set_axis(ax, "x", panel[x], x)
    _set_axis(ax, "y", panel[y], y)
    return contour


def _hatch(ax, ex, ey, mask, hatch: str, color) -> None:
    """Hatch the cells of a (y, x) mask."""
    from matplotlib.patches import Rectangle

    for jy, jx in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((ex[jx], ey[jy]), ex[jx + 1] - ex[jx], ey[jy + 1] - ey[jy], fill=False,
                               hatch=hatch, edgecolor=color, lw=0))


def _single(color):
    from matplotlib.colors import ListedColormap

    return ListedColormap([color])


def check_equal_aspect(pd) -> None:
    """Equal aspect compares decades: both plotted axes must be on log scales."""
    for a in (pd.attrs["x"], pd.attrs["y"]):
        if positions(pd[a])[2] != "log":
            raise AnalysisError(f"--equal-aspect: axis '{a}' is not on a log scale (it is "
                                f"{positions(pd[a])[2]}); equal aspect is for log-log phase diagrams")


def plot_phase(pd, theory=(), dpi: int = DPI, equal_aspect: bool = False):
    """Draw phase_data's result; theory: names, each optionally 'NAME:fit'. Returns the Figure.

    equal_aspect: one decade as long on x as on y (both axes must be log-scaled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    metric = metric_info(pd.attrs["metric"])
    if equal_aspect:
        check_equal_aspect(pd)
    facet = pd.attrs["facet"] or None
    panels = [pd.isel({facet: i}) for i in range(pd.sizes[facet])] if facet else [pd]
    nrows, ncols = _grid_shape(len(panels))
    # at most: pending, partly pending, over, contour, theories, and the unstable, filled and
    # blank skipped cells if any
    entries = 4 + len(theory) + int(bool((pd["unstable"] > 0).any())) + int(bool(pd["filled"].any())) \
        + int(bool((pd["skipped"] & ~pd["filled"]).any()))
    fig = plt.figure(figsize=figure_size(nrows, ncols, entries), dpi=dpi, layout="constrained")
    # A last row across all columns holds the legend, so constrained layout makes room for it.
    gs = fig.add_gridspec(nrows + 1, ncols,
                          height_ratios=[PANEL_IN[1]] * nrows + [_legend_height(ncols, entries)])
    axs = np.array([[fig.add_subplot(gs[r, c]) for c in range(ncols)] for r in range(nrows)])
    cmap = plt.get_cmap("viridis").with_extremes(over="#7a0019")
    if metric.name == "verdict":
        from matplotlib.colors import ListedColormap
        cmap = ListedColormap(VERDICT_COLORS)
    norm = _norm(metric, pd["value"].values.astype(float))
    conds = [theory_condition(t, pd) for t in theory]
    colors = ["#ff3b30", "#ff9500", "#ff2d9b", "#00c7ff", "#ffffff"]
    theory_labels, contour = {}, False
    for ax, panel in zip(axs.flat, panels):
        contour |= _draw_panel(ax, panel, pd, metric, cmap, norm)
        if equal_aspect:  # in the axes' transformed (log) coordinates: decades equal
            ax.set_aspect("equal", adjustable="box")
        for j, cond in enumerate(conds):
            theory_labels[j] = draw_theory(ax, pd, panel, cond, colors[j % len(colors)])
        if facet:
            ax.set_title(f"{facet} = {axis_label(panel, facet, panel[facet].values.item())}", fontsize=10)
    for ax in list(axs.flat)[len(panels):]:
        ax.set_visible(False)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    over = bool(np.isposinf(pd["value"].values.astype(float)).any())
    cb = fig.colorbar(sm, ax=axs, shrink=0.9, extend="max" if over else "neither")
    cb.set_label(f"{metric.label}\n[{metric.units}]")
    if metric.name == "verdict":
        cb.set_ticks(range(len(VERDICTS)), labels=VERDICTS)
    seeds = int(pd["n_seeds"].max())
    title = f"{pd.attrs.get('sweep', {}).get('name', '')}: {metric.label}".lstrip(": ")
    adaptive = pd.attrs.get("adaptive_seeds")
    count = (f"{adaptive[0]}–{adaptive[1]} seeds (adaptive)" if adaptive and seeds == adaptive[1]
             else f"{seeds} seed{'s' * (seeds != 1)}")
    spec = pd.attrs.get("refine")
    if spec is not None:
        count += f", refined on {spec.axes[0]}×{spec.axes[1]} ({spec.levels} levels)"
    sub = ", ".join(s for s in (pd.attrs.get("slice", ""), count) if s)
    fig.suptitle(f"{title}\n{sub}", fontsize=11)
    handles = []
    if ((pd["n_done"] == 0) & ~pd["skipped"]).any():
        handles.append(Patch(facecolor=PENDING_GREY, edgecolor="0.4", label="pending (no seed finished)"))
    n_filled = int(pd["filled"].sum())
    if n_filled:
        handles.append(Patch(facecolor=cmap(0.5), alpha=FILLED_ALPHA, edgecolor=MARK_GREY, hatch=FILLED_HATCH,
                             label=f"filled from a coarser level ({n_filled} cell{'s' * (n_filled != 1)} the "
                                   f"refinement skipped: the value of the square around them)"))
    n_blank = int((pd["skipped"] & ~pd["filled"]).sum())
    if n_blank:
        handles.append(Patch(facecolor="white", edgecolor=MARK_GREY, hatch=SKIPPED_HATCH,
                             label=f"skipped by the refinement ({n_blank} cell{'s' * (n_blank != 1)}; "
                                   f"not computed, " + ("and no finished square to fill them from)"
                                                        if metric.name == "converged"
                                                        else "and only the converged fraction is filled)")))
    if ((pd["n_done"] > 0) & (pd["n_pending"] > 0)).any():
        handles.append(Line2D([], [], ls="none", marker="o", ms=4, mfc="white", mec="black",
                              label="some seeds pending"))
    if over:
        handles.append(Patch(facecolor=cmap.get_over(), label=f"median: {metric.over_label}"))
    n_unstable = int((pd["unstable"] > 0).sum())
    if n_unstable and metric.name != "verdict":
        handles.append(Patch(facecolor="none", edgecolor="#ff7f0e", hatch=UNSTABLE_HATCH,
                             label=f"{n_unstable} cell{'s' * (n_unstable != 1)} with an unstable seed: "
                                   f"the step size, not capacity, may have stopped it"))
    if contour:
        handles.append(Line2D([], [], color="white", lw=1.8,
                              path_effects=[_stroke(), _normal()], label="50% of seeds converged"))
    for j, text in theory_labels.items():
        handles.append(Line2D([], [], color=colors[j % len(colors)], lw=2, ls="--", label=text))
    for h in handles:  # a long theory or instability note wraps instead of leaving the figure
        h.set_label(textwrap.fill(h.get_label(), LEGEND_WRAP))
    leg_ax = fig.add_subplot(gs[nrows, :], label="legend")
    leg_ax.axis("off")
    leg_ax.legend(handles=handles, loc="upper center", ncol=2 if ncols > 1 else 1, fontsize=8, frameon=False,
                  borderaxespad=0.0)
    return fig


def legend_texts(fig) -> list:
    """The legend's entries of a figure made by plot_phase."""
    leg = [a for a in fig.axes if a.get_label() == "legend"][0].get_legend()
    return [t.get_text() for t in leg.get_texts()]


def _stroke():
    import matplotlib.patheffects as pe

    return pe.Stroke(linewidth=3.4, foreground="black")


def _normal():
    import matplotlib.patheffects as pe

    return pe.Normal()


def phase(source, x: str, y: str, metric: str = "converged", at=None, facet=None, theory=(),
          out=None, dpi: int = DPI, equal_aspect: bool = False):
    """Load (a path or a Dataset), reduce, draw; save to `out` if given. Returns (fig, data)."""
    ds = load(source) if not hasattr(source, "data_vars") else source
    with warnings.catch_warnings():  # medians of all-pending cells are NaN by design
        warnings.simplefilter("ignore", RuntimeWarning)
        pd = phase_data(ds, x, y, metric=metric, at=at, facet=facet)
    fig = plot_phase(pd, theory=theory, dpi=dpi, equal_aspect=equal_aspect)
    if out:
        fig.savefig(out, dpi=dpi)
    return fig, pd


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.phase",
               description="Phase diagram of a shallowsweep file: a metric over two axes, reduced over seeds.")
    p.add_argument("file")
    p.add_argument("--x", required=True, help="axis on the horizontal (e.g. width)")
    p.add_argument("--y", required=True, help="axis on the vertical (e.g. n)")
    p.add_argument("--metric", default="converged",
                   help=f"one of {', '.join(METRICS)} (default converged), or any other per-cell scalar "
                        "or series of the file (its last value), e.g. test_loss, pattern_change")
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="fix another axis at one value (repeatable, or comma-separated)")
    p.add_argument("--facet", help="one panel per value of this axis")
    p.add_argument("--theory", action="append", default=[], metavar="NAME[:fit]",
                   help=f"overlay a width condition: {', '.join(theory_mod.CONDITIONS)}; "
                        "NAME:fit fits its constant to this sweep")
    p.add_argument("--equal-aspect", action="store_true",
                   help="a decade as long on x as on y (log-log diagrams), so that slopes read true")
    p.add_argument("--dpi", type=int, default=DPI)
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    a = p.parse_args(argv)
    for t in a.theory:
        theory_mod.get(t.partition(":")[0])
    fig, _ = phase(a.file, a.x, a.y, metric=a.metric, at=parse_at(a.at), facet=a.facet,
                   theory=a.theory, out=a.output, dpi=a.dpi, equal_aspect=a.equal_aspect)
    print(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run(f"{__package__}.phase", main))
