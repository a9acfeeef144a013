"""The C core against the independent numpy model, cell by cell (meson suite `reference`).

Each configuration is trained by the C core (export_cell, which prints its data, initial
weights, batch randomness and result as JSON) and replayed by reference_model.py. Every
recorded number must agree to RTOL relative: exact zeros and NaNs as such.

Run:  meson test -C <build> --suite reference
  or  SSW_BUILD_DIR=<build> /usr/bin/python3 -m pytest tests/reference -q
"""

import json
import math
import os
import subprocess

import numpy as np
import pytest

import reference_model as ref

RTOL = 1e-10       # trajectories and scalars (DESIGN.md §7)
RTOL_NTK = 1e-9    # NTK extreme eigenvalues (LAPACK dsyevd vs numpy eigvalsh)
RTOL_EDGE = 1e-8   # edge ratios: the C power iteration vs numpy eigvalsh
MAX_REPORTED = 6   # mismatches printed per failure


def _exporter():
    path = os.environ.get("SSW_EXPORT_CELL")
    if not path:
        build = os.environ.get("SSW_BUILD_DIR", "")
        path = os.path.join(build, "tests", "reference", "export_cell")
    if not os.access(path, os.X_OK):
        # Exit 77: meson's "skipped". Under meson the executable is a dependency, so this
        # only happens when pytest is run by hand without SSW_BUILD_DIR.
        pytest.exit(f"export_cell not found at {path!r}: set SSW_BUILD_DIR to a build "
                    "directory (ninja -C <build> first) or SSW_EXPORT_CELL", returncode=77)
    return path


EXPORT_CELL = _exporter()
_cache = {}


def export(keys, simd=None):
    """Run export_cell key=value ... and parse its JSON (cached per configuration); simd: the
    instruction set forced by SSW_SIMD, else the environment's."""
    args = tuple(f"{k}={v}" for k, v in sorted(keys.items()))
    env = dict(os.environ, SSW_SIMD=simd) if simd else None
    if (args, simd) not in _cache:
        proc = subprocess.run([EXPORT_CELL, *args], capture_output=True, text=True, timeout=60, env=env)
        assert proc.returncode == 0, (f"export_cell {' '.join(args)} exited {proc.returncode}:\n"
                                      f"{proc.stderr}")
        _cache[(args, simd)] = json.loads(proc.stdout)
    return _cache[(args, simd)]


def cpu_runs(simd):
    """Whether this CPU runs the instruction set (simd.c's test, from /proc/cpuinfo's flags)."""
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":")[1].split() for line in f if line.startswith("flags")), [])
    need = {"baseline": [], "avx2": ["avx2", "fma"], "avx512": ["avx512f", "fma"]}[simd]
    return all(flag in flags for flag in need)


# ---- the configurations ---------------------------------------------------------------
# (id, keys, expected status). Small on purpose: n, width, dim <= 32, max_iters <= 500, but for
# the large cells at the end, which cross the kernels' chunks and blocks at odd sizes.

SMALL = dict(width=12, dim=4, n=8, max_iters=200, record_points=25)


def cfg(id_, status, **keys):
    return pytest.param({**SMALL, **{k: str(v).lower() if isinstance(v, bool) else str(v)
                                     for k, v in keys.items()}}, status, id=id_)


