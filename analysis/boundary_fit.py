"""The statistics of analysis.boundary, on plain arrays (no file, no Dataset): the monotone
(isotonic) fit of a column's converged fractions, its 1/2 crossing, the bootstrap over seeds,
and the weighted least-squares power law with its intervals. The definitions are
analysis.boundary's module docstring and DESIGN.md §15.

Dimension letters: k cells along x, s seeds, B bootstrap replicates, q columns (values of y).
A column S is (k, s): 1.0 success, 0.0 not, NaN not usable; t (k,) the cells' positions on
the axis's own spacing (log x for a geometric axis), ascending.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .load import AnalysisError

LEVEL = 0.5                 # the boundary is the 50 % contour, as phase draws it
CI = 0.95                   # two-sided confidence level of every interval
DIRECTIONS = ("auto", "up", "down")


# ---- the crossing of one column --------------------------------------------------------------

def isotonic(values, weights) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators). values (k,), weights
    (k,) > 0."""
    blocks = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([float(v), float(w), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, c2 = blocks.pop()
            v1, w1, c1 = blocks[-1]
            blocks[-1] = [(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, c1 + c2]
    return np.repeat([v for v, _, _ in blocks], [c for _, _, c in blocks])


def crossing(t, g):
    """Where a non-decreasing fit g (k,) over positions t (k,, ascending) crosses LEVEL.

    Returns (t*, (lo, hi), None), lo and hi the indices of the cells that bracket the crossing,
    or (None, None, reason): "below" (g < LEVEL everywhere, or reaching it without passing it)
    or "above" (the same from above).
    """
    below, over = np.flatnonzero(g < LEVEL), np.flatnonzero(g > LEVEL)
    if over.size == 0:
        return None, None, "below"
    if below.size == 0:
        return None, None, "above"
    lo, hi = below[-1], over[0]
    if hi == lo + 1:
        ts = t[lo] + (LEVEL - g[lo]) / (g[hi] - g[lo]) * (t[hi] - t[lo])
    else:  # a run of cells at exactly LEVEL: its middle
        ts = 0.5 * (t[lo + 1] + t[hi - 1])
    return float(ts), (int(lo), int(hi)), None


def column_fraction(S):
    """(fraction, usable seeds) per cell of a column S (k, s)."""
    usable = np.isfinite(S).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(usable > 0, np.nansum(S, -1) / np.maximum(usable, 1), np.nan)
    return frac, usable


def column_crossing(t, S, up: bool):
    """The crossing of one column S (k, s) over positions t: (t*, (lo, hi), reason), lo and hi
    the indices of the bracketing cells; reason "below" / "above": the fraction's monotone fit is
    below / above 1/2 everywhere."""
    frac, usable = column_fraction(S)
    keep = usable > 0
    if not keep.any():
        return None, None, "empty"
    g = frac[keep] if up else 1.0 - frac[keep]
    ts, bracket, reason = crossing(t[keep], isotonic(g, usable[keep]))
    if bracket is not None:  # indices among the kept cells -> among all cells
        bracket = tuple(int(i) for i in np.flatnonzero(keep)[list(bracket)])
    if reason is not None and not up:  # the reason in terms of the fraction, not of 1 - fraction
        reason = {"below": "above", "above": "below"}[reason]
    return ts, bracket, reason


def monotone_sse(t, S, up: bool) -> float:
    frac, usable = column_fraction(S)
    keep = usable > 0
    if not keep.any():
        return 0.0
    g = frac[keep] if up else 1.0 - frac[keep]
    return float(np.sum(usable[keep] * (g - isotonic(g, usable[keep])) ** 2))


def choose_direction(t, S, direction: str) -> bool:
    """True when success rises with x: as asked, or (auto) the better monotone fit; ties rise."""
    if direction not in DIRECTIONS:
        raise AnalysisError(f"unknown direction '{direction}' (choose from: {', '.join(DIRECTIONS)})")
    if direction != "auto":
        return direction == "up"
    up = sum(monotone_sse(t, S[j], True) for j in range(S.shape[0]))
    down = sum(monotone_sse(t, S[j], False) for j in range(S.shape[0]))
    return bool(up <= down)


# ---- bootstrap and fit --------------------------------------------------------------------------

def bootstrap_crossings(t, S, up: bool, B: int, rng) -> np.ndarray:
    """(B, q) replicate crossings in t of the columns S (q, k, s): each column's seeds resampled
    with replacement (one set of indices per column and replicate, for all its cells). A replicate without a crossing gives
    +inf when x* lies beyond the grid's high end (success rising: below 1/2 everywhere), -inf
    beyond its low end, NaN when nothing is usable."""
    q, _, s = S.shape
    out = np.full((B, q), np.nan)
    side = {"below": np.inf if up else -np.inf, "above": -np.inf if up else np.inf, "empty": np.nan}
    for j in range(q):
        idx = rng.integers(0, s, size=(B, s))  # (B, s) seed indices
        for b in range(B):
            ts, _, reason = column_crossing(t, S[j][:, idx[b]], up)
            out[b, j] = ts if reason is None else side[reason]
    return out


def wls(u, v, sigma):
    """Weighted least squares v = a + p u with weights 1/sigma²: (p, a, covariance of (p, a) from
    the sigmas alone, chi-square, residuals). u = log y, v = log x*, so a = log C."""
    w = 1.0 / sigma ** 2
    X = np.column_stack([np.ones_like(u), u])
    A = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(A)
    a, p = cov @ (X.T @ (w * v))
    r = v - (a + p * u)
    return float(p), float(a), cov[::-1, ::-1], float(np.sum(w * r ** 2)), r


def fit_power_law(y, xs, sigma):
    """x* = C y^p through points (y, x*) with log-standard-errors sigma: a dict (see module doc)."""
    from scipy import stats

    u, v = np.log(np.asarray(y, float)), np.log(np.asarray(xs, float))
    k = u.size
    if k < 2 or np.ptp(u) == 0:
        return None
    p, a, cov, chi2, r = wls(u, v, np.asarray(sigma, float))
    dof = k - 2
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    q = stats.t.ppf(0.5 + CI / 2, dof) if dof > 0 else stats.norm.ppf(0.5 + CI / 2)
    se_p, se_a = math.sqrt(cov[0, 0] * scale), math.sqrt(cov[1, 1] * scale)
    return {"exponent": p, "exponent_ci": [p - q * se_p, p + q * se_p], "exponent_se": se_p,
            "log_constant": a, "constant": math.exp(a),
            "constant_ci": [math.exp(a - q * se_a), math.exp(a + q * se_a)],
            "chi2_reduced": chi2 / dof if dof > 0 else None, "dof": dof, "scale": scale,
            "residuals": r.tolist()}


def refit_replicates(u, boot, sigma):
    """Refit every replicate whose chosen points all crossed: (p's, log C's)."""
    ok = np.all(np.isfinite(boot), axis=1)
    ps, cs = [], []
    for row in boot[ok]:
        p, a, _, _, _ = wls(u, row, sigma)
        ps.append(p)
        cs.append(a)
    return np.array(ps), np.array(cs)


def percentile_interval(samples):
    lo, hi = np.percentile(samples, [50 * (1 - CI), 50 * (1 + CI)])
    return [float(lo), float(hi)]


def wilson_interval(k: int, n: int, z: float = 1.96):
    """The 95 % Wilson score interval of a fraction k/n ((0, 1) when n = 0): for the share of
    seeds that did something, where k = 0 or k = n still gets a width."""
    if n == 0:
        return (0.0, 1.0)
    f = k / n
    c = (f + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(f * (1 - f) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, c - h), min(1.0, c + h))


if __name__ == "__main__":
    from ._cli import library_main
    sys.exit(library_main("boundary_fit", __doc__))
