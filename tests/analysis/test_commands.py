"""The package as a command suite: `python3 -m analysis` lists every command, every module
answers --help (exit 0, a usage) and refuses bad use with one line and exit 2, from any
directory with the checkout on PYTHONPATH; meson install ships every module."""
import os
import re
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR

PY = sys.executable
PACKAGE = SOURCE_DIR / "analysis"
# The package itself (python3 -m analysis, test_commands_are_listed); install_dir.py is run by
# meson as a script, by path, and answers --help there.
NOT_MODULES = {"__init__", "__main__"}
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in NOT_MODULES)
COMMANDS = ["phase", "line", "traj", "boundary", "slope", "summary", "theory"]


def run(args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(SOURCE_DIR))
    return subprocess.run([PY, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_commands_are_listed(tmp_path):
    r = run(["-m", "analysis"], tmp_path)
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^  (\w+)  ", r.stdout, re.M)
    assert listed == COMMANDS, r.stdout
    assert r.stderr == ""
    assert run(["-m", "analysis", "--help"], tmp_path).stdout == r.stdout


def test_every_command_is_a_module_with_main():
    for c in COMMANDS:
        assert c in MODULES, c
        assert "\ndef main(argv=None)" in (PACKAGE / f"{c}.py").read_text(), c


@pytest.mark.parametrize("module", MODULES)
def test_help_exits_0_with_usage(module, tmp_path):
    args = [str(PACKAGE / "install_dir.py")] if module == "install_dir" else ["-m", f"analysis.{module}"]
    r = run(args + ["--help"], tmp_path)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.startswith("usage: "), r.stdout
    assert len(r.stdout.splitlines()) >= 3 and r.stderr == "", r.stderr


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("bad", [[], ["--no-such-flag"]])
def test_bad_use_exits_2_with_one_line(module, bad, tmp_path):
    args = [str(PACKAGE / "install_dir.py")] if module == "install_dir" else ["-m", f"analysis.{module}"]
    if module == "theory" and not bad:
        bad = ["no_such_theory"]  # theory alone lists the conditions: that is good use
    r = run(args + bad, tmp_path)
    assert r.returncode == 2, (module, bad, r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and ": error: " in lines[0], r.stderr
    assert r.stdout == ""


def test_theory_lists_every_condition(tmp_path):
    from analysis import theory

    r = run(["-m", "analysis.theory"], tmp_path)
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()][: len(theory.CONDITIONS)]
    assert names == list(theory.CONDITIONS)
    r = run(["-m", "analysis.theory", "du2019"], tmp_path)
    assert r.returncode == 0 and "arXiv:1810.02054" in r.stdout


def test_dispatch_runs_the_command(files, tmp_path):
    r = run(["-m", "analysis", "summary", str(files["full"])], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == run(["-m", "analysis.summary", str(files["full"])], tmp_path).stdout
    r = run(["-m", "analysis", "plot", "x"], tmp_path)
    assert r.returncode == 2 and "unknown command 'plot'" in r.stderr


def test_imports_from_another_directory(tmp_path):
    """With the checkout on PYTHONPATH, not the working directory, as the README says."""
    code = "import analysis, analysis.line, analysis.traj, analysis.phase; print(analysis.__file__, analysis.__version__)"
    r = run(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    where, version = r.stdout.split()
    assert where == str(PACKAGE / "__init__.py")
    assert version == (SOURCE_DIR / "VERSION").read_text().strip()


def test_meson_installs_every_module():
    text = (PACKAGE / "meson.build").read_text()
    installed = set(re.findall(r"'(\w+)\.py'", text.split("install_data(", 1)[1].split("install_dir", 1)[0]))
    wanted = {p.name[:-3] for p in PACKAGE.glob("*.py")} - {"install_dir", "package_init"}
    assert installed == wanted, f"missing from install_data: {sorted(wanted - installed)}; " \
                                f"not in the package: {sorted(installed - wanted)}"
