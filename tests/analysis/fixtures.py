"""Write small shallowsweep files with h5py, following DESIGN.md §4 exactly.

These stand in for the engine's files until the C store exists: root attributes, /cell and
/traj each with their own axis datasets made dimension scales and attached, /traj/step a
dimension scale, grid-shaped scalars, [A1..Ak, K] series, pending cells with status 0 and NaN
data. The outcomes are synthetic but deterministic: a cell converges when
width * dim >= n * threshold(seed), so the boundary is a line in log(width)-log(n).
"""
from __future__ import annotations

import itertools

import h5py
import numpy as np
import yaml

SERIES = ("loss", "grad_norm", "inner_dist", "outer_dist", "pattern_change", "test_loss")
BASE = {
    "model": {"width": 64, "activation": "relu", "output_scale": "1/sqrt(width)", "bias": False},
    "data": {"dim": 4, "n": 64, "input": "gaussian", "target": "random_gaussian", "test_n": 0},
    "init": {"inner_init_std": "1/sqrt(dim)", "outer_init": "gaussian", "init_scale": 1.0},
    "train": {"lr": 0.5, "rate_ratio": 1.0, "max_iters": 1000, "tol": 1e-08, "record_points": 8},
}


def _sweep_texts(name, grid):
    """(sweep_yaml as a user would write it, sweep_canonical as src/sweep/spec.c writes it:
    every non-axis key under its section, then grid: with one list per axis and seeds: N)."""
    written = {"name": name, "grid": {}}
    for k, v in grid.items():
        v = list(v)
        if k == "seed":
            written["grid"]["seeds"] = len(v)
        elif len(v) >= 3 and all(isinstance(x, (int, float)) for x in v) and v[0] > 0 and v[1] / v[0] == v[2] / v[1]:
            written["grid"][k] = {"geom": [v[0], v[-1]], "num": len(v)}
        else:
            written["grid"][k] = v
    lines = [f'name: "{name}"', 'description: ""']
    for section, keys in BASE.items():
        lines.append(f"{section}:")
        for k, v in keys.items():
            if k not in grid:
                lines.append(f"  {k}: {yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}")
    lines.append("grid:")
    for k, v in grid.items():
        if k == "seed":
            lines.append(f"  seeds: {len(v)}")
        else:
            lines.append(f"  {k}: [{', '.join(str(x) for x in v)}]")
    return yaml.safe_dump(written, sort_keys=False), "\n".join(lines) + "\n"


def outcome(params, seed):
    """Synthetic status (1 converged / 2 max_iters / 3 diverged) and iters_to_tol of a cell."""
    width, n = params.get("width", 64), params.get("n", 64)
    dim = params.get("dim", BASE["data"]["dim"])
    lr = params.get("lr", 0.5)
    if lr > 4:
        return 3, -1
    ratio = width * dim / (n * (1.0 + 0.5 * seed))
    if ratio >= 1:
        return 1, int(100 + 900 / ratio)
    return 2, -1


