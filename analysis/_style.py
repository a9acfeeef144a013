"""Line colours and markers that tell lines apart: a qualitative palette (matplotlib's tab10,
then tab20's light shades), each line also with its own marker, so that neighbouring values
never come out as two near-identical shades of one colour map."""
from __future__ import annotations

import sys

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


def palette(n: int) -> list:
    """n distinct colours: tab10 for up to 10 lines, tab20 (dark shades first) beyond."""
    import matplotlib

    if n <= 10:
        return [matplotlib.colormaps["tab10"](i) for i in range(n)]
    tab20 = matplotlib.colormaps["tab20"]
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    return [tab20(order[i % 20]) for i in range(n)]


def marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


if __name__ == "__main__":
    from ._cli import library_main
    sys.exit(library_main("_style", __doc__))
