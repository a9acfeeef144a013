"""Slicing a loaded sweep by axis values (`--at key=value`) and checking plotted axes."""
from __future__ import annotations

import numpy as np

from .load import SEED_AXIS, AnalysisError

# A number names an axis value when it agrees with it to this relative tolerance: the C side's
# SSW_AXIS_VALUE_RTOL (include/shallowsweep/sweep.h; tests/docs checks that they are equal), so
# that `--at lr=...` picks the same cell here as in `shallowsweep cell --at`.
VALUE_RTOL = 1e-12


def axes_of(ds) -> list:
    return [a for a in ds.attrs["axes"] if a in ds.dims]


def fmt_value(v) -> str:
    """A number that is not an axis value (a step, a count) as text: 64, 0.5, 1e-05."""
    if isinstance(v, (str, bytes)):
        return v.decode() if isinstance(v, bytes) else v
    v = float(v)
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def axis_label(ds, axis: str, v) -> str:  # ds: a Dataset, or a DataArray with axis as a coordinate
    """An axis value as the file labels it: the text `shallowsweep validate` and `status` print
    (64, 0.30000000000000004, relu)."""
    key = v.item() if hasattr(v, "item") else v
    found = ds[axis].attrs.get("label_of", {}).get(key) if axis in ds.coords else None
    return found if found is not None else fmt_value(v)


def tick_label(ds, axis: str, v) -> str:
    """An axis value as a tick shows it: numbers to 3 significant digits (0.316, 5.62, 64), so
    that a geometric axis's ticks stay short; other values as axis_label gives them."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return f"{float(v):.3g}"
    return axis_label(ds, axis, v)


def index_of(ds, axis: str, text: str) -> int:
    """Index of the value `text` on `axis`, numerically (within VALUE_RTOL) or by label."""
    values = ds[axis].values
    if values.dtype.kind in "iuf":
        try:
            target = float(text)
        except ValueError:
            target = None
        if target is not None:
            hit = np.flatnonzero(np.isclose(values.astype(float), target, rtol=VALUE_RTOL, atol=0))
            if hit.size:
                return int(hit[0])
    else:
        hit = [i for i, v in enumerate(values) if axis_label(ds, axis, v) == text]
        if hit:
            return hit[0]
    shown = ", ".join(axis_label(ds, axis, v) for v in values)
    raise AnalysisError(f"empty slice: axis '{axis}' has no value {text} (its values: {shown})")


def check_axis(ds, name: str, role: str) -> None:
    axes = axes_of(ds)
    if name not in ds.attrs["axes"]:
        raise AnalysisError(f"unknown axis '{name}' for {role} (axes of this sweep: {', '.join(ds.attrs['axes'])})")
    if name not in axes:
        raise AnalysisError(f"axis '{name}' for {role} is already sliced by --at")


def slice_at(ds, at: dict, keep=()) -> "xarray.Dataset":  # noqa: F821
    """ds with each axis in `at` fixed at one value (the dim dropped, a scalar coordinate kept).

    `keep` are the plotted axes, which may not be sliced.
    """
    for axis, text in at.items():
        if axis not in ds.attrs["axes"]:
            raise AnalysisError(f"unknown axis '{axis}' in --at (axes of this sweep: {', '.join(ds.attrs['axes'])})")
        if axis in keep:
            raise AnalysisError(f"--at {axis}={text}: '{axis}' is plotted, it cannot also be sliced")
    return ds.isel({axis: index_of(ds, axis, text) for axis, text in at.items()})


# What else resolves an axis, per command: one panel or one line per value.
ALTERNATIVE = {"phase": " or --facet ", "line": " or --hue "}


def require_resolved(ds, used, what: str) -> None:
    """Every axis but the used ones and seed must have one value left, else say what to do."""
    for a in axes_of(ds):
        if a in used or a == SEED_AXIS or ds.sizes[a] == 1:
            continue
        values = ", ".join(axis_label(ds, a, v) for v in ds[a].values)
        raise AnalysisError(f"axis '{a}' has {ds.sizes[a]} values ({values}): fix it with "
                            f"--at {a}=VALUE{ALTERNATIVE.get(what, '') + a if what in ALTERNATIVE else ''}")


def slice_title(ds, skip=()) -> str:
    """'lr=0.5, dim=16' for the scalar (sliced or length-1) axis coordinates of ds."""
    parts = []
    for a in ds.attrs["axes"]:
        if a in skip or a == SEED_AXIS:
            continue
        if a not in ds.dims and a in ds.coords:
            parts.append(f"{a}={axis_label(ds, a, ds[a].values.item())}")
        elif a in ds.dims and ds.sizes[a] == 1:
            parts.append(f"{a}={axis_label(ds, a, ds[a].values[0])}")
    return ", ".join(parts)


if __name__ == "__main__":
    import sys

    from ._cli import library_main
    sys.exit(library_main("select", __doc__))
