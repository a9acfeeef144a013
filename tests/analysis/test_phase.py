"""phase_data and plot_phase: the numbers, shapes, labels and colours of phase diagrams."""
import h5py
import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis.load import AnalysisError, load  # noqa: E402
from analysis.phase import PENDING_GREY, legend_texts, phase, phase_data  # noqa: E402


def counts_from_file(path, lr_index):
    """Fraction converged per (n, width) straight from /cell/status, with numpy only."""
    with h5py.File(path, "r") as f:
        st = f["cell/status"][()][:, :, lr_index, :]     # (width, n, seed)
    done = (st != 0).sum(axis=-1)
    conv = (st == 1).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(done > 0, conv / done, np.nan)
    return frac.T, done.T                                # (n, width)


@pytest.mark.parametrize("name", ["full", "partial"])
@pytest.mark.parametrize("lr_index, lr", [(0, "0.5"), (1, "8")])
def test_fraction_converged_equals_file_counts(files, name, lr_index, lr):
    pd = phase_data(load(files[name]), "width", "n", at={"lr": lr})
    frac, done = counts_from_file(files[name], lr_index)
    assert pd["value"].dims == ("n", "width")
    np.testing.assert_array_equal(pd["n_done"].values, done)
    np.testing.assert_allclose(pd["value"].values, frac, rtol=0, atol=1e-15, equal_nan=True)
    # the fixture's boundary really is there: some cells converged, some not
    if lr_index == 0:
        assert np.nanmax(frac) == 1.0 and np.nanmin(frac) == 0.0


def test_slicing_shapes_and_labels(files):
    ds = load(files["full"])
    pd = phase_data(ds, "n", "width", at={"lr": "0.5"})
    assert pd["value"].dims == ("width", "n") and pd["value"].shape == (5, 4)
    assert float(pd["lr"]) == 0.5 and pd.attrs["slice"] == "lr=0.5"
    pd = phase_data(ds, "width", "lr", at={"n": "16"})
    assert pd["value"].shape == (2, 5) and pd.attrs["slice"] == "n=16"
    # one seed only
    pd = phase_data(ds, "width", "n", at={"lr": "0.5", "seed": "1"})
    assert int(pd["n_seeds"].max()) == 1 and set(np.unique(pd["value"].values)) <= {0.0, 1.0}


def test_facet_shapes_titles_and_panels(files):
    fig, pd = phase(files["full"], "width", "n", facet="lr")
    assert pd["value"].dims == ("lr", "n", "width") and pd["value"].shape == (2, 4, 5)
    axes = [a for a in fig.axes if a.get_visible() and a.get_title()]
    assert [a.get_title() for a in axes] == ["lr = 0.5", "lr = 8"]
    for a in axes:
        assert a.get_xlabel() == "width (log scale)" and a.get_ylabel() == "n (log scale)"
        assert a.get_xscale() == "log" and a.get_yscale() == "log"
        assert [t.get_text() for t in a.get_xticklabels()] == ["4", "8", "16", "32", "64"]
    plt.close(fig)
    fig, pd = phase(files["mixed"], "lr", "width", facet="activation")
    assert pd["value"].shape == (2, 3, 4)
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles == ["activation = relu", "activation = tanh"]
    assert fig.axes[0].get_xscale() == "linear" and fig.axes[0].get_xlabel() == "lr"
    plt.close(fig)


def pixel(fig, ax, x, y):
    """RGB in [0, 1] of the rendered figure at data point (x, y) of ax."""
    fig.canvas.draw()
    buf = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return buf[int(round(buf.shape[0] - py)), int(round(px)), :3] / 255.0


def test_pending_cells_are_grey_and_finished_ones_coloured(files):
    fig, pd = phase(files["partial"], "width", "n", at={"lr": "0.5"})
    ax = fig.axes[0]
    assert np.isnan(pd["value"].sel(width=64, n=8))           # pending: no value
    np.testing.assert_allclose(pixel(fig, ax, 64, 8), to_rgb(PENDING_GREY), atol=0.02)
    # width 16, n 8 converged on every seed: the top of viridis (yellow)
    assert float(pd["value"].sel(width=16, n=8)) == 1.0
    np.testing.assert_allclose(pixel(fig, ax, 16, 8), plt.get_cmap("viridis")(1.0)[:3], atol=0.02)
    labels = legend_texts(fig)
    assert "pending (no seed finished)" in labels and "some seeds pending" in labels
    assert "50% of seeds converged" in labels
    plt.close(fig)


def test_all_pending_file_plots(files, tmp_path):
    out = tmp_path / "p.png"
    fig, pd = phase(files["all_pending"], "width", "n", at={"lr": "0.5"}, out=out)
    assert np.isnan(pd["value"].values).all() and (pd["n_done"].values == 0).all()
    np.testing.assert_allclose(pixel(fig, fig.axes[0], 16, 16), to_rgb(PENDING_GREY), atol=0.02)
    assert out.stat().st_size > 1000
    plt.close(fig)


def test_colorbar_names_metric_and_units(files):
    fig, _ = phase(files["full"], "width", "n", at={"lr": "0.5"}, metric="final_loss")
    cbar_ax = [a for a in fig.axes if a.get_label() == "<colorbar>"][0]
    assert "median final loss" in cbar_ax.get_ylabel() and "(1/2n)" in cbar_ax.get_ylabel()
    assert cbar_ax.get_yscale() == "log"
    plt.close(fig)


