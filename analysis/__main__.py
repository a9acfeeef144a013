"""python3 -m analysis: the list of commands; python3 -m analysis COMMAND ARGS runs one
(the same as python3 -m analysis.COMMAND ARGS)."""
from __future__ import annotations

import importlib
import sys

from ._cli import Parser, package, run

# (name, what it does): every module that is a command; each answers --help.
COMMANDS = (
    ("phase", "phase diagram: a per-cell metric over two axes, reduced over seeds (PNG)"),
    ("line", "a metric against one axis, one line per value of another; seed median and band (PNG, --json)"),
    ("traj", "trajectories against step: one line per value of an axis, or single cells with --cell (PNG)"),
    ("boundary", "the 50% boundary x* per value of another axis, bootstrap intervals, power-law fit (PNG, --json)"),
    ("slope", "per point of other axes, the slope of log(median y) against log x, seed bootstrap; map over two axes (PNG, --json)"),
    ("summary", "status counts overall and per axis value; --csv OUT writes one row per cell"),
    ("theory", "the width conditions from the literature that phase --theory draws"),
)
# Modules to import from Python, not commands (their --help says what they hold).
LIBRARIES = ("load", "select", "phase_theory", "boundary_fit", "boundary_plot")


def listing() -> str:
    pkg = package()
    width = max(len(n) for n, _ in COMMANDS)
    lines = [f"usage: python3 -m {pkg}.COMMAND [ARGS]   (or: python3 -m {pkg} COMMAND [ARGS])", "",
             "commands (each answers --help):"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS]
    lines += ["", f"library modules: {', '.join(LIBRARIES)}; from Python: from {pkg} import load"]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(listing())
        return 0
    names = [n for n, _ in COMMANDS]
    if argv[0] not in names:
        p = Parser(prog=package())
        p.error(f"unknown command '{argv[0]}' (commands: {', '.join(names)})")
    module = importlib.import_module(f"{package()}.{argv[0]}")
    return run(f"{package()}.{argv[0]}", module.main, argv[1:])


if __name__ == "__main__":
    sys.exit(main())
