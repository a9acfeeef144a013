"""Where `meson install` puts the Python package for install prefix argv[1] (analysis/meson.build)."""
import sys
import sysconfig

prefix = sys.argv[1].rstrip("/")
version = sysconfig.get_python_version()
found = [d for d in sys.path if d.startswith(prefix + "/") and d.endswith("-packages") and f"python{version}" in d]
print(found[0] if found else f"{prefix}/lib/python{version}/site-packages")
