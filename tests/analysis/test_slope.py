"""analysis.slope on fixture files with known slopes: the fixture's inner_dist rewritten per
gamma to width^p·(1 + 2 % seed noise), p = -1/2, 0, +1/2."""
import json

import h5py
import numpy as np
import pytest

from analysis import load
from analysis.slope import classify, main, slopes
from fixtures import make_file

WIDTHS = [16.0, 32.0, 64.0, 128.0, 256.0]
GRID = {"gamma": [0.0, 1.0, 2.0], "width": WIDTHS, "seed": [0, 1, 2, 3]}
SLOPES = {0.0: -0.5, 1.0: 0.0, 2.0: 0.5}   # the slope written at each gamma


def _file(tmp_path, rewrite=True):
    path = tmp_path / "slope.h5"
    make_file(path, GRID)
    if rewrite:
        rng = np.random.default_rng(1)
        with h5py.File(path, "r+") as f:
            d = f["traj/inner_dist"]                           # (gamma, width, seed, K)
            v = d[...]
            for i, g in enumerate(GRID["gamma"]):
                for j, w in enumerate(WIDTHS):
                    noise = 1 + 0.02 * rng.standard_normal(len(GRID["seed"]))  # (seed,)
                    v[i, j, :, :] = np.where(np.isfinite(v[i, j]), (w ** SLOPES[g] * noise)[:, None], np.nan)
            d[...] = v
    return str(path)


def test_known_slopes_and_classes(tmp_path):
    res = slopes(load(_file(tmp_path)), "width", "inner_dist", ["gamma"], B=300)
    got = {q["gamma"]: q for q in res["points"]}
    for g, p in SLOPES.items():
        q = got[g]
        assert q["slope"] == pytest.approx(p, abs=0.03), q
        assert q["ci"][0] <= p <= q["ci"][1], q
        assert q["ci"][1] - q["ci"][0] < 0.1, q   # 2 % noise: a narrow interval
    assert [got[g]["class"] for g in (0.0, 1.0, 2.0)] == ["down", "critical", "up"]


def test_classify_edges():
    assert classify(-0.05, 0.08) == "critical"
    assert classify(-0.2, 0.05) == "unclear"
    assert classify(0.2, 0.6) == "up"
    assert classify(-0.6, -0.2) == "down"


def test_cli_json_and_figure(tmp_path, capsys):
    png = tmp_path / "map.png"
    assert main([_file(tmp_path), "--x", "width", "--y", "inner_dist", "--over", "gamma",
                 "--bootstrap", "50", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["points"]) == 3
    with pytest.raises(Exception, match="exactly two"):
        main([_file(tmp_path), "--x", "width", "--y", "inner_dist", "--over", "gamma", "-o", str(png)])


def test_unknown_axis_says_what_to_do(tmp_path):
    from analysis.load import AnalysisError
    with pytest.raises(AnalysisError, match="no axis 'n'"):
        slopes(load(_file(tmp_path)), "width", "inner_dist", ["n"], B=10)


def test_unknown_metric_lists_the_files_metrics(tmp_path):
    from analysis.load import AnalysisError
    with pytest.raises(AnalysisError, match="unknown metric 'innerdist'.*inner_dist"):
        slopes(load(_file(tmp_path)), "width", "innerdist", ["gamma"], B=10)
