"""Boundaries and scaling laws: where the converged fraction crosses 1/2 along one axis (x),
for each value of another (y), with a bootstrap interval over seeds, and the power law
x* = C·y^p fitted through those points (DESIGN.md §15).

    python3 -m analysis.boundary FILE --x width --y n [--at k=v ...] [--metric converged]
                                 [--direction auto] [--exclude-unstable] [--fit-range LO:HI]
                                 [--bootstrap 1000] [--seed 0] [--json] -o OUT.png

The fraction. For each cell (x, y) it is the share of its usable seeds that succeeded
(--metric converged: status converged; or a threshold such as test_loss<=1e-3 on any metric
of analysis.line). Pending and failed seeds are not usable: they are left out and counted
("excluded"); with --exclude-unstable so are seeds diagnosed unstable (DESIGN.md §2).
Diverged and max_iters seeds count as not converged.

Refined sweeps (analysis.refine). Skipped seeds were never computed: they are neither usable
nor excluded, and are counted apart ("skipped"). A cell whose seeds were all skipped takes the
fraction of the square that decided it (the fill rule) and stands for as many seeds as that
square's least-sampled corner, each with that fraction; so the isotonic fit and the crossing use
computed and filled cells alike. The bootstrap resamples seed indices as before; a drawn index
that a cell skipped (adaptive seeds: only the first `start` seeds of a certain point were
computed) draws its computed seeds in turn (index k: seed k mod c), and a filled cell's value
stays fixed (its corners agreed). With --at seed=K nothing is filled.

The crossing. Along x the fractions are first made monotone by weighted isotonic regression
(pool adjacent violators, weights = usable seeds per cell), rising with x (or falling:
--direction; auto takes the direction whose monotone fit has the smaller weighted squared
error over all columns). x* is where that monotone fit crosses 1/2, interpolated linearly in
the axis's own spacing: in log x for a geometric axis, in x for a linear one; if the fit
equals 1/2 exactly over a run of cells, x* is the run's middle. So a column has at most one
crossing. A column whose fit is below 1/2 everywhere, or above it, or only touches 1/2 at an
end, has no crossing: no point, listed in no_crossing with the reason.

The interval. B bootstrap replicates (fixed RNG seed) resample each column's seeds with
replacement (one draw of seed indices per column, used for all its cells: a seed's data is
shared along x). A replicate without a crossing puts x* beyond the grid's edge on its side,
so an interval that reaches past the grid says so (null bound). Percentile interval, 95 %.
Each point also names the two grid cells that bracket it ("bracket") and the share of
replicates that crossed inside the grid ("crossed_in").

The fit. Weighted least squares of log x* on log y; a point's standard error is the larger of
the bootstrap's (half its central 68 % range, in log x) and the grid's resolution (the log
spacing of the two cells that bracket the crossing / sqrt 12: a crossing known only to lie
between two cells). The intervals on p and C are t-based, from the fit's covariance scaled by
the reduced chi-square when the points scatter more than their errors say (t with k-2
degrees of freedom, k points; with 2 points the errors alone, normal). The bootstrap of the
whole fit (refitting every replicate) is reported beside it as the seed-noise-only interval.
--fit-range LO:HI fits only the points with y in [LO, HI]; every point gets its residual
log(x* / fit) from that line.
"""
from __future__ import annotations

import json
import math
import re
import sys
import warnings

import numpy as np

from ._cli import Parser, parse_at, run
from .boundary_fit import (CI, DIRECTIONS, LEVEL, bootstrap_crossings, choose_direction, column_crossing,
                           column_fraction, fit_power_law, percentile_interval, refit_replicates)
from .load import CONVERGED, FAILED, MAX_ITERS, PENDING, SEED_AXIS, AnalysisError, done_mask, load, skipped_mask
from .refine import fraction_map, refine_of
from .select import axis_label, check_axis, index_of, require_resolved, slice_at, slice_title

BOOTSTRAP = 1000
RNG_SEED = 0
DPI = 100
# NAME<=VALUE etc.: a threshold metric; success is the comparison being true
THRESHOLD = re.compile(r"^\s*(\w+)\s*(<=|>=|<|>)\s*(\S+)\s*$")
REASONS = {"below": "fraction below 1/2 at every {x} (at most touching it)",
           "above": "fraction above 1/2 at every {x} (at most touching it)",
           "empty": "no usable seed in any cell"}


