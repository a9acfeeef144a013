"""Figures and tables of docs/experiments/razborov-rates.md, drawn from the sweep's file.

    /usr/bin/python3 docs/experiments/razborov-rates.py FILE.h5 OUTDIR

(scripts/experiment.sh razborov-rates runs the sweep first when FILE.h5 is missing.)
Writes OUTDIR/phase.png (converged fraction over width × n, one panel per rate ratio, with the
counting lines), OUTDIR/verdict.png (why the cells that did not converge stopped),
OUTDIR/inner_dist.png and OUTDIR/pattern_change.png (how far the converged cells moved),
OUTDIR/boundary.png (width* against n per ratio, with the fits; width* against the ratio per n)
and OUTDIR/results.md / .json (the doc's tables). When the companion file of
sweeps/razborov-rates.budget.yaml lies next to FILE.h5 (FILE.budget.h5), results.md also gets the
budget check: at its n, converged seeds per width and width* with the main sweep's steps and
with four times as many.

What is measured: for each rate ratio, analysis.boundary's width* = C·n^p (width against n);
at the boundary (the cells of each n whose width is the first grid width at or above width*),
the median final inner_dist and pattern_change of the converged seeds: a relative inner
movement and a pattern change far from 0 there mean convergence outside the NTK regime."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from analysis import load  # noqa: E402
from analysis._cli import figure_script, run  # noqa: E402
from analysis import phase  # noqa: E402
from analysis.boundary import boundary  # noqa: E402
from analysis.line import per_seed  # noqa: E402
from analysis.load import CONVERGED, MAX_ITERS, PENDING, SKIPPED  # noqa: E402

SLOW, PLATEAU = 2, 3             # cell diagnosis codes


def fits(ds):
    """One analysis.boundary result (width against n) per rate ratio, keyed by the ratio."""
    return {float(r): boundary(ds, "width", "n", at={"rate_ratio": float(r)})[1] for r in ds["rate_ratio"].values}


def movement(ds, res):
    """Per ratio and n: the converged seeds' median final inner_dist and pattern_change at the
    boundary's width (the first grid width at or above width*) and at the widest width."""
    inner, pattern = per_seed(ds, "inner_dist"), per_seed(ds, "pattern_change")
    conv = ds["status"] == CONVERGED
    widths = ds["width"].values
    rows = []
    for r, fit in res.items():
        for pt in fit["points"]:
            n, wstar = pt["y"], pt["x"]
            at_or_above = widths[widths >= wstar - 1e-9]
            for label, w in (("boundary", at_or_above.min() if at_or_above.size else None), ("widest", widths.max())):
                if w is None:
                    continue
                sel = dict(rate_ratio=r, n=n, width=w)
                ok = conv.sel(sel).values
                iv, pv = inner.sel(sel).values[ok], pattern.sel(sel).values[ok]
                rows.append(dict(rate_ratio=r, n=float(n), where=label, width=float(w), converged_seeds=int(ok.sum()),
                                 inner_dist=float(np.median(iv)) if iv.size else None,
                                 pattern_change=float(np.median(pv)) if pv.size else None))
    return rows


def beside(ds, res):
    """Per ratio: the seeds that ran out of steps in the cells just below the boundary (for each
    n, the last grid width below width*), split by diagnosis: slow (still descending: the budget)
    or plateau (stopped: capacity or a saddle). {ratio: {"slow": k, "plateau": k, "other": k}}."""
    status, diag = ds["status"], ds["diagnosis"]
    widths = ds["width"].values
    out = {}
    for r, fit in res.items():
        row = {"slow": 0, "plateau": 0, "other": 0}
        for pt in fit["points"]:
            below = widths[widths < pt["x"] - 1e-9]
            if not below.size:
                continue
            sel = dict(rate_ratio=r, n=pt["y"], width=below.max())
            stalled = status.sel(sel).values == MAX_ITERS
            d = diag.sel(sel).values[stalled]
            row["slow"] += int((d == SLOW).sum())
            row["plateau"] += int((d == PLATEAU).sum())
            row["other"] += int(((d != SLOW) & (d != PLATEAU)).sum())
        out[r] = row
    return out


