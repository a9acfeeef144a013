"""The code's own rules that a compiler does not check (STYLE 15-17):
- layers: core <- sweep <- store <- engine <- cli; a file includes project headers of its own
  layer or lower ones only, the libraries its layer links, and private headers of its own
  directory only; the header lists in include/shallowsweep/meson.build say the same;
- one definition: the value tolerance of analysis/select.py is the C side's;
- files stay small: no file of src/ past 500 lines.
"""
import os
import re
import sys
import unittest

SOURCE = os.environ.get("SSW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LAYERS = ["core", "sweep", "store", "engine", "cli"]
HEADERS = {  # public header -> layer
    "error": "core", "text": "core", "clock": "core", "params": "core", "expr": "core", "rng": "core",
    "data": "core", "model": "core", "init": "core", "ntk": "core", "train": "core", "simd": "core",
    "train_state": "core", "checkpoint": "store", "reuse": "store",
    "sweep": "sweep", "refine": "sweep", "check": "store", "store": "store", "deadline": "engine", "engine": "engine", "estimate": "engine",
}
# System headers of the libraries a layer links (anything else of these is refused).
LIBRARY_HEADERS = {"cblas.h": "core", "lapacke.h": "core", "Random123/philox.h": "core", "yaml.h": "sweep",
                   "mpi.h": "store", "hdf5.h": "store", "hdf5_hl.h": "store"}
MAX_LINES = 500


def read(path):
    with open(os.path.join(SOURCE, path), encoding="utf-8") as f:
        return f.read()


def sources():
    """(path, layer) of every C file of src/ and include/shallowsweep/."""
    for layer in LAYERS:
        d = os.path.join("src", layer)
        for name in sorted(os.listdir(os.path.join(SOURCE, d))):
            if name.endswith((".c", ".h")):
                yield os.path.join(d, name), layer
    for name in sorted(os.listdir(os.path.join(SOURCE, "include", "shallowsweep"))):
        if name.endswith(".h"):
            yield os.path.join("include", "shallowsweep", name), HEADERS[name[:-2]]


def violations(path, layer, text):
    rank = LAYERS.index(layer)
    for line_no, line in enumerate(text.splitlines(), 1):
        m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
        if not m:
            continue
        quote, inc = m.groups()
        where = f"{path}:{line_no}: {layer} includes {inc}"
        if quote == '"' and inc.startswith("shallowsweep/"):
            other = HEADERS.get(inc[len("shallowsweep/"):-2])
            if other is None:
                yield f"{where}: not a listed public header"
            elif LAYERS.index(other) > rank:
                yield f"{where} of layer {other}, above it"
        elif quote == '"' and inc != "ssw_config.h":
            if "/" in inc or not os.path.exists(os.path.join(SOURCE, os.path.dirname(path), inc)):
                yield f"{where}: a private header of another directory"
        elif quote == "<" and inc in LIBRARY_HEADERS and LAYERS.index(LIBRARY_HEADERS[inc]) > rank:
            yield f"{where}: a library of layer {LIBRARY_HEADERS[inc]}"


class Layers(unittest.TestCase):
    def test_includes_follow_the_layers(self):
        found = [v for path, layer in sources() for v in violations(path, layer, read(path))]
        self.assertEqual(found, [], "\n" + "\n".join(found))

    def test_the_rule_catches_an_upward_include(self):
        bad = '#include "shallowsweep/store.h"\n#include "../store/store_impl.h"\n#include <mpi.h>\n'
        self.assertEqual(len(list(violations("src/core/x.c", "core", bad))), 3)

    def test_header_lists_match_meson(self):
        text = read("include/shallowsweep/meson.build")
        meson = {}
        for layer, names in re.findall(r"\['(\w+)', \[([^\]]*)\]", text):
            for name in re.findall(r"'(\w+)'", names):
                meson[name] = layer
        self.assertEqual(meson, HEADERS)
        on_disk = {n[:-2] for n in os.listdir(os.path.join(SOURCE, "include", "shallowsweep")) if n.endswith(".h")}
        self.assertEqual(on_disk, set(HEADERS))


class OneDefinition(unittest.TestCase):
    def test_value_tolerance_is_the_c_one(self):
        c = re.search(r"#define SSW_AXIS_VALUE_RTOL ([0-9.e+-]+)", read("include/shallowsweep/sweep.h"))
        py = re.search(r"^VALUE_RTOL = ([0-9.e+-]+)$", read("analysis/select.py"), re.M)
        self.assertIsNotNone(c)
        self.assertIsNotNone(py)
        self.assertEqual(float(c.group(1)), float(py.group(1)))


class Size(unittest.TestCase):
    def test_no_source_file_past_500_lines(self):
        long = [f"{p}: {n} lines" for p, _ in sources() if (n := read(p).count("\n")) > MAX_LINES]
        self.assertEqual(long, [], "split by pass or lifecycle (STYLE 17)")


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