# ---- per-seed outcomes ---------------------------------------------------------------------

def _success(ds, metric: str):
    """(success, label): 1.0 / 0.0 per cell of ds (NaN where a finished cell has no value of the
    metric), and the metric as text."""
    done = done_mask(ds).values
    if metric == "converged":
        return np.where(ds["status"].values == CONVERGED, 1.0, 0.0), "converged"
    m = THRESHOLD.match(metric)
    if not m:
        raise AnalysisError(f"unknown metric '{metric}': use converged, or a threshold such as "
                            f"final_loss<=1e-6 or test_loss<0.01")
    from .line import metric_names, per_seed

    name, op, text = m.groups()
    if name not in metric_names(ds) or name == "converged":
        raise AnalysisError(f"unknown metric '{name}' in --metric {metric} (this file has: "
                            f"{', '.join(v for v in metric_names(ds) if v != 'converged')})")
    try:
        value = float(text)
    except ValueError:
        raise AnalysisError(f"--metric {metric}: '{text}' is not a number") from None
    v = per_seed(ds, name).values.astype(float)
    with np.errstate(invalid="ignore"):
        ok = {"<=": v <= value, "<": v < value, ">=": v >= value, ">": v > value}[op]
    return np.where(np.isnan(v) & done, np.nan, ok.astype(float)), f"{name} {op} {text}"


def outcomes(ds, x: str, y: str, at=None, metric: str = "converged", exclude_unstable: bool = False):
    """The per-seed successes of the sliced sweep as an array (y, x, seed): 1 success, 0 not,
    NaN not usable; with the slice and the exclusion counts.

    Returns (S, ds_sliced, excluded, skipped) with excluded = {"pending": .., "failed": ..,
    "unstable": .., "no_value": ..} counted over the cells of the slice (each seed a cell), and
    skipped = {"seeds": .., "filled_cells": .., "unfilled_cells": .., "filled": (y, x) bool} of a
    refined sweep (zeros otherwise); S holds a filled cell's pseudo-seeds (module doc).
    """
    if x == y:
        raise AnalysisError(f"--x and --y are both '{x}': choose two different axes")
    full = ds
    ds = slice_at(ds, at or {}, keep=[x, y])
    for role, a in (("--x", x), ("--y", y)):
        check_axis(ds, a, role)
        if a == SEED_AXIS:
            raise AnalysisError(f"{role} seed: seeds are what the fraction and the bootstrap run over; "
                                f"choose another axis")
        if ds[a].attrs.get("scale") == "category" or ds[a].values.dtype.kind not in "iuf":
            raise AnalysisError(f"{role} {a}: a boundary needs a numeric axis ('{a}' is a category)")
    require_resolved(ds, [x, y], "boundary")
    squeeze = {a: 0 for a in ds.attrs["axes"] if a in ds.dims and a not in (x, y, SEED_AXIS)}
    ds = ds.isel(squeeze)
    if SEED_AXIS not in ds.dims:
        ds = ds.expand_dims(SEED_AXIS, axis=-1)
    ds = ds.transpose(y, x, SEED_AXIS, ...)
    cells, label = _cells(full, at or {}, metric, exclude_unstable)   # the whole file (the fill needs it)
    cells = cells.isel({a: i for a, i in squeeze.items() if a in cells.dims})
    if SEED_AXIS not in cells.dims:
        cells = cells.expand_dims(SEED_AXIS, axis=-1)
    cells = cells.transpose(y, x, SEED_AXIS, ...)
    S, unstable = cells["S"].values.copy(), cells["unstable"].values      # (y, x, seed)
    point = lambda k: cells[k].values.reshape(S.shape[:2])  # noqa: E731  (y, x): a per-point variable
    filled, n_fill, fraction = point("filled"), point("n_fill"), point("fraction")
    for j, i in zip(*np.nonzero(filled)):  # pseudo-seeds carrying the filled fraction
        S[j, i, : max(1, int(n_fill[j, i]))] = fraction[j, i]
    excluded = {k: int(cells[k].sum()) for k in ("pending", "failed", "unstable", "no_value")}
    if not exclude_unstable:
        excluded["unstable"] = 0
    skipped = {"seeds": int(cells["skipped"].sum()), "filled_cells": int(filled.sum()),
               "unfilled_cells": int((cells["skipped"].values.all(-1) & ~filled).sum()), "filled": filled,
               "resample": _cyclic(S, cells["skipped"].values)}
    ds.attrs["metric_label"] = label
    ds.attrs["unstable_kept"] = 0 if exclude_unstable else int(unstable.sum())
    return S, ds, excluded, skipped


