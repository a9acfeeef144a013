"""Refined (adaptive) sweeps: the `refine` section and adaptive seeds of the canonical sweep, and
the fill rule that gives every skipped point of the fine grid a displayed value (DESIGN.md
"Skipped cells in the analysis").

A refined file still holds the dense fine grid. Cells the refinement never computed have status
`skipped` (NaN scalars and trajectories, not done, no checksum). The canonical sweep says

    refine: {axes: [X, Y], levels: L, metric: NAME}   # NAME: a status; its fraction over seeds
    grid:   {..., seeds: {start: S0, max: S}}          # adaptive seeds (or seeds: N as before)

Dimension letters: NX, NY the fine counts of the refined axes X and Y ((k - 1) 2^L + 1 for k
coarse values); R the other non-seed axes ("slices"), flattened.

The fill rule. A fine point (i, j) whose seeds were all skipped takes, per slice, the value of
the smallest aligned square (spacing s = 2, 4, ..., 2^L; i0 = floor(i/s)·s, minus s when i0 is
the last index; the same for j) whose four corners were computed: that square was not refined,
so its corners agree on the refinement's metric, and their common value is the point's; s is
the level that decided it. A computed point shows its own value over its computed seeds.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .load import SEED_AXIS, AnalysisError, done_mask, skipped_mask, status_code


@dataclass(frozen=True)
class Refine:
    axes: tuple          # (X, Y): the two refined numeric axes
    levels: int          # L >= 1: the fine grid has (k - 1) 2^L + 1 values per refined axis
    metric: str          # a status name: the fraction over seeds that decides refinement


def adaptive_seeds(sweep: dict):
    """(start, max) of an adaptive seed axis (`seeds: {start: S0, max: S}`), else None."""
    seeds = (sweep.get("grid") or {}).get("seeds")
    if not isinstance(seeds, dict):
        return None
    try:
        start, top = int(seeds["start"]), int(seeds["max"])
    except (KeyError, TypeError, ValueError):
        raise AnalysisError(f"sweep_canonical: grid: seeds: {seeds}: expected {{start: N, max: M}}") from None
    if not 1 <= start <= top:
        raise AnalysisError(f"sweep_canonical: grid: seeds: start {start}, max {top}: need 1 <= start <= max")
    return start, top


def refine_spec(sweep: dict):
    """The parsed `refine` section of a canonical sweep (a Refine), or None for a dense sweep."""
    sec = sweep.get("refine")
    if sec is None:
        return None
    try:
        axes, levels, metric = tuple(sec["axes"]), int(sec["levels"]), str(sec["metric"])
    except (KeyError, TypeError, ValueError):
        raise AnalysisError(f"sweep_canonical: refine: {sec}: expected axes: [X, Y], levels: L, "
                            f"metric: NAME") from None
    if len(axes) != 2 or axes[0] == axes[1] or levels < 1:
        raise AnalysisError(f"sweep_canonical: refine: axes {list(axes)}, levels {levels}: need two different "
                            f"axes and levels >= 1")
    return Refine(tuple(str(a) for a in axes), levels, metric)


def check_refine(ds, spec: Refine) -> None:
    """The refined axes exist, are numeric and have (k - 1) 2^L + 1 values; the metric is a status."""
    for a in spec.axes:
        if a not in ds.attrs["axes"] or a == SEED_AXIS:
            raise AnalysisError(f"refine: axis '{a}' is not a non-seed axis of this file "
                                f"(axes: {', '.join(ds.attrs['axes'])})")
        if ds[a].values.dtype.kind not in "iuf":
            raise AnalysisError(f"refine: axis '{a}' is not numeric")
        n, step = ds.sizes[a], 2 ** spec.levels
        if n < step + 1 or (n - 1) % step:
            raise AnalysisError(f"refine: axis '{a}' has {n} values, not (k - 1)·2^{spec.levels} + 1 for a k >= 2")
    status_code(ds, spec.metric)


def refine_of(ds):
    """The Refine of a loaded file (checked against its grid), or None when it was not refined."""
    return ds.attrs.get("refine")


# ---- the fill rule on plain arrays -----------------------------------------------------------

def _origin(n: int, s: int) -> np.ndarray:
    """The low corner of the aligned square of spacing s holding each index 0..n-1."""
    i0 = (np.arange(n) // s) * s
    return np.where(i0 == n - 1, i0 - s, i0)


def deciding_squares(computed, levels: int):
    """For each skipped point, its deciding square: (spacing, i0, j0), each (NX, NY, ...).

    computed (NX, NY, ...) bool: the point has a computed seed (in that slice). spacing is 0 at
    computed points and at skipped points no square decides (a malformed file), else the
    smallest s = 2, 4, ..., 2^L whose aligned square's four corners are computed."""
    computed = np.asarray(computed, bool)
    nx, ny = computed.shape[:2]
    spacing = np.zeros(computed.shape, np.int64)
    i0 = np.zeros(computed.shape, np.int64)
    j0 = np.zeros(computed.shape, np.int64)
    todo = ~computed
    for lev in range(levels - 1, -1, -1):            # s = 2, 4, ..., 2^L: smallest first
        s = 2 ** (levels - lev)
        oi, oj = _origin(nx, s), _origin(ny, s)
        c = computed
        ok = (c[oi][:, oj] & c[oi + s][:, oj] & c[oi][:, oj + s] & c[oi + s][:, oj + s]) & todo
        spacing[ok] = s
        i0 = np.where(ok, oi.reshape((nx, 1) + (1,) * (c.ndim - 2)), i0)
        j0 = np.where(ok, oj.reshape((1, ny) + (1,) * (c.ndim - 2)), j0)
        todo &= ~ok
    return spacing, i0, j0


