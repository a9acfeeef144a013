#!/usr/bin/python3
"""One full-batch GD step for all eleven activations at three shapes: shallowsweep's training
loop (bench_core --activations), numpy with scipy.special, and PyTorch (by hand and with
autograd), all float64 on one thread, in one run beside the single-thread DGEMM rate. Prints a
table of microseconds per step and the ratios issue 12 sets as targets; never fails on time.

    /usr/bin/python3 tests/bench/bench_activations.py [BUILD_DIR] [--json FILE]

PyTorch is optional (Debian: apt-get install python3-torch); without it its columns are
skipped. The step, as a user would write it (DESIGN.md §2, all of W and a trained, no bias,
s = 1/sqrt(m)): Z = X W^T, H = sigma(Z), r = s H a - y, grad_a = (s/n) H^T r,
G = (s/n) (r a^T) * sigma'(Z), grad_W = G^T X.
"""
import json
import math
import os
import subprocess
import sys
import time

# one thread everywhere, set before numpy or torch load their BLAS
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import scipy.special as sp  # noqa: E402

MIN_SECONDS = 0.5  # per measurement: long enough to average over timer noise
LEAKY, ETA = 0.01, 0.05  # the defaults of leaky_slope and ramp_width
SQRT1_2, INV_SQRT_2PI, TWO_OVER_SQRT_PI = 1 / math.sqrt(2), 1 / math.sqrt(2 * math.pi), 2 / math.sqrt(math.pi)


def numpy_activation(name, z):
    """(sigma(z), sigma'(z)) with numpy and scipy.special, as a user would write them."""
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY * z), np.where(z > 0, 1.0, LEAKY)
    if name == "quadratic":
        return z * z, 2 * z
    if name == "tanh":
        h = np.tanh(z)
        return h, 1 - h * h
    if name == "softplus":
        return np.logaddexp(0, z), sp.expit(z)
    if name == "sigmoid":
        h = sp.expit(z)
        return h, h * (1 - h)
    if name == "erf":
        return sp.erf(z), TWO_OVER_SQRT_PI * np.exp(-z * z)
    if name == "gelu":
        cdf = sp.ndtr(z)
        return z * cdf, cdf + z * INV_SQRT_2PI * np.exp(-0.5 * z * z)
    if name == "linear":
        return z, np.ones_like(z)
    if name == "ramp":
        u = z / ETA
        return np.clip(u + 0.5, 0, 1), np.where(np.abs(u) < 0.5, 1 / ETA, 0.0)
    if name == "smooth_step":
        u = z / ETA
        h = np.clip(4 * (u + 0.5) ** 3, 0, 0.5) + np.clip(0.5 - 4 * (0.5 - u) ** 3, 0, 0.5)
        t = np.maximum(np.minimum(u + 0.5, 0.5 - u), 0)
        return h, 12 * t * t / ETA
    raise ValueError(name)


def problem(width, n, dim, lib):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, dim)) / math.sqrt(dim)
    y = rng.standard_normal(n)
    W = rng.standard_normal((width, dim)) / math.sqrt(dim)
    a = rng.choice([-1.0, 1.0], width)
    if lib is not None:
        X, y, W, a = (lib.from_numpy(v.copy()) for v in (X, y, W, a))
    return X, y, W, a, 1 / math.sqrt(width)


def numpy_step(name, width, n, dim, lr=1e-3):
    X, y, W, a, s = problem(width, n, dim, None)

    def step():
        nonlocal W, a
        Z = X @ W.T  # (n, m)
        H, D = numpy_activation(name, Z)
        r = s * (H @ a) - y  # (n)
        ga = (s / n) * (H.T @ r)
        G = (s / n) * np.outer(r, a) * D  # (n, m)
        gW = G.T @ X  # (m, d)
        W = W - lr * gW
        a = a - lr * ga
    return step