def _cyclic(S, skipped):
    """S (y, x, seed) for the bootstrap: a cell's skipped seed slots repeat its usable values
    (its computed seeds, or a filled cell's pseudo-seeds) in turn, so that a resampled seed index
    always draws one of them; the seeds a refined sweep computed are its first ones, so index k
    draws seed k mod c and the seeds stay shared along x as before. A dense file's S unchanged."""
    out = S.copy()
    for j, i in zip(*np.nonzero(skipped.any(-1))):
        vals = S[j, i][np.isfinite(S[j, i])]
        slots = np.flatnonzero(skipped[j, i] & ~np.isfinite(S[j, i]))
        if vals.size:
            out[j, i, slots] = vals[np.arange(slots.size) % vals.size]
    return out


def _cells(full, at: dict, metric: str, exclude_unstable: bool):
    """Per seed over the whole file (a slice of the seed axis taken first): S (1 success, 0 not,
    NaN not usable), the exclusion masks, skipped; and per point the fill rule's fraction, its
    seeds (n_fill) and filled mask; sliced at `at`'s other axes. Returns (Dataset, metric label)."""
    import xarray as xr

    seed_at = {k: v for k, v in at.items() if k == SEED_AXIS}
    src = slice_at(full, seed_at) if seed_at else full
    if seed_at and refine_of(src) is not None:  # one seed: no fraction to fill from
        src = src.copy()
        src.attrs = {k: v for k, v in src.attrs.items() if k != "refine"}
    status = src["status"].values
    success, label = _success(src, metric)
    pending, failed, skipped = status == PENDING, status == FAILED, skipped_mask(src).values
    unstable = np.zeros_like(pending)
    if "diagnosis" in src:
        codes = {name: c for c, name in src["diagnosis"].attrs["names"].items()}
        if "unstable" in codes:
            unstable = (status == MAX_ITERS) & (src["diagnosis"].values == codes["unstable"])
    drop = pending | failed | skipped | (unstable if exclude_unstable else False)
    no_value = np.isnan(success) & ~drop
    S = np.where(drop | no_value, np.nan, success)
    grid = lambda a: src["status"].copy(data=a)  # noqa: E731  (a per-seed array as a DataArray)
    fm = fraction_map(src, grid(S), grid(np.isfinite(S)))
    cells = xr.Dataset({"S": grid(S), "pending": grid(pending), "failed": grid(failed),
                        "unstable": grid(unstable), "no_value": grid(no_value), "skipped": grid(skipped),
                        "fraction": fm["fraction"], "n_fill": fm["n_usable"], "filled": fm["filled"]})
    return cells.isel({a: index_of(full, a, text) for a, text in at.items() if a != SEED_AXIS}), label


# ---- the whole analysis -----------------------------------------------------------------------

def _grid(sl, x: str, S, filled):
    """(x values ascending, S and filled (y, x) in that order, positions t on the axis's spacing,
    scale)."""
    scale = sl[x].attrs.get("scale", "linear")
    xv = sl[x].values.astype(float)
    if scale == "log" and np.any(xv <= 0):
        scale = "linear"
    order = np.argsort(xv)
    xv = xv[order]
    return xv, S[:, order, :], filled[:, order], (np.log(xv) if scale == "log" else xv), scale


