"""The figure of analysis.boundary: the crossings x* against y on log-log axes, each with its
bootstrap interval and the two grid cells that bracket it, the power-law fit annotated with p and
C and their intervals, columns without a crossing marked at the grid's edge, and the residuals
(x* / fit) in a panel below."""
from __future__ import annotations

import math
import sys

import numpy as np

FIGSIZE_IN = (7.0, 6.0)
DPI = 100
POINT, FIT, GRID_OUT = "#1f77b4", "#d62728", "0.9"
MARGIN = 1.6               # the plot reaches this factor beyond the data and the grid
RESIDUAL_TICKS = (1 / 10, 1 / 4, 1 / 2, 1 / 1.5, 1, 1.5, 2, 4, 10)


def _fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}g}"


def _limits(ax, res):
    """Set x (the y axis's values) and y limits; shade where the x grid has no cells."""
    x, pts, yt = res["x"], res["points"], res["y_grid"]
    lo_g, hi_g = min(res["x_grid"]), max(res["x_grid"])
    pad = math.exp(0.3 * (math.log(max(yt)) - math.log(min(yt))) / max(len(yt) - 1, 1)) if len(yt) > 1 else 2.0
    ax.set_xlim(min(yt) / pad, max(yt) * pad)
    top = max([hi_g] + [v for q in pts for v in (q["x"], q["ci"][1]) if v is not None]) * MARGIN
    bottom = min([lo_g] + [v for q in pts for v in (q["x"], q["ci"][0]) if v is not None]) / MARGIN
    ax.set_ylim(bottom, top)
    # beyond the grid a crossing cannot be located
    ax.axhspan(hi_g, top, color=GRID_OUT, zorder=0, lw=0,
               label=f"beyond the {x} grid ({_fmt(lo_g, 6)}–{_fmt(hi_g, 6)})")
    ax.axhspan(bottom, lo_g, color=GRID_OUT, zorder=0, lw=0)


def _draw_points(ax, res):
    x, pts = res["x"], res["points"]
    lo_g, hi_g = min(res["x_grid"]), max(res["x_grid"])
    if pts:
        ys, xs = (np.array([p[k] for p in pts], float) for k in ("y", "x"))
        lo = np.array([lo_g if p["ci"][0] is None else p["ci"][0] for p in pts], float)  # open: to the edge
        hi = np.array([hi_g if p["ci"][1] is None else p["ci"][1] for p in pts], float)
        blo, bhi = (np.array([p["bracket"][i] for p in pts]) for i in (0, 1))
        ax.bar(ys, bhi - blo, bottom=blo, width=ys * 0.12, align="center", color=POINT, alpha=0.15, lw=0,
               zorder=1, label=f"the two {x} cells that bracket the crossing")
        ax.errorbar(ys, xs, yerr=[xs - np.minimum(lo, xs), np.maximum(hi, xs) - xs], fmt="none",
                    ecolor=POINT, capsize=4, lw=1.4, zorder=3)
        fitted = np.array([p.get("fitted", True) for p in pts])
        ax.plot(ys[fitted], xs[fitted], "o", ms=6, color=POINT, zorder=4,
                label=f"{x}* where the fraction crosses 1/2\n(bars: 95% bootstrap, "
                      f"{res['bootstrap']} resamples of {res['seeds']} seeds)")
        if not fitted.all():
            ax.plot(ys[~fitted], xs[~fitted], "o", ms=6, mfc="white", mec=POINT, zorder=4,
                    label="outside --fit-range: not fitted")
    beyond = [m for m in res["no_crossing"] if m["reason"] != "empty"]
    for k, m in enumerate(beyond):
        high = m["reason"] == ("below" if res["direction"] == "up" else "above")
        ax.plot([m["y"]], [hi_g * 1.25 if high else lo_g / 1.25], ls="none", marker="^" if high else "v",
                ms=8, mfc="white", mec="0.3", zorder=3, label=None if k else f"no crossing: {x}* beyond the grid")


