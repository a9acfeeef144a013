"""Scaling slopes: per cell of the other axes, the least-squares slope of log(median over seeds
of y) against log x, with a bootstrap interval over seeds, and a map of the slope over two axes.

    python3 -m analysis.slope FILE --x width --y inner_dist --over gamma,gammap
                              [--bootstrap 1000] [--seed 0] [--json] [-o OUT.png]

y is any per-cell metric of analysis.phase (its value at the end, e.g. inner_dist). Each cell's
median is over its finished seeds; cells with no finished seed, or a non-positive median, are
left out of the fit. The interval: B replicates resample the seed indices with replacement (one
draw per point of the --over axes, shared along x: a seed's data is one run per x), refit the
slope, 95 % percentile interval (the same bootstrap as analysis.boundary). A point is
"critical" when its interval lies within ±CRITICAL, "up" when it lies above 0, "down" below.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from ._cli import Parser, run
from .boundary_fit import percentile_interval
from .load import SEED_AXIS, AnalysisError, load
from .line import per_seed

BOOTSTRAP = 1000
RNG_SEED = 0
CRITICAL = 0.1   # |slope| interval within ±CRITICAL: the O(1) (critical) case
DPI = 100


def log_slope(x, Y) -> np.ndarray:
    """Slope of log(median over seeds) against log x. x (k,), Y (..., k, s) -> (...)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        med = np.nanmedian(Y, axis=-1)               # (..., k)
        v = np.log(np.where(med > 0, med, np.nan))   # (..., k)
    u = np.log(np.asarray(x, float))                 # (k,)
    ok = np.isfinite(v)
    n = ok.sum(-1)
    uu = np.where(ok, u, 0.0)
    um = uu.sum(-1) / np.maximum(n, 1)
    du = np.where(ok, u - um[..., None], 0.0)
    vm = np.where(ok, v, 0.0).sum(-1) / np.maximum(n, 1)
    dv = np.where(ok, v - vm[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (du * dv).sum(-1) / (du * du).sum(-1)
    return np.where(n >= 2, p, np.nan)


def classify(lo: float, hi: float) -> str:
    """'up' / 'down' / 'critical' / 'unclear' from a slope's interval."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "unclear"
    if -CRITICAL <= lo and hi <= CRITICAL:
        return "critical"
    return "up" if lo > 0 else "down" if hi < 0 else "unclear"


def slopes(ds, x: str, y: str, over: list[str], B: int = BOOTSTRAP, seed: int = RNG_SEED) -> dict:
    """{'x','y','over','points': [{over values..., slope, ci, class, n_x}]} for every point of
    the --over axes (every other axis must have one value)."""
    per = per_seed(ds, y)
    dims = list(over) + [x, SEED_AXIS]
    for d in dims:
        if d not in per.dims:
            raise AnalysisError(f"no axis '{d}' in the file (axes: {', '.join(map(str, per.dims))})")
    extra = [d for d in per.dims if d not in dims]
    for d in extra:
        if per.sizes[d] != 1:
            raise AnalysisError(f"axis '{d}' has {per.sizes[d]} values: add it to --over")
    Y = per.squeeze(extra).transpose(*dims).values.astype(float)   # (o1, o2.., k, s)
    xs = ds[x].values.astype(float)
    p = log_slope(xs, Y)                                            # (o1, o2..)
    rng = np.random.default_rng(seed)
    s = Y.shape[-1]
    flat = Y.reshape(-1, *Y.shape[-2:])                             # (q, k, s)
    boot = np.empty((B, flat.shape[0]))
    for b in range(B):
        idx = rng.integers(0, s, size=(flat.shape[0], s))            # (q, s)
        boot[b] = log_slope(xs, np.take_along_axis(flat, idx[:, None, :], axis=-1))
    points = []
    for j, ij in enumerate(np.ndindex(*Y.shape[:-2])):
        rep = boot[:, j][np.isfinite(boot[:, j])]
        ci = percentile_interval(rep) if rep.size else [float("nan")] * 2
        pt = {o: float(ds[o].values[i]) for o, i in zip(over, ij)}
        pt.update(slope=float(p[ij]), ci=ci, **{"class": classify(*ci)})
        points.append(pt)
    return {"x": x, "y": y, "over": list(over), "bootstrap": B, "critical": CRITICAL, "points": points}


def plot_slopes(res: dict, lines=(), dpi: int = DPI):
    """Map of the slope over the two --over axes (first on y, second on x): diverging colours
    centred at 0; a ring marks points classed critical. lines: [(label, xs, ys)] drawn over it."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    if len(res["over"]) != 2:
        raise AnalysisError("the map needs exactly two --over axes")
    ya, xa = res["over"]
    pts = res["points"]
    X = np.array([q[xa] for q in pts])
    Yv = np.array([q[ya] for q in pts])
    S = np.array([q["slope"] for q in pts])
    lim = max(float(np.nanmax(np.abs(S))), CRITICAL)
    fig, ax = plt.subplots(figsize=(6.0, 5.4), dpi=dpi)
    sc = ax.scatter(X, Yv, c=S, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), s=260, marker="s")
    crit = np.array([q["class"] == "critical" for q in pts])
    ax.scatter(X[crit], Yv[crit], facecolors="none", edgecolors="k", s=110, label=f"critical: CI within ±{CRITICAL}")
    for label, lx, ly in lines:
        ax.plot(lx, ly, "k--", lw=1.5, label=label)
    fig.colorbar(sc, ax=ax, label=f"slope of log {res['y']} vs log {res['x']}")
    ax.set_xlabel(xa)
    ax.set_ylabel(ya)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    p = Parser(prog="analysis.slope", description=__doc__.split("\n\n")[0])
    p.add_argument("file")
    p.add_argument("--x", required=True)
    p.add_argument("--y", required=True, help="a per-cell metric, e.g. inner_dist")
    p.add_argument("--over", required=True, help="comma-separated axes, e.g. gamma,gammap")
    p.add_argument("--bootstrap", type=int, default=BOOTSTRAP)
    p.add_argument("--seed", type=int, default=RNG_SEED)
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output")
    a = p.parse_args(argv)
    res = slopes(load(a.file), a.x, a.y, [o for o in a.over.split(",") if o], a.bootstrap, a.seed)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        for q in res["points"]:
            at = ", ".join(f"{o}={q[o]:g}" for o in res["over"])
            print(f"{at}: slope {q['slope']:+.3f} [{q['ci'][0]:+.3f}, {q['ci'][1]:+.3f}] {q['class']}")
    if a.output:
        plot_slopes(res).savefig(a.output)
    return 0


if __name__ == "__main__":
    sys.exit(run("analysis.slope", main))
