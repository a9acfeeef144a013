"""Width/sample conditions from the seed papers, as formulas in the sweep's axis names.

Every condition has the form  width >= C * f(n, dim, ...)  and is stored as min_width(**vars),
numpy-vectorised, with the variables named as the sweep keys (width m, n samples, dim d).
The phase diagram draws the curve width = C f(...) in whatever two axes it plots (see
boundary_margin), taking any other variable from the slice or the sweep's base values.

Honesty about constants. A theorem's "m = Omega(n^2)" hides a constant and usually
data-dependent factors (the NTK's smallest eigenvalue lambda_0, the failure probability
delta, logs). Where the paper gives no usable constant we set C = 1 and mark it
`constant_kind="illustrative"`: then only the *slope* of the line on log-log axes is the
paper's, and its height is not a prediction. `fit_constant` replaces C by the value that
best separates this sweep's converged cells from the rest; such lines are labelled
"fitted". Where we are unsure of a paper's exact exponent the `note` says so.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from .load import AnalysisError


@dataclass(frozen=True)
class Condition:
    name: str                 # the --theory NAME
    label: str                # legend text
    formula: str              # in axis names, with C
    constant: float           # C
    constant_kind: str        # "exact" | "illustrative" | "fitted"
    reference: str
    trained: str              # which layers the result is about
    variables: tuple          # the names min_width reads besides C
    f: Callable = field(repr=False, compare=False)  # f(**variables) -> ndarray, width >= C f
    note: str = ""

    def min_width(self, **values) -> np.ndarray:
        """C * f(...) for arrays of the variables (missing ones raise AnalysisError)."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise AnalysisError(f"theory '{self.name}' needs {', '.join(missing)}: "
                                f"make it an axis or set it in the sweep")
        args = {v: np.asarray(values[v], dtype=float) for v in self.variables}
        return self.constant * np.asarray(self.f(**args), dtype=float)

    def holds(self, width, **values) -> np.ndarray:
        return np.asarray(width, dtype=float) >= self.min_width(**values)

    def with_constant(self, c: float, kind: str) -> "Condition":
        return replace(self, constant=float(c), constant_kind=kind)

    def with_label(self, label: str) -> "Condition":
        return replace(self, label=label)


def _pieces_gap(target_breakpoints):
    """Smallest distance between consecutive breakpoints of the target on [0, 1]."""
    b = np.sort(np.concatenate([[0.0], np.atleast_1d(np.asarray(target_breakpoints, float)), [1.0]]))
    return float(np.min(np.diff(b)))


