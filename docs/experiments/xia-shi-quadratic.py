"""Figures and tables of docs/experiments/xia-shi-quadratic.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/xia-shi-quadratic.py FILE.h5 OUTDIR

(scripts/experiment.sh xia-shi-quadratic runs the sweep first when FILE.h5 is missing.)
Writes OUTDIR/fit.png (fraction of seeds whose training loss reached tol, over rho × k),
OUTDIR/recovery.png (median final test_loss over rho × k), OUTDIR/verdict.png (why the cells
that did not fit stopped), OUTDIR/boundary.png (the recovery crossing rho* per k with its 95%
bootstrap interval, against the degrees-of-freedom line), OUTDIR/rate.png (log loss against
step of one cell, with the straight line fitted to its tail) and OUTDIR/results.md / .json.

What is measured: recovery is test_loss <= RECOVERED (a thousandth of the null predictor's test
loss); rho* per k is analysis.boundary's crossing of the recovered fraction through 1/2 along
rho. The degrees of freedom of the identifiable W^T W (PSD, rank k) are dim*k - k(k-1)/2, that
is n/(dim k) = 1 - (k-1)/(2 dim). The linear rate: a least-squares line through log10(loss)
against step over the recorded points of the local region (loss between TAIL_HI and the stop)."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis._cli import figure_script, run  # noqa: E402
from analysis import phase  # noqa: E402
from analysis.boundary import boundary  # noqa: E402

CONVERGED, MAX_ITERS = 1, 2
# Recovery: final test_loss at most this. The null predictor (the labels' mean) has test loss
# var(y)/2 = ||M*||_F^2 / k, about 1 to 1.8 here; cells that fit without recovering stay at
# 1e-2 and above, recovered cells that reached tol are near 1e-8 (see the doc).
RECOVERED = 1e-3
METRIC = f"test_loss<={RECOVERED:g}"
# The local region of the rate fit: recorded losses below this, up to the stop (the loss bends
# into its straight tail between 1e-4 and 1e-5 in rate.png; labels are O(1)).
TAIL_HI = 1e-5
RATE_CELL = {"width": 8, "rho": 2.0, "seed": 0}   # well above the line, the middle of the k range


def dof_rho(k, dim):
    """n/(dim k) at which n equals the degrees of freedom dim*k - k(k-1)/2 of W^T W."""
    return 1.0 - (np.asarray(k, float) - 1.0) / (2.0 * dim)


def recovery_fit(ds):
    """analysis.boundary's result: rho* (recovered fraction through 1/2 along rho) per width."""
    return boundary(ds, "rho", "width", metric=METRIC, direction="up")[1]


def grid_brackets(rows):
    """Per k: the grid interval in rho that holds the recovered fraction's first rise through 1/2,
    (the last rho below it with fewer than half the seeds recovered, the first with half or more).
    Where the fraction jumps from 0 to all seeds between two grid points, the bootstrap interval
    collapses to a point; this bracket is then the honest resolution."""
    out = {}
    for k in sorted({r["k"] for r in rows}):
        rr = sorted((r for r in rows if r["k"] == k), key=lambda r: r["rho"])
        up = [i for i, r in enumerate(rr) if 2 * r["recovered"] >= r["seeds"]]
        if up and up[0] > 0:
            out[k] = (rr[up[0] - 1]["rho"], rr[up[0]]["rho"])
        else:
            out[k] = None
    return out


def counts(ds):
    """Status and diagnosis counts of every cell, the largest final edge ratio, the loss rises."""
    names = ds.attrs["status_names"]
    dnames = ds["diagnosis"].attrs["names"]
    st, dg = ds["status"].values.ravel(), ds["diagnosis"].values.ravel()
    row = {names[k]: int((st == k).sum()) for k in sorted(names)}
    row.update({f"max_iters:{dnames[k]}": int(((st == MAX_ITERS) & (dg == k)).sum()) for k in sorted(dnames) if k})
    row["edge_ratio_final_max"] = float(np.nanmax(ds["edge_ratio_final"].values))
    row["loss_rises_max"] = int(np.nanmax(ds["loss_rises"].values))
    return row