def corners(v, spacing, i0, j0) -> np.ndarray:
    """The values of v (NX, NY, ...) at the four corners of each point's square: (4, NX, NY, ...)."""
    v = np.asarray(v)
    rest = np.indices(v.shape[2:]) if v.ndim > 2 else ()
    rest = tuple(np.broadcast_to(r, v.shape) for r in rest)
    return np.stack([v[(i0 + di * spacing, j0 + dj * spacing) + rest] for di in (0, 1) for dj in (0, 1)])


def fill(value, computed, levels: int):
    """The fill rule: (filled value, filled mask, spacing, corners agree), each (NX, NY, ...).

    value (NX, NY, ...) float: each point's value over its computed seeds (NaN where none).
    A skipped point takes the mean of its deciding square's corners, which is their common value
    when they agree (always, for the refinement's own metric: the square was not refined);
    `agree` is False where they do not. A skipped point without a deciding square, or whose
    corners have no value yet (pending), stays NaN and is not marked filled."""
    value = np.asarray(value, float)
    spacing, i0, j0 = deciding_squares(computed, levels)
    decided = spacing > 0
    cv = corners(value, np.where(decided, spacing, 0), i0, j0)    # (4, NX, NY, ...)
    with np.errstate(invalid="ignore"):
        mean = cv.mean(0)
        agree = np.all(cv == cv[0], axis=0)
    filled = decided & np.isfinite(mean)
    out = np.where(filled, mean, value)
    return out, filled, np.where(filled, spacing, 0), np.where(filled, agree, True)


# ---- the fill rule on a loaded file ------------------------------------------------------------

def _plane(da, spec: Refine):
    """da's values with the refined axes first: ((NX, NY, ...) array, the dims in that order)."""
    dims = list(spec.axes) + [d for d in da.dims if d not in spec.axes]
    return da.transpose(*dims).values, dims


def fraction_map(ds, success, usable):
    """Per point of ds's non-seed axes, the fraction of usable seeds that succeeded, with the fill
    rule applied on a refined file. success, usable: per-seed DataArrays over ds's grid (success
    1/0/True/False, NaN or anything where not usable). Returns an xarray.Dataset:

    fraction   the fraction over usable seeds; at a filled point its deciding square's value
    n_usable   usable seeds; at a filled point the fewest of its corners' (a filled value stands
               for as many seeds as its least-sampled corner)
    filled     True where the value came from the fill rule (every seed skipped)
    spacing    the deciding square's spacing at filled points (2 .. 2^L), else 0
    agree      False at a filled point whose corners disagree (never for the refinement's metric)
    skipped    True where every seed of the point (in that slice) was skipped

    On a dense file, fraction is the plain fraction, filled and skipped False, spacing 0."""
    import xarray as xr

    seed = [SEED_AXIS] if SEED_AXIS in ds["status"].dims else []
    usable = usable.astype(bool)
    hit = (success.fillna(0).astype(float) * usable)
    n = usable.sum(seed) if seed else usable.astype(int)
    frac = (hit.sum(seed) if seed else hit) / n.where(n > 0)
    skipped_seed = skipped_mask(ds)
    skipped = skipped_seed.all(seed) if seed else skipped_seed
    spec = refine_of(ds)
    out = xr.Dataset({"fraction": frac.astype(float), "n_usable": n, "skipped": skipped})
    if spec is None or any(a not in frac.dims for a in spec.axes):
        out["filled"] = xr.zeros_like(skipped)
        out["spacing"] = xr.zeros_like(n)
        out["agree"] = xr.ones_like(skipped)
        return out
    fv, dims = _plane(frac, spec)
    computed, _ = _plane(~skipped, spec)
    value, filled, spacing, agree = fill(fv, computed, spec.levels)
    nv, _ = _plane(n, spec)
    sp, i0, j0 = deciding_squares(computed, spec.levels)
    n_fill = corners(nv, sp, i0, j0).min(0)
    coords = {d: frac[d] for d in dims}
    wrap = lambda a: xr.DataArray(a, dims=dims, coords=coords).transpose(*frac.dims)  # noqa: E731
    out["fraction"] = wrap(value)
    out["n_usable"] = wrap(np.where(filled, n_fill, nv))
    out["filled"] = wrap(filled)
    out["spacing"] = wrap(spacing)
    out["agree"] = wrap(agree)
    return out


def metric_map(ds):
    """The refinement's displayed metric map of a loaded file: fraction_map of its refine metric
    (the fraction over computed, finished seeds of cells with that status), the fill rule
    applied. A dense file gives the converged fraction, nothing filled."""
    spec = refine_of(ds)
    name = spec.metric if spec else "converged"
    out = fraction_map(ds, ds["status"] == status_code(ds, name), done_mask(ds))
    out.attrs["metric"] = name
    return out


if __name__ == "__main__":
    from ._cli import library_main
    sys.exit(library_main("refine", __doc__))