CONFIGS = [
    # every activation, full-batch GD, various groups and inits
    cfg("relu-every-step", 2, activation="relu", train="[inner, outer]", lr=0.2, tol=0,
        seed=3, record_points=201, record_spacing="linear", outer_init="sign"),
    cfg("leaky-bias-all", 2, activation="leaky_relu", leaky_slope=0.1, bias=True,
        bias_init_std=0.5, lr=0.2, tol=0),
    cfg("quadratic-inner", 2, activation="quadratic", train="[inner]", lr=0.05, tol=0),
    cfg("tanh-outer-tol", 1, activation="tanh", train="[outer]", width=32, dim=16, n=6,
        lr=5.0, max_iters=500, record_points=40, tol=1e-6),
    cfg("softplus-bias-outer", 2, activation="softplus", bias=True, bias_init_std=1.0,
        train="[bias, outer]", lr=0.3, tol=0),
    cfg("sigmoid-inner-bias", 2, activation="sigmoid", bias=True, bias_init_std=1.0,
        train="[inner, bias]", lr=1.0, tol=0, init_scale=3.0,
        init_scale_applies="[inner, bias, outer]"),
    cfg("erf-symmetric", 2, activation="erf", symmetric_init=True, lr=0.3, tol=0,
        input="sphere"),
    cfg("gelu-initscale", 2, activation="gelu", init_scale=0.5, lr=0.3, tol=0,
        target="random_sign"),
    cfg("linear-tolrel", 1, activation="linear", dim=8, n=4, lr=0.3, tol=0, tol_rel=0.01,
        input="uniform"),
    cfg("ramp-bias", 2, activation="ramp", ramp_width=2.0, bias=True, bias_init_std=0.3,
        lr=0.3, tol=0),
    cfg("smooth-step-bias", 2, activation="smooth_step", ramp_width=1.5, bias=True,
        bias_init_std=0.5, lr=0.3, tol=0, record_spacing="linear"),
    # groups and bias on/off
    cfg("relu-nobias-trainall", 2, activation="relu", bias=False, train="[inner, bias, outer]",
        lr=0.2, tol=0),
    cfg("tanh-inner-fixedbias", 2, activation="tanh", bias=True, bias_init_std=1.0,
        train="[inner]", lr=0.5, tol=0),
    cfg("relu-outer-bias-random-features", 2, activation="relu", bias=True,
        bias_init_std=1.0, train="[outer]", lr=0.3, tol=0),
    cfg("tanh-inner-outer-rate-ratio", 2, activation="tanh", rate_ratio=0.1, lr=0.3, tol=0,
        label_noise=0.1),
    cfg("tanh-zero-outer", 2, activation="tanh", outer_init="zero", lr=0.3, tol=0),
    cfg("softplus-sharpness", 2, activation="softplus", lr=0.5, tol=0, record_sharpness=True),
    cfg("tanh-zero-inner", 2, activation="tanh", inner_init_std=0, bias=True,
        bias_init_std=0.5, lr=0.3, tol=0),
    # the position model of the two-timescale experiments: d = 1, f = sum a_j sigma(x - u_j)
    cfg("smooth-step-positions", 2, activation="smooth_step", ramp_width=0.2, width=8,
        dim=1, n=16, input="uniform", target="piecewise_constant", inner_init="ones",
        bias=True, bias_init="uniform_positions", outer_init="sign", outer_init_std=0.5,
        train="[bias, outer]", lr=0.2, max_iters=300, record_points=30, tol=0),
    # (at lr = 0.5 this cell is chaotic: a 1-ulp change of one a_j moves the reference's own
    # loss by 400% after 300 steps, so no two implementations can agree to 1e-10 there)
    # generalization
    cfg("relu-teacher-test", 2, activation="relu", target="teacher", test_n=16, lr=0.3,
        tol=0),
    # minibatch SGD (n not a multiple of B: the last batch of an epoch is short)
    cfg("relu-minibatch", 2, activation="relu", n=14, batch_size=4, lr=0.2, tol=0,
        test_n=8),
    cfg("tanh-minibatch-tol", 1, activation="tanh", train="[outer]", width=32, dim=16, n=6,
        batch_size=2, lr=5.0, max_iters=500, record_points=60, record_spacing="linear",
        tol=1.2e-5),
    # (the full loss first drops below tol at step 105, between record points 102 and 110:
    # SGD may stop only at 110)
    # online SGD
    cfg("relu-online", 2, activation="relu", online=True, batch_size=4, eval_n=16,
        target="teacher", lr=0.2, tol=0),
    cfg("gelu-online-test", 2, activation="gelu", online=True, batch_size=3, eval_n=12,
        target="teacher", test_n=10, lr=0.2, tol=0),
    # divergence
    # (L0 ~ 1: relu stops at step 6 with L ~ 1e18; the minibatch runs blow up between
    # record points and are caught at step 5 with L = inf and L = NaN)
    cfg("relu-diverged", 3, activation="relu", lr=9.0, tol=0),
    # (a quadratic problem in a, just past stability: L dips to 0.23 L0, then grows slowly
    # and crosses diverge_factor * L0 at step 101)
    cfg("tanh-outer-diverge-factor", 3, activation="tanh", train="[outer]", width=32,
        dim=16, n=6, lr=18.0, record_points=30, tol=1e-6, diverge_factor=100),
    cfg("quadratic-minibatch-diverged-inf", 3, activation="quadratic", n=12, batch_size=3,
        lr=0.5, tol=0, record_spacing="linear", record_points=41),
    cfg("quadratic-minibatch-diverged-nan", 3, activation="quadratic", n=12, batch_size=3,
        lr=1.0, tol=0, record_spacing="linear", record_points=41),
    # large and odd sizes: the fused kernel (d <= 16: blocks of 8 neurons, partial blocks, d
    # padded to 2, 4, 8, 16) and the BLAS path (d > 16: neuron blocks of 2^18 / n), on every
    # SLEEF-evaluated activation, 12 steps each
    cfg("fused-tanh-n300", 2, activation="tanh", width=1024, n=300, dim=5, bias=True,
        bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
    cfg("fused-gelu-n601-odd", 2, activation="gelu", width=1023, n=601, dim=7, max_iters=12,
        record_points=4, lr=0.5, tol=0),
    cfg("fused-softplus-n600", 2, activation="softplus", width=1024, n=600, dim=8, bias=True,
        bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
    cfg("fused-erf-sigmoid-n301", 2, activation="erf", width=257, n=301, dim=3, max_iters=12,
        record_points=4, lr=0.5, tol=0),
    cfg("fused-sigmoid-n333", 2, activation="sigmoid", width=129, n=333, dim=2, bias=True,
        bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
    cfg("fused-smooth-step-positions-n301", 2, activation="smooth_step", ramp_width=0.2, width=65,
        n=301, dim=1, input="uniform", inner_init="ones", bias=True, bias_init="uniform_positions",
        train="[bias, outer]", max_iters=12, record_points=4, lr=0.5, tol=0),
    # the piecewise activations and quadratic through the register-blocked kernel (sigma and
    # sigma' inline, partial blocks of 8 neurons and of each vector width)
    cfg("fused-relu-n600", 2, activation="relu", width=1024, n=600, dim=4, max_iters=12,
        record_points=4, lr=0.5, tol=0),
    cfg("fused-leaky-n301-odd", 2, activation="leaky_relu", leaky_slope=0.1, width=1023, n=301,
        dim=6, bias=True, bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
    cfg("fused-quadratic-n300", 2, activation="quadratic", width=1024, n=300, dim=2,
        max_iters=12, record_points=4, lr=0.01, tol=0),
    cfg("fused-ramp-n333-odd", 2, activation="ramp", ramp_width=0.5, width=517, n=333, dim=8,
        bias=True, bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
    cfg("fused-linear-n65-odd", 2, activation="linear", width=37, n=65, dim=3, max_iters=12,
        record_points=4, lr=0.1, tol=0),
    cfg("blas-softplus-n300", 2, activation="softplus", width=1024, n=300, dim=20, max_iters=12,
        record_points=4, lr=0.5, tol=0),
    cfg("blas-gelu-n600-odd", 2, activation="gelu", width=1023, n=601, dim=17, bias=True,
        bias_init_std=0.5, max_iters=12, record_points=4, lr=0.5, tol=0),
]


# ---- comparison ------------------------------------------------------------------------

def mismatches(name, c, r, rtol, steps=None):
    """[(label, c, r, abs, rel)] where C value c and reference r disagree: NaN only with
    NaN, zero only with zero, otherwise |c - r| <= rtol * max(|c|, |r|). Labels name the
    recorded step when steps (k) is given."""
    c = np.atleast_1d(np.asarray(c, dtype=float))
    r = np.atleast_1d(np.asarray(r, dtype=float))
    assert c.shape == r.shape, f"{name}: C has shape {c.shape}, reference {r.shape}"
    out = []
    for i, (cv, rv) in enumerate(zip(c, r)):
        if (math.isnan(cv) and math.isnan(rv)) or cv == rv:
            continue
        diff = abs(cv - rv)
        scale = max(abs(cv), abs(rv))
        rel = diff / scale if scale > 0 else math.inf
        if math.isnan(cv) or math.isnan(rv) or not rel <= rtol:
            label = name if c.size == 1 else (f"{name}[step {steps[i]}]" if steps else f"{name}[{i}]")
            out.append((label, cv, rv, diff, rel))
    return out


def report(bad, context):
    """A failure message: the largest abs and rel difference and the first few mismatches."""
    finite = [m for m in bad if math.isfinite(m[3])]
    lines = [f"{context}: {len(bad)} mismatches"]
    if finite:
        worst_abs = max(finite, key=lambda m: m[3])
        worst_rel = max(finite, key=lambda m: m[4])
        lines.append(f"  largest abs diff {worst_abs[3]:.3e} at {worst_abs[0]}; "
                     f"largest rel diff {worst_rel[4]:.3e} at {worst_rel[0]}")
    for label, cv, rv, diff, rel in bad[:MAX_REPORTED]:
        lines.append(f"  {label}: C {cv!r} reference {rv!r} (abs {diff:.3e}, rel {rel:.3e})")
    return "\n".join(lines)


# ---- the reference model checks itself (independent of the C core) --------------------

@pytest.mark.parametrize("act", ref.ACTIVATIONS)
def test_activation_derivative(act):
    """σ' against central differences of σ, away from the kinks."""
    z = np.linspace(-3.1, 3.1, 63)
    z = z[np.abs(z) > 1e-3]                       # relu, leaky_relu kink at 0
    for eta in (0.7, 2.0):                        # ramp, smooth_step kinks at |z| = η/2
        z = z[np.abs(np.abs(z) - eta / 2) > 1e-3]
        h, g = ref.activation(act, z, leaky_slope=0.1, ramp_width=eta)
        step = 1e-6
        numeric = (ref.activation(act, z + step, 0.1, eta)[0]
                   - ref.activation(act, z - step, 0.1, eta)[0]) / (2 * step)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8, err_msg=act)


def test_activation_values():
    """Known values from DESIGN.md §2's definitions."""
    a = ref.activation
    assert a("gelu", np.array([1.0]))[0][0] == pytest.approx(0.8413447460685429, rel=1e-15)
    assert a("ramp", np.array([-1.0, 0.0, 0.5, 2.0]), ramp_width=2.0)[0].tolist() == \
        [0.0, 0.5, 0.75, 1.0]
    h = a("smooth_step", np.array([-1.0, -0.25, 0.0, 0.25, 1.0]), ramp_width=1.0)[0]
    np.testing.assert_allclose(h, [0.0, 0.0625, 0.5, 0.9375, 1.0], rtol=1e-15)
    assert a("softplus", np.array([0.0]))[0][0] == pytest.approx(math.log(2.0), rel=1e-15)


@pytest.mark.parametrize("act", ref.ACTIVATIONS)
def test_gradient_finite_differences(act):
    """The reference's loss gradient against central differences of its loss."""
    rng = np.random.default_rng(7)
    n, d, m = 5, 3, 4
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    W, b, a = rng.normal(size=(m, d)), rng.normal(size=m), rng.normal(size=m)
    M = ref.Model(act=act, s=0.5, bias=True, leaky_slope=0.1, ramp_width=3.0)
    _, gW, gb, ga = M.loss_grad(W, b, a, X, y)
    step = 1e-6
    for arr, grad in ((W, gW), (b, gb), (a, ga)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + step
            plus = M.loss(W, b, a, X, y)
            arr[idx] = old - step
            minus = M.loss(W, b, a, X, y)
            arr[idx] = old
            numeric[idx] = (plus - minus) / (2 * step)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8, err_msg=act)
    # The Jacobian's rows are ∂f(x_i)/∂θ: Jᵀ r s/n ... ∇L = Jᵀ (f - y) / n.
    f = M.forward(W, b, a, X)[0]
    J = M.jacobian(W, b, a, X, ref.INNER | ref.BIAS | ref.OUTER)
    np.testing.assert_allclose(J.T @ (f - y) / n, np.concatenate([gW.ravel(), gb, ga]),
                               rtol=1e-12, atol=1e-15)


def test_coverage_of_configurations():
    """The configuration list covers what the brief asks for."""
    keys = [p.values[0] for p in CONFIGS]
    statuses = {p.values[1] for p in CONFIGS}
    assert len(CONFIGS) >= 20
    assert {k["activation"] for k in keys} == set(ref.ACTIVATIONS)
    fused = [p.values[0] for p in FUSED_CONFIGS]  # every activation through the fused kernel
    assert {k["activation"] for k in fused} == set(ref.ACTIVATIONS)
    assert all(int(k["dim"]) <= 16 for k in fused)
    assert any(int(k["dim"]) > 16 for k in keys)  # the BLAS path
    assert statuses == {1, 2, 3}
    assert any(k.get("tol_rel", "0") != "0" for k in keys)
    assert any(k.get("online") == "true" for k in keys)
    assert any(k.get("batch_size", "0") != "0" and k.get("online") != "true" for k in keys)
    assert any(k.get("test_n", "0") != "0" for k in keys)
    assert any(k.get("symmetric_init") == "true" for k in keys)
    assert any(k.get("init_scale", "1") != "1" for k in keys)
    trains = {k.get("train", "[inner, bias, outer]") for k in keys}
    assert {"[inner]", "[outer]", "[bias, outer]", "[inner, bias]"} <= trains


# ---- the C core against the reference ------------------------------------------------

@pytest.mark.parametrize("keys,status", CONFIGS)
def test_trajectory(keys, status):
    """Every series at every record point, and the cell's scalars."""
    check_trajectory(keys, status, None)


SIMD_SETS = ["baseline", "avx2", "avx512"]
FUSED_CONFIGS = [c for c in CONFIGS if c.id.startswith("fused-")]


@pytest.mark.parametrize("simd", SIMD_SETS)
@pytest.mark.parametrize("keys,status", FUSED_CONFIGS)
def test_trajectory_fused_every_set(keys, status, simd):
    """The fused kernel's cells again with each instruction set forced (SSW_SIMD)."""
    if not cpu_runs(simd):
        pytest.skip(f"this CPU does not run {simd}")
    check_trajectory(keys, status, simd)


def check_trajectory(keys, status, simd):
    e = export(keys, simd)
    c, r = e["result"], ref.train(e)
    bad = []
    for name in ref.SERIES:
        bad += mismatches(name, c[name], r[name], RTOL_EDGE if name == "edge_ratio" else RTOL, e["steps"])
    for name in ("init_loss", "final_loss", "max_rise", "loss_ratio"):
        bad += mismatches(name, c[name], r[name], RTOL)
    for name in ("edge_ratio_init", "edge_ratio_final"):  # power iteration vs a full eigensolver
        bad += mismatches(name, c[name], r[name], RTOL_EDGE)
    for name in ref.SERIES:
        bad += mismatches("final_" + name, c["final_series"][name], r["final_series"][name],
                          RTOL_EDGE if name == "edge_ratio" else RTOL)
    for name in ("status", "iters", "iters_to_tol", "loss_rises", "diagnosis"):
        if c[name] != r[name]:
            bad.append((name, c[name], r[name], math.inf, math.inf))
    assert not bad, report(bad, "C core vs reference, " + " ".join(
        f"{k}={v}" for k, v in sorted(keys.items())))
    assert c["status"] == status, f"expected status {status}, got {c['status']} ({c['message']})"


@pytest.mark.parametrize("keys,status", CONFIGS)
def test_steps_and_groups(keys, status):
    """Record steps: distinct, increasing, 0 first, max_iters last; trained groups."""
    e = export(keys)
    steps = e["steps"]
    assert len(steps) == int(e["params"]["record_points"])
    assert steps[0] == 0 and steps[-1] == int(e["params"]["max_iters"])
    assert all(s < t for s, t in zip(steps, steps[1:])), steps
    assert e["groups"] == ref.Config.from_params(e["params"]).groups


@pytest.mark.parametrize("keys,status", CONFIGS)
def test_recorded_until_stop(keys, status):
    """The loss is finite at every record point before the stop and NaN after it; a
    diverged step itself is never recorded."""
    e = export(keys)
    c, steps = e["result"], e["steps"]
    iters, st = c["iters"], c["status"]
    last = iters if st in (1, 2) else iters - 1
    for name in ("loss", "grad_norm", "pattern_change"):
        for s, v in zip(steps, c[name]):
            assert math.isfinite(v) == (s <= last), (name, s, v, st, iters)


# ---- NTK ------------------------------------------------------------------------------

NTK_CONFIGS = [
    cfg("ntk-relu-all", 2, activation="relu", width=16, n=10, max_iters=1, record_points=2,
        bias=True, bias_init_std=0.5, ntk_eigs=True),
    cfg("ntk-tanh-outer", 2, activation="tanh", width=16, n=10, max_iters=1,
        record_points=2, train="[outer]", ntk_eigs=True),
    cfg("ntk-gelu-inner-bias", 2, activation="gelu", width=8, n=12, max_iters=1,
        record_points=2, bias=True, bias_init_std=1.0, train="[inner, bias]", ntk_eigs=True),
    cfg("ntk-smooth-step-inner", 2, activation="smooth_step", ramp_width=3.0, width=8,
        n=12, max_iters=1, record_points=2, train="[inner]", ntk_eigs=True),
]


@pytest.mark.parametrize("keys,status", NTK_CONFIGS)
def test_ntk_extreme_eigenvalues(keys, status):
    """ntk_min, ntk_max against eigvalsh of K = J Jᵀ / n, J built from our derivatives."""
    e = export(keys)
    cfg_ = ref.Config.from_params(e["params"])
    X = np.array(e["X"], dtype=float)
    W0, b0, a0 = (np.array(e[k], dtype=float) for k in ("W0", "b0", "a0"))
    lo, hi = ref.ntk_extreme_eigs(cfg_.model, W0, b0, a0, X, cfg_.groups)
    assert lo > 1e-6 * hi, "choose a well-conditioned configuration: lambda_min ~ 0"
    bad = mismatches("ntk_min", e["result"]["ntk_min"], lo, RTOL_NTK)
    bad += mismatches("ntk_max", e["result"]["ntk_max"], hi, RTOL_NTK)
    assert not bad, report(bad, "NTK")


def test_ntk_off_is_nan():
    c = export(dict(SMALL, activation="relu", max_iters="1", record_points="2"))["result"]
    assert math.isnan(c["ntk_min"]) and math.isnan(c["ntk_max"])


# ---- initialization and resolved defaults -------------------------------------------

RTOL_INIT = 1e-13  # libm vs numpy log/cos/sin in Box-Muller: a few ulp


@pytest.mark.parametrize("ctr,key,out", [
    ((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
    ((0xffffffff,) * 4, (0xffffffff,) * 2, (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
    ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
     (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
])
def test_init_philox_known_answers(ctr, key, out):
    """Random123's Philox4x32-10 known answers (the last checked against its philox.h)."""
    assert ref.philox4x32_10(ctr, key) == out


@pytest.mark.parametrize("keys,status", CONFIGS + NTK_CONFIGS)
def test_init_weights(keys, status):
    """The exported W0, b0, a0 are the draws include/shallowsweep/init.h specifies."""
    e = export(keys)
    W, b, a = ref.init_weights(e["params"])
    bad = mismatches("W0", np.ravel(e["W0"]), W.ravel(), RTOL_INIT)
    bad += mismatches("a0", e["a0"], a, RTOL_INIT)
    if e["params"]["bias"] == "true":  # without bias b is never used
        bad += mismatches("b0", e["b0"], b, RTOL_INIT)
    assert not bad, report(bad, "initial weights")


def test_init_resolved_defaults():
    """Derived defaults: output_scale = 1/sqrt(width), inner_init_std = 1/sqrt(dim)."""
    e = export(dict(SMALL, max_iters="1", record_points="2"))
    p = e["params"]
    assert float(p["output_scale"]) == pytest.approx(1 / math.sqrt(int(p["width"])), rel=1e-15)
    assert float(p["inner_init_std"]) == pytest.approx(1 / math.sqrt(int(p["dim"])), rel=1e-15)


# ---- divergence ---------------------------------------------------------------------

def test_diverged_huge_lr():
    """A huge step size ends with status 3 (never 1): finite records before the stop, NaN
    from the stop on, and the same as the reference."""
    keys = dict(SMALL, activation="tanh", lr="1e6", tol="1e-3", record_spacing="linear",
                max_iters="50", record_points="51")
    e = export(keys)
    c, r = e["result"], ref.train(e)
    assert c["status"] == 3, f"status {c['status']}, expected 3 (diverged)"
    stop = c["iters"]
    assert 0 < stop < 50
    for name in ("loss", "grad_norm", "inner_dist", "outer_dist", "pattern_change"):
        v = np.asarray(c[name], dtype=float)
        assert np.all(np.isfinite(v[:stop])), (name, v[:stop])
        assert np.all(np.isnan(v[stop:])), (name, v[stop:])
    assert not (math.isfinite(c["final_loss"]) and
                c["final_loss"] <= 1e6 * c["init_loss"]), c["final_loss"]
    bad = []
    for name in ref.SERIES + ("init_loss", "final_loss"):
        bad += mismatches(name, c[name], r[name], RTOL)
    assert not bad and (c["status"], c["iters"]) == (r["status"], r["iters"]), \
        report(bad, f"diverged run: C status {c['status']} iters {c['iters']}, "
                    f"reference {r['status']} {r['iters']}")
