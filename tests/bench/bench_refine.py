"""Adaptive sweeps against dense ones (issue 15, DESIGN.md §18): the same fine grid run refined
and dense, compared on what a reader of the phase diagram sees.

usage: /usr/bin/python3 tests/bench/bench_refine.py BUILD [--out DIR] [--ranks N]
                                                   [--only refine_bench|quickstart]

For tests/bench/refine_bench.yaml (33 x 33 points, up to 8 seeds) and sweeps/quickstart-refined.yaml
(13 x 9, up to 6), it runs the refined sweep and its dense twin (the same file without refine:
and with every seed), then prints
  cells       computed cells of each, and the ratio
  train s     summed training seconds of the computed cells (wall_s), and the ratio
  wall s      each run's wall time on N ranks (noisy on a shared machine; the others are not)
  verdicts    the share of fine points whose displayed verdict (converged fraction >= 1/2; a
              skipped point filled from the level that decided it) differs from the dense one
  contour     per value of n, the distance between the two 50% crossings along width, in fine
              cells (largest and mean over the rows where both cross)
and draws the two phase diagrams side by side (DIR/refine_<name>.png). Targets (the issue):
verdicts <= 1%, contour <= 1 fine cell, cells and train s of the refined run <= 1/4 of the dense.
Existing DIR/<name>-dense.h5 and -refined.h5 are reused (delete them to run again).
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)
from analysis.boundary_fit import crossing  # noqa: E402
from analysis.load import done_mask, load  # noqa: E402
from analysis.phase import phase  # noqa: E402
from analysis.refine import metric_map  # noqa: E402

SWEEPS = {"refine_bench": os.path.join(ROOT, "tests", "bench", "refine_bench.yaml"),
          "quickstart": os.path.join(ROOT, "sweeps", "quickstart-refined.yaml")}
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def dense_text(text: str) -> str:
    """The refined sweep's dense twin: no refine section, every seed, the fine point counts."""
    levels = int(re.search(r"levels:\s*(\d+)", text).group(1))
    top = re.search(r"seeds:\s*\{start:\s*\d+,\s*max:\s*(\d+)\}", text).group(1)
    text = re.sub(r"seeds:\s*\{start:\s*\d+,\s*max:\s*\d+\}", f"seeds: {top}", text)
    text = re.sub(r"num:\s*(\d+)\}", lambda m: f"num: {(int(m.group(1)) - 1) * 2 ** levels + 1}}}", text)
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith("refine:"):
            skip = not line.rstrip().endswith("}")  # a block section: skip its indented lines
            continue
        if skip and line.startswith(" "):
            continue
        skip = False
        out.append(line)
    return "\n".join(out) + "\n"


def run(exe, sweep, out, ranks):
    if os.path.exists(out):
        return float("nan")
    t0 = time.monotonic()
    subprocess.run(["mpirun", "-n", str(ranks), "--oversubscribe", exe, "run", sweep, "-o", out, "--quiet"],
                   env=ENV, check=True)
    return time.monotonic() - t0


def contour(frac):
    """Per n (columns), the 50% crossing along width (rows) in fine-index units; NaN if none."""
    t = np.arange(frac.shape[0], dtype=float)
    xs = []
    for j in range(frac.shape[1]):
        g = np.maximum.accumulate(np.nan_to_num(frac[:, j], nan=0.0))  # converging grows with width
        ts, _, _ = crossing(t, g)
        xs.append(np.nan if ts is None else ts)
    return np.array(xs)


def compare(name, sweep, exe, outdir, ranks):
    dense_yaml = os.path.join(outdir, f"{name}-dense.yaml")
    with open(sweep) as f, open(dense_yaml, "w") as g:
        g.write(dense_text(f.read()))
    files = {k: os.path.join(outdir, f"{name}-{k}.h5") for k in ("dense", "refined")}
    wall = {"dense": run(exe, dense_yaml, files["dense"], ranks), "refined": run(exe, sweep, files["refined"], ranks)}
    ds = {k: load(v) for k, v in files.items()}
    cells = {k: int(done_mask(d).sum()) for k, d in ds.items()}
    train = {k: float(d["wall_s"].where(done_mask(d)).sum()) for k, d in ds.items()}
    frac = {k: metric_map(d)["fraction"].transpose("width", "n").values for k, d in ds.items()}
    differ = np.mean((frac["dense"] >= 0.5) != (frac["refined"] >= 0.5))
    cx = {k: contour(v) for k, v in frac.items()}
    both = np.isfinite(cx["dense"]) & np.isfinite(cx["refined"])
    dist = np.abs(cx["dense"] - cx["refined"])[both]
    print(f"{name}: {frac['dense'].shape[0]} x {frac['dense'].shape[1]} fine points, {ds['dense'].sizes['seed']} seeds")
    print(f"  cells     dense {cells['dense']}, refined {cells['refined']}: {cells['refined'] / cells['dense']:.3f}")
    print(f"  train s   dense {train['dense']:.1f}, refined {train['refined']:.1f}: {train['refined'] / train['dense']:.3f}")
    print(f"  wall s    dense {wall['dense']:.1f}, refined {wall['refined']:.1f} on {ranks} ranks (nan: file reused)")
    print(f"  verdicts  {100 * differ:.2f}% of fine points differ")
    print(f"  contour   {both.sum()} rows cross in both: largest {dist.max():.2f}, mean {dist.mean():.2f} fine cells")
    draw(name, files, os.path.join(outdir, f"refine_{name}.png"), cells)
    return {"differ": differ, "contour_max": dist.max(), "cells": cells["refined"] / cells["dense"],
            "train": train["refined"] / train["dense"]}


def draw(name, files, out, cells):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    images = []
    for k in ("dense", "refined"):
        fig, _ = phase(files[k], "width", "n", dpi=110)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba()))
        plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(2 * images[0].shape[1] / 110, images[0].shape[0] / 110 + 0.4), dpi=110)
    for ax, img, k in zip(axes, images, ("dense", "refined")):
        ax.imshow(img)
        ax.set_axis_off()
        ax.set_title(f"{k}: {cells[k]} cells computed", fontsize=11)
    fig.suptitle(f"{name}: the same fine grid, dense and refined", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"  picture   {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--out", default="bench-refine")
    ap.add_argument("--ranks", type=int, default=(os.cpu_count() or 1) + 1)
    ap.add_argument("--only", choices=sorted(SWEEPS))
    a = ap.parse_args()
    exe = os.path.abspath(os.path.join(a.build, "src", "cli", "shallowsweep"))
    os.makedirs(a.out, exist_ok=True)
    for name, sweep in SWEEPS.items():
        if a.only in (None, name):
            compare(name, sweep, exe, a.out, a.ranks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
