"""A text summary of a sweep file: cells by status, overall and per axis value; and the
per-cell table (CSV, pandas).

    python3 -m analysis.summary FILE [--csv OUT.csv]

Prints the sweep's axes, a status table for every axis (one row per value), the median
wall time and steps of finished cells, and the distinct failure messages. A refined sweep's
skipped cells have their own column and are left out of "done" (done / (cells - skipped)), and
a line says how much of the fine grid was computed and how much the fill rule filled. --csv OUT writes
cell_table(ds): one row per cell, the axes (as the file labels their values), status and
diagnosis by name, then every other /cell scalar; `--csv -` writes it to stdout instead of
the summary.
"""
from __future__ import annotations

import sys
from collections import Counter

import numpy as np

from ._cli import Parser, run
from .load import MAX_ITERS, PENDING, SKIPPED, AnalysisError, done_mask, load, skipped_mask, status_names
from .select import axis_label, fmt_value

MAX_MESSAGES = 5
BOOKKEEPING = ("rank", "checksum", "message")  # the per-cell table's last columns


def status_counts(ds, axis=None) -> dict:
    """{status name: count} overall, or {axis value label: {status name: count}}."""
    st = ds["status"]
    if axis is None:
        vals = st.values.ravel()
        return {name: int(np.sum(vals == code)) for code, name in status_names(ds).items()}
    out = {}
    for i, v in enumerate(ds[axis].values):
        vals = st.isel({axis: i}).values.ravel()
        out[axis_label(ds, axis, v)] = {name: int(np.sum(vals == code)) for code, name in status_names(ds).items()}
    return out


def diagnosis_counts(ds) -> dict:
    """{diagnosis name: count} of the max_iters cells (empty for a format-1 file)."""
    if "diagnosis" not in ds:
        return {}
    st, dg = ds["status"].values, ds["diagnosis"].values
    return {name: int(np.sum((st == MAX_ITERS) & (dg == code)))
            for code, name in sorted(ds["diagnosis"].attrs["names"].items()) if code > 0}


def diagnosis_lines(ds) -> list:
    counts = diagnosis_counts(ds)
    if not counts:
        return ["(no diagnosis: a format-1 file, written before shallowsweep 0.2)"]
    text = ", ".join(f"{name} {c}" for name, c in counts.items())
    return [f"why max_iters: {text}  (unstable: the step size co-decided; slow: the budget; plateau: a stall)"]


def refine_lines(ds) -> list:
    """What a refined sweep computed: its refinement, the share of the fine grid computed, the
    filled points per deciding spacing, and the adaptive seeds; [] for a dense sweep."""
    from .refine import metric_map, refine_of

    spec, seeds = refine_of(ds), ds.attrs.get("adaptive_seeds")
    lines = []
    if spec is not None:
        m = metric_map(ds)
        points = int(m["skipped"].size)
        skipped = int(m["skipped"].sum())
        by = ", ".join(f"{int((m['spacing'] == s).sum())} from spacing {s}"
                       for s in (2 ** k for k in range(1, spec.levels + 1)) if int((m["spacing"] == s).sum()))
        lines += ["", f"refined: {spec.axes[0]} x {spec.axes[1]}, {spec.levels} levels, metric {spec.metric}: "
                      f"{points - skipped} of {points} points computed, {skipped} skipped; "
                      f"{int(m['filled'].sum())} filled ({by or 'none'})"]
    if seeds is not None:
        lines.append(f"adaptive seeds: {seeds[0]} at every computed point, up to {seeds[1]} where the metric "
                     f"was uncertain")
    return lines


def _shown_names(ds) -> list:
    """The status names of the tables: every name the file gives, but skipped only for a refined
    sweep (or one with skipped cells): engine files name it always, and a dense sweep's table
    stays as it was."""
    from .refine import refine_of

    has = refine_of(ds) is not None or bool(skipped_mask(ds).any())
    return [n for n in status_names(ds).values() if n != "skipped" or has]


def _table(title: str, rows: dict, ds) -> list:
    names = _shown_names(ds)
    w0 = max([len(title)] + [len(k) for k in rows])
    widths = [max(len(n), 5) for n in names]
    head = f"{title:>{w0}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(names, widths)) + "   done"
    lines = [head, "-" * len(head)]
    skipped = status_names(ds).get(SKIPPED) if status_names(ds).get(SKIPPED) == "skipped" else None
    for key, counts in rows.items():
        # skipped cells will never run: not part of what there is to do
        total = sum(counts.values()) - (counts[skipped] if skipped else 0)
        done = total - counts[status_names(ds)[PENDING]]
        pct = f"{100.0 * done / total:5.1f}%" if total else "   -"
        lines.append(f"{key:>{w0}}  " + "  ".join(f"{counts[n]:>{w}}" for n, w in zip(names, widths))
                     + f"  {pct}")
    return lines


