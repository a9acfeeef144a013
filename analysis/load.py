"""Read a shallowsweep HDF5 file (DESIGN.md §4) into one xarray.Dataset.

Dimension letters: A1..Ak are the sweep's axes in file order (seed last), K the record
points. The returned Dataset holds

    <scalar>(A1, ..., Ak)      every dataset of /cell that is not an axis (status, init_loss,
                               final_loss, iters, iters_to_tol, wall_s, gflops, rank,
                               ntk_min, ntk_max, message, checksum)
    <series>(A1, ..., Ak, step) every dataset of /traj that is not an axis or step (loss,
                               grad_norm, inner_dist, outer_dist, pattern_change, test_loss)

with the axis values and the recorded steps as coordinates. Each axis coordinate carries
attrs["scale"] = "log" | "linear" | "category" (see axis_scale) and attrs["label_of"], its
values' labels as the file stores them. ds.attrs["status_names"] maps status codes to the
names the file gives them. The root attributes are
copied into ds.attrs, with the canonical sweep parsed into ds.attrs["sweep"] (a dict:
sections model/data/init/train/grid).

Reading a file that a job is still writing: the store's metadata is frozen at creation and a
worker writes trajectories, scalars, checksum and the status last, so a cell is done exactly
when its status is non-zero. load() opens read-only with HDF5 file locking off and sets every
floating-point value of a pending cell (status 0) to NaN, so a half-written cell never
looks finished. Integer scalars of pending cells keep the file's fill value (0); use status.
done_mask(ds) is the finished cells: neither pending nor skipped.

Refined sweeps (issue 15): cells the refinement never computed have status `skipped` (the file
names it; code 5), are NaN like pending cells and are not done. ds.attrs["refine"] holds the
parsed refine section (analysis.refine.Refine: axes, levels, metric) and
ds.attrs["adaptive_seeds"] the (start, max) of an adaptive seed axis; both absent otherwise.
analysis.refine.metric_map(ds) gives the displayed metric with the fill rule applied.
On NFS/Lustre also export HDF5_USE_FILE_LOCKING=FALSE before starting Python.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

FORMAT = "shallowsweep/2"
FORMATS = (FORMAT, "shallowsweep/1")  # format 1 (0.1): no descent diagnostics, no diagnosis
# The status codes of DESIGN.md §2. Their names come from the file (/cell/status attributes
# flag_values and flag_meanings, written from the C table); files written before 0.2 lack
# them and get these, the names of that version.
PENDING, CONVERGED, MAX_ITERS, DIVERGED, FAILED = 0, 1, 2, 3, 4
# A refined sweep's cells that the refinement never computed (issue 15): NaN data, not done,
# no checksum. Only files whose flag_meanings name it have it.
SKIPPED = 5
_STATUS_NAMES_BEFORE_0_2 = {0: "pending", 1: "converged", 2: "max_iters", 3: "diverged", 4: "failed"}
SEED_AXIS = "seed"
STEP_DIM = "step"


class AnalysisError(Exception):
    """A user-facing error: the command line prints its message on one line and exits 2."""


def _text(v: Any) -> Any:
    """HDF5 attributes come back as bytes, numpy strings or arrays of them; give str/list."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "SOU":
            return [_text(x) for x in v.ravel().tolist()]
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _open_h5(path: str):
    """Open read-only without HDF5 file locking (a running job holds the file open)."""
    import h5py

    if not os.path.exists(path):
        raise AnalysisError(f"{path}: no such file")
    try:
        try:
            return h5py.File(path, "r", locking=False)
        except (TypeError, ValueError):
            # h5py < 3.5 or HDF5 without the locking property: the environment variable is
            # read by HDF5 at each file open.
            os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
            return h5py.File(path, "r")
    except OSError as e:
        if "locking" in str(e):
            # Already open in this process with locking on (e.g. by xarray): HDF5 refuses a
            # second open with different locking flags, but the default one is accepted.
            try:
                return h5py.File(path, "r")
            except OSError:
                pass
        if "signature" in str(e):
            raise AnalysisError(f"{path}: not a shallowsweep file (not HDF5)") from None
        if "lock" in str(e):
            raise AnalysisError(f"{path}: locked by another process: export HDF5_USE_FILE_LOCKING=FALSE "
                                f"and retry ({e})") from None
        raise AnalysisError(f"{path}: cannot open ({e})") from None


def parse_sweep(text: str) -> dict:
    """The canonical sweep YAML as a dict (empty dict for empty text)."""
    import yaml

    if not text:
        return {}
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise AnalysisError(f"sweep_canonical is not valid YAML: {str(e).splitlines()[0]}") from None
    return doc if isinstance(doc, dict) else {}


def sweep_value(sweep: dict, key: str) -> Any:
    """A parameter's base value from the parsed sweep (any of its sections), or None."""
    for section in ("model", "data", "init", "train"):
        sec = sweep.get(section)
        if isinstance(sec, dict) and key in sec:
            return sec[key]
    return sweep.get(key)


