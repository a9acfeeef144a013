"""Figures and tables of docs/experiments/song-subquadratic.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/song-subquadratic.py FILE.h5 OUTDIR

(scripts/experiment.sh song-subquadratic runs the sweep first when FILE.h5 is missing.)
Writes OUTDIR/phase.png (converged fraction over rho × n, one panel per p, width = n^p),
OUTDIR/verdict.png (why the cells that did not converge stopped), OUTDIR/inner_dist.png,
OUTDIR/loss_ratio.png, OUTDIR/test_loss.png and OUTDIR/iters.png (from the lazy end, large rho, to the active end,
small rho, at the largest n) and OUTDIR/results.md / .json (the doc's tables).

The fractions count the computed seeds only (the sweep is refined: skipped cells were never
trained); their 95% intervals are Wilson score intervals over those seeds."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis import line  # noqa: E402
from analysis._cli import figure_script, run  # noqa: E402
from analysis import phase  # noqa: E402
from analysis.boundary_fit import wilson_interval  # noqa: E402
from analysis.line import per_seed  # noqa: E402

CONVERGED, MAX_ITERS, DIVERGED = 1, 2, 3
FINISHED = (1, 2, 3, 4)  # converged, max_iters, diverged, failed (skipped and pending are not)


def _median(v, sel):
    """Median over the seeds of one cell of a per-seed value, its finite entries only (a seed that
    never reached tol has iters_to_tol inf; skipped seeds are NaN); None when there is none."""
    x = v.sel(sel).values  # (seed,)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def table_rows(ds):
    """Per (p, rho): converged seeds of all computed ones (over every n), the verdicts of the
    rest, and at the largest n the medians of inner_dist, loss_ratio, test_loss and iters_to_tol
    (the last over the seeds that reached tol)."""
    dnames = {v: k for k, v in ds["diagnosis"].attrs["names"].items()}
    inner, ratio = per_seed(ds, "inner_dist"), per_seed(ds, "loss_ratio")
    itt, test = per_seed(ds, "iters_to_tol"), per_seed(ds, "test_loss")
    nmax = float(ds["n"].values.max())
    rows = []
    for p in ds["p"].values:
        for rho in ds["rho"].values:
            sl = ds.sel(p=p, rho=rho)
            st, dg = sl["status"].values.ravel(), sl["diagnosis"].values.ravel()
            done = np.isin(st, FINISHED)
            k, n = int((st == CONVERGED).sum()), int(done.sum())
            sel = dict(p=p, rho=rho, n=nmax)
            rows.append(dict(p=float(p), rho=float(rho), converged=k, computed=n, ci=wilson_interval(k, n),
                             slow=int(((st == MAX_ITERS) & (dg == dnames["slow"])).sum()),
                             plateau=int(((st == MAX_ITERS) & (dg == dnames["plateau"])).sum()),
                             unstable=int(((st == MAX_ITERS) & (dg == dnames["unstable"])).sum()),
                             diverged=int((st == DIVERGED).sum()),
                             inner_dist=_median(inner, sel), loss_ratio=_median(ratio, sel),
                             test_loss=_median(test, sel), iters_to_tol=_median(itt, sel)))
    return rows, nmax


def table(rows, nmax) -> str:
    g = lambda v: "—" if v is None else f"{v:.3g}"  # noqa: E731
    lines = [f"| p | rho | converged / computed seeds (all n) | 95% CI | slow / plateau / unstable / diverged | "
             f"inner_dist (n = {nmax:g}) | loss_ratio (n = {nmax:g}) | test_loss (n = {nmax:g}) | "
             f"steps to tol, converged seeds (n = {nmax:g}) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['p']:g} | {r['rho']:.3g} | {r['converged']} / {r['computed']} | "
                     f"[{r['ci'][0]:.2f}, {r['ci'][1]:.2f}] | {r['slow']} / {r['plateau']} / {r['unstable']} / "
                     f"{r['diverged']} | {g(r['inner_dist'])} | {g(r['loss_ratio'])} | {g(r['test_loss'])} | "
                     f"{g(r['iters_to_tol'])} |")
    return "\n".join(lines)


def main(argv) -> int:
    path, outdir, ds = figure_script(argv, __doc__)
    for metric, stem in (("converged", "phase"), ("verdict", "verdict")):
        if phase.main([path, "--x", "rho", "--y", "n", "--facet", "p", "--metric", metric,
                       "-o", os.path.join(outdir, f"{stem}.png")]) != 0:
            return 1
    rows, nmax = table_rows(ds)
    for metric, stem, logy in (("inner_dist", "inner_dist", True), ("loss_ratio", "loss_ratio", True),
                               ("test_loss", "test_loss", True),
                               ("iters_to_tol", "iters", True)):
        args = [path, "--x", "rho", "--y", metric, "--hue", "p", "--at", f"n={nmax:g}", "--logx",
                "-o", os.path.join(outdir, f"{stem}.png")] + (["--logy"] if logy else [])
        if line.main(args) != 0:
            return 1
    text = table(rows, nmax)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1, default=float)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
