"""Theory conditions against hand-computed values, and their overlay on phase diagrams."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import theory  # noqa: E402
from analysis.load import AnalysisError  # noqa: E402
from analysis.phase import legend_texts, phase  # noqa: E402


@pytest.mark.parametrize("name, values, width", [
    ("counting", dict(n=64, dim=16), 4.0),              # 64 / 16
    ("counting_outer", dict(n=100), 100.0),
    ("oymak2020", dict(n=64, dim=16), 256.0),           # 64^2 / 16
    ("song2019", dict(n=10), 100.0),                    # 10^2
    ("du2019", dict(n=4), 4096.0),                      # 4^6
    ("razborov2022", dict(n=32, dim=8), 128.0),         # 32^2 / 8
    ("marion2023", dict(target_breakpoints=[0.25, 0.5]), 4.0),  # gaps .25 .25 .5 -> 1/.25
])
def test_min_width_hand_values(name, values, width):
    assert theory.get(name).min_width(**values) == pytest.approx(width, rel=1e-12)


def test_vectorised_over_axes():
    n = np.array([8, 16, 32])
    dim = np.array([[2], [4]])
    got = theory.get("oymak2020").min_width(n=n, dim=dim)
    np.testing.assert_allclose(got, [[32, 128, 512], [16, 64, 256]])


def test_every_condition_is_documented():
    for c in theory.CONDITIONS.values():
        assert c.reference and c.note and c.formula, c.name
        assert c.constant_kind in ("exact", "illustrative"), c.name
        assert c.constant == 1.0, c.name
    assert theory.get("counting").constant_kind == "exact"
    assert theory.get("du2019").constant_kind == "illustrative"


def test_margin_and_holds():
    c = theory.get("oymak2020")
    assert theory.boundary_margin(c, dict(width=256, n=64, dim=16)) == pytest.approx(0.0, abs=1e-12)
    assert theory.boundary_margin(c, dict(width=512, n=64, dim=16)) == pytest.approx(np.log(2))
    np.testing.assert_array_equal(c.holds(np.array([255, 256, 257]), n=64, dim=16), [False, True, True])
    assert c.with_constant(2.0, "fitted").min_width(n=64, dim=16) == pytest.approx(512)


def test_fit_constant_separates_a_clean_boundary():
    c = theory.get("counting_outer")
    W, N = np.meshgrid([4, 8, 16, 32, 64, 128], [8, 16, 32, 64])
    frac = np.where(W >= 3 * N, 1.0, 0.0)
    frac[0, 0] = np.nan                      # a pending cell is ignored
    C = theory.fit_constant(c, W, frac, n=N)
    assert 2.0 < C <= 4.0
    fitted = c.with_constant(C, "fitted")
    ok = np.isfinite(frac)
    np.testing.assert_array_equal(fitted.holds(W, n=N)[ok], frac[ok] >= 0.5)


def test_missing_variable_and_unknown_name():
    with pytest.raises(AnalysisError, match="needs dim"):
        theory.get("counting").min_width(n=4)
    with pytest.raises(AnalysisError, match="unknown theory 'ntk'"):
        theory.get("ntk")


def dashed_paths(ax):
    return [p.vertices for c in ax.collections if type(c).__name__ == "PathCollection"
            and c.get_linestyle() and c.get_linestyle()[0][1] is not None
            for p in c.get_paths() if len(p.vertices) > 1]


def test_overlay_draws_the_formula(files):
    # dim = 4 comes from the sweep's base values (not an axis): the line is width = n / 4.
    fig, _ = phase(files["full"], "width", "n", at={"lr": "0.5"}, theory=["counting"])
    ax = fig.axes[0]
    paths = dashed_paths(ax)
    assert paths, "theory line not drawn"
    v = np.concatenate(paths)
    np.testing.assert_allclose(v[:, 0] * 4 / v[:, 1], 1.0, rtol=0.03)
    labels = legend_texts(fig)
    assert any(s.startswith("m·d = n") and "C=1, exact" in s for s in labels)
    plt.close(fig)


def test_overlay_fit_and_out_of_range(files):
    fig, _ = phase(files["full"], "width", "n", at={"lr": "0.5"}, theory=["du2019", "counting_outer:fit"])
    labels = legend_texts(fig)
    assert any("Du et al." in s and "holds nowhere shown" in s for s in labels)
    assert any("m = n (outer layer only)" in s and "fitted" in s for s in labels)
    plt.close(fig)