def budget_check(ds, check):
    """The companion sweep (same cells, more steps) against the main one, at the companion's n:
    per ratio, converged / finished seeds per width in each file and each file's width*."""
    n = float(check["n"].values[0])
    steps = {"main": int(np.nanmax(ds["iters"].values)), "check": int(np.nanmax(check["iters"].values))}
    rows = []
    for r in check["rate_ratio"].values:
        row = {"rate_ratio": float(r), "n": n, "widths": {}}
        for label, f in (("main", ds), ("check", check)):
            st = f["status"].sel(rate_ratio=r, n=n)
            for w in check["width"].values:
                v = st.sel(width=w).values.ravel()
                done = v[(v != PENDING) & (v != SKIPPED)]
                row["widths"].setdefault(f"{w:g}", {})[label] = [int((done == CONVERGED).sum()), int(done.size)]
            pts = [q for q in boundary(f, "width", "n", at={"rate_ratio": float(r)})[1]["points"] if q["y"] == n]
            row[f"width*_{label}"] = {"x": pts[0]["x"], "ci": pts[0]["ci"]} if pts else None
        rows.append(row)
    return {"n": n, "steps": steps, "rows": rows}


def budget_table(chk) -> str:
    widths = list(chk["rows"][0]["widths"])
    st = chk["steps"]
    head = (f"Budget check at n = {chk['n']:g}: converged / finished seeds per width with "
            f"{st['main']} steps (the main sweep) → with {st['check']} (sweeps/razborov-rates.budget.yaml)")
    lines = [head, "", "| rate ratio | " + " | ".join(f"width {w}" for w in widths) + " | width* main | width* check |",
             "|---|" + "---|" * (len(widths) + 2)]
    ws = lambda b: "none" if b is None else f"{b['x']:.3g} {_ci(b['ci'], 2)}"  # noqa: E731
    for r in chk["rows"]:
        cells = [f"{'/'.join(map(str, r['widths'][w]['main']))} → {'/'.join(map(str, r['widths'][w]['check']))}"
                 for w in widths]
        lines.append(f"| {r['rate_ratio']:g} | " + " | ".join(cells) + f" | {ws(r['width*_main'])} | {ws(r['width*_check'])} |")
    return "\n".join(lines)


def counts(ds):
    """Status and diagnosis counts of the computed cells, per ratio."""
    names = ds.attrs["status_names"]
    dnames = ds["diagnosis"].attrs["names"]
    out = {}
    for r in ds["rate_ratio"].values:
        sl = ds.sel(rate_ratio=r)
        st, dg = sl["status"].values.ravel(), sl["diagnosis"].values.ravel()
        row = {names[k]: int((st == k).sum()) for k in sorted(names)}
        row.update({f"max_iters:{dnames[k]}": int(((st == MAX_ITERS) & (dg == k)).sum()) for k in sorted(dnames) if k})
        row["edge_ratio_final_max"] = float(np.nanmax(sl["edge_ratio_final"].values))
        out[float(r)] = row
    return out


def _ci(v, digits=3):
    if v is None:
        return "—"
    f = lambda x: "open" if x is None else f"{x:.{digits}g}"  # noqa: E731
    return f"[{f(v[0])}, {f(v[1])}]"