def make_file(path, grid, *, name="fixture", K=8, pending=None, ntk=True, failed=(), enum_as_index=False):
    """Write a sweep file over `grid` (dict axis -> values, in file order, 'seed' last).

    pending: boolean array of the grid's shape (True = not done yet) or None.
    failed: flat cell indices whose status is 4 with a message.
    enum_as_index: write text axes (activation) as their indices 0, 1, ... instead of strings.
    Returns the status array written.
    """
    axes = list(grid)
    assert axes[-1] == "seed"
    shape = tuple(len(v) for v in grid.values())
    steps = np.unique(np.round(np.geomspace(1, 1000, K - 1))).astype(np.int64)
    steps = np.concatenate([[0], steps])[:K]
    K = len(steps)
    nan = np.full(shape, np.nan)
    cell = {
        "status": np.zeros(shape, np.int8), "init_loss": nan.copy(), "final_loss": nan.copy(),
        "iters": np.zeros(shape, np.int64), "iters_to_tol": np.zeros(shape, np.int64),
        "wall_s": nan.copy(), "gflops": nan.copy(), "rank": np.zeros(shape, np.int32),
        "ntk_min": nan.copy(), "ntk_max": nan.copy(), "checksum": np.zeros(shape, np.uint32),
    }
    message = np.zeros(shape, dtype="S64")
    traj = {s: np.full(shape + (K,), np.nan) for s in SERIES}
    for flat, idx in enumerate(itertools.product(*(range(s) for s in shape))):
        if pending is not None and pending[idx]:
            continue
        params = {a: grid[a][i] for a, i in zip(axes, idx)}
        status, itt = outcome(params, params["seed"])
        if flat in failed:
            status, itt = 4, -1
            message[idx] = b"dsyevd failed: info=3"
        iters = itt if status == 1 else (5 if status == 3 else 1000)
        l0 = 1.0 + 0.1 * params["seed"]
        final = 1e-9 if status == 1 else (1e9 if status == 3 else 1e-2 * n_over(params))
        rec = steps <= iters
        loss = np.full(K, np.nan)
        loss[rec] = l0 * (final / l0) ** (steps[rec] / max(iters, 1))
        w = params.get("width", 64)
        traj["loss"][idx] = loss
        traj["grad_norm"][idx] = np.where(rec, np.sqrt(loss), np.nan)
        traj["inner_dist"][idx] = np.where(rec, steps / (1000.0 * np.sqrt(w)), np.nan)
        traj["outer_dist"][idx] = np.where(rec, steps / (2000.0 * np.sqrt(w)), np.nan)
        traj["pattern_change"][idx] = np.where(rec, 0.1 * steps / 1000.0, np.nan)
        cell["status"][idx] = status
        cell["init_loss"][idx] = l0
        cell["final_loss"][idx] = np.nan if status == 4 else loss[rec][-1]
        cell["iters"][idx] = iters
        cell["iters_to_tol"][idx] = itt
        cell["wall_s"][idx] = 0.01 * w
        cell["gflops"][idx] = 1.0
        cell["rank"][idx] = 1 + flat % 3
        if ntk:
            cell["ntk_min"][idx] = 0.1 * w / params.get("n", 64)
            cell["ntk_max"][idx] = 10.0 * w
        cell["checksum"][idx] = flat + 1
    written, canonical = _sweep_texts(name, grid)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "shallowsweep/1"
        f.attrs["sweep_yaml"] = written
        f.attrs["sweep_canonical"] = canonical
        f.attrs["created"] = "2024-01-01T00:00:00Z"
        f.attrs["software_version"] = "0.1.0"
        f.attrs["axes"] = np.array(axes, dtype=h5py.string_dtype())
        for gname, variables, extra in (("cell", cell, ()), ("traj", traj, ("step",))):
            g = f.create_group(gname)
            scales = []
            for a in axes:
                vals = grid[a]
                if all(isinstance(v, str) for v in vals) and enum_as_index:
                    d = g.create_dataset(a, data=np.arange(len(vals), dtype=float))
                elif all(isinstance(v, str) for v in vals):
                    d = g.create_dataset(a, data=np.array(vals, dtype=h5py.string_dtype()))
                else:
                    d = g.create_dataset(a, data=np.asarray(vals))
                d.make_scale(a)
                scales.append(d)
            if extra:
                d = g.create_dataset("step", data=steps)
                d.make_scale("step")
                scales.append(d)
            items = list(variables.items())
            if gname == "cell":
                items.append(("message", message))
            for vname, v in items:
                d = g.create_dataset(vname, data=v)
                for i, s in enumerate(scales[: v.ndim]):
                    d.dims[i].attach_scale(s)
    return cell["status"]


def n_over(params):
    return params.get("n", 64) / params.get("width", 64)


def standard_grid():
    """width x n x lr x seed, small enough for fast tests."""
    return {
        "width": [4, 8, 16, 32, 64],
        "n": [8, 16, 32, 64],
        "lr": [0.5, 8.0],
        "seed": [0, 1, 2],
    }


# ---- refined sweeps (issue 15) -------------------------------------------------------------------

STATUS_NAMES_2 = "pending converged max_iters diverged failed skipped"
SKIPPED = 5


