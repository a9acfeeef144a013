"""Figures and tables of docs/experiments/marion-berthier-two-timescale.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/marion-berthier-two-timescale.py FILE.h5 OUTDIR

(scripts/experiment.sh marion-berthier-two-timescale runs the sweep first when FILE.h5 is missing.)
Trains the dumped cells when their files are missing: every seed at the smallest and the
largest rate ratio at DUMP_WIDTH (the others if RATIOS=all is in the environment), `shallowsweep cell ... --dump` into mb-dumps/ beside FILE.h5 (two at a time; the
binary is $SSW_BUILD_DIR/src/cli/shallowsweep, default build/). A dump's final test loss must
equal the sweep file's for the same cell (a cell is a pure function of its parameters).

Writes OUTDIR/test_loss.png (median test loss against the rate ratio, one line per width),
OUTDIR/low_error.png (fraction of seeds with test loss <= LOW_ERROR, Wilson 95% intervals),
OUTDIR/traj.png (test loss against step at DUMP_WIDTH, the budget check), OUTDIR/coverage.png
(fraction of seeds with every jump covered), OUTDIR/positions.png (target, learned f and the
final positions for a few seeds at the smallest and largest ratio) and OUTDIR/results.md /
.json (the doc's tables). When the relu companion sweep's file is beside FILE.h5 (scripts/
experiment.sh runs it), also OUTDIR/relu_test_loss.png, OUTDIR/relu_traj.png and its table; likewise the noise check's
(100 samples a step): OUTDIR/batch100_test_loss.png and its table.

Coverage rule (fixed before the dumps were read; docs/experiments/marion-berthier-two-timescale.md):
jump k at t_k of height h_k is covered when the neurons with |u_j - t_k| <= COVER_TOL
(u_j = -b_j, w_j = 1 is not trained) have sum_j a_j * sign(h_k) >= |h_k| / 2."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis import line  # noqa: E402
from analysis import load  # noqa: E402
from analysis._cli import figure_script, run  # noqa: E402
from analysis import traj  # noqa: E402
from analysis.boundary_fit import wilson_interval  # noqa: E402
from analysis.line import per_seed  # noqa: E402
from analysis.select import axis_label  # noqa: E402

# The target (sweeps/marion-berthier-two-timescale.yaml, from the authors' configs.py).
JUMPS = np.array([0.2, 0.35, 0.5, 0.65, 0.8])      # (5,) positions t_k
HEIGHTS = np.array([5.0, -5.0, 2.0, -2.0, 5.0])     # (5,) h_k
ETA = 4e-3                                          # ramp_width
# Low error: an error a single defect of the fit would cause at least: a jump of height 2
# misplaced by 0.05 (a third of the 0.15 between jumps) costs 2^2 * 0.05 / 2 = 0.1 in the
# halved test loss; fitting the label noise with 2 * 20 parameters on 1000 points costs about
# (40 / 1000) * (1/3) / 2 = 0.007 (uniform noise on [-1, 1] has variance 1/3).
LOW_ERROR = 0.1
# Coverage tolerance: 5 eta = 0.02, five times the activation's width and 13% of the gap
# between jumps; misplacing a height-5 jump by 0.02 alone costs 25 * 0.02 / 2 = 0.25.
COVER_TOL = 5 * ETA
COVER_TOLS_ALSO = (2.5 * ETA, 12.5 * ETA)           # reported too, to show the rule's sensitivity
DUMP_WIDTH = 20
BOOT = 2000                                         # bootstrap resamples of the seeds' median
SHOWN_SEEDS = 3                                     # seeds per ratio in positions.png
DUMP_JOBS = 2                                       # cell processes at a time (two cores)
# The companion sweeps' files beside FILE.h5 (sweeps/marion-berthier-two-timescale.KIND.yaml):
# KIND -> (file, heading of its table, draw its test loss against step too)
COMPANIONS = {"relu": ("marion-berthier-two-timescale.relu.h5", "relu (the companion sweep)", True),
              "batch100": ("marion-berthier-two-timescale.batch100.h5", "100 samples a step (the noise check)",
                           False)}


def boot_median(x, rng):
    """Median of x and its 95% percentile bootstrap interval over the seeds."""
    x = x[np.isfinite(x)]
    meds = np.median(rng.choice(x, size=(BOOT, x.size), replace=True), axis=1)
    return float(np.median(x)), (float(np.quantile(meds, 0.025)), float(np.quantile(meds, 0.975)))


def smooth_step(u):
    """The engine's C^1 step (src/core/act.c), u = z / eta."""
    left, right = u + 0.5, 0.5 - u
    return np.clip(4 * left ** 3, 0, 0.5) + np.clip(0.5 - 4 * right ** 3, 0, 0.5)