CONDITIONS = {c.name: c for c in [
    Condition(
        name="counting",
        label="m·d = n (parameters = samples)",
        formula="width >= C * n / dim",
        constant=1.0, constant_kind="exact",
        reference="E. B. Baum, On the capabilities of multilayer perceptrons, "
                  "J. Complexity 4 (1988) 193-215",
        trained="inner (any)",
        variables=("n", "dim"),
        f=lambda n, dim: n / dim,
        note="A capacity count, not a convergence theorem: with m*d inner weights, fewer than n "
             "parameters cannot interpolate n generic labels; Baum shows ceil(n/d) threshold "
             "units suffice for n points in general position in R^d. C = 1 is exact for the "
             "count (ignoring the m outer weights and biases, a relative error of 1/d).",
    ),
    Condition(
        name="counting_outer",
        label="m = n (outer layer only)",
        formula="width >= C * n",
        constant=1.0, constant_kind="exact",
        reference="linear algebra: an n x m random-feature system needs m >= n columns to "
                  "interpolate generic labels",
        trained="outer only",
        variables=("n",),
        f=lambda n: n,
        note="For train: [outer] the problem is linear least squares in a; it interpolates "
             "generic labels iff the n x m feature matrix has rank n, which needs m >= n.",
    ),
    Condition(
        name="oymak2020",
        label="Oymak–Soltanolkotabi: m·d ≳ n²",
        formula="width >= C * n^2 / dim",
        constant=1.0, constant_kind="illustrative",
        reference="S. Oymak, M. Soltanolkotabi, Toward moderate overparameterization: global "
                  "convergence guarantees for training shallow neural networks, IEEE J. Sel. "
                  "Areas Inf. Theory 1 (2020) 84-105, arXiv:1902.04674",
        trained="inner only (outer fixed)",
        variables=("n", "dim"),
        f=lambda n, dim: n ** 2 / dim,
        note="The abstract's statement for smooth activations: GD converges geometrically 'as "
             "soon as the square-root of the number of network parameters exceeds the size of "
             "the training data', i.e. sqrt(m d) >~ n. The theorem's constant depends on the "
             "activation and on the data's covariance spectrum (not reproduced). Their ReLU "
             "result has a different, less favourable dependence whose exact exponents we "
             "have not verified; this line is the smooth-activation form.",
    ),
    Condition(
        name="song2019",
        label="Song–Yang: m ≳ n²",
        formula="width >= C * n^2",
        constant=1.0, constant_kind="illustrative",
        reference="Z. Song, X. Yang, Quadratic suffices for over-parametrization via matrix "
                  "Chernoff bound, arXiv:1906.03593 (2019)",
        trained="inner only (outer fixed +-1)",
        variables=("n",),
        f=lambda n: n ** 2,
        note="Quadratic in n as the title says; the theorem also carries powers of 1/lambda_0 "
             "(the NTK Gram matrix's smallest eigenvalue), of the failure probability and log "
             "factors, all folded into C here. We have not re-derived those powers.",
    ),
    Condition(
        name="du2019",
        label="Du et al.: m ≳ n⁶",
        formula="width >= C * n^6   (C stands for 1/(lambda_0^4 delta^3))",
        constant=1.0, constant_kind="illustrative",
        reference="S. S. Du, X. Zhai, B. Poczos, A. Singh, Gradient descent provably optimizes "
                  "over-parameterized neural networks, ICLR 2019, arXiv:1810.02054",
        trained="inner only (outer fixed +-1), ReLU",
        variables=("n",),
        f=lambda n: n ** 6,
        note="Theorem: m = Omega(n^6 / (lambda_0^4 delta^3)) with lambda_0 the smallest "
             "eigenvalue of the infinite-width Gram matrix and delta the failure probability. "
             "Both are folded into C = 1; with lambda_0 < 1 the true line is higher still. On "
             "any practical grid it lies far above the measured boundary, which is the point.",
    ),
    Condition(
        name="razborov2022",
        label="Razborov: m·d ≳ n² (both layers)",
        formula="width >= C * n^2 / dim",
        constant=1.0, constant_kind="illustrative",
        reference="A. Razborov, Improved convergence guarantees for shallow neural networks, "
                  "arXiv:2212.02323 (2022)",
        trained="both layers, at different rates (rate_ratio)",
        variables=("n", "dim"),
        f=lambda n, dim: n ** 2 / dim,
        note="UNVERIFIED FORM. The paper trains both layers at different rates and states that "
             "it improves on Oymak-Soltanolkotabi (first layer only) and Nguyen 2021; its "
             "width condition depends on the rate ratio and on log factors that we have not "
             "transcribed. We draw the OS20 shape m d ~ n^2 as the reference it improves on; "
             "do not read the exponent or height of this line as Razborov's theorem.",
    ),
    Condition(
        name="marion2023",
        label="Marion–Berthier: m ≳ 1/gap (two timescales, d = 1)",
        formula="width >= C / gap, gap = min distance between target breakpoints (with 0, 1)",
        constant=1.0, constant_kind="illustrative",
        reference="P. Marion, R. Berthier, Leveraging the two-timescale regime to demonstrate "
                  "convergence of neural networks, NeurIPS 2023, arXiv:2304.09576",
        trained="both layers, inner much slower than outer (rate_ratio -> 0)",
        variables=("target_breakpoints",),
        f=lambda target_breakpoints: 1.0 / _pieces_gap(target_breakpoints),
        note="Not an n-dependent bound: for d = 1 position models and a piecewise-constant "
             "target the result needs the rate ratio small enough and enough neurons to put "
             "some near every breakpoint; we encode the latter as m >= C / (smallest gap "
             "between breakpoints), an illustrative reading, and ignore the rate condition. "
             "On a width x n diagram it is a vertical line.",
    ),
]}