def _is_geometric(values: np.ndarray) -> bool:
    """Positive values whose ratios are more even than their differences, spanning >= 4x.

    16, 32, 64, 128 and rounded geomspace(16, 4096, 9) are geometric; 1, 2, 3, 4 is not.
    """
    v = np.sort(np.asarray(values, dtype=float))
    if v.size < 2 or not np.all(np.isfinite(v)) or v[0] <= 0 or v[-1] / v[0] < 4:
        return False
    if v.size == 2:
        return True
    dlog, dlin = np.diff(np.log(v)), np.diff(v)
    cv = lambda d: np.std(d) / abs(np.mean(d))  # noqa: E731  (spread of the spacings)
    return bool(cv(dlog) < cv(dlin))


def axis_scale(name: str, values: np.ndarray, sweep_yaml: dict | None = None) -> str:
    """'log', 'linear' or 'category' for an axis.

    The sweep file as written decides when it says so (`{geom: [...]}` is log, `{lin: ...}` or
    `{linspace: ...}` linear); otherwise numeric values are log when _is_geometric. The seed
    axis and non-numeric axes (activation, input, ...) are categories.
    """
    if name == SEED_AXIS or np.asarray(values).dtype.kind not in "iuf":
        return "category"
    spec = ((sweep_yaml or {}).get("grid") or {}).get(name)
    if isinstance(spec, dict):
        if "geom" in spec:
            return "log" if np.all(np.asarray(values) > 0) else "linear"
        if "lin" in spec or "linspace" in spec:
            return "linear"
    return "log" if _is_geometric(values) else "linear"


def _axis_values(ds_h5) -> np.ndarray:
    v = ds_h5[()]
    if v.dtype.kind in "SO":
        return np.array([_text(x) for x in v.tolist()], dtype=object)
    return v


def _axis_labels(ds_h5, values: np.ndarray) -> list:
    """The axis's labels as the file was made with them (attribute 'labels', written by the C
    formatter that validate and status print with). Files written before 0.2 have none: their
    labels are rebuilt the way that formatter writes them (the first of %.15g, %.16g, %.17g
    that reads back exactly)."""
    if "labels" in ds_h5.attrs:
        labels = _text(ds_h5.attrs["labels"])
        labels = [labels] if isinstance(labels, str) else labels
        if len(labels) == len(values):
            return [str(x) for x in labels]
    out = []
    for v in values:
        if isinstance(v, str) or np.asarray(v).dtype.kind in "iub":
            out.append(str(v.item() if hasattr(v, "item") else v))
            continue
        v = float(v)
        out.append(next(t for t in ("%.15g" % v, "%.16g" % v, "%.17g" % v) if float(t) == v))
    return out


def _flag_names(ds_h5, before=None) -> dict:
    """{code: name} from an enum dataset's flag_values and flag_meanings (CF)."""
    a = ds_h5.attrs
    if "flag_values" not in a or "flag_meanings" not in a:
        return dict(before or {})
    codes = [int(c) for c in np.atleast_1d(a["flag_values"])]
    names = _text(a["flag_meanings"]).split()
    if len(codes) != len(names):
        raise AnalysisError(f"/cell/status: {len(codes)} flag_values but {len(names)} flag_meanings")
    return dict(zip(codes, names))


def status_names(ds) -> dict:
    """{status code: name} of a loaded file, in code order (pending first)."""
    return dict(sorted(ds.attrs["status_names"].items()))


def _labelled(axis: str, values: np.ndarray, sweep: dict) -> np.ndarray:
    """Text labels for an enum or boolean axis stored as numbers (its indices or 0/1).

    The canonical sweep lists such an axis by name (grid: {activation: [relu, tanh]}); when
    the file holds numbers there, the labels are the better coordinates.
    """
    listed = (sweep.get("grid") or {}).get(axis)
    if (values.dtype.kind in "iuf" and isinstance(listed, list) and len(listed) == len(values)
            and any(isinstance(v, (str, bool)) for v in listed)):
        return np.array([str(v).lower() if isinstance(v, bool) else str(v) for v in listed], dtype=object)
    return values


def _read_group(f, group: str, axes: list[str], path: str) -> tuple[dict, dict, dict, tuple]:
    """(coords, labels, variables, grid shape) of /cell or /traj, checked against the root axes."""
    if group not in f:
        raise AnalysisError(f"{path}: not a shallowsweep file (no /{group} group)")
    g = f[group]
    coords, labels = {}, {}
    for a in axes:
        if a not in g:
            raise AnalysisError(f"{path}: axis '{a}' listed in the root attribute 'axes' has no /{group}/{a}")
        coords[a] = _axis_values(g[a])
        labels[a] = _axis_labels(g[a], coords[a])
    shape = tuple(len(coords[a]) for a in axes)
    variables = {}
    for name, d in g.items():
        if name in coords or name == STEP_DIM or not hasattr(d, "shape"):
            continue
        if d.shape[: len(shape)] != shape:
            raise AnalysisError(f"{path}: /{group}/{name} has shape {d.shape}, expected {shape}[...]")
        variables[name] = d[()]
    return coords, labels, variables, shape