def torch_forward(torch, name, z):
    F = torch.nn.functional
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, LEAKY)
    if name == "quadratic":
        return z * z
    if name == "tanh":
        return torch.tanh(z)
    if name == "softplus":
        return F.softplus(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "erf":
        return torch.erf(z)
    if name == "gelu":
        return F.gelu(z)
    if name == "linear":
        return z
    if name == "ramp":
        return torch.clamp(z / ETA + 0.5, 0, 1)
    if name == "smooth_step":
        u = z / ETA
        return torch.clamp(4 * (u + 0.5) ** 3, 0, 0.5) + torch.clamp(0.5 - 4 * (0.5 - u) ** 3, 0, 0.5)
    raise ValueError(name)


def torch_autograd_step(torch, name, width, n, dim, lr=1e-3):
    X, y, W, a, s = problem(width, n, dim, torch)
    W.requires_grad_(True)
    a.requires_grad_(True)

    def step():
        loss = ((s * (torch_forward(torch, name, X @ W.T) @ a) - y) ** 2).sum() / (2 * n)
        gW, ga = torch.autograd.grad(loss, (W, a))
        with torch.no_grad():
            W.sub_(lr * gW)
            a.sub_(lr * ga)
    return step


def torch_hand_step(torch, name, width, n, dim, lr=1e-3):
    X, y, W, a, s = problem(width, n, dim, torch)

    def act(z):
        if name in ("tanh", "sigmoid", "relu"):
            h = torch_forward(torch, name, z)
            d = {"tanh": lambda: 1 - h * h, "sigmoid": lambda: h * (1 - h), "relu": lambda: (z > 0).double()}[name]()
            return h, d
        if name == "softplus":
            return torch.nn.functional.softplus(z), torch.sigmoid(z)
        if name == "erf":
            return torch.erf(z), TWO_OVER_SQRT_PI * torch.exp(-z * z)
        if name == "gelu":
            cdf = 0.5 * torch.erfc(-z * SQRT1_2)
            return z * cdf, cdf + z * INV_SQRT_2PI * torch.exp(-0.5 * z * z)
        h, d = numpy_activation(name, z.numpy())  # the piecewise ones: same ops on torch storage
        return torch.from_numpy(np.asarray(h)), torch.from_numpy(np.asarray(d, dtype=np.float64))

    def step():
        nonlocal W, a
        Z = X @ W.T
        H, D = act(Z)
        r = s * (H @ a) - y
        ga = (s / n) * (H.T @ r)
        G = (s / n) * torch.outer(r, a) * D
        W = W - lr * (G.T @ X)
        a = a - lr * ga
    return step


def seconds_per_call(fn):
    fn()  # warm up: first touch, allocator
    best, total, runs = math.inf, 0.0, 0
    while runs < 3 or total < MIN_SECONDS:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, runs = min(best, dt), total + dt, runs + 1
    return best


def run_core(build):
    exe = os.path.join(build, "tests", "bench", "bench_core")
    out = subprocess.run([exe, "--activations"], check=True, capture_output=True, text=True).stdout
    header, rows = [], {}
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "act":
            rows[(f[1], f[2])] = {"width": int(f[3]), "n": int(f[4]), "dim": int(f[5]), "us": float(f[6]),
                                  "gflops": float(f[7])}
        elif line.strip():
            header.append(line)
    return header, rows


def main(argv):
    build = next((a for a in argv if not a.startswith("--")), "build")
    json_out = argv[argv.index("--json") + 1] if "--json" in argv else None
    try:
        import torch
        torch.set_num_threads(1)
        torch_version = torch.__version__
    except ImportError:
        torch, torch_version = None, None
    header, core = run_core(build)
    print("\n".join(header))
    print(f"numpy {np.__version__}; PyTorch {torch_version or 'not installed (apt-get install python3-torch)'}")
    dgemm = float(next(h for h in header if h.startswith("single-thread DGEMM")).split(":")[1].split()[0])
    table = []
    for (name, shape), c in core.items():
        w, n, d = c["width"], c["n"], c["dim"]
        row = dict(act=name, shape=shape, **c)
        row["numpy_us"] = 1e6 * seconds_per_call(numpy_step(name, w, n, d))
        if torch:
            row["torch_hand_us"] = 1e6 * seconds_per_call(torch_hand_step(torch, name, w, n, d))
            row["torch_autograd_us"] = 1e6 * seconds_per_call(torch_autograd_step(torch, name, w, n, d))
        table.append(row)
    print(f"\n{'shape':5s} {'activation':11s} {'us/step':>10s} {'GFLOP/s':>8s} {'of DGEMM':>8s} {'x relu':>7s}"
          f" {'numpy us':>10s} {'x numpy':>8s} {'torch us':>10s} {'x torch':>8s} {'autograd us':>11s}")
    for row in table:
        relu = core[("relu", row["shape"])]["us"]
        t = [row.get("torch_hand_us"), row.get("torch_autograd_us")]
        best_torch = min(v for v in t if v) if torch else None
        print(f"{row['shape']:5s} {row['act']:11s} {row['us']:10.1f} {row['gflops']:8.2f} "
              f"{100 * row['gflops'] / dgemm:7.0f}% {row['us'] / relu:7.2f} {row['numpy_us']:10.1f} "
              f"{row['numpy_us'] / row['us']:8.2f} "
              + (f"{t[0]:10.1f} {best_torch / row['us']:8.2f} {t[1]:11.1f}" if torch else f"{'-':>10s} {'-':>8s}"))
    print("\nx relu: this step over relu's at the same shape; x numpy, x torch: their time over ours "
          "(x torch against the faster of PyTorch by hand and with autograd)")
    print("\n".join(h for h in header if h.startswith("DGEMM again")))
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"header": header, "dgemm_gflops": dgemm, "rows": table}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
