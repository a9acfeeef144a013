"""Shared command-line plumbing: one-line errors with exit status 2 (DESIGN.md §1), and the
answer of a library module run as a command."""
from __future__ import annotations

import argparse
import os
import sys

from .load import AnalysisError, load

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line on one line (no usage dump) and exits 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def parse_at(items, flag: str = "--at") -> dict:
    """['width=256', 'n=64,seed=0'] -> {'width': '256', 'n': '64', 'seed': '0'}."""
    out = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise AnalysisError(f"{flag} '{part}': expected key=value, such as width=256")
            out[key.strip()] = value.strip()
    return out


def run(prog: str, main, argv=None) -> int:
    """Call main(argv); an AnalysisError becomes 'prog: error: message' and exit 2."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        return main(argv) or 0
    except AnalysisError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `... | head`
        return 0


def figure_script(argv, doc: str):
    """The start of a figure script, docs/experiments/NAME.py FILE.h5 OUTDIR (DESIGN.md §19):
    (FILE.h5, OUTDIR, the loaded file), OUTDIR made. Another command line or a file that is not
    a shallowsweep file raises AnalysisError, one line that run() turns into exit 2."""
    if len(argv) != 2:
        usage = next((l.strip() for l in (doc or "").splitlines() if l.strip().endswith("FILE.h5 OUTDIR")),
                     "NAME.py FILE.h5 OUTDIR")
        raise AnalysisError(f"expected FILE.h5 OUTDIR, got {len(argv)} argument(s); usage: {usage}")
    path, outdir = argv
    ds = load(path)
    os.makedirs(outdir, exist_ok=True)
    return path, outdir, ds


def package() -> str:
    """'analysis' in a checkout, 'shallowsweep.analysis' when installed."""
    return __package__


def library_main(name: str, doc: str, argv=None) -> int:
    """`python3 -m analysis.NAME` for a module that is a library, not a command: --help says
    what it holds and where the commands are (exit 0); anything else is bad use (exit 2)."""
    pkg = package()
    summary = (doc or "").strip().split("\n\n", 1)[0]
    p = Parser(prog=f"{pkg}.{name}", formatter_class=argparse.RawDescriptionHelpFormatter,
               usage=f"from {pkg}.{name} import ...   (a library module, not a command)",
               description=f"{summary}\n\nThe commands: python3 -m {pkg} (lists them).")
    p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    p.parse_args(argv)
    p.exit(EXIT_USAGE, f"{p.prog}: error: a library module, not a command: import it, or run "
                       f"python3 -m {pkg} for the commands\n")


if __name__ == "__main__":
    sys.exit(library_main("_cli", __doc__))