def load(path: str | os.PathLike) -> "xarray.Dataset":  # noqa: F821
    """Load a shallowsweep file as an xarray.Dataset (see the module docstring).

    Raises AnalysisError (one line) when the file is missing, not HDF5, or not shallowsweep's.
    """
    import xarray as xr

    path = os.fspath(path)
    with _open_h5(path) as f:
        attrs = {k: _text(v) for k, v in f.attrs.items()}
        if attrs.get("format") not in FORMATS:
            found = attrs.get("format")
            why = "no 'format' attribute" if found is None else f"format is '{found}'"
            raise AnalysisError(f"{path}: not a shallowsweep file ({why}, expected one of {', '.join(FORMATS)})")
        axes = attrs.get("axes")
        axes = [axes] if isinstance(axes, str) else list(axes or [])
        if not axes:
            raise AnalysisError(f"{path}: the root attribute 'axes' is empty")
        ccoords, labels, cvars, shape = _read_group(f, "cell", axes, path)
        tcoords, _, tvars, _ = _read_group(f, "traj", axes, path)
        steps = f["traj"][STEP_DIM][()] if STEP_DIM in f["traj"] else None
        names = _flag_names(f["cell"]["status"], _STATUS_NAMES_BEFORE_0_2) if "status" in f["cell"] else {}
        diagnoses = _flag_names(f["cell"]["diagnosis"]) if "diagnosis" in f["cell"] else {}
    if "status" not in cvars:
        raise AnalysisError(f"{path}: not a shallowsweep file (no /cell/status)")
    for a in axes:
        if not np.array_equal(ccoords[a], tcoords[a]):
            raise AnalysisError(f"{path}: /cell/{a} and /traj/{a} differ")

    status = np.asarray(cvars["status"])
    pending = status == PENDING
    if names.get(SKIPPED) == "skipped":  # never written: NaN however the file was filled
        pending = pending | (status == SKIPPED)
    data_vars = {}
    for name, v in cvars.items():
        if v.dtype.kind == "f":
            v = np.where(pending, np.nan, v)
        elif v.dtype.kind in "SO":
            v = np.array([_text(x).rstrip("\0") for x in v.ravel().tolist()], dtype=object).reshape(v.shape)
        data_vars[name] = (axes, v)
    for name, v in tvars.items():
        if steps is None:
            raise AnalysisError(f"{path}: /traj has series but no /traj/step")
        v = np.where(pending[..., None], np.nan, v.astype(float))
        data_vars[name if name not in data_vars else f"traj_{name}"] = (axes + [STEP_DIM], v)

    sweep = parse_sweep(attrs.get("sweep_canonical", ""))
    written = parse_sweep(attrs.get("sweep_yaml", ""))
    coords = {a: _labelled(a, ccoords[a], sweep) for a in axes}
    if steps is not None:
        coords[STEP_DIM] = steps
    ds = xr.Dataset(data_vars, coords=coords)
    for a in axes:
        ds[a].attrs["scale"] = axis_scale(a, coords[a], written)
        # {value: label}: a value read from ds (a coordinate, or the scalar a slice leaves) is
        # exactly one of the file's, so it finds its label (select.axis_label); coordinate
        # attributes survive slicing and reductions over other axes
        ds[a].attrs["label_of"] = dict(zip(_keys(coords[a]), labels[a]))
    ds.attrs.update(attrs)
    ds.attrs["axes"] = axes
    ds.attrs["status_names"] = names
    if "diagnosis" in ds:
        ds["diagnosis"].attrs["names"] = diagnoses
    ds.attrs["sweep"] = sweep
    ds.attrs["path"] = path
    _add_refine(ds, sweep)
    return ds


def _add_refine(ds, sweep: dict) -> None:
    """ds.attrs["refine"] (a refine.Refine) and ds.attrs["adaptive_seeds"] ((start, max)) for a
    refined sweep; absent for a dense one."""
    from .refine import adaptive_seeds, check_refine, refine_spec

    spec, seeds = refine_spec(sweep), adaptive_seeds(sweep)
    if spec is not None:
        check_refine(ds, spec)
        ds.attrs["refine"] = spec
    if seeds is not None:
        ds.attrs["adaptive_seeds"] = seeds


def _keys(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in np.asarray(values, dtype=object).tolist()]


def status_code(ds, name: str) -> int:
    """The code the file gives a status name (converged, skipped, ...)."""
    for code, n in ds.attrs["status_names"].items():
        if n == name:
            return code
    raise AnalysisError(f"status '{name}' is not one of this file's ({', '.join(status_names(ds).values())})")


def skipped_mask(ds) -> "xarray.DataArray":  # noqa: F821
    """True where a refined sweep skipped a cell (never computed); all False for other files."""
    st = ds["status"]
    if ds.attrs["status_names"].get(SKIPPED) != "skipped":
        return st != st
    return st == SKIPPED


def done_mask(ds) -> "xarray.DataArray":  # noqa: F821
    """True where a cell has finished (neither pending nor skipped)."""
    return (ds["status"] != PENDING) & ~skipped_mask(ds)


if __name__ == "__main__":
    import sys

    from ._cli import library_main
    sys.exit(library_main("load", __doc__))