def _draw_fit(ax, axr, res):
    from matplotlib.ticker import FixedLocator, NullLocator

    x, y, pts = res["x"], res["y"], res["points"]
    if res["exponent"] is None:
        axr.text(0.5, 0.5, res.get("fit_note", "no fit"), ha="center", va="center", transform=axr.transAxes)
        axr.set_yticks([])
        return
    p, (plo, phi) = res["exponent"], res["exponent_ci"]
    C, (clo, chi) = res["constant"], res["constant_ci"]
    ys = np.array([q["y"] for q in pts], float)
    gy = np.geomspace(min(res["y_grid"]), max(res["y_grid"]), 60)
    ax.plot(gy, C * gy ** p, color=FIT, lw=1.0, ls="--", zorder=2)  # extrapolated beyond the points
    gy = np.geomspace(min(q["y"] for q in pts if q.get("fitted", True)),
                      max(q["y"] for q in pts if q.get("fitted", True)), 60)
    ax.plot(gy, C * gy ** p, color=FIT, lw=1.8, zorder=2,
            label=f"fit {x}* = C·{y}^p:  p = {p:.3g} [{plo:.3g}, {phi:.3g}]\n"
                  f"C = {_fmt(C)} [{_fmt(clo)}, {_fmt(chi)}]  (95% CI, {res['ci_method']})")
    axr.axhline(1.0, color=FIT, lw=1.2)
    fitted = np.array([q.get("fitted", True) for q in pts])
    ratio = np.array([q["ratio_to_fit"] for q in pts])
    axr.plot(ys[fitted], ratio[fitted], "o", color=POINT, ms=5)
    axr.plot(ys[~fitted], ratio[~fitted], "o", mfc="white", mec=POINT, ms=5)
    axr.set_yscale("log")
    span = max(math.log(1.5), 1.4 * max(abs(q["residual_log"]) for q in pts))  # symmetric, >= 1.5x
    axr.set_ylim(math.exp(-span), math.exp(span))
    ticks = [r for r in RESIDUAL_TICKS if abs(math.log(r)) <= span * (1 + 1e-9)]
    axr.yaxis.set_major_locator(FixedLocator(ticks))
    axr.yaxis.set_minor_locator(NullLocator())
    axr.set_yticklabels([f"{r:.2g}" for r in ticks])


def _title(res) -> str:
    x, y = res["x"], res["y"]
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in res["excluded_by"].items() if v]
    how = (f"{res['metric']} fraction = 1/2 along {x} ({res['x_scale']} interpolation, monotone fit "
           f"{'rising' if res['direction'] == 'up' else 'falling'})")
    k, m = len(res["points"]), len(res["no_crossing"])
    fr = res.get("fit_range")
    fitted = f" ({sum(p.get('fitted', True) for p in res['points'])} fitted: {y} in " \
             f"[{_fmt(fr[0], 6) if fr[0] is not None else ''}, {_fmt(fr[1], 6) if fr[1] is not None else ''}])" if fr else ""
    counts = ", ".join(s for s in (res["slice"], f"{k} point{'s' * (k != 1)}{fitted}",
                                   f"{m} value{'s' * (m != 1)} of {y} without a crossing" if m else "",
                                   ("excluded seeds: " + ", ".join(parts)) if parts else "") if s)
    head = f"{res['sweep_name']}: boundary {x}* against {y}".lstrip(": ")
    return f"{head}\n{how}\n{counts}" + (f"\n{_skipped(res)}" if _skipped(res) else "")


def _skipped(res) -> str:
    """A refined sweep's note: its skipped seeds, and the cells the fill rule gave a value."""
    sk = res.get("skipped") or {}
    if not sk.get("seeds"):
        return ""
    return f"refined: {sk['seeds']} seeds skipped, {sk['filled_cells']} cells filled from a coarser level"


def plot_boundary(res: dict, dpi: int = DPI):
    """Draw boundary_data's result (analysis.boundary). Returns the Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator

    x, y = res["x"], res["y"]
    fig, (ax, axr) = plt.subplots(2, 1, figsize=FIGSIZE_IN, dpi=dpi, layout="constrained", sharex=True,
                                  gridspec_kw={"height_ratios": [3.2, 1]})
    _limits(ax, res)
    _draw_points(ax, res)
    _draw_fit(ax, axr, res)
    ax.set_xscale("log")
    ax.set_yscale("log")
    axr.xaxis.set_major_locator(FixedLocator(res["y_grid"]))
    axr.xaxis.set_minor_locator(NullLocator())
    axr.set_xticklabels([f"{v:g}" for v in res["y_grid"]])
    ax.set_ylabel(f"{x}* (log scale)")
    axr.set_ylabel(f"{x}* / fit")
    axr.set_xlabel(f"{y} (log scale)")
    for a in (ax, axr):
        a.grid(True, which="major", alpha=0.3)
    ax.set_title(_title(res), fontsize=9)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return fig


if __name__ == "__main__":
    from ._cli import library_main
    sys.exit(library_main("boundary_plot", __doc__))
