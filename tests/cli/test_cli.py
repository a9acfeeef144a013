"""The command line on good and bad sweep files (suite cli).

usage: test_cli.py SHALLOWSWEEP CELL_CORE   (meson passes both executables)

Bad files: a table of sweep texts, each with the exit code and the FILE:LINE and key its one
error line must name. Good files: the canonical round trip of every sweeps/*.yaml, --set
winning over the file, `cell --json` equal to the core's own result, and `cell --dump` read
back with h5py holding the data and initial weights the core trained from.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

SSW = CELL_CORE = None
SOURCE = os.environ.get("SSW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

# (name, file text, --set list, exit code, line, key); line None: the message names the file
# only; key None: no key to name (the file as a whole).
BAD = [
    ("unknown key", "model:\n  widht: 64\n", [], 2, 2, "widht"),
    ("unknown section", "modle:\n  width: 64\n", [], 2, 1, "modle"),
    ("unknown grid name", "grid:\n  widht: [1, 2]\n", [], 2, 2, "widht"),
    ("not a number", "model:\n  width: abc\n", [], 2, 2, "width"),
    ("no value", "model:\n  width:\n", [], 2, 2, "width"),
    ("not an integer", "model:\n  width: 1.5\n", [], 2, 2, "width"),
    ("not a boolean", "model:\n  bias: maybe\n", [], 2, 2, "bias"),
    ("not an activation", "model:\n  activation: 3\n", [], 2, 2, "activation"),
    ("not an edge check", "train:\n  edge_check: maybe\n", [], 2, 2, "edge_check"),
    ("section not a mapping", "model: [1, 2]\n", [], 2, 1, "model"),
    ("list in a section", "model:\n  width: [16, 32]\n", [], 2, 2, "width"),
    ("unknown group", "train:\n  train: [inner, wings]\n", [], 2, 2, "train"),
    ("width < 1", "model:\n  width: 0\n", [], 2, 2, "width"),
    ("n < 1", "data:\n  n: 0\n", [], 2, 2, "n"),
    ("lr = 0", "train:\n  lr: 0\n", [], 2, 2, "lr"),
    ("lr < 0", "train:\n  lr: -1\n", [], 2, 2, "lr"),
    ("tol < 0", "train:\n  tol: -1e-3\n", [], 2, 2, "tol"),
    ("tol_rel > 1", "train:\n  tol_rel: 2\n", [], 2, 2, "tol_rel"),
    ("diverge_factor = 1", "train:\n  diverge_factor: 1\n", [], 2, 2, "diverge_factor"),
    ("output_scale = 0", "model:\n  output_scale: 0\n", [], 2, 2, "output_scale"),
    ("record_points > max_iters + 1", "train:\n  max_iters: 10\n  record_points: 50\n", [], 2, 3, "record_points"),
    ("record_points default too many", "train:\n  max_iters: 10\n", [], 2, 2, "record_points"),
    ("odd width, symmetric_init", "model:\n  width: 5\ninit:\n  symmetric_init: true\n", [], 2, 2, "width"),
    ("odd width on an axis", "init:\n  symmetric_init: true\ngrid:\n  width: [4, 5]\n", [], 2, 4, "width"),
    ("batch_size > n", "data:\n  n: 10\ntrain:\n  batch_size: 20\n", [], 2, 4, "batch_size"),
    ("batch_size > n in a cell", "train:\n  batch_size: 32\ngrid:\n  n: [8, 64]\n", [], 2, 2, "batch_size"),
    ("duplicates after rounding", "grid:\n  width: {geom: [2, 5], num: 6}\n", [], 2, 2, "width"),
    ("duplicate values", "grid:\n  n: [8, 16, 8]\n", [], 2, 2, "n"),
    ("empty axis", "grid:\n  width: []\n", [], 2, 2, "width"),
    ("axis on a list key", "grid:\n  train: [inner]\n", [], 2, 2, "train"),
    ("axis on max_iters", "grid:\n  max_iters: [10, 20]\n", [], 2, 2, "max_iters"),
    ("axis of one scalar", "grid:\n  width: 64\n", [], 2, 2, "width"),
    ("key twice in a section", "model:\n  width: 4\n  width: 8\n", [], 2, 3, "width"),
    ("key in a section and the grid", "model:\n  width: 4\ngrid:\n  width: [8, 16]\n", [], 2, 4, "width"),
    ("section twice", "model:\n  width: 4\nmodel:\n  bias: true\n", [], 2, 3, "model"),
    ("YAML: unclosed list", "model:\n  width: [1, 2\ndata:\n  n: 3\n", [], 2, 3, "width"),
    ("YAML: bad indentation", "model:\n  width: 4\n dim: 3\n", [], 2, 3, "width"),
    ("YAML: tab indentation", "model:\n\twidth: 4\n", [], 2, 2, "model"),
    ("YAML: alias", "model: &m {width: 4}\ndata: *m\n", [], 2, 2, "data"),
    ("YAML: two documents", "model: {width: 4}\n---\nmodel: {width: 8}\n", [], 2, 2, None),
    ("not YAML: NUL bytes", "model:\x00\x01\x02", [], 2, 1, None),
    ("not YAML: bad UTF-8", "model: \xff\xfe\n", [], 2, 1, None),
    ("not a sweep: a list", "- width\n- n\n", [], 2, 1, None),
    ("not a sweep: a scalar", "hello world\n", [], 2, 1, None),
    ("empty file", "", [], 2, 1, None),
    ("more than 1e9 cells", "grid:\n  width: {lin: [1, 1000], num: 1000}\n  n: {lin: [1, 1000], num: 1000}\n"
     "  dim: {lin: [1, 1000], num: 1000}\n  seeds: 2\n", [], 2, 2, "width"),
    ("expression malformed", "train:\n  lr: \"1/(\"\n", [], 2, 2, "lr"),
    ("expression unknown name", "train:\n  lr: 0.5*widht\n", [], 2, 2, "lr"),
    ("expression cycle", "train:\n  lr: rate_ratio\n  rate_ratio: 2*lr\n", [], 2, 2, "lr"),
    ("expression self cycle", "train:\n  lr: 2*lr\n", [], 2, 2, "lr"),
    ("expression not finite", "train:\n  lr: log(0)\n", [], 2, 2, "lr"),
    ("expression not finite in a cell", "train:\n  lr: 1/(width-8)\ngrid:\n  width: [8, 16]\n", [], 2, 2, "lr"),
    ("expression out of range in a cell", "train:\n  lr: 1-width/8\ngrid:\n  width: [4, 16]\n", [], 2, 2, "lr"),
    ("expression of an enum", "train:\n  lr: activation\n", [], 2, 2, "lr"),
    ("expression on record_points", "train:\n  record_points: max_iters/2\n", [], 2, 2, "record_points"),
    ("key in the wrong section", "model:\n  lr: 0.5\n", [], 2, 2, "lr"),
    ("key at the top level", "width: 64\n", [], 2, 1, "width"),
    ("seeds: 0", "grid:\n  seeds: 0\n", [], 2, 2, "seeds"),
    ("seeds: 2.5", "grid:\n  seeds: 2.5\n", [], 2, 2, "seeds"),
    ("seed axis twice", "grid:\n  seeds: 3\n  seed: [1, 2]\n", [], 2, 3, "seed"),
    ("geom through zero", "grid:\n  init_scale: {geom: [0, 10], num: 3}\n", [], 2, 2, "init_scale"),
    ("range without num", "grid:\n  width: {geom: [1, 10]}\n", [], 2, 2, "width"),
    ("range with an unknown word", "grid:\n  width: {log: [1, 10], num: 3}\n", [], 2, 2, "width"),
    ("range on an enum", "grid:\n  activation: {geom: [1, 2], num: 2}\n", [], 2, 2, "activation"),
    ("enum axis with a bad value", "grid:\n  activation: [relu, relux]\n", [], 2, 2, "activation"),
    ("piecewise_constant in 2 dims", "data:\n  dim: 2\n  target: piecewise_constant\n", [], 2, 2, "dim"),
    ("refine: an axis not on the grid", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, dim]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: the seed axis", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, seeds]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: an enum axis", "grid:\n  width: {geom: [4, 64], num: 3}\n  activation: [relu, tanh]\n"
     "refine:\n  axes: [width, activation]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: a list axis", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: [8, 16]\n"
     "refine:\n  axes: [width, n]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: one axis", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: an axis twice", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, width]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: levels 0", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, n]\n  levels: 0\n", [], 2, 6, "levels"),
    ("refine: levels 1.5", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, n]\n  levels: 1.5\n", [], 2, 6, "levels"),
    ("refine: levels beyond the cell limit", "grid:\n  width: {geom: [4, 64], num: 300}\n"
     "  n: {lin: [8, 32000], num: 300}\n  init_scale: [1, 2, 3, 4]\nrefine:\n  axes: [width, n]\n  levels: 7\n",
     [], 2, 7, "levels"),
    ("refine: no levels", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, n]\n", [], 2, 4, "levels"),
    ("refine: unknown metric", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, n]\n  levels: 1\n  metric: convergd\n", [], 2, 7,
     "metric"),
    ("refine: unknown word", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine:\n  axes: [width, n]\n  level: 1\n", [], 2, 6, "level"),
    ("refine: not a mapping", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: 4}\nrefine: [width, n]\n", [], 2, 4, "refine"),
    ("refine: one coarse value", "grid:\n  width: {geom: [4, 64], num: 1}\n  n: {lin: [8, 32], num: 4}\n"
     "refine:\n  axes: [width, n]\n  levels: 1\n", [], 2, 5, "axes"),
    ("refine: a collection for num", "grid:\n  width: {geom: [4, 64], num: 3}\n  n: {lin: [8, 32], num: [4]}\n"
     "refine:\n  axes: [width, n]\n  levels: 2\n", [], 2, 3, "n"),
    ("refine: a collection as a range key", "grid:\n  width: {[num]: 3, geom: [4, 64]}\n  n: {lin: [8, 32], num: 4}\n"
     "refine:\n  axes: [width, n]\n  levels: 2\n", [], 2, 2, "width"),
    ("seeds: start > max", "grid:\n  seeds: {start: 4, max: 2}\n", [], 2, 2, "seeds"),
    ("seeds: start 0", "grid:\n  seeds: {start: 0, max: 2}\n", [], 2, 2, "seeds"),
    ("seeds: no max", "grid:\n  seeds: {start: 2}\n", [], 2, 2, "seeds"),
    ("seeds: unknown word", "grid:\n  seeds: {start: 2, most: 4}\n", [], 2, 2, "seeds"),
    ("--set unknown key", "model:\n  width: 4\n", ["wdth=3"], 2, ("--set", 1), "wdth"),
    ("--set bad expression", "model:\n  width: 4\n", ["lr=abc("], 2, ("--set", 1), "lr"),
    ("--set out of range (2nd)", "model:\n  width: 4\n", ["n=4", "width=-1"], 2, ("--set", 2), "width"),
    ("--set without =", "model:\n  width: 4\n", ["width"], 2, ("--set", 1), None),
    ("--set bad YAML", "model:\n  width: 4\n", ["width=[16"], 2, ("--set", 1), "width"),
]


def run(*args, **kw):
    return subprocess.run([SSW] + [str(a) for a in args], capture_output=True, text=True, **kw)


class BadFiles(unittest.TestCase):
    def test_table(self):
        self.assertGreaterEqual(len(BAD), 40)
        failures = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (name, text, sets, code, line, key) in enumerate(BAD):
                path = os.path.join(tmp, f"bad{i:02d}.yaml")
                with open(path, "wb") as f:
                    f.write(text.encode("latin-1"))
                args = ["validate", path] + [a for s in sets for a in ("--set", s)]
                r = run(*args)
                where = f"{line[0]}:{line[1]}" if isinstance(line, tuple) else f"{re.escape(path)}:{line}"
                pattern = f"^{where}:\\d+: " + (f"key '{re.escape(key)}': " if key else "") + ".+ — .+$"
                err = r.stderr.rstrip("\n")
                twice = key is not None and err.count(f"key '{key}': ") != 1  # named once, not twice
                if r.returncode != code or "\n" in err or not re.match(pattern, err) or twice:
                    failures.append(f"{name}: exit {r.returncode} (want {code}), stderr {err!r}, want /{pattern}/")
        if failures:
            self.fail(f"{len(failures)} of {len(BAD)} bad files misreported:\n" + "\n".join(failures))

    def test_unreadable(self):
        r = run("validate", "/nonexistent/sweep.yaml")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"^/nonexistent/sweep.yaml: cannot open .+ — .+")
        with tempfile.TemporaryDirectory() as tmp:
            r = run("validate", tmp)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(tmp, r.stderr)

    def test_command_line(self):
        quick = os.path.join(SOURCE, "sweeps", "quickstart.yaml")
        for args in (["nope"], ["validate"], ["validate", quick, "--bogus"], ["cell", quick, "--at"],
                     ["cell", quick, "--at", "width=3,n=8,seed=0"], ["cell", quick], ["plan", quick, quick]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertEqual(r.stderr.count("\n"), 1, f"{args}: {r.stderr}")
        r = run()
        self.assertEqual(r.returncode, 2)


class NothingOverwritten(unittest.TestCase):
    """Issue 13, rows 3, 10, 17 and 18: no command replaces a file it did not create unless
    asked, none hangs on a named pipe, and repeated options and section names as keys are
    one-line errors (exit 2)."""

    SWEEP = "name: t\ntrain: {max_iters: 30, record_points: 4}\ngrid:\n  width: [4, 8]\n  seeds: 2\n"

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.sweep = os.path.join(self.tmp.name, "t.yaml")
        with open(self.sweep, "w") as f:
            f.write(self.SWEEP)

    def tearDown(self):
        self.tmp.cleanup()

    def one_line_usage_error(self, r, *needles):
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)

    def test_dump_refuses_an_existing_path(self):
        at = ("--at", "width=4,seed=0")
        for name, make in (("finished.h5", lambda p: open(p, "wb").write(b"results\0" * 64)),
                           ("notes.txt", lambda p: open(p, "w").write("precious\n"))):
            path = os.path.join(self.tmp.name, name)
            make(path)
            before = open(path, "rb").read()
            self.one_line_usage_error(run("cell", self.sweep, *at, "--dump", path), path, "--force")
            self.assertEqual(open(path, "rb").read(), before)
        precious = os.path.join(self.tmp.name, "notes.txt")
        link = os.path.join(self.tmp.name, "link.h5")
        os.symlink(precious, link)
        self.one_line_usage_error(run("cell", self.sweep, *at, "--dump", link, "--force"), "not a regular file")
        self.assertEqual(open(precious).read(), "precious\n")
        self.one_line_usage_error(run("cell", self.sweep, *at, "--dump", self.tmp.name, "--force"),
                                  "not a regular file")
        replaced = os.path.join(self.tmp.name, "finished.h5")
        self.assertEqual(run("cell", self.sweep, *at, "--dump", replaced, "--force").returncode, 0)
        import h5py
        with h5py.File(replaced, "r") as f:
            self.assertIn("W0", f)

    def test_outputs_in_a_missing_directory(self):  # row 9 and row 7's -o part
        nodir = os.path.join(self.tmp.name, "nodir", "c.h5")
        afile = os.path.join(self.tmp.name, "t.yaml", "c.h5")
        for args, option in ((("cell", self.sweep, "--at", "width=4,seed=0", "--dump"), "--dump"),
                             (("run", self.sweep, "--quiet", "-o"), "-o")):
            self.one_line_usage_error(run(*args, nodir), option, "does not exist")
            self.one_line_usage_error(run(*args, afile), option, "is not a directory")

    def test_run_option_values(self):
        out = os.path.join(self.tmp.name, "o.h5")
        for bad in (("--measure-seconds", "-1"), ("--measure-seconds", "x"), ("--measure-seconds", "1e9"),
                    ("--batch", "0")):
            self.one_line_usage_error(run("run", self.sweep, "-o", out, *bad), bad[0])
            self.assertFalse(os.path.exists(out))

    def test_no_lock_file_is_made_or_written(self):  # row 6: the lock is on the file itself
        precious = os.path.join(self.tmp.name, "precious.txt")
        with open(precious, "w") as f:
            f.write("precious\n")
        out = os.path.join(self.tmp.name, "sl.h5")
        os.symlink(precious, out + ".lock")  # what an older shallowsweep's lock file would be
        self.assertEqual(run("run", self.sweep, "-o", out, "--quiet").returncode, 0)
        self.assertEqual(open(precious).read(), "precious\n")
        self.assertTrue(os.path.islink(out + ".lock"))
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["precious.txt", "sl.h5", "sl.h5.lock", "t.yaml"])

    def test_edited_frozen_metadata_is_caught(self):  # row 13
        import h5py
        out = os.path.join(self.tmp.name, "f.h5")
        self.assertEqual(run("run", self.sweep, "-o", out, "--quiet").returncode, 0)
        clean = run("status", out, "--verify")
        self.assertEqual(clean.returncode, 0, clean.stderr)
        self.assertIn("frozen metadata matches its checksum", clean.stdout)
        edits = {"cell/width": lambda f: f["cell/width"].__setitem__(0, 5),
                 "traj/width": lambda f: f["traj/width"].__setitem__(1, 9),
                 "traj/step": lambda f: f["traj/step"].__setitem__(1, 3),
                 "labels": lambda f: f["cell/seed"].attrs.modify("labels", ["1", "0"]),
                 "sweep_canonical": lambda f: f.attrs.modify("sweep_canonical", f.attrs["sweep_canonical"] + " ")}
        for what, edit in edits.items():
            bad = os.path.join(self.tmp.name, what.replace("/", "_") + ".h5")
            with open(out, "rb") as src, open(bad, "wb") as dst:
                dst.write(src.read())
            with h5py.File(bad, "r+") as f:
                edit(f)
            before = open(bad, "rb").read()
            v = run("status", bad, "--verify")
            self.assertEqual(v.returncode, 1, what + ": " + v.stdout + v.stderr)
            self.assertIn("does NOT match", v.stdout, what)
            j = run("status", bad, "--verify", "--json")
            self.assertEqual(json.loads(j.stdout)["verify"]["frozen_metadata"], "mismatch", what)
            r = run("run", self.sweep, "-o", bad, "--resume", "--quiet")
            if what != "sweep_canonical":  # an edited canonical text is named as a different sweep first
                self.one_line_usage_error(r, bad, "frozen metadata", "mislabelled")
            self.assertEqual(r.returncode, 2, what)
            self.assertEqual(open(bad, "rb").read(), before, what)

    def test_a_write_failing_during_creation_is_one_error_on_every_rank(self):  # rows 1 and 2, past the check
        # RLIMIT_FSIZE makes every write past 4 MiB fail (EFBIG, with SIGXFSZ ignored; MPI's own
        # start-up files need less): a disk that fills after the free-space check, or a quota
        # that statvfs does not show, fails the same way
        import resource
        import signal

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))
        mid = os.path.join(self.tmp.name, "mid.yaml")
        with open(mid, "w") as f:  # a 32 MiB file by plan
            f.write("name: mid\ntrain: {max_iters: 4000, record_points: 4000}\n"
                    "grid:\n  width: {geom: [4, 64], num: 10}\n  seeds: 20\n")
        out = os.path.join(self.tmp.name, "mid.h5")
        # one rank: mpirun gives its ranks SIGXFSZ's default action back (a kill), so the
        # every-rank agreement is the tmpfs test's, under mpirun -n 3
        r = subprocess.run([SSW, "run", mid, "-o", out, "--quiet"], capture_output=True, text=True, timeout=60,
                           preexec_fn=limited)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for needle in ("creating " + out + " failed", "MiB free", "nothing was left behind", "File too large"):
            self.assertIn(needle, r.stderr)
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["mid.yaml", "t.yaml"])

    def test_a_file_larger_than_the_free_space_is_refused_before_creation(self):  # rows 1 and 2
        small = os.path.join(self.tmp.name, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small], capture_output=True).returncode:
            self.skipTest("cannot mount a 2 MiB tmpfs here (needs root)")
        try:
            mid = os.path.join(self.tmp.name, "mid.yaml")
            with open(mid, "w") as f:  # a 5 MiB file by plan
                f.write("name: mid\ntrain: {max_iters: 1000, record_points: 1000}\n"
                        "grid:\n  width: {geom: [4, 64], num: 10}\n  seeds: 10\n")
            out = os.path.join(small, "mid.h5")
            self.one_line_usage_error(run("run", mid, "-o", out, "--quiet", timeout=60), out, "MiB missing")
            self.assertEqual(os.listdir(small), [])
            r = subprocess.run(["mpirun", "-n", "3", "--oversubscribe", SSW, "run", mid, "-o", out, "--quiet"],
                               capture_output=True, text=True, timeout=60)  # row 2: no rank waits, none hangs
            self.assertEqual(r.returncode, 2, r.stderr)
            ours = [line for line in r.stderr.splitlines() if "mid.h5" in line]
            self.assertEqual(len(ours), 1, r.stderr)
            self.assertIn("MiB missing", ours[0])
            self.assertEqual(os.listdir(small), [])
        finally:
            subprocess.run(["umount", small], capture_output=True)

    def test_a_named_pipe_does_not_hang(self):
        fifo = os.path.join(self.tmp.name, "fifo.yaml")
        os.mkfifo(fifo)
        for cmd in ("validate", "plan"):
            r = run(cmd, fifo, timeout=20)
            self.one_line_usage_error(r, fifo, "empty")

    def test_repeated_options_and_sections_as_keys(self):
        out_a, out_b = (os.path.join(self.tmp.name, n) for n in ("a.h5", "b.h5"))
        self.one_line_usage_error(run("cell", self.sweep, "--at", "width=4,seed=0", "--at", "width=8,seed=1"),
                                  "--at given twice")
        self.one_line_usage_error(run("run", self.sweep, "-o", out_a, "-o", out_b), "given twice")
        self.one_line_usage_error(run("run", self.sweep, "--output", out_a, "-o", out_b), "given twice")
        self.assertFalse(os.path.exists(out_a) or os.path.exists(out_b))
        self.one_line_usage_error(run("validate", self.sweep, "--set", "model=3"), "is a section", "train.lr")

    def test_status_and_resume_on_what_is_not_a_sweep_file(self):  # rows 7 and 12
        import h5py
        good = os.path.join(self.tmp.name, "good.h5")
        self.assertEqual(run("run", self.sweep, "-o", good, "--quiet").returncode, 0)
        paths = {"text": os.path.join(self.tmp.name, "text.h5"), "truncated": os.path.join(self.tmp.name, "cut.h5"),
                 "foreign": os.path.join(self.tmp.name, "foreign.h5"), "directory": self.tmp.name,
                 "missing": os.path.join(self.tmp.name, "nothere.h5")}
        with open(paths["text"], "w") as f:
            f.write("not hdf5\n")
        with open(good, "rb") as src, open(paths["truncated"], "wb") as dst:
            dst.write(src.read(3000))
        with h5py.File(paths["foreign"], "w") as f:
            f["x"] = [1, 2]
        causes = {"text": "not an HDF5 file", "truncated": "truncated or damaged", "foreign": "not a shallowsweep file",
                  "directory": "is a directory", "missing": "no such file"}
        for what, path in paths.items():
            before = open(path, "rb").read() if os.path.isfile(path) else None
            self.one_line_usage_error(run("status", path), path, causes[what])
            if what == "missing":
                continue  # --resume of a missing file starts it (the first job of a chain)
            r = run("run", self.sweep, "-o", path, "--resume", "--quiet")
            self.one_line_usage_error(r, path, causes[what])
            if before is not None:
                self.assertEqual(open(path, "rb").read(), before, what)

    def test_cells_beyond_the_memory_limit_are_refused(self):  # row 16
        out = os.path.join(self.tmp.name, "huge.h5")
        huge = ("--set", "width=10000000", "--set", "n=10000000")
        for args in (("validate", self.sweep), ("plan", self.sweep), ("run", self.sweep, "-o", out, "--quiet")):
            self.one_line_usage_error(run(*args, *huge), "memory_limit_gib", "GiB per rank")
        self.assertFalse(os.path.exists(out))
        r = run("validate", self.sweep, "--set", "width=1024", "--set", "n=100000", "--set", "memory_limit_gib=1")
        self.one_line_usage_error(r, "memory_limit_gib = 1 ")
        self.assertEqual(run("validate", self.sweep, "--set", "width=1024", "--set", "n=100000").returncode, 0)

    def test_a_long_expression_leaves_room_for_the_reason(self):  # row 14
        for name, text in (("long", "+".join(["width"] * 20000)), ("deep", "(" * 100000 + "1" + ")" * 100000)):
            path = os.path.join(self.tmp.name, name + ".yaml")
            with open(path, "w") as f:
                f.write(f'train:\n  lr: "{text}"\n')
            r = run("validate", path)
            self.one_line_usage_error(r, "lr", "characters)", "longer than")
            self.assertLess(len(r.stderr), 400, r.stderr)

    def test_the_hidden_upper_bound_is_said(self):  # row 15
        self.one_line_usage_error(run("validate", self.sweep, "--set", "lr=2e15"), "> 0 and <= 1e+15")
        self.one_line_usage_error(run("validate", self.sweep, "--set", "lr=-1"), "must be > 0 (")


class Keys(unittest.TestCase):
    """Issue 14: `shallowsweep keys` lists every key of the one key table with its type,
    default, accepted values and meaning; --outputs names every dataset a file holds."""

    def listed(self, *args):
        r = run("keys", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split() for line in r.stdout.splitlines() if line.startswith("  ") and line.split()]
        return {row[0]: row for row in rows if row[0] not in ("KEY", "accepts")}, r.stdout

    def test_every_key_of_the_canonical_sweep(self):
        keys, text = self.listed()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "s.yaml")
            with open(path, "w") as f:
                f.write("name: s\n")
            canonical = run("validate", path, "--canonical").stdout
        names = set(re.findall(r"^  ([a-z_]+):", canonical, re.M)) - {"seeds"} | {"seed"}  # grid: seeds: N
        self.assertEqual(set(keys), names)
        self.assertEqual(keys["width"][1:3], ["int", "64"])
        self.assertIn("accepts > 0 and <= 1e+15", text.split("  lr ")[1].split("\n")[1])
        self.assertIn("relu | leaky_relu", text)

    def test_a_section_and_a_key(self):
        keys, _ = self.listed("train")
        self.assertIn("lr", keys)
        self.assertNotIn("width", keys)
        keys, text = self.listed("rate_ratio")
        self.assertEqual(list(keys), ["rate_ratio"])
        self.assertIn("lr * rate_ratio", text)

    def test_unknown_names_exit_2_with_the_nearest(self):
        for what, near in (("widht", "'width'"), ("trian", "'train'"), ("zzzzzz", "sections: model")):
            r = run("keys", what)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertIn(near, r.stderr)
        self.assertEqual(run("keys", "--bogus").returncode, 2)

    def test_outputs_name_every_dataset_of_a_file(self):
        import h5py
        with tempfile.TemporaryDirectory() as tmp:
            sweep, out = os.path.join(tmp, "s.yaml"), os.path.join(tmp, "s.h5")
            with open(sweep, "w") as f:
                f.write("name: s\ndata: {test_n: 8}\ntrain: {max_iters: 5, record_points: 3, record_sharpness: true}\n"
                        "grid:\n  width: [2, 4]\n")
            self.assertEqual(run("run", sweep, "-o", out, "--quiet").returncode, 0)
            r = run("keys", "--outputs")
            self.assertEqual(r.returncode, 0, r.stderr)
            listed = {line.split()[0]: line for line in r.stdout.splitlines() if line.startswith("  ")}
            with h5py.File(out, "r") as f:
                axes = set(f.attrs["axes"]) | {"step"}
                for group in ("cell", "traj"):
                    for name, dset in f[group].items():
                        if name in axes:
                            continue
                        self.assertIn(name, listed, group)
                        self.assertIn(dset.attrs["description"], listed[name], name)  # the file's own text


class SweepFileReading(unittest.TestCase):
    """Every command reads sweep files through one reader with one size limit."""
    TINY = "model: {width: 4}\ndata: {dim: 2, n: 4}\ntrain: {max_iters: 3, record_points: 2}\n"

    def test_every_command_refuses_an_oversized_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "big.yaml")
            with open(path, "w") as f:  # valid YAML, one byte over the 1 MiB limit
                f.write(self.TINY)
                f.write("#" * ((1 << 20) - len(self.TINY)) + "\n")
            self.assertEqual(os.path.getsize(path), (1 << 20) + 1)
            out = os.path.join(tmp, "big.h5")
            for args in (["validate", path], ["plan", path], ["cell", path], ["run", path, "-o", out]):
                r = run(*args, env=dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1"), timeout=60)
                self.assertEqual(r.returncode, 2, f"{args[0]}: {r.stderr}")
                self.assertIn("larger than 1048576 bytes", r.stderr, args[0])
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, f"{args[0]}: {r.stderr}")
            self.assertFalse(os.path.exists(out))

    def test_run_reads_a_pipe(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "piped.h5")
            r = run("run", "/dev/stdin", "-o", out, "--quiet", input=self.TINY,
                    env=dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1"), timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(out))


class EdgeCheck(unittest.TestCase):
    """validate and plan estimate the edge ratio at initialization on the grid's corners."""
    SWEEP = ("model: {activation: relu}\ndata: {dim: 8}\ntrain: {lr: 2, max_iters: 10, record_points: 5}\n"
             "grid:\n  width: [4, 1024]\n  n: [8, 256]\n")

    def test_warn_error_off(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "edge.yaml")
            with open(path, "w") as f:
                f.write(self.SWEEP)
            for cmd in ("validate", "plan"):
                r = run(cmd, path)  # the default: warn, name the cells, exit 0
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertRegex(r.stdout, r"stability +edge ratio at init at most 2\.\d+ over 4 sampled cells")
                self.assertIn("beyond the stability edge at initialization in 3 of 4 sampled cells", r.stderr)
                self.assertIn("width=4,n=8,seed=0: edge ratio 2.", r.stderr)
                r = run(cmd, path, "--set", "edge_check=error")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertRegex(r.stderr, rf"^{re.escape(path)}:3:\d+: key 'lr': the step is beyond the stability "
                                           r"edge at initialization in 3 of 4 sampled cells \(worst: width=4,n=8,seed=0")
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                r = run(cmd, path, "--set", "edge_check=off")
                self.assertEqual(r.returncode, 0)
                self.assertNotIn("stability", r.stdout + r.stderr)
                r = run(cmd, path, "--set", "lr=0.5", "--set", "edge_check=error")  # below the edge everywhere
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")