def network(x, dump):
    """f(x) = sum_j a_j smooth_step((W_j x + b_j) / eta), output_scale 1; x (n,) -> (n,)."""
    z = np.outer(x, dump["W"][:, 0]) + dump["b"][None, :]   # (n, m)
    return smooth_step(z / ETA) @ dump["a"]


def dump_path(dumps, ratio_label, seed):
    return os.path.join(dumps, f"w{DUMP_WIDTH}-r{ratio_label}-s{seed}.h5")


def dumped_ratios(ds):
    """The rate ratios whose width-DUMP_WIDTH cells are dumped: the ends, or all with RATIOS=all."""
    r = ds["rate_ratio"].values
    return list(r) if os.environ.get("RATIOS") == "all" else [r.min(), r.max()]


def make_dumps(ds, dumps):
    """Train the dumped cells whose files are missing, DUMP_JOBS at a time."""
    exe = os.path.join(os.environ.get("SSW_BUILD_DIR", "build"), "src", "cli", "shallowsweep")
    sweep = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sweeps",
                         "marion-berthier-two-timescale.yaml")
    os.makedirs(dumps, exist_ok=True)
    todo = []
    for r in dumped_ratios(ds):
        lab = axis_label(ds, "rate_ratio", r)
        for s in ds["seed"].values:
            path = dump_path(dumps, lab, int(s))
            if not os.path.exists(path):
                todo.append([exe, "cell", sweep, "--at", f"rate_ratio={lab},width={DUMP_WIDTH},seed={int(s)}",
                             "--dump", path + ".part", "--force"])
    running = []
    while todo or running:
        while todo and len(running) < DUMP_JOBS:
            cmd = todo.pop(0)
            running.append((cmd, subprocess.Popen(cmd, stdout=subprocess.DEVNULL)))
        cmd, proc = running.pop(0)
        if proc.wait() != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode})")
        os.replace(cmd[-2], cmd[-2][:-len(".part")])
        print("dumped", cmd[-2][:-len(".part")], file=sys.stderr)


def read_dump(path):
    with h5py.File(path, "r") as f:
        d = {k: f[k][()] for k in ("W", "b", "a", "X_test", "y_test")}
        d["final_test_loss"] = float(f["result"].attrs["final_test_loss"])
    return d


def covered(dump, tol):
    """(5,) bool: which jumps the final neurons cover (the module docstring's rule)."""
    u, a = -dump["b"], dump["a"]                    # (m,), (m,)
    near = np.abs(u[None, :] - JUMPS[:, None]) <= tol   # (5, m)
    mass = (near * a[None, :]).sum(axis=1) * np.sign(HEIGHTS)
    return mass >= np.abs(HEIGHTS) / 2


def coverage_rows(ds, dumps, file_test):
    """Per rate ratio at DUMP_WIDTH: seeds with all jumps covered (at COVER_TOL and the others),
    jumps covered per seed, and the largest |dump - file| final test loss (the consistency check)."""
    rows, worst = [], 0.0
    for r in dumped_ratios(ds):
        lab = axis_label(ds, "rate_ratio", r)
        per_tol = {tol: [] for tol in (COVER_TOL,) + COVER_TOLS_ALSO}
        for s in ds["seed"].values:
            d = read_dump(dump_path(dumps, lab, int(s)))
            mine = 0.5 * np.mean((network(d["X_test"][:, 0], d) - d["y_test"]) ** 2)
            ref = float(file_test.sel(rate_ratio=r, width=DUMP_WIDTH, seed=s))
            worst = max(worst, abs(d["final_test_loss"] - ref), abs(mine - ref))
            for tol in per_tol:
                per_tol[tol].append(covered(d, tol))
        cov = np.array(per_tol[COVER_TOL])          # (seed, 5)
        k, n = int(cov.all(axis=1).sum()), cov.shape[0]
        rows.append(dict(rate_ratio=float(r), all_covered=k, seeds=n, ci=wilson_interval(k, n),
                         jumps_missed=[int(v) for v in (~cov).sum(axis=0)],
                         all_covered_at={f"{tol:g}": int(np.array(c).all(axis=1).sum())
                                         for tol, c in per_tol.items()}))
    return rows, worst