def tables(res, moves, cnt, near) -> str:
    lines = ["| rate ratio | width* at n = 16 / 64 / 256 (95% CI) | p (width* = C n^p) | 95% CI | C | "
             "no crossing (n) | converged | max_iters: slow / plateau / unstable | diverged | "
             "just below width*: slow / plateau |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r, fit in res.items():
        ws = []
        for n in (16, 64, 256):
            pt = [p for p in fit["points"] if abs(p["y"] - n) < 1e-9]
            ws.append(f"{pt[0]['x']:.3g} {_ci(pt[0]['ci'], 2)}" if pt else "—")
        p = "—" if fit["exponent"] is None else f"{fit['exponent']:.3g}"
        c = "—" if fit["constant"] is None else f"{fit['constant']:.3g}"
        nc = ", ".join(f"{m['y']:g} ({m['reason']})" for m in fit["no_crossing"]) or "none"
        k = cnt[r]
        lines.append(f"| {r:g} | {' / '.join(ws)} | {p} | {_ci(fit['exponent_ci'])} | {c} | {nc} | {k['converged']} | "
                     f"{k['max_iters:slow']} / {k['max_iters:plateau']} / {k['max_iters:unstable']} | {k['diverged']} | "
                     f"{near[r]['slow']} / {near[r]['plateau']} |")
    lines += ["", "Movement of the converged seeds (medians) at the boundary width and at the widest width:", "",
              "| rate ratio | n | where | width | seeds | inner_dist | pattern_change |", "|---|---|---|---|---|---|---|"]
    g = lambda v: "—" if v is None else f"{v:.3g}"  # noqa: E731
    for m in moves:
        lines.append(f"| {m['rate_ratio']:g} | {m['n']:g} | {m['where']} | {m['width']:g} | {m['converged_seeds']} | "
                     f"{g(m['inner_dist'])} | {g(m['pattern_change'])} |")
    return "\n".join(lines)


def plot_boundary(res, out):
    """Left: width* against n per ratio with the fits. Right: width* against the ratio per n."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4))
    ratios = list(res)
    cmap = plt.get_cmap("viridis")
    for i, r in enumerate(ratios):
        pts = res[r]["points"]
        if not pts:
            continue
        col = cmap(i / max(1, len(ratios) - 1))
        n = np.array([p["y"] for p in pts])
        x = np.array([p["x"] for p in pts])
        lo = np.array([np.nan if p["ci"][0] is None else p["ci"][0] for p in pts])
        hi = np.array([np.nan if p["ci"][1] is None else p["ci"][1] for p in pts])
        err = np.vstack([np.nan_to_num(x - lo), np.nan_to_num(hi - x)])
        lab = f"ratio {r:g}"
        if res[r]["exponent"] is not None:
            lab += f": p = {res[r]['exponent']:.2f}"
            nn = np.geomspace(n.min(), n.max(), 20)
            a1.plot(nn, res[r]["constant"] * nn ** res[r]["exponent"], color=col, lw=1)
        a1.errorbar(n * (1 + 0.03 * (i - len(ratios) / 2)), x, yerr=err, fmt="o", color=col, ms=4, capsize=2,
                    label=lab)
    nn = np.geomspace(16, 256, 10)
    a1.plot(nn, nn, "k--", lw=1, label="width = n (outer layer alone)")
    a1.plot(nn, nn / 16, "k:", lw=1, label="width·dim = n (inner weights)")
    a1.set(xscale="log", yscale="log", xlabel="n", ylabel="width* (50% converged)",
           title="50% boundary per rate ratio\n(points shifted for legibility)")
    a1.legend(fontsize=7)
    ns = sorted({p["y"] for r in ratios for p in res[r]["points"]})
    for j, n in enumerate(ns):
        rr, x, lo, hi = [], [], [], []
        for r in ratios:
            pt = [p for p in res[r]["points"] if p["y"] == n]
            if pt:
                rr.append(r)
                x.append(pt[0]["x"])
                lo.append(np.nan if pt[0]["ci"][0] is None else pt[0]["ci"][0])
                hi.append(np.nan if pt[0]["ci"][1] is None else pt[0]["ci"][1])
        x, lo, hi = map(np.array, (x, lo, hi))
        a2.errorbar(rr, x, yerr=np.vstack([np.nan_to_num(x - lo), np.nan_to_num(hi - x)]), fmt="o-", ms=4,
                    capsize=2, label=f"n = {n:g}")
    a2.set(xscale="log", yscale="log", xlabel="rate ratio (inner step / outer step)", ylabel="width*",
           title="width needed against the rate ratio\n(lower = larger converging region within the step budget)")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv) -> int:
    path, outdir, ds = figure_script(argv, __doc__)
    for metric, extra in (("converged", ["--theory", "counting", "--theory", "counting_outer"]),
                          ("verdict", []), ("inner_dist", []), ("pattern_change", [])):
        args = [path, "--x", "width", "--y", "n", "--facet", "rate_ratio", "--metric", metric,
                "-o", os.path.join(outdir, f"{'phase' if metric == 'converged' else metric}.png")] + extra
        if phase.main(args) != 0:
            return 1
    res = fits(ds)
    plot_boundary(res, os.path.join(outdir, "boundary.png"))
    moves, cnt, near = movement(ds, res), counts(ds), beside(ds, res)
    text = tables(res, moves, cnt, near)
    companion = path[:-3] + ".budget.h5" if path.endswith(".h5") else None
    chk = budget_check(ds, load(companion)) if companion and os.path.exists(companion) else None
    if chk:
        text += "\n\n" + budget_table(chk)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"fits": {str(k): v for k, v in res.items()}, "movement": moves,
                   "counts": {str(k): v for k, v in cnt.items()},
                   "below_boundary": {str(k): v for k, v in near.items()},
                   "budget_check": chk}, f, indent=1, default=float)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(os.path.basename(__file__), main, sys.argv[1:]))
