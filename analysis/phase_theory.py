"""Width conditions from the literature drawn on a phase diagram (phase.py): the line
width = C f(...) over the plotted axes, with C as published or fitted to the diagram's 50%
boundary. Cells with an unstable seed are left out of the fit: their failures are a step-size
artifact, not a capacity limit (DESIGN.md §2, "Diagnosis")."""
from __future__ import annotations

import numpy as np

from . import theory as theory_mod
from .load import AnalysisError, sweep_value


def positions(coord) -> tuple:
    """(centres, edges, scale) of an axis in plot coordinates."""
    scale = coord.attrs.get("scale", "linear")
    vals = coord.values
    if scale == "category" or vals.dtype.kind not in "iuf":
        c = np.arange(len(vals), dtype=float)
        return c, np.arange(len(vals) + 1) - 0.5, "category"
    c = vals.astype(float)
    if scale == "log":
        lc = np.log(c)
        step = np.diff(lc) if len(c) > 1 else np.array([np.log(2.0)])
        e = np.concatenate([[lc[0] - step[0] / 2], (lc[1:] + lc[:-1]) / 2, [lc[-1] + step[-1] / 2]])
        return c, np.exp(e), "log"
    step = np.diff(c) if len(c) > 1 else np.array([max(abs(c[0]), 1.0)])
    e = np.concatenate([[c[0] - step[0] / 2], (c[1:] + c[:-1]) / 2, [c[-1] + step[-1] / 2]])
    return c, e, "linear"


def theory_values(pd, panel, cond, X, Y) -> dict:
    """The variables of a condition on the plot mesh: axes from X/Y, the rest from the panel."""
    values = {pd.attrs["x"]: X, pd.attrs["y"]: Y}
    for v in ("width",) + tuple(cond.variables):
        if v in values:
            continue
        if v in panel.coords and panel[v].ndim == 0:
            values[v] = float(panel[v].values)
            continue
        base = sweep_value(pd.attrs.get("sweep", {}), v)
        if isinstance(base, str):
            try:
                base = float(base)
            except ValueError:
                base = None
        if base is None:
            raise AnalysisError(f"theory '{cond.name}' needs '{v}', which is neither plotted, sliced, "
                                f"nor a number in the sweep")
        values[v] = base
    return values


def draw_theory(ax, pd, panel, cond, color):
    """Draw width = C f(...) as the zero contour of log(width / (C f)); return legend text."""
    x, y = pd.attrs["x"], pd.attrs["y"]
    kind = cond.constant_kind
    label = f"{cond.label} (C={cond.constant:.3g}, {kind})"
    if panel[x].attrs.get("scale") == "category" or panel[y].attrs.get("scale") == "category":
        raise AnalysisError(f"--theory {cond.name}: axes '{x}' and '{y}' must be numeric")
    _, ex, sx = positions(panel[x])
    _, ey, sy = positions(panel[y])
    gx = np.geomspace(ex[0], ex[-1], 300) if sx == "log" else np.linspace(ex[0], ex[-1], 300)
    gy = np.geomspace(ey[0], ey[-1], 300) if sy == "log" else np.linspace(ey[0], ey[-1], 300)
    X, Y = np.meshgrid(gx, gy)
    margin = np.broadcast_to(theory_mod.boundary_margin(cond, theory_values(pd, panel, cond, X, Y)), X.shape)
    if np.nanmin(margin) > 0:
        return label + ": holds everywhere shown"
    if np.nanmax(margin) < 0:
        return label + ": holds nowhere shown"
    ax.contour(X, Y, margin, levels=[0.0], colors=[color], linewidths=2.0, linestyles="--")
    return label


def refuse_unreliable_fit(spec: str, pd) -> None:
    """A boundary is only real where the cells below it failed for the right reason: when most
    cells that did not converge (fraction < 1/2) had an unstable seed, there is no boundary to
    fit a law to, and a fitted line would dress a step-size artifact as a theorem."""
    failing = pd["converged"].values < 0.5
    unstable = failing & (pd["unstable"].values > 0)
    if failing.any() and 2 * int(unstable.sum()) >= int(failing.sum()):
        raise AnalysisError(f"--theory {spec}: {int(unstable.sum())} of the {int(failing.sum())} cells that did not "
                            f"converge had an unstable seed, so their boundary is the step size's, not the "
                            f"network's: no fit (lower lr, see shallowsweep validate)")


def theory_condition(spec: str, pd):
    """'NAME' as published, or 'NAME:fit' with C fitted to this diagram's 50% boundary."""
    name, _, mode = spec.partition(":")
    cond = theory_mod.get(name)
    if mode == "":
        return cond
    if mode != "fit":
        raise AnalysisError(f"--theory {spec}: write NAME or NAME:fit")
    x, y, facet = pd.attrs["x"], pd.attrs["y"], pd.attrs["facet"]
    refuse_unreliable_fit(spec, pd)
    X, Y = np.meshgrid(pd[x].values.astype(float), pd[y].values.astype(float))  # (y, x) cells
    panels = [pd.isel({facet: i}) for i in range(pd.sizes[facet])] if facet else [pd]
    width, frac, var = [], [], {k: [] for k in cond.variables}
    for panel in panels:
        values = theory_values(pd, panel, cond, X, Y)
        width.append(np.broadcast_to(np.asarray(values["width"], float), X.shape).ravel())
        f = panel["converged"].values.astype(float)
        frac.append(np.where(panel["unstable"].values > 0, np.nan, f).ravel())  # artifacts out
        for k in cond.variables:
            var[k].append(values[k])
    args = {k: (np.concatenate([np.broadcast_to(np.asarray(v, float), X.shape).ravel() for v in vs])
                if k != "target_breakpoints" else vs[0]) for k, vs in var.items()}
    c = theory_mod.fit_constant(cond, np.concatenate(width), np.concatenate(frac), **args)
    excluded = int((pd["unstable"] > 0).sum())
    fitted = cond.with_constant(c, "fitted")
    if excluded:
        fitted = fitted.with_label(f"{cond.label}; {excluded} unstable cell{'s' * (excluded != 1)} left out of the fit")
    return fitted


if __name__ == "__main__":
    import sys

    from ._cli import library_main
    sys.exit(library_main("phase_theory", __doc__))
