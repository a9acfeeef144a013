"""Shared command-line plumbing: one-line errors with exit status 2 (DESIGN.md §1)."""
from __future__ import annotations

import argparse
import os
import sys

from .load import AnalysisError

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line on one line (no usage dump) and exits 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def parse_at(items) -> dict:
    """['width=256', 'n=64,seed=0'] -> {'width': '256', 'n': '64', 'seed': '0'}."""
    out = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise AnalysisError(f"--at '{part}': expected key=value, such as width=256")
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
