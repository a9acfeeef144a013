"""shallowsweep analysis: load a sweep file, draw phase diagrams and trajectories, overlay theory.

    from analysis import load
    from analysis.phase import phase
    ds = load("rates.h5")                        # xarray.Dataset, the sweep's axes as dims
    fig, data = phase(ds, "width", "n", at={"init_scale": "1"}, out="rates.png")

Modules: load (file -> Dataset), phase (phase diagrams), traj (trajectories), summary (status
tables), theory (width conditions from the literature). Command lines:
python3 -m analysis.phase | analysis.traj | analysis.summary, each with --help.
"""
from .load import AnalysisError, load

__all__ = ["AnalysisError", "load"]
