"""Compare two shallowsweep files dataset by dataset under /cell and /traj (h5py).

    compare_h5.py A.h5 B.h5

Every dataset must have the same shape and dtype and equal values (NaN equal to NaN), except
the per-run bookkeeping that legitimately differs between runs: wall_s, gflops, rank, and
the checksum, which covers them (run.sh checks each file's checksums with status --verify). The
training is a pure function of the cell (counter-based randomness), so a run stopped and
resumed across jobs must reproduce an uninterrupted run exactly. Exit 0 if equal, 1 if not
(largest differences and the first mismatches printed).
"""
import sys

import h5py
import numpy as np

SKIP = {"wall_s", "gflops", "rank", "checksum"}  # timing and placement (and the checksum over them)
GROUPS = ("cell", "traj")
SHOW = 5  # mismatches printed per dataset


def datasets(f):
    out = {}
    for g in GROUPS:
        for name, obj in f[g].items():
            if isinstance(obj, h5py.Dataset) and name not in SKIP:
                out[f"/{g}/{name}"] = obj[()]
    return out


def compare(path, a, b):
    """A list of lines describing how a and b differ (empty if they do not)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return [f"{path}: shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"]
    if a.dtype.kind in "SOU":
        bad = np.argwhere(a != b)
        return [f"{path}{tuple(i)}: {a[tuple(i)]!r} vs {b[tuple(i)]!r}" for i in bad[:SHOW]] + (
            [f"{path}: {len(bad)} strings differ"] if len(bad) else [])
    same = (a == b) | (np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else (a == b)
    if same.all():
        return []
    bad = np.argwhere(~same)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a.astype(float) - b.astype(float))
        rel = diff / np.maximum(np.abs(a.astype(float)), np.abs(b.astype(float)))
    lines = [f"{path}: {len(bad)} of {a.size} values differ; largest abs diff {np.nanmax(diff):.3g}, "
             f"largest rel diff {np.nanmax(rel):.3g}"]
    lines += [f"  at {tuple(int(j) for j in i)}: {a[tuple(i)]!r} vs {b[tuple(i)]!r}" for i in bad[:SHOW]]
    return lines


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with h5py.File(argv[1], "r", locking=False) as fa, h5py.File(argv[2], "r", locking=False) as fb:
        da, db = datasets(fa), datasets(fb)
    problems = []
    for name in sorted(set(da) ^ set(db)):
        problems.append(f"{name}: only in {argv[1] if name in da else argv[2]}")
    for name in sorted(set(da) & set(db)):
        problems += compare(name, da[name], db[name])
    status = da.get("/cell/status")
    if status is not None and (status == 0).any():
        problems.append(f"{argv[1]}: {(status == 0).sum()} cells still pending")
    if problems:
        print(f"compare_h5: {argv[1]} and {argv[2]} differ:", *problems, sep="\n")
        return 1
    print(f"compare_h5: {len(da)} datasets equal ({', '.join(sorted(SKIP))} aside); "
          f"{status.size if status is not None else '?'} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
