"""Figures and tables of docs/experiments/luo-phase-diagram.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/luo-phase-diagram.py FILE.h5 OUTDIR

(scripts/experiment.sh luo-phase-diagram runs the sweep first when FILE.h5 is missing.)
Writes OUTDIR/slope-map.png (analysis.slope's slope of log inner_dist against log width over
(gamma', gamma), with the paper's boundary lines), OUTDIR/inner-dist.png (the
medians against width at gamma' = 0, one line per gamma), OUTDIR/condensation.png (final
neuron orientations of three cells) and OUTDIR/results.md / .json (the doc's tables).

Condensation: the cells (gamma, 0, width 1024, seed 0) are retrained with `shallowsweep cell
--dump` (the file holds no weights). A neuron's mass is |a_k|·‖w_k‖ (its share of the output
scale), normalised to sum 1; the concentration is Σ_k Σ_j mass_k mass_j [angle(w_k, w_j) < 10°]:
the mass-weighted share of output mass within 10° of a neuron's direction. Directions spread
over the sphere in dim 4 give about 0.1 %; all mass on K orientations gives about 1/K."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, ROOT)
from analysis._cli import figure_script, run  # noqa: E402
from analysis.line import per_seed  # noqa: E402
from analysis.slope import plot_slopes, slopes  # noqa: E402

EXE = os.environ.get("SSW_EXE", os.path.join(ROOT, os.environ.get("SSW_BUILD_DIR", "build"), "src", "cli", "shallowsweep"))
ANGLE_DEG = 10.0
DUMP_CELLS = [(0.5, "linear (NTK)"), (1.0, "critical (mean field)"), (2.0, "condensed")]
DUMP_WIDTH = 1024


def paper_regime(g: float, gp: float) -> str:
    """The regime of (gamma, gamma') in the paper's phase diagram, as its authors restate it
    (github.com/dlphenomena/website, src/phenomena/condense/condense.md, Theorems 1-2 and
    Figure 2; docs/experiments/luo-phase-diagram.md): linear if gamma < 1 or gamma' > gamma - 1; condensed if gamma > 1 and gamma' < gamma - 1;
    critical on the boundary {gamma = 1, gamma' <= 0} U {gamma' = gamma - 1, gamma >= 1}."""
    eps = 1e-9
    if g < 1 - eps or gp > g - 1 + eps:
        return "linear"
    if g > 1 + eps and gp < g - 1 - eps:
        return "condensed"
    return "critical"


EXPECT = {"linear": "down", "critical": "critical", "condensed": "up"}


def paper_lines(gps):
    """[(label, gamma' values, gamma values)]: the paper's boundary lines over the grid."""
    lo = float(min(gps))
    return [("paper boundary: γ = 1, γ′ ≤ 0 and γ′ = γ − 1, γ ≥ 1",
             [lo, 0.0, 1.0], [1.0, 1.0, 2.0])]


def concentration(W, a) -> float:
    """Mass-weighted share of output mass within ANGLE_DEG of each neuron. W (m, d), a (m)."""
    norms = np.linalg.norm(W, axis=1)                        # (m,)
    mass = np.abs(a) * norms
    mass = mass / mass.sum()
    U = W / np.maximum(norms, 1e-300)[:, None]               # (m, d) unit directions
    close = (U @ U.T) > np.cos(np.radians(ANGLE_DEG))        # (m, m)
    return float(mass @ close @ mass)


SWEEP = os.path.join(ROOT, "sweeps", "luo-phase-diagram.yaml")


def dump_cell(g: float, workdir: str) -> dict:
    """Retrain (g, 0, DUMP_WIDTH, seed 0) with cell --dump; its weights and concentrations."""
    import h5py
    out = os.path.join(workdir, f"cell-{g}.h5")
    at = f"gamma={g:g},gammap=0,width={DUMP_WIDTH},seed=0"
    r = subprocess.run([EXE, "cell", SWEEP, "--at", at, "--dump", out, "--force"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"luo-phase-diagram.py: shallowsweep cell --at {at} failed ({EXE}): {r.stderr.strip()} "
                 f"-- build it (ninja -C build) or set SSW_EXE")
    with h5py.File(out, "r") as f:
        W, a, W0, a0 = f["W"][()], f["a"][()], f["W0"][()], f["a0"][()]
    return {"gamma": g, "W": W, "a": a, "init": concentration(W0, a0), "final": concentration(W, a)}


def plot_inner_dist(ds, path):
    """Median final inner_dist against width at gamma' = 0, one line per gamma (log-log)."""
    import matplotlib.pyplot as plt
    per = per_seed(ds, "inner_dist").sel(gammap=0.0)        # (gamma, width, seed) in file order
    med = per.median("seed")
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    cmap = plt.get_cmap("viridis")
    gs = ds["gamma"].values
    for i, g in enumerate(gs):
        ax.plot(ds["width"].values, med.sel(gamma=g).values, "o-", color=cmap(i / (len(gs) - 1)), label=f"γ = {g:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("median final ‖W_T − W_0‖_F / ‖W_0‖_F")
    ax.set_title("relative change of the inner weights, γ′ = 0")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)


def plot_condensation(cells, path):
    """Per cell: final neuron directions, angle in the plane of the two main directions of the
    mass-weighted W, marker size ∝ mass; histogram-like scatter of angle vs mass."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(cells), figsize=(4 * len(cells), 3.6), dpi=100)
    for ax, c, (_, name) in zip(axes, cells, DUMP_CELLS):
        W, a = c["W"], c["a"]
        mass = np.abs(a) * np.linalg.norm(W, axis=1)
        mass = mass / mass.sum()
        U = W / np.linalg.norm(W, axis=1)[:, None]
        _, _, Vt = np.linalg.svd(U * np.sqrt(mass)[:, None], full_matrices=False)
        P = U @ Vt[:2].T                                      # (m, 2) projection on the main plane
        ang = np.degrees(np.arctan2(P[:, 1], P[:, 0]))
        ax.scatter(ang, mass * len(mass), s=4, alpha=0.6)
        ax.set_yscale("log")
        ax.set_ylim(1e-3, None)
        ax.set_xlabel("direction angle in the main plane (deg)")
        ax.set_ylabel("mass × m  (|a_k|·‖w_k‖, mean 1)")
        ax.set_title(f"γ = {c['gamma']:g}: {name}\nconcentration {100 * c['final']:.1f} % (init {100 * c['init']:.1f} %)",
                     fontsize=9)
    fig.tight_layout()
    fig.savefig(path)


def table(res):
    """Markdown: slope [95 % CI], our class, the paper's regime, agree?"""
    rows = ["| γ | γ′ | slope [95 % CI] | ours | paper | agrees |", "|---|---|---|---|---|---|"]
    for q in res["points"]:
        rows.append(f"| {q['gamma']:g} | {q['gammap']:g} | {q['slope']:+.3f} [{q['ci'][0]:+.3f}, {q['ci'][1]:+.3f}] "
                    f"| {q['class']} | {q['paper']} | {'yes' if q['agrees'] else '**no**'} |")
    return "\n".join(rows)


def main(argv):
    _, outdir, ds = figure_script(argv, __doc__)
    res = slopes(ds, "width", "inner_dist", ["gamma", "gammap"])
    for q in res["points"]:
        q["paper"] = paper_regime(q["gamma"], q["gammap"])
        q["agrees"] = q["class"] == EXPECT[q["paper"]]
    plot_slopes(res, paper_lines(ds["gammap"].values)).savefig(os.path.join(outdir, "slope-map.png"))
    plot_inner_dist(ds, os.path.join(outdir, "inner-dist.png"))
    with tempfile.TemporaryDirectory() as tmp:
        cells = [dump_cell(g, tmp) for g, _ in DUMP_CELLS]
    plot_condensation(cells, os.path.join(outdir, "condensation.png"))
    res["condensation"] = {f"{c['gamma']:g}": {"init": c["init"], "final": c["final"]} for c in cells}
    res["agree"] = sum(q["agrees"] for q in res["points"])
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    conc = "\n".join(f"- γ = {c['gamma']:g} ({n}): concentration {100 * c['init']:.1f} % at init → "
                     f"{100 * c['final']:.1f} % at the end" for c, (_, n) in zip(cells, DUMP_CELLS))
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(f"{res['agree']} of {len(res['points'])} (γ, γ′) agree with the paper's regimes.\n\n"
                f"{table(res)}\n\nCondensation (width {DUMP_WIDTH}, γ′ = 0, seed 0, angle {ANGLE_DEG:g}°):\n\n{conc}\n")
    print(f"luo-phase-diagram.py: {res['agree']}/{len(res['points'])} agree; wrote {outdir}")


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
