"""shallowsweep analysis: load a sweep file, draw phase diagrams, line plots and trajectories,
overlay theory, export tables.

From a checkout (its root on sys.path: the working directory, or PYTHONPATH=/path/to/checkout)
it is `analysis`; installed by `meson
install` it is `shallowsweep.analysis` (python3 -m shallowsweep.analysis.phase ...):

    from analysis import load                    # or: from shallowsweep.analysis import load
    from analysis.phase import phase
    ds = load("rates.h5")                        # xarray.Dataset, the sweep's axes as dims
    fig, data = phase(ds, "width", "n", at={"init_scale": "1"}, out="rates.png")

Modules: load (file -> Dataset), phase (phase diagrams), line (a metric against one axis),
traj (trajectories), boundary (the 50% boundary and its power-law fit), summary (status tables, the per-cell table), refine (refined sweeps: skipped cells and the fill rule), theory (width conditions
from the literature). `python3 -m analysis` lists the commands; each answers --help.
"""
import os as _os
import warnings as _warnings

# `python3 -m analysis.load --help` imports the package (and so .load) before running load.py
# as __main__, and runpy warns about that; the module's main only answers --help (_cli).
_warnings.filterwarnings("ignore", message=r"'[\w.]*analysis\.load' found in sys\.modules",
                         category=RuntimeWarning)

from .load import AnalysisError, load


def _version() -> str:
    """The installed copy's _version.py (meson install), else the checkout's VERSION file:
    either way the binary's version."""
    try:
        from ._version import __version__ as v  # type: ignore[import-not-found]
        return v
    except ImportError:
        path = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "VERSION")
        with open(path, encoding="utf-8") as f:
            return f.read().strip()


__version__ = _version()
__all__ = ["AnalysisError", "load", "__version__"]
