"""Figures and tables of docs/experiments/oymak-soltanolkotabi.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/oymak-soltanolkotabi.py FILE.h5 OUTDIR

(scripts/experiment.sh oymak-soltanolkotabi runs the sweep first when FILE.h5 is missing.)
Writes OUTDIR/phase-<activation>.png (converged fraction, one panel per dim, with the counting
line m·d = n and Oymak–Soltanolkotabi's m·d = n²), OUTDIR/verdict-<activation>.png (why the
cells that did not converge stopped), OUTDIR/boundary.png (width*·dim against n, every
activation and dim, with the fits) and OUTDIR/boundaries.md / .json (the table of the doc).

What is fitted: for each activation and dim, analysis.boundary's width* = C·n^p (width against n
at fixed dim). Then width*·dim = (C·dim)·n^p: the exponent p of the issue's width·dim ∝ n^p is
the same number, and K = C·dim is its constant."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis._cli import figure_script, run  # noqa: E402
from analysis import phase  # noqa: E402
from analysis.boundary import boundary  # noqa: E402


def fits(ds):
    """One analysis.boundary result per (activation, dim), keyed 'activation dim'."""
    out = {}
    for act in ds["activation"].values:
        for d in ds["dim"].values:
            _, res = boundary(ds, "width", "n", at={"activation": str(act), "dim": int(d)})
            out[f"{act} {int(d)}"] = res
    return out


def counts(ds):
    """Status and diagnosis counts over every computed cell, per activation."""
    names = ds.attrs["status_names"]
    dnames = ds["diagnosis"].attrs["names"]
    rows = {}
    for act in ds["activation"].values:
        sl = ds.sel(activation=act)
        st = sl["status"].values.ravel()
        dg = sl["diagnosis"].values.ravel()
        row = {names[k]: int((st == k).sum()) for k in sorted(names)}
        row.update({f"max_iters:{dnames[k]}": int(((st == 2) & (dg == k)).sum()) for k in sorted(dnames) if k})
        row["edge_ratio_final_max"] = float(np.nanmax(sl["edge_ratio_final"].values))
        rows[str(act)] = row
    return rows


def _ci(v, digits=3):
    if v is None:
        return "—"
    lo, hi = v
    f = lambda x: "open" if x is None else f"{x:.{digits}g}"  # noqa: E731
    return f"[{f(lo)}, {f(hi)}]"


def table(res) -> str:
    """The doc's table: exponent, constant and the points behind them."""
    lines = ["| activation | dim | points (n) | p | 95% CI | C (width* = C n^p) | 95% CI | K = C·dim | "
             "width*·dim/n (min..max) | no crossing (n) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in res.items():
        act, d = key.split()
        pts = r["points"]
        ns = [p["y"] for p in pts]
        ratio = [p["x"] * int(d) / p["y"] for p in pts]
        p = "—" if r["exponent"] is None else f"{r['exponent']:.3g}"
        c = "—" if r["constant"] is None else f"{r['constant']:.3g}"
        k = "—" if r["constant"] is None else f"{r['constant'] * int(d):.3g}"
        span = f"{min(ratio):.2g}..{max(ratio):.2g}" if ratio else "—"
        nc = ", ".join(f"{m['y']:g} ({m['side']})" for m in r["no_crossing"]) or "none"
        lines.append(f"| {act} | {d} | {len(pts)} ({min(ns, default=0):g}–{max(ns, default=0):g}) | {p} | "
                     f"{_ci(r['exponent_ci'])} | {c} | {_ci(r['constant_ci'])} | {k} | {span} | {nc} |")
    return "\n".join(lines)


def plot(res, out):
    """width*·dim against n with the bootstrap intervals and each fit, beside n and n²."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    acts = sorted({k.split()[0] for k in res})
    fig, axes = plt.subplots(1, len(acts), figsize=(5.2 * len(acts), 4.4), sharey=True)
    colors = dict(zip(sorted({int(k.split()[1]) for k in res}), ["tab:blue", "tab:orange", "tab:green"]))
    for ax, act in zip(np.atleast_1d(axes), acts):
        for key, r in res.items():
            a, d = key.split()
            if a != act or not r["points"]:
                continue
            d = int(d)
            n = np.array([p["y"] for p in r["points"]])
            x = np.array([p["x"] for p in r["points"]]) * d
            lo = np.array([np.nan if p["ci"][0] is None else p["ci"][0] for p in r["points"]]) * d
            hi = np.array([np.nan if p["ci"][1] is None else p["ci"][1] for p in r["points"]]) * d
            err = np.vstack([np.nan_to_num(x - lo), np.nan_to_num(hi - x)])
            lab = f"dim {d}"
            if r["exponent"] is not None:
                lab += f": p = {r['exponent']:.2f} {_ci(r['exponent_ci'], 2)}"
                nn = np.geomspace(n.min(), n.max(), 20)
                ax.plot(nn, r["constant"] * d * nn ** r["exponent"], color=colors[d], lw=1)
            ax.errorbar(n, x, yerr=err, fmt="o", color=colors[d], ms=4, capsize=2, label=lab)
        nn = np.geomspace(20, 640, 20)
        ax.plot(nn, nn, "k--", lw=1, label="width·dim = n")
        ax.plot(nn, nn ** 2 / 20, "k:", lw=1, label="∝ n² (slope of m·d ≳ n²)")
        ax.set(xscale="log", yscale="log", xlabel="n", title=f"{act}: 50% boundary, first layer trained")
        ax.set_ylabel("width*·dim")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv) -> int:
    path, outdir, ds = figure_script(argv, __doc__)
    for act in ds["activation"].values:
        for metric, stem in (("converged", "phase"), ("verdict", "verdict")):
            args = [path, "--x", "width", "--y", "n", "--at", f"activation={act}", "--facet", "dim",
                    "--metric", metric, "-o", os.path.join(outdir, f"{stem}-{act}.png")]
            if metric == "converged":
                args += ["--theory", "counting", "--theory", "oymak2020"]
            if phase.main(args) != 0:
                return 1
    res = fits(ds)
    plot(res, os.path.join(outdir, "boundary.png"))
    cnt = counts(ds)
    text = table(res) + "\n\nCells per activation (status; max_iters by diagnosis):\n\n" + json.dumps(cnt, indent=1)
    with open(os.path.join(outdir, "boundaries.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "boundaries.json"), "w") as f:
        json.dump({"fits": res, "counts": cnt}, f, indent=1, default=float)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