def test_rows(ds):
    """Per (width, rate ratio): median final test loss with its bootstrap interval, the seeds
    at or below LOW_ERROR (Wilson), and the relative change of the median test loss from the
    budget's second quarter to its second half (the budget check: near 0 when the cells have
    flattened)."""
    rng = np.random.default_rng(0)
    test = per_seed(ds, "test_loss")                # (rate_ratio, width, seed) after squeezing
    steps = ds["step"].values
    half = int(np.searchsorted(steps, steps[-1] / 2, side="right")) - 1
    # SGD's test loss jitters between record points: compare the means over the record points
    # in (T/2, T] and in [T/4, T/2] rather than two single points
    late = steps > steps[-1] / 2                                           # (step,)
    early = (steps >= steps[-1] / 4) & (steps <= steps[-1] / 2)            # (step,)
    rows = []
    for w in ds["width"].values:
        for r in ds["rate_ratio"].values:
            x = test.sel(width=w, rate_ratio=r).values.ravel()
            med, ci = boot_median(x, rng)
            k, n = int((x <= LOW_ERROR).sum()), int(np.isfinite(x).sum())
            series = ds["test_loss"].sel(width=w, rate_ratio=r).values.reshape(-1, steps.size)
            mid = np.nanmedian(series[:, early], axis=0).mean()
            end = np.nanmedian(series[:, late], axis=0).mean()
            rows.append(dict(width=int(w), rate_ratio=float(r), test_loss=med, ci=ci, low=k, seeds=n,
                             low_ci=wilson_interval(k, n), change_second_half=float((end - mid) / mid),
                             half_step=int(steps[half])))
    return rows