def get(name: str) -> Condition:
    try:
        return CONDITIONS[name]
    except KeyError:
        raise AnalysisError(f"unknown theory '{name}' (choose from: {', '.join(CONDITIONS)})") from None


def boundary_margin(cond: Condition, values: dict) -> np.ndarray:
    """log(width / min_width) for broadcastable arrays of the variables: 0 on the line.

    `values` must hold 'width' and every name in cond.variables; the phase diagram fills it
    from the plotted meshes, the slice's coordinates and the sweep's base values.
    """
    if "width" not in values:
        raise AnalysisError(f"theory '{cond.name}' needs width: make it an axis or set it in the sweep")
    w = np.asarray(values["width"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(w) - np.log(cond.min_width(**{k: values[k] for k in cond.variables if k in values}))


def fit_constant(cond: Condition, width, converged_fraction, **values) -> float:
    """The C that best separates cells with converged fraction >= 0.5 from the others.

    Chooses C among the cells' own ratios width / f(...) (geometric midpoints between them)
    so that `width >= C f` agrees with `fraction >= 0.5` on the most cells; NaN cells
    (pending) are ignored. Ties go to the smallest C.
    """
    unit = cond.with_constant(1.0, cond.constant_kind)
    ratio = np.asarray(width, float) / unit.min_width(**values)
    frac = np.asarray(converged_fraction, float)
    ratio, frac = np.broadcast_arrays(ratio, frac)
    ok = np.isfinite(frac) & np.isfinite(ratio) & (ratio > 0)
    r, good = ratio[ok], frac[ok] >= 0.5
    if r.size == 0:
        raise AnalysisError(f"theory '{cond.name}': no finished cells to fit its constant to")
    s = np.unique(r)
    candidates = np.concatenate([[s[0] / 2], np.sqrt(s[1:] * s[:-1]), [s[-1] * 2]])
    agree = [np.sum((r >= c) == good) for c in candidates]
    return float(candidates[int(np.argmax(agree))])


def describe(cond: Condition) -> str:
    """Everything known about one condition, as text."""
    return "\n".join([f"{cond.name}: {cond.label}", f"  formula:   {cond.formula}",
                      f"  constant:  C = {cond.constant:g} ({cond.constant_kind})",
                      f"  trained:   {cond.trained}", f"  reference: {cond.reference}",
                      f"  note:      {cond.note}"])


def main(argv=None) -> int:
    from ._cli import Parser  # not at the top: _cli imports load, which the library need not

    p = Parser(prog=f"{__package__}.theory",
               description="The width conditions from the literature that `phase --theory NAME[:fit]` draws: "
                           "without NAME a table of all, with NAME its formula, reference and caveats.")
    p.add_argument("name", nargs="*", metavar="NAME", help=f"one of {', '.join(CONDITIONS)}")
    a = p.parse_args(argv)
    if a.name:
        sys.stdout.write("\n\n".join(describe(get(n)) for n in a.name) + "\n")
        return 0
    w = max(len(n) for n in CONDITIONS)
    print(f"{'NAME':<{w}}  {'condition':<28}  {'constant':<14}  legend")
    for c in CONDITIONS.values():
        print(f"{c.name:<{w}}  {c.formula:<28.28}  C {c.constant_kind:<12}  {c.label}")
    print(f"\nDetails: python3 -m {__package__}.theory NAME; on a phase diagram: --theory NAME or NAME:fit.")
    return 0


if __name__ == "__main__":
    from ._cli import run
    sys.exit(run(f"{__package__}.theory", main))