def _interval(t, bj, to_x):
    """(95 % interval of x* as [lo, hi], None beyond the grid; its standard error in t) from a
    column's replicate crossings bj (+-inf beyond the grid)."""
    if not bj.size:
        return [None, None], 0.0
    # a sentinel far outside the grid, so that percentiles interpolate; a bound outside is open
    far = 1e6 * (1.0 + t[-1] - t[0])
    lo, hi = np.percentile(np.clip(bj, t[0] - far, t[-1] + far), [50 * (1 - CI), 50 * (1 + CI)])
    ci = [float(to_x(lo)) if lo >= t[0] else None, float(to_x(hi)) if hi <= t[-1] else None]
    # the standard error: half the central 68 %, a replicate beyond the grid put half a step out
    step = np.diff(t) if t.size > 1 else np.zeros(1)
    q16, q84 = np.percentile(np.clip(bj, t[0] - step[0] / 2, t[-1] + step[-1] / 2), [15.865, 84.135])
    return ci, float(q84 - q16) / 2


def _points(sl, x: str, y: str, xv, t, S, filled, up: bool, boot, scale: str):
    """(points, no_crossing, sigma of each point's log x*) of every column (see module doc)."""
    to_x = np.exp if scale == "log" else (lambda v: v)
    yv = sl[y].values
    points, missing, sig = [], [], []
    for j in range(S.shape[0]):
        ts, bracket, reason = column_crossing(t, S[j], up)
        frac, usable = column_fraction(S[j])
        ylab = axis_label(sl, y, yv[j])
        if reason is not None:
            missing.append({"y": float(yv[j]), "y_label": ylab, "reason": reason,
                            "why": REASONS[reason].format(x=x)})
            continue
        bj = boot[:, j][~np.isnan(boot[:, j])]
        ci, sd_boot = _interval(t, bj, to_x)
        xs = float(to_x(ts))
        floor = (t[bracket[1]] - t[bracket[0]]) / math.sqrt(12)  # the grid's resolution
        s = max(sd_boot, floor) / (1.0 if scale == "log" else xs)  # in log x: d log x = dx / x
        points.append({"y": float(yv[j]), "y_label": ylab, "x": xs, "ci": ci,
                       "bracket": [float(xv[bracket[0]]), float(xv[bracket[1]])],
                       "crossed_in": float(np.mean(np.isfinite(bj))) if bj.size else None,
                       "sigma_log": s, "fraction": [None if np.isnan(f) else float(f) for f in frac],
                       "usable": [int(u) for u in usable], "filled": [bool(v) for v in filled[j]],
                       "column": j})
        sig.append(s)
    return points, missing, np.array(sig)


def _in_range(y: float, fit_range) -> bool:
    lo, hi = fit_range or (None, None)
    tol = 1e-12 * abs(y)
    return (lo is None or y >= lo - tol) and (hi is None or y <= hi + tol)


def _add_fit(result: dict, boot, sig, fit_range=None) -> None:
    """The power law through result's points with y in fit_range (lo, hi; None: open), the
    residuals of every point, and the fit's bootstrap, into result."""
    for p in result["points"]:
        p["fitted"] = _in_range(p["y"], fit_range)
    use = [i for i, p in enumerate(result["points"]) if p["fitted"]]
    points = [result["points"][i] for i in use]
    if len(points) < 2 or not all(p["x"] > 0 and p["y"] > 0 for p in points):
        result["fit_note"] = ("no fit: fewer than 2 points" + (" in --fit-range" if fit_range else "")
                              if len(points) < 2 else "no fit: a power law needs positive x* and y")
        return
    fit = fit_power_law([p["y"] for p in points], [p["x"] for p in points], sig[use])
    if fit is None:
        result["fit_note"] = "no fit: every point has the same y"
        return
    result.update({k: fit[k] for k in ("exponent", "exponent_ci", "exponent_se", "constant", "constant_ci",
                                       "chi2_reduced", "dof")})
    result["ci_method"] = ("t" if fit["dof"] > 0 else "normal") + (
        ", scaled by the reduced chi-square" if fit["scale"] > 1 else "")
    for p in result["points"]:  # the ones left out of the fit too: how far they are off its line
        p["residual_log"] = math.log(p["x"]) - (fit["log_constant"] + fit["exponent"] * math.log(p["y"]))
        p["ratio_to_fit"] = math.exp(p["residual_log"])
    if boot.shape[0]:
        u = np.log(np.array([p["y"] for p in points]))
        ps, cs = refit_replicates(u, boot[:, [p["column"] for p in points]], sig[use])
        result["bootstrap_fits"] = int(ps.size)
        if ps.size >= 2:
            result["exponent_ci_bootstrap"] = percentile_interval(ps)
            result["constant_ci_bootstrap"] = [math.exp(v) for v in percentile_interval(cs)]


