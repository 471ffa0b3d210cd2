"""The names of the ex-post densities and of the interpolation methods, as the command line and
the run configuration accept them (raekit.density and raekit.generation implement them)."""

from __future__ import annotations

DENSITY_NAMES = ("prior", "gaussian", "gmm", "two-stage", "kde", "bayes-gmm", "flow")
INTERPOLATIONS = ("slerp", "linear")