def summary_text(ds) -> str:
    axes = ds.attrs["axes"]
    total = int(ds["status"].size)
    lines = [f"file:    {ds.attrs.get('path', '')}",
             f"sweep:   {ds.attrs.get('sweep', {}).get('name', '?')}  "
             f"({ds.attrs.get('software_version', '?')}, created {ds.attrs.get('created', '?')})",
             f"cells:   {total} = " + " x ".join(f"{a}[{ds.sizes[a]}]" for a in axes)]
    if "step" in ds.dims:
        lines.append(f"records: {ds.sizes['step']} steps, 0..{fmt_value(ds['step'].values[-1])}")
    for a in axes:
        vals = ", ".join(axis_label(ds, a, v) for v in ds[a].values)
        lines.append(f"  {a:<12} {ds[a].attrs.get('scale', ''):<8} {vals}")
    lines.append("")
    lines += _table("all", {"all": status_counts(ds)}, ds)
    lines += diagnosis_lines(ds)
    for a in axes:
        lines.append("")
        lines += _table(a, status_counts(ds, a), ds)
    lines += refine_lines(ds)
    done = done_mask(ds)
    if bool(done.any()):
        lines.append("")
        wall = ds["wall_s"].where(done).values if "wall_s" in ds else np.array([np.nan])
        iters = ds["iters"].where(done).values if "iters" in ds else np.array([np.nan])
        lines.append(f"finished cells: median wall {np.nanmedian(wall):.3g} s, total {np.nansum(wall):.3g} s; "
                     f"median steps {np.nanmedian(iters):.0f}")
    if "message" in ds:
        failed = ds["status"].values == 4
        msgs = Counter(str(m) for m in ds["message"].values[failed])
        if msgs:
            lines.append("")
            lines.append("failure messages:")
            for m, c in msgs.most_common(MAX_MESSAGES):
                lines.append(f"  {c:>6} x {m}")
    return "\n".join(lines)


def cell_table(ds) -> "pandas.DataFrame":  # noqa: F821
    """One row per cell (file order, the last axis fastest): a column per axis holding the
    value's label (the text validate and status print, so that 0.30000000000000004 reads back
    exactly), status and diagnosis as names, then the other /cell scalars as loaded (pending
    cells: floats NaN, integers the file's fill value 0), rank, checksum and message last."""
    import pandas as pd

    axes = ds.attrs["axes"]
    shape = tuple(ds.sizes[a] for a in axes)
    index = np.indices(shape).reshape(len(axes), -1)  # (k axes, cells)
    cols = {a: [axis_label(ds, a, v) for v in ds[a].values[index[i]]] for i, a in enumerate(axes)}
    names = status_names(ds)
    cols["status"] = [names.get(int(c), str(int(c))) for c in ds["status"].values.ravel()]
    if "diagnosis" in ds:
        dn = ds["diagnosis"].attrs.get("names", {})
        cols["diagnosis"] = [dn.get(int(c), str(int(c))) for c in ds["diagnosis"].values.ravel()]
    last = [v for v in BOOKKEEPING if v in ds]
    rest = [v for v in ds.data_vars if list(ds[v].dims) == list(axes) and v not in cols and v not in last]
    for v in rest + last:
        cols[v] = ds[v].transpose(*axes).values.ravel()
    return pd.DataFrame(cols)


def write_csv(ds, out) -> None:
    """cell_table(ds) as CSV to path `out`, or to stdout for '-'."""
    table = cell_table(ds)
    try:
        table.to_csv(sys.stdout if out == "-" else out, index=False)
    except BrokenPipeError:  # `--csv - | head`: run() exits 0
        raise
    except OSError as e:
        raise AnalysisError(f"--csv {out}: cannot write ({e.strerror or e})") from None


def summary(source) -> str:
    ds = load(source) if not hasattr(source, "data_vars") else source
    return summary_text(ds)


def main(argv=None) -> int:
    p = Parser(prog=f"{__package__}.summary",
               description="Status counts of a shallowsweep file, overall and per axis value; "
                           "--csv writes one row per cell.")
    p.add_argument("file")
    p.add_argument("--csv", metavar="OUT",
                   help="also write one row per cell (axes, status, diagnosis, every /cell scalar) to OUT; "
                        "'-' writes it to stdout instead of the summary")
    a = p.parse_args(argv)
    ds = load(a.file)
    if a.csv:
        write_csv(ds, a.csv)
    if a.csv != "-":
        print(summary(ds))
    return 0


if __name__ == "__main__":
    sys.exit(run(f"{__package__}.summary", main))