def per_cell_rows(ds):
    """Per (k, rho): seeds that fit the training set, seeds recovered, median final train and
    test loss."""
    rows = []
    for k in ds["width"].values:
        for r in ds["rho"].values:
            sl = ds.sel(width=k, rho=r)
            tl = sl["final_test_loss"].values
            rows.append(dict(k=int(k), rho=float(r), n=int(round(r * int(ds.attrs["sweep"]["data"]["dim"]) * k)),
                             fit=int((sl["status"].values == CONVERGED).sum()),
                             recovered=int((tl <= RECOVERED).sum()), seeds=int(tl.size),
                             train_loss=float(np.median(sl["final_loss"].values)),
                             test_loss=float(np.median(tl))))
    return rows


def rate_fit(ds, cell=RATE_CELL):
    """The straight line through log10(loss) against step in the local region of one cell.
    Returns steps, losses, the fitted slope (decades per step), the rate per step, the fit's
    r^2 and the largest residual (decades)."""
    one = ds.sel(cell)
    steps = one["step"].values.astype(float)
    loss = one["loss"].values
    keep = np.isfinite(loss) & (loss > 0) & (steps > 0)
    steps, loss = steps[keep], loss[keep]
    tail = loss <= TAIL_HI
    x, y = steps[tail], np.log10(loss[tail])
    slope, icpt = np.polyfit(x, y, 1)
    res = y - (slope * x + icpt)
    r2 = 1.0 - (res ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return dict(cell=cell, steps=steps.tolist(), loss=loss.tolist(), tail_from=float(x[0]), tail_to=float(x[-1]),
                points=int(x.size), slope_decades_per_step=float(slope), intercept=float(icpt),
                rate_per_step=float(10 ** slope), r2=float(r2), max_residual_decades=float(np.abs(res).max()),
                status=int(one["status"].values), iters=int(one["iters"].values))


def _ci(v, digits=3):
    if v is None:
        return "—"
    f = lambda x: "open" if x is None else f"{x:.{digits}g}"  # noqa: E731
    return f"[{f(v[0])}, {f(v[1])}]"


def tables(res, rows, brackets, cnt, rate, dim) -> str:
    lines = [f"Recovery: final test_loss <= {RECOVERED:g}. rho* = the recovered fraction's 1/2 crossing "
             "along rho (95% bootstrap interval over seeds).", "",
             "| k | rho* | 95% CI | grid bracket | dof line 1-(k-1)/(2 dim) | rho*/dof | n* = rho* dim k | "
             "dof count |", "|---|---|---|---|---|---|---|---|"]
    for pt in res["points"]:
        k = int(round(pt["y"]))
        d = float(dof_rho(k, dim))
        b = brackets.get(k)
        lines.append(f"| {k} | {pt['x']:.3g} | {_ci(pt['ci'])} | {_ci(b)} | {d:.3g} | {pt['x'] / d:.3g} | "
                     f"{pt['x'] * dim * k:.3g} | {dim * k - k * (k - 1) // 2} |")
    for m in res["no_crossing"]:
        lines.append(f"| {m['y']:g} | no crossing ({m.get('reason', m.get('side', ''))}) | | | | | | |")
    lines += ["", "Per cell (5 seeds): seeds that fit (train loss <= tol), seeds recovered, medians:", "",
              "| k | rho | n | fit | recovered | median train loss | median test_loss |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['k']} | {r['rho']:.3g} | {r['n']} | {r['fit']}/{r['seeds']} | {r['recovered']}/{r['seeds']} | "
                     f"{r['train_loss']:.2g} | {r['test_loss']:.2g} |")
    lines += ["", f"Linear rate: cell {', '.join(f'{k}={v:g}' for k, v in rate['cell'].items())}, "
              f"{rate['points']} recorded points with loss <= {TAIL_HI:g} (steps {rate['tail_from']:.0f}.."
              f"{rate['tail_to']:.0f}): loss × {rate['rate_per_step']:.6f} per step "
              f"({-rate['slope_decades_per_step'] * 1e4:.3g} decades per 10^4 steps), r^2 = {rate['r2']:.5f}, "
              f"largest residual {rate['max_residual_decades']:.2g} decades.", "",
              "Cells: " + json.dumps(cnt)]
    return "\n".join(lines)


def _overlay_dof(fig, ks, dim, res=None):
    """The degrees-of-freedom line (and the crossings) on the phase diagram's panel."""
    ax = [a for a in fig.axes if a.get_label() != "legend" and a.get_xlabel()][0]
    kk = np.asarray(ks, float)
    ax.plot(dof_rho(kk, dim), kk, color="tab:red", lw=2, ls="--", marker="|", ms=12,
            label="n = dim·k − k(k−1)/2 (degrees of freedom)")
    if res is not None and res["points"]:
        ax.plot([p["x"] for p in res["points"]], [p["y"] for p in res["points"]], "w*", ms=11, mec="k",
                label=f"ρ*: half the seeds recover ({METRIC})")
    ax.legend(fontsize=7, loc="lower right")


def plot_boundary(res, brackets, dim, out):
    """rho* with its interval and its grid bracket per k beside the degrees-of-freedom line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    pts = res["points"]
    k = np.array([p["y"] for p in pts])
    x = np.array([p["x"] for p in pts])
    lo = np.array([np.nan if p["ci"][0] is None else p["ci"][0] for p in pts])
    hi = np.array([np.nan if p["ci"][1] is None else p["ci"][1] for p in pts])
    ax.errorbar(k, x, yerr=np.vstack([np.nan_to_num(x - lo), np.nan_to_num(hi - x)]), fmt="o", capsize=3,
                color="tab:blue", label=f"ρ* ({METRIC}), 95% bootstrap interval")
    for i, (kb, b) in enumerate(sorted((kb, b) for kb, b in brackets.items() if b)):
        ax.plot([kb, kb], b, color="0.6", lw=7, alpha=0.5, solid_capstyle="butt",
                label="grid bracket (neighbouring grid ρ)" if i == 0 else None)
    kk = np.linspace(1, max(k.max(), 1), 50)
    ax.plot(kk, dof_rho(kk, dim), "r--", label="degrees of freedom: 1 − (k−1)/(2·dim)")
    ax.plot(kk, 2 * dof_rho(kk, dim), "r:", label="twice the degrees of freedom")
    ax.set(xlabel="k (teacher = student width)", ylabel="ρ = n/(dim·k)", yscale="log",
           title=f"where recovery sets in (dim {dim})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_rate(rate, out):
    """log loss against step of one cell, with the line fitted to the local region."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    s, l_ = np.array(rate["steps"]), np.array(rate["loss"])
    ax.semilogy(s, l_, "o-", ms=3, color="tab:blue", label="training loss (recorded points)")
    xs = np.linspace(rate["tail_from"], rate["tail_to"], 20)
    ax.semilogy(xs, 10 ** (rate["slope_decades_per_step"] * xs + rate["intercept"]), "k--", lw=1.5,
                label=f"fit over loss ≤ {TAIL_HI:g}: × {rate['rate_per_step']:.5f} per step, r² = {rate['r2']:.4f}")
    ax.axhline(TAIL_HI, color="0.6", lw=0.8, ls=":")
    c = rate["cell"]
    ax.set(xlabel="step (linear)", ylabel="training loss (log)",
           title=f"linear rate in the local region: k = {c['width']:g}, ρ = {c['rho']:g}, seed {c['seed']:g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv) -> int:
    path, outdir, ds = figure_script(argv, __doc__)
    dim = int(ds.attrs["sweep"]["data"]["dim"])
    ks = ds["width"].values
    res = recovery_fit(ds)
    for metric, stem, fit in (("converged", "fit", None), ("test_loss", "recovery", res), ("verdict", "verdict", None)):
        fig, _ = phase.phase(ds, "rho", "width", metric=metric)
        if metric != "verdict":
            _overlay_dof(fig, ks, dim, fit)
        fig.savefig(os.path.join(outdir, f"{stem}.png"), dpi=phase.DPI)
    rows, cnt = per_cell_rows(ds), counts(ds)
    brackets = grid_brackets(rows)
    plot_boundary(res, brackets, dim, os.path.join(outdir, "boundary.png"))
    rate = rate_fit(ds)
    plot_rate(rate, os.path.join(outdir, "rate.png"))
    text = tables(res, rows, brackets, cnt, rate, dim)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "results.json"), "w") as f:
        rate_out = {k: v for k, v in rate.items() if k not in ("steps", "loss")}
        json.dump({"recovered_if": METRIC, "boundary": res, "grid_brackets": brackets, "cells": rows, "counts": cnt, "rate": rate_out},
                  f, indent=1, default=float)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