def contour_paths(ax):
    """Vertices of the contour lines on ax (ContourSet levels are PathCollections)."""
    return [p.vertices for c in ax.collections if type(c).__name__ == "PathCollection"
            for p in c.get_paths() if len(p.vertices) > 1]


def test_contour_drawn_at_the_boundary(files):
    fig, pd = phase(files["full"], "width", "n", at={"lr": "0.5"})
    paths = contour_paths(fig.axes[0])
    assert paths, "no 50% contour drawn"
    v = np.concatenate(paths)
    assert 4 <= v[:, 0].min() and v[:, 0].max() <= 64 and 8 <= v[:, 1].min() and v[:, 1].max() <= 64
    plt.close(fig)
    # all seeds diverged at lr=8: no boundary, so no contour
    fig, _ = phase(files["full"], "width", "n", at={"lr": "8"})
    assert contour_paths(fig.axes[0]) == []
    plt.close(fig)


def test_median_iters_to_tol_and_never(files):
    ds = load(files["full"])
    pd = phase_data(ds, "width", "n", metric="iters_to_tol", at={"lr": "0.5"})
    with h5py.File(files["full"], "r") as f:
        itt = f["cell/iters_to_tol"][()][:, :, 0, :].astype(float)   # (width, n, seed)
    itt[itt < 0] = np.inf
    expect = np.median(itt, axis=-1).T
    np.testing.assert_array_equal(pd["value"].values, expect)
    assert np.isposinf(expect).any() and np.isfinite(expect).any()


def test_inner_dist_at_the_end_is_last_recorded_value(files):
    ds = load(files["full"])
    pd = phase_data(ds, "width", "n", metric="inner_dist", at={"lr": "0.5"})
    with h5py.File(files["full"], "r") as f:
        d = f["traj/inner_dist"][()][:, :, 0, :, :]                   # (width, n, seed, K)
    last = np.array([[[r[np.isfinite(r)][-1] for r in s] for s in w] for w in d])
    np.testing.assert_allclose(pd["value"].values, np.median(last, axis=-1).T, rtol=1e-15)


def test_any_series_is_a_metric(files):
    """pattern_change is not in phase's table: its map is the median over seeds of each cell's
    last recorded value, as read with h5py."""
    ds = load(files["full"])
    pd = phase_data(ds, "width", "n", metric="pattern_change", at={"lr": "0.5"})
    with h5py.File(files["full"], "r") as f:
        d = f["traj/pattern_change"][()][:, :, 0, :, :]               # (width, n, seed, K)
    last = np.array([[[r[np.isfinite(r)][-1] for r in s] for s in w] for w in d])
    np.testing.assert_allclose(pd["value"].values, np.median(last, axis=-1).T, rtol=1e-15)
    fig, _ = phase(ds, "width", "n", metric="pattern_change", at={"lr": "0.5"})
    assert any("median pattern_change" in ax.get_ylabel() for ax in fig.axes)


@pytest.mark.parametrize("kwargs, message", [
    (dict(x="width", y="n"), "axis 'lr' has 2 values .0.5, 8.: fix it with --at lr=VALUE or --facet lr"),
    (dict(x="width", y="nn", at={"lr": "0.5"}), "unknown axis 'nn' for --y"),
    (dict(x="width", y="width"), "both 'width'"),
    (dict(x="width", y="seed", at={"lr": "0.5"}), "seeds are reduced over"),
    (dict(x="width", y="n", at={"lr": "0.3"}), "empty slice: axis 'lr' has no value 0.3"),
    (dict(x="width", y="n", at={"width": "4"}), "'width' is plotted"),
    (dict(x="width", y="n", at={"lr": "0.5"}, metric="accuracy"), "unknown metric 'accuracy'"),
    (dict(x="width", y="n", facet="width"), "--facet width is also plotted"),
])
def test_errors(files, kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        phase_data(load(files["full"]), **kwargs)


def test_ntk_min_not_computed(files):
    with pytest.raises(AnalysisError, match="ntk_eigs: true"):
        phase_data(load(files["no_ntk"]), "width", "n", metric="ntk_min")
    pd = phase_data(load(files["full"]), "width", "n", metric="ntk_min", at={"lr": "0.5"})
    np.testing.assert_allclose(pd["value"].sel(width=8, n=16), 0.1 * 8 / 16)


def test_equal_aspect_makes_decades_equal(files):
    fig, _ = phase(files["full"], "width", "n", at={"lr": "0.5"}, equal_aspect=True)
    fig.canvas.draw()
    ax = fig.axes[0]
    (x0, y0), (x1, y1) = ax.transData.transform([(8, 8), (64, 64)])
    assert x1 - x0 == pytest.approx(y1 - y0, rel=1e-9) and x1 - x0 > 50
    fig, _ = phase(files["full"], "width", "n", at={"lr": "0.5"})
    fig.canvas.draw()
    (x0, y0), (x1, y1) = fig.axes[0].transData.transform([(8, 8), (64, 64)])
    assert abs((x1 - x0) / (y1 - y0) - 1) > 0.05  # without it, the panel's shape decides
    plt.close("all")


def test_equal_aspect_needs_log_axes(files):
    with pytest.raises(AnalysisError, match="--equal-aspect: axis 'lr' is not on a log scale"):
        phase(files["mixed"], "width", "lr", at={"activation": "relu"}, equal_aspect=True)