def boundary_data(ds, x: str, y: str, at=None, metric: str = "converged", direction: str = "auto",
                  B: int = BOOTSTRAP, seed: int = RNG_SEED, exclude_unstable: bool = False,
                  fit_range=None) -> dict:
    """Crossings, their bootstrap intervals and the power-law fit, as a JSON-ready dict.

    fit_range: (lo, hi) of y (either None: open); points outside it are shown, not fitted."""
    if B < 0:
        raise AnalysisError(f"--bootstrap {B}: give a number of replicates >= 0")
    S, sl, excluded, skipped = outcomes(ds, x, y, at, metric, exclude_unstable)   # S (y, x, seed)
    xv, S, filled, t, scale = _grid(sl, x, S, skipped.pop("filled"))
    _, resample, _, _, _ = _grid(sl, x, skipped.pop("resample"), filled)
    up = choose_direction(t, S, direction)
    boot = bootstrap_crossings(t, resample, up, B, np.random.default_rng(seed))  # (B, y)
    points, missing, sig = _points(sl, x, y, xv, t, S, filled, up, boot, scale)
    result = {"file": sl.attrs.get("path", ""), "x": x, "y": y, "metric": sl.attrs["metric_label"],
              "slice": slice_title(sl, skip=[x, y]), "x_scale": scale, "direction": "up" if up else "down",
              "level": LEVEL, "seeds": int(S.shape[2]), "bootstrap": int(B), "rng_seed": int(seed),
              "x_grid": [float(v) for v in xv], "y_grid": [float(v) for v in sl[y].values],
              "points": points, "no_crossing": missing,
              "excluded": int(sum(excluded.values())), "excluded_by": excluded,
              "excluded_columns": len(missing), "unstable_kept": sl.attrs["unstable_kept"],
              "skipped": skipped,
              "exponent": None, "exponent_ci": None, "constant": None, "constant_ci": None,
              "sweep_name": sl.attrs.get("sweep", {}).get("name", "")}
    result["fit_range"] = list(fit_range) if fit_range else None
    _add_fit(result, boot, sig, fit_range)
    return result


def _fmt(v, digits=3):
    return "–" if v is None else f"{v:.{digits}g}"


def boundary(source, x: str, y: str, at=None, metric: str = "converged", direction: str = "auto",
             B: int = BOOTSTRAP, seed: int = RNG_SEED, exclude_unstable: bool = False, fit_range=None,
             out=None, dpi: int = DPI):
    """Load (a path or a Dataset), find the crossings, fit, draw; save to `out` if given.
    Returns (fig, result dict)."""
    ds = load(source) if not hasattr(source, "data_vars") else source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = boundary_data(ds, x, y, at=at, metric=metric, direction=direction, B=B, seed=seed,
                            exclude_unstable=exclude_unstable, fit_range=fit_range)
    fig = None
    if out:
        from .boundary_plot import plot_boundary
        fig = plot_boundary(res, dpi=dpi)
    if out:
        fig.savefig(out, dpi=dpi)
    return fig, res


def summary_text(res: dict) -> str:
    """What the command prints without --json: one line per point, the fit, the exclusions."""
    x, y = res["x"], res["y"]
    lines = [f"{y:>10}  {x + '*':>12}  {'95% CI':>24}  {'x*/fit':>7}"]
    for p in res["points"]:
        ci = "[" + ", ".join(_fmt(v, 4) if v is not None else "beyond grid" for v in p["ci"]) + "]"
        lines.append(f"{p['y_label']:>10}  {p['x']:>12.4g}  {ci:>24}  {_fmt(p.get('ratio_to_fit'), 3):>7}"
                     + ("" if p.get("fitted", True) else "  (outside --fit-range)"))
    for m in res["no_crossing"]:
        lines.append(f"{m['y_label']:>10}  {'-':>12}  no crossing: {m['why']}")
    if res["exponent"] is not None:
        lo, hi = res["exponent_ci"]
        lines.append(f"fit {x}* = C {y}^p: p = {res['exponent']:.4g} [{lo:.4g}, {hi:.4g}], "
                     f"C = {res['constant']:.4g} [{res['constant_ci'][0]:.4g}, {res['constant_ci'][1]:.4g}] "
                     f"(95%, {res['ci_method']})")
    else:
        lines.append(res.get("fit_note", "no fit"))
    lines.append(f"excluded seeds: {res['excluded']} ({', '.join(f'{k} {v}' for k, v in res['excluded_by'].items())})"
                 + (f"; {k} unstable seed{'s' * (k != 1)} kept (--exclude-unstable drops {'them' if k != 1 else 'it'})"
                    if (k := res["unstable_kept"]) else ""))
    sk = res.get("skipped") or {}
    if sk.get("seeds"):
        lines.append(f"skipped seeds (refined sweep, never computed): {sk['seeds']}; {sk['filled_cells']} cells "
                     f"filled from a coarser level" + (f", {sk['unfilled_cells']} without a value"
                                                       if sk["unfilled_cells"] else ""))
    return "\n".join(lines)


