"""shallowsweep's Python side, installed by `meson install`: the analysis package is
shallowsweep.analysis (from a checkout of the repository it is `analysis`); the commands:
python3 -m shallowsweep.analysis.

In the checkout this file is analysis/package_init.py, installed as shallowsweep/__init__.py.
"""

if __name__ == "__main__":  # python3 -m analysis.package_init: a file to install, not a command
    import sys

    from ._cli import library_main
    sys.exit(library_main("package_init", __doc__))