class Help(unittest.TestCase):
    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("validate", "plan", "cell"):
            self.assertIn(cmd, r.stdout)
            h = run(cmd, "--help")
            self.assertEqual(h.returncode, 0)
            self.assertIn(f"usage: shallowsweep {cmd}", h.stdout)
            self.assertIn("--set", h.stdout)
        v = run("--version")
        self.assertEqual(v.returncode, 0)
        self.assertRegex(v.stdout, r"^shallowsweep \d+\.\d+\.\d+")


class GoodFiles(unittest.TestCase):
    def sweeps(self):
        d = os.path.join(SOURCE, "sweeps")
        return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".yaml"))

    def test_examples_validate_and_plan(self):
        self.assertGreaterEqual(len(self.sweeps()), 5)
        for path in self.sweeps():
            for cmd in ("validate", "plan"):
                r = run(cmd, path, *(["--measure-seconds", "1"] if cmd == "plan" else []))
                self.assertEqual(r.returncode, 0, f"{cmd} {path}: {r.stderr}")
                if cmd == "plan":  # every figure plan promises, measured
                    for word in ("measured ", "core-hours ", "wall ", "assumes ", "memory/rank "):
                        self.assertIn(word, r.stdout, f"plan {path}")

    def test_canonical_round_trip(self):
        with tempfile.TemporaryDirectory() as tmp:
            for path in self.sweeps():
                first = run("validate", path, "--canonical", check=True).stdout
                again = os.path.join(tmp, "canonical.yaml")
                with open(again, "w") as f:
                    f.write(first)
                second = run("validate", again, "--canonical", check=True).stdout
                self.assertEqual(first, second, path)

    def test_set_wins(self):
        quick = os.path.join(SOURCE, "sweeps", "quickstart.yaml")
        r = run("validate", quick, "--canonical", "--set", "lr=0.25", "--set", "width=[6, 10]",
                "--set", "n=12", "--set", "seeds=2", "--set", "train.max_iters=500", check=True).stdout
        self.assertIn("  lr: 0.25\n", r)
        self.assertIn("  n: 12\n", r)
        self.assertIn("  max_iters: 500\n", r)
        self.assertIn("  width: [6, 10]\n", r)
        self.assertIn("  seeds: 2\n", r)
        self.assertNotIn("  n: [", r)
        j = json.loads(run("cell", quick, "--at", "width=10,seed=1", "--json", "--set", "lr=0.25",
                           "--set", "width=[6, 10]", "--set", "n=12", "--set", "seeds=2",
                           "--set", "max_iters=500", check=True).stdout)
        self.assertEqual(j["params"]["lr"], "0.25")
        self.assertEqual(j["params"]["width"], "10")
        self.assertEqual(j["params"]["n"], "12")
        self.assertEqual(j["params"]["seed"], "1")
        self.assertEqual(j["coords"], {"width": 10, "seed": 1})