def parse_range(text):
    """'64:' -> (64.0, None), ':128' -> (None, 128.0), '16:128' -> (16.0, 128.0); None -> None."""
    if text is None:
        return None
    lo, sep, hi = text.partition(":")
    try:
        out = tuple(float(v) if v.strip() else None for v in (lo, hi))
    except ValueError:
        out = None
    if not sep or out is None or out == (None, None) or (None not in out and out[0] > out[1]):
        raise AnalysisError(f"--fit-range '{text}': expected LO:HI with LO <= HI (either may be empty), "
                            f"such as 32:128 or 64:")
    return out


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.boundary",
               description="The 50% boundary of a shallowsweep file: for each value of --y, where the converged "
                           "fraction crosses 1/2 along --x, with a bootstrap interval over seeds, and the power "
                           "law x* = C y^p fitted through those points.",
               epilog="Definitions (crossing, interval, fit): help(analysis.boundary) in Python, "
                      "docs/DESIGN.md §15.")
    p.add_argument("file", help="the sweep's HDF5 file (shallowsweep run -o)")
    p.add_argument("--x", required=True, help="the axis the boundary lies on (e.g. width)")
    p.add_argument("--y", required=True, help="one point per value of this axis (e.g. n)")
    p.add_argument("--at", action="append", default=[], metavar="KEY=VALUE",
                   help="fix another axis at one value (repeatable, or comma-separated)")
    p.add_argument("--metric", default="converged",
                   help="success: converged (default), or a threshold such as test_loss<=1e-3")
    p.add_argument("--direction", default="auto", choices=DIRECTIONS,
                   help="success rises (up) or falls (down) with x; auto: the better monotone fit")
    p.add_argument("--exclude-unstable", action="store_true",
                   help="leave out seeds diagnosed unstable, as pending ones are (counted)")
    p.add_argument("--fit-range", metavar="LO:HI",
                   help="fit only the points with LO <= y <= HI (either may be empty: 64: is from 64 on); "
                        "the others are drawn hollow with their residuals")
    p.add_argument("--bootstrap", type=int, default=BOOTSTRAP, metavar="B",
                   help=f"bootstrap replicates over seeds (default {BOOTSTRAP}; 0: none)")
    p.add_argument("--seed", type=int, default=RNG_SEED, help=f"the bootstrap's RNG seed (default {RNG_SEED})")
    p.add_argument("--json", action="store_true", help="print the points, the fit and the exclusions as JSON")
    p.add_argument("--dpi", type=int, default=DPI)
    p.add_argument("-o", "--output", help="PNG to write (required unless --json)")
    a = p.parse_args(argv)
    if not a.output and not a.json:
        p.error("give -o OUT.png, --json, or both")
    if a.bootstrap < 0:
        p.error(f"--bootstrap {a.bootstrap}: give a number of replicates >= 0")
    _, res = boundary(a.file, a.x, a.y, at=parse_at(a.at), metric=a.metric, direction=a.direction,
                      B=a.bootstrap, seed=a.seed, exclude_unstable=a.exclude_unstable,
                      fit_range=parse_range(a.fit_range), out=a.output, dpi=a.dpi)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print(summary_text(res))
        print(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run(f"{__package__}.boundary", main))
