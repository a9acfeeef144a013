"""Fixtures: small shallowsweep files written with h5py per DESIGN.md §4 (see fixtures.py)."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("SSW_SOURCE_DIR", HERE.parents[1]))
for p in (str(SOURCE_DIR), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)
os.environ.setdefault("MPLBACKEND", "Agg")

import fixtures  # noqa: E402


@pytest.fixture(scope="session")
def files(tmp_path_factory):
    """Paths of the fixture files, written once per session."""
    d = tmp_path_factory.mktemp("sweeps")
    grid = fixtures.standard_grid()
    shape = tuple(len(v) for v in grid.values())
    out = {}
    out["full"] = d / "full.h5"
    fixtures.make_file(out["full"], grid, failed=(7,))
    # Partly finished: width 64 not started, width 32 with seed 2 still pending.
    pending = np.zeros(shape, bool)
    pending[4] = True
    pending[3, :, :, 2] = True
    out["partial"] = d / "partial.h5"
    fixtures.make_file(out["partial"], grid, pending=pending)
    out["all_pending"] = d / "all_pending.h5"
    fixtures.make_file(out["all_pending"], grid, pending=np.ones(shape, bool))
    out["no_ntk"] = d / "no_ntk.h5"
    fixtures.make_file(out["no_ntk"], {"width": [4, 8], "n": [8, 16], "seed": [0, 1]}, ntk=False)
    # A linear (non-geometric) axis and a categorical one.
    out["mixed"] = d / "mixed.h5"
    fixtures.make_file(out["mixed"], {"width": [8, 16, 32], "lr": [0.1, 0.2, 0.3, 0.4],
                                      "activation": ["relu", "tanh"], "seed": [0, 1]})
    out["enum_index"] = d / "enum_index.h5"
    fixtures.make_file(out["enum_index"], {"width": [8, 16, 32], "activation": ["relu", "tanh"],
                                           "seed": [0, 1]}, enum_as_index=True)
    return out


def png_size(path):
    """(width, height) in pixels from a PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
