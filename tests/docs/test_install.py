"""`meson install` installs the binary and the Python package shallowsweep.analysis with one
version, and both work from any directory: the installed binary writes a sweep file, the
installed package reads it, from a directory outside the checkout."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("SSW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ["SSW_BUILD_DIR"]
SWEEP = "model: {width: 4}\ndata: {dim: 2}\ntrain: {max_iters: 5, record_points: 3}\ngrid: {n: [4, 8]}\n"


class Install(unittest.TestCase):
    def test_installed_binary_and_package(self):
        with tempfile.TemporaryDirectory() as tmp:
            dest = os.path.join(tmp, "dest")
            r = subprocess.run([shutil.which("meson"), "install", "-C", BUILD, "--destdir", dest, "--no-rebuild",
                                "--quiet"], capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            exe, = glob.glob(os.path.join(dest, "**", "bin", "shallowsweep"), recursive=True)
            pkg, = glob.glob(os.path.join(dest, "**", "shallowsweep", "analysis", "__init__.py"), recursive=True)
            site = os.path.dirname(os.path.dirname(os.path.dirname(pkg)))
            self.assertTrue(os.path.exists(os.path.join(site, "shallowsweep", "__init__.py")))
            work = os.path.join(tmp, "elsewhere")
            os.mkdir(work)
            env = dict(os.environ, PYTHONPATH=site, OMPI_MCA_btl="self,vader", OMPI_MCA_pml="ob1")
            version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
            with open(os.path.join(SOURCE, "VERSION")) as f:
                self.assertEqual(version, f.read().strip())
            py = subprocess.run([sys.executable, "-c", "import shallowsweep.analysis as a; print(a.__version__, a.__file__)"],
                                cwd=work, env=env, capture_output=True, text=True)
            self.assertEqual(py.returncode, 0, py.stderr)
            got_version, where = py.stdout.split()
            self.assertEqual(got_version, version)
            self.assertTrue(where.startswith(site), where)  # the installed copy, not the checkout's
            with open(os.path.join(work, "s.yaml"), "w") as f:
                f.write(SWEEP)
            r = subprocess.run([exe, "run", "s.yaml", "-o", "s.h5", "--quiet"], cwd=work, env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = subprocess.run([sys.executable, "-m", "shallowsweep.analysis.summary", "s.h5"], cwd=work, env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("cells:   2 = n[2] x seed[1]", r.stdout)
            # every command of the installed copy runs (a module left out of install_data fails here)
            r = subprocess.run([sys.executable, "-m", "shallowsweep.analysis"], cwd=work, env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            commands = [line.split()[0] for line in r.stdout.split("commands (each answers --help):\n", 1)[1]
                        .split("\n\n", 1)[0].splitlines()]
            self.assertIn("line", commands)
            for c in commands:
                r = subprocess.run([sys.executable, "-m", f"shallowsweep.analysis.{c}", "--help"], cwd=work, env=env,
                                   capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, f"{c}: {r.stderr}")
                self.assertTrue(r.stdout.startswith("usage: "), r.stdout)
            r = subprocess.run([sys.executable, "-m", "shallowsweep.analysis.line", "s.h5", "--x", "n", "--y",
                                "final_loss", "--json"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    sys.exit(unittest.main(verbosity=2))