def plot_low_error(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    for i, w in enumerate(sorted({r["width"] for r in rows})):
        rr = [r for r in rows if r["width"] == w]
        x = np.array([r["rate_ratio"] for r in rr]) * (1.08 ** i)   # side by side
        f = np.array([r["low"] / r["seeds"] for r in rr])
        lo, hi = np.array([r["low_ci"] for r in rr]).T
        ax.errorbar(x, f, yerr=[f - lo, hi - f], marker="o", capsize=3, label=f"width {w}")
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("rate ratio ε (position step / outer step)")
    ax.set_ylabel(f"fraction of seeds with test loss ≤ {LOW_ERROR:g}")
    ax.set_title("smooth_step: seeds reaching low error (Wilson 95% intervals)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_coverage(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.8))
    x = np.array([r["rate_ratio"] for r in rows])
    f = np.array([r["all_covered"] / r["seeds"] for r in rows])
    lo, hi = np.array([r["ci"] for r in rows]).T
    ax.errorbar(x, f, yerr=[f - lo, hi - f], marker="o", capsize=3, color="C1", linestyle="none")
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("rate ratio ε (position step / outer step)")
    ax.set_ylabel("fraction of seeds with all 5 jumps covered")
    ax.set_title(f"smooth_step, width {DUMP_WIDTH}: a neuron mass ≥ |h|/2 within {COVER_TOL:g} of every jump"
                 "\n(Wilson 95% intervals)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def target(x):
    """The noiseless piecewise-constant target."""
    return (HEIGHTS[None, :] * (x[:, None] >= JUMPS[None, :])).sum(axis=1)


def plot_positions(ds, dumps, path):
    """Target, learned f and final positions (marker area ~ |a_j|, colour = sign) for the first
    SHOWN_SEEDS seeds at the smallest and the largest rate ratio."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = [ds["rate_ratio"].values.min(), ds["rate_ratio"].values.max()]
    seeds = ds["seed"].values[:SHOWN_SEEDS]
    fig, axes = plt.subplots(len(seeds), 2, figsize=(11, 2.6 * len(seeds)), sharex=True, sharey=True,
                             squeeze=False)
    xs = np.linspace(0, 1, 2001)
    for c, r in enumerate(ratios):
        lab = axis_label(ds, "rate_ratio", r)
        for i, s in enumerate(seeds):
            ax = axes[i, c]
            d = read_dump(dump_path(dumps, lab, int(s)))
            u, a = -d["b"], d["a"]
            cov = covered(d, COVER_TOL)
            ax.plot(xs, target(xs), color="0.6", lw=2.5, label="target")
            ax.plot(xs, network(xs, d), color="C0", lw=1.0, label="learned f")
            for t, ok in zip(JUMPS, cov):
                ax.axvspan(t - COVER_TOL, t + COVER_TOL, color="C2" if ok else "C3", alpha=0.18, lw=0)
            ax.scatter(u, np.full_like(u, -1.2), s=8 + 12 * np.abs(a), c=np.where(a >= 0, "C1", "C4"),
                       edgecolors="k", linewidths=0.4, zorder=3, label="u_j (area ~ |a_j|)")
            ax.set_title(f"ε = {lab}, seed {int(s)}: {int(cov.sum())}/5 jumps covered, "
                         f"test loss {d['final_test_loss']:.3g}", fontsize=9)
            ax.set_ylim(-2, 6.5)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("f(x)")
    axes[0, 0].legend(loc="upper left", fontsize=7)
    fig.suptitle(f"smooth_step, width {DUMP_WIDTH}: final positions (orange a_j > 0, purple a_j < 0); "
                 f"bands ±{COVER_TOL:g} around each jump, green covered, red not", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def tables(trows, crows, worst) -> str:
    lines = ["| width | ε | median test loss [95% bootstrap CI] | seeds with test loss ≤ "
             f"{LOW_ERROR:g} [Wilson 95%] | change of the median test loss, steps (T/2, T] against "
             "[T/4, T/2] (means over the record points) |", "|---|---|---|---|---|"]
    for r in trows:
        lines.append(f"| {r['width']} | {r['rate_ratio']:g} | {r['test_loss']:.3g} [{r['ci'][0]:.3g}, "
                     f"{r['ci'][1]:.3g}] | {r['low']}/{r['seeds']} [{r['low_ci'][0]:.2f}, {r['low_ci'][1]:.2f}] | "
                     f"{100 * r['change_second_half']:+.1f}% |")
    if not crows:
        return "\n".join(lines)
    tols = list(crows[0]["all_covered_at"])
    lines += ["", f"| ε (width {DUMP_WIDTH}) | seeds with all 5 jumps covered (tol {COVER_TOL:g}) "
              "[Wilson 95%] | seeds missing jump 0.2 / 0.35 / 0.5 / 0.65 / 0.8 | all covered at tol "
              + " / ".join(tols) + " |", "|---|---|---|---|"]
    for r in crows:
        lines.append(f"| {r['rate_ratio']:g} | {r['all_covered']}/{r['seeds']} [{r['ci'][0]:.2f}, {r['ci'][1]:.2f}] | "
                     f"{' / '.join(map(str, r['jumps_missed']))} | "
                     f"{' / '.join(str(v) for v in r['all_covered_at'].values())} |")
    lines += ["", f"Dumps against the sweep file: largest |final test loss difference| {worst:.2g}."]
    return "\n".join(lines)


def main(argv) -> int:
    path, outdir, ds = figure_script(argv, __doc__)
    dumps = os.path.join(os.path.dirname(os.path.abspath(path)), "mb-dumps")
    make_dumps(ds, dumps)
    act = f"activation={axis_label(ds, 'activation', ds['activation'].values[0])}"
    if line.main([path, "--x", "rate_ratio", "--y", "test_loss", "--hue", "width", "--at", act, "--logx",
                  "--logy", "-o", os.path.join(outdir, "test_loss.png")]) != 0:
        return 1
    if traj.main([path, "--by", "rate_ratio", "--at", f"{act},width={DUMP_WIDTH}", "--series", "test_loss",
                  "-o", os.path.join(outdir, "traj.png")]) != 0:
        return 1
    ds = ds.isel(activation=0)
    trows = test_rows(ds)
    crows, worst = coverage_rows(ds, dumps, per_seed(ds, "test_loss"))
    plot_low_error(trows, os.path.join(outdir, "low_error.png"))
    plot_coverage(crows, os.path.join(outdir, "coverage.png"))
    plot_positions(ds, dumps, os.path.join(outdir, "positions.png"))
    text = tables(trows, crows, worst)
    companion_rows = {}
    for kind, (name, heading, with_traj) in COMPANIONS.items():
        cpath = os.path.join(os.path.dirname(os.path.abspath(path)), name)
        companion_rows[kind] = []
        if not os.path.exists(cpath):
            continue
        if line.main([cpath, "--x", "rate_ratio", "--y", "test_loss", "--hue", "width", "--logx", "--logy",
                      "-o", os.path.join(outdir, f"{kind}_test_loss.png")]) != 0:
            return 1
        if with_traj and traj.main([cpath, "--by", "rate_ratio", "--at", f"width={DUMP_WIDTH}", "--series",
                                    "test_loss", "-o", os.path.join(outdir, f"{kind}_traj.png")]) != 0:
            return 1
        companion_rows[kind] = test_rows(load(cpath).isel(activation=0))
        text += f"\n\n{heading}:\n\n" + tables(companion_rows[kind], [], None)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(dict(test_loss=trows, coverage=crows, dump_vs_file_max_diff=worst, low_error=LOW_ERROR,
                       cover_tol=COVER_TOL,
                       **{f"{kind}_test_loss": rows for kind, rows in companion_rows.items()}), f, indent=1, default=float)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
