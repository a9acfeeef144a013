"""shallowsweep's Python side, installed by `meson install`: the analysis package is
shallowsweep.analysis (from a checkout of the repository it is `analysis`)."""
