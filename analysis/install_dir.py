"""Where `meson install` puts the Python package for an install prefix (analysis/meson.build):
the directory of this Python's sys.path under PREFIX, else PREFIX/lib/python3.X/site-packages.

    python3 analysis/install_dir.py PREFIX
"""
import argparse
import sys
import sysconfig


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, as every module of the package
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv=None) -> int:
    p = _Parser(prog="install_dir.py", description=__doc__.split("\n\n")[0])
    p.add_argument("prefix", help="the install prefix (meson's get_option('prefix'))")
    prefix = p.parse_args(argv).prefix.rstrip("/")
    version = sysconfig.get_python_version()
    found = [d for d in sys.path if d.startswith(prefix + "/") and d.endswith("-packages") and f"python{version}" in d]
    print(found[0] if found else f"{prefix}/lib/python{version}/site-packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
