"""shallowsweep analysis: load a sweep file, draw phase diagrams and trajectories, overlay theory.

    from analysis import load, phase
    ds = load("rates.h5")                       # xarray.Dataset, axes as dims
    fig, data = phase(ds, "width", "n", at={"init_scale": "1"}, out="rates.png")

Command lines: python3 -m analysis.phase | analysis.traj | analysis.summary (each --help).
"""
from .load import AnalysisError, load

__all__ = ["AnalysisError", "load", "phase", "traj", "summary", "theory"]


def __getattr__(name):  # import the plotting modules (matplotlib) only when used
    import importlib

    if name in ("phase", "traj", "summary", "theory"):
        mod = importlib.import_module(f".{name}", __name__)
        return getattr(mod, name, mod) if name in ("phase", "traj") else mod
    raise AttributeError(name)