class Cell(unittest.TestCase):
    SWEEP = ("name: cell-test\nmodel: {activation: relu, bias: true}\n"
             "data: {dim: 3, test_n: 20}\ninit: {bias_init_std: 0.1}\n"
             "train: {lr: 0.5, max_iters: 300, record_points: 12, ntk_eigs: true}\n"
             "grid:\n  width: [8, 32]\n  n: [10, 40]\n  seeds: 2\n")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "cell.yaml")
        with open(self.path, "w") as f:
            f.write(self.SWEEP)

    def tearDown(self):
        self.tmp.cleanup()

    def test_json_equals_core(self):
        for at in ("width=8,n=40,seed=1", "width=32,n=10,seed=0"):
            mine = json.loads(run("cell", self.path, "--at", at, "--json", check=True).stdout)
            core = json.loads(subprocess.run([CELL_CORE, self.path, at], capture_output=True, text=True,
                                             check=True).stdout)
            for key in ("index", "status", "iters", "iters_to_tol", "init_loss", "final_loss", "ntk_min",
                        "ntk_max", "steps", "series"):
                self.assertEqual(mine[key], core[key], f"{at}: {key}")
            self.assertEqual(set(mine["series"]), {"loss", "grad_norm", "inner_dist", "outer_dist",
                                                   "pattern_change", "test_loss", "edge_ratio"})
            self.assertTrue(all(v is None for v in mine["series"]["edge_ratio"]))  # not asked for
            self.assertEqual(mine["params"]["ntk_eigs"], "true")

    def test_every_vector_width_gives_the_same_bits(self):
        # SSW_SIMD picks the activation kernels; with FMA (avx2, avx512) they are SLEEF's
        # deterministic functions, so a softplus cell's whole trajectory is the same bits.
        # baseline (no FMA) may differ in the last bits: it is checked against the others to
        # 1e-12 only. A bad SSW_SIMD is one line and exit 2.
        sweep = self.path.replace("cell.yaml", "softplus.yaml")
        with open(sweep, "w") as f:
            f.write(self.SWEEP.replace("relu", "softplus"))
        runs = {}
        for isa in ("avx2", "avx512", "baseline"):
            env = dict(os.environ, SSW_SIMD=isa)
            r = run("cell", sweep, "--at", "width=32,n=40,seed=1", "--json", env=env)
            if r.returncode == 2 and "this CPU cannot run" in r.stderr:
                continue
            self.assertEqual(r.returncode, 0, r.stderr)
            runs[isa] = json.loads(r.stdout)
        self.assertIn("baseline", runs)
        fma = [runs[k] for k in ("avx2", "avx512") if k in runs]
        for other in fma[1:]:
            self.assertEqual(other["series"], fma[0]["series"])
            self.assertEqual(other["final_loss"], fma[0]["final_loss"])
        for other in fma:
            self.assertAlmostEqual(other["final_loss"], runs["baseline"]["final_loss"],
                                   delta=1e-12 * runs["baseline"]["final_loss"])
        bad = run("cell", sweep, "--at", "width=32,n=40,seed=1", env=dict(os.environ, SSW_SIMD="avx3"))
        self.assertEqual(bad.returncode, 2)
        self.assertEqual(len(bad.stderr.strip().splitlines()), 1, bad.stderr)
        self.assertIn("SSW_SIMD", bad.stderr)

    def test_human_output(self):
        r = run("cell", self.path, "--at", "width=8,n=40,seed=1", check=True)
        self.assertRegex(r.stdout, r"cell \d+ of 8: width=8,n=40,seed=1\nverdict +\w+")

    def test_dump(self):
        import h5py
        import numpy as np
        out = os.path.join(self.tmp.name, "c.h5")
        j = json.loads(run("cell", self.path, "--at", "width=8,n=40,seed=1", "--json", "--dump", out,
                           check=True).stdout)
        with h5py.File(out, "r") as f:
            X, y, W0, b0, a0 = (f[k][()] for k in ("X", "y", "W0", "b0", "a0"))
            self.assertEqual(X.shape, (40, 3))
            self.assertEqual(y.shape, (40,))
            self.assertEqual(W0.shape, (8, 3))
            self.assertEqual(b0.shape, (8,))
            self.assertEqual(a0.shape, (8,))
            self.assertEqual(f["X_test"].shape, (20, 3))
            self.assertEqual(list(f["steps"][()]), j["steps"])
            for name, values in j["series"].items():
                got = f["series"][name][()]
                want = np.array([np.nan if v is None else v for v in values])
                np.testing.assert_array_equal(got, want, err_msg=name)
            self.assertEqual(f["result"].attrs["init_loss"], j["init_loss"])
            self.assertEqual(f["params"].attrs["width"], 8)
            self.assertIn("cell-test", f.attrs["sweep_canonical"].decode() if isinstance(
                f.attrs["sweep_canonical"], bytes) else f.attrs["sweep_canonical"])
            # The loss at step 0 from what the dump holds: f(x) = s * sum_j a_j relu(<w_j, x> + b_j).
            s = float(f["params"].attrs["output_scale"])
            self.assertEqual(s, 1 / np.sqrt(8))
            pred = s * np.maximum(X @ W0.T + b0, 0.0) @ a0
            loss0 = 0.5 * np.mean((pred - y) ** 2)
            rel = abs(loss0 - j["init_loss"]) / j["init_loss"]
            self.assertLess(rel, 1e-12, f"L0 from the dump {loss0!r} vs the cell's {j['init_loss']!r}")
            # The weights training ended with: the final loss and inner_dist from them.
            W, b, a = (f[k][()] for k in ("W", "b", "a"))
            self.assertEqual(W.shape, (8, 3))
            pred = s * np.maximum(X @ W.T + b, 0.0) @ a
            lossT = 0.5 * np.mean((pred - y) ** 2)
            self.assertLess(abs(lossT - j["final_loss"]) / j["final_loss"], 1e-12, (lossT, j["final_loss"]))
            dist = np.linalg.norm(W - W0) / np.linalg.norm(W0)
            self.assertAlmostEqual(dist, j["final_inner_dist"], delta=1e-12 * dist)


if __name__ == "__main__":
    SSW, CELL_CORE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