def refinement(status, axes=(0, 1), levels=2, start=2, metric=1):
    """The engine's refinement rule, applied to a dense outcome: which cells it would skip.

    status: grid-shaped codes (seed last), the dense truth. The refined axes X, Y are at positions
    `axes`; the other non-seed axes are the slices. A point's metric is the fraction of its
    computed seeds with status `metric`: its first `start` seeds, all of them where those gave a
    fraction strictly between 0 and 1 (as the engine decides a square once its corners have all
    their seeds, DESIGN §18). Level-0 points are the multiples of 2^L; a square is refined when its
    4 corners' metrics are not all equal in any slice, which computes its edge midpoints and
    centre and makes its 4 sub-squares.
    Returns (skip: bool, grid-shaped; computed: (NX, NY) bool; refined: [(i, j, s)] squares)."""
    st = np.moveaxis(np.asarray(status), axes, (0, 1))          # (NX, NY, R..., S)
    nx, ny = st.shape[:2]
    first = (st[..., :start] == metric).mean(-1)                 # (NX, NY, R...)
    certain = (first == 0) | (first == 1)
    hit = np.where(certain, first, (st == metric).mean(-1))      # over the computed seeds
    top = 2 ** levels
    computed = np.zeros((nx, ny), bool)
    computed[::top, ::top] = True
    squares = [(i, j) for i in range(0, nx - 1, top) for j in range(0, ny - 1, top)]
    refined = []
    for lev in range(levels):
        s = 2 ** (levels - lev)
        h = s // 2
        below = []
        for i, j in squares:
            c = [hit[i, j], hit[i + s, j], hit[i, j + s], hit[i + s, j + s]]
            if any(np.any(v != c[0]) for v in c[1:]):
                refined.append((i, j, s))
                for di, dj in ((h, 0), (0, h), (h, h), (s, h), (h, s)):
                    computed[i + di, j + dj] = True
                below += [(i, j), (i + h, j), (i, j + h), (i + h, j + h)]
        squares = below
    skip = np.zeros(st.shape, bool)
    skip[~computed] = True
    skip[..., start:][computed.reshape(computed.shape + (1,) * (hit.ndim - 2)) & certain] = True
    return np.moveaxis(skip, (0, 1), axes), computed, refined


def refine_file(path, grid, *, refine_axes=("width", "n"), levels=2, start=2, metric="converged",
                pending=None):
    """A refined sweep's file: make_file's dense outcome over `grid`, then the cells refinement()
    skips set to status skipped with NaN data (as the engine leaves them: never written), the
    status names of format 2 with skipped, and the refine section and adaptive seeds in
    sweep_canonical. pending: grid-shaped bool, cells (not skipped) left pending afterwards.
    Returns (dense status, skip, computed, refined)."""
    axes = list(grid)
    status = make_file(path, grid)
    code = STATUS_NAMES_2.split().index(metric)
    skip, computed, refined = refinement(status, tuple(axes.index(a) for a in refine_axes), levels, start, code)
    unset = skip | (pending if pending is not None else False)
    with h5py.File(path, "r+") as f:
        for name, d in f["cell"].items():
            if name in axes:
                continue
            v = d[()]
            v[unset] = np.nan if v.dtype.kind == "f" else (b"" if v.dtype.kind == "S" else 0)
            if name == "status":
                v[skip] = SKIPPED
                d.attrs["flag_values"] = np.arange(6, dtype=np.int8)
                d.attrs["flag_meanings"] = STATUS_NAMES_2
            d[...] = v
        for name, d in f["traj"].items():
            if name not in axes and name != "step":
                v = d[()]
                v[unset] = np.nan
                d[...] = v
        canonical = f.attrs["sweep_canonical"]
        canonical = canonical.decode() if isinstance(canonical, bytes) else canonical
        seeds = len(grid["seed"])
        canonical = canonical.replace(f"  seeds: {seeds}\n", f"  seeds: {{start: {start}, max: {seeds}}}\n")
        canonical += f"refine:\n  axes: [{', '.join(refine_axes)}]\n  levels: {levels}\n  metric: {metric}\n"
        f.attrs["sweep_canonical"] = canonical
    return status, skip, computed, refined
