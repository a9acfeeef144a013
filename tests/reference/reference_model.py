"""An independent numpy model of shallowsweep's training core (DESIGN.md §2).

Written from the design document, not from src/core: the C core and this file must agree
to 1e-10 relative on every recorded number (tests/reference/test_reference.py).

Dimension letters: n samples of the loss set, d inputs, m hidden units, P trained
parameters, k record points, B batch size.

The cell's data, initial weights and the randomness of its batches come from the C core
(tests/reference/export_cell.c exports them); everything after that -- forward pass, loss,
gradient, updates, recording, stopping rule, NTK -- is recomputed here.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit, ndtr

# Group bits of the `train` key (include/shallowsweep/params.h).
INNER, BIAS, OUTER = 1, 2, 4
GROUP_BITS = {"inner": INNER, "bias": BIAS, "outer": OUTER}

STATUS_CONVERGED, STATUS_MAX_ITERS, STATUS_DIVERGED = 1, 2, 3
# The diagnosis of a max_iters cell and its thresholds (DESIGN.md §2, "Diagnosis").
DIAG_NONE, DIAG_UNSTABLE, DIAG_SLOW, DIAG_PLATEAU = 0, 1, 2, 3
RISE_RTOL = 1e-10             # a rise of L counts above this relative size
UNSTABLE_RISE = 1e-6          # a rise this large makes the cell unstable
SLOW_BUDGET_MULTIPLE = 10.0   # slow: the tolerance within this many budgets, at the late rate
EDGE_OF_STABILITY = 0.95      # a final edge ratio above this: at the edge of stability
KINKED = ("relu", "leaky_relu", "ramp")  # rises below the edge are kinks, not instability

SERIES = ("loss", "grad_norm", "inner_dist", "outer_dist", "pattern_change", "test_loss", "edge_ratio")


# ---- activations σ and σ' (DESIGN.md §2, "Activations") ------------------------------

def activation(name, z, leaky_slope=0.01, ramp_width=1.0):
    """σ(z) and σ'(z), elementwise over an array z of any shape."""
    z = np.asarray(z, dtype=float)
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, z, leaky_slope * z), np.where(z > 0, 1.0, leaky_slope)
    if name == "quadratic":  # z²
        return z * z, 2.0 * z
    if name == "tanh":  # tanh' = 1 - tanh²
        h = np.tanh(z)
        return h, 1.0 - h * h
    if name == "softplus":  # log(1 + e^z), derivative the logistic function
        return np.logaddexp(0.0, z), expit(z)
    if name == "sigmoid":  # σ' = σ (1 - σ)
        h = expit(z)
        return h, h * (1.0 - h)
    if name == "erf":  # d/dz erf(z) = 2/√π e^{-z²}
        return erf(z), 2.0 / math.sqrt(math.pi) * np.exp(-z * z)
    if name == "gelu":  # z Φ(z) exactly; derivative Φ(z) + z φ(z), φ the normal density
        cdf = ndtr(z)
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return z * cdf, cdf + z * pdf
    if name == "linear":
        return z.copy(), np.ones_like(z)
    if name == "ramp":  # clip(z/η + 1/2, 0, 1): slope 1/η on |z| < η/2
        eta = ramp_width
        inside = np.abs(z) < 0.5 * eta
        return np.clip(z / eta + 0.5, 0.0, 1.0), np.where(inside, 1.0 / eta, 0.0)
    if name == "smooth_step":
        # u = z/η: clip(4(u+½)³, 0, ½) + clip(½ − 4(½−u)³, 0, ½). The first term rises on
        # (−½, 0] with slope 12(u+½)², the second on [0, ½) with slope 12(½−u)²; both
        # equal (12/η)(½ − |u|)² in z, zero outside |u| < ½ (C¹: 3/η from both sides at 0).
        eta = ramp_width
        u = z / eta
        h = np.clip(4.0 * (u + 0.5) ** 3, 0.0, 0.5) + np.clip(0.5 - 4.0 * (0.5 - u) ** 3, 0.0, 0.5)
        g = np.where(np.abs(u) < 0.5, 12.0 / eta * (0.5 - np.abs(u)) ** 2, 0.0)
        return h, g
    raise ValueError(f"unknown activation {name!r}")


ACTIVATIONS = ("relu", "leaky_relu", "quadratic", "tanh", "softplus", "sigmoid", "erf",
               "gelu", "linear", "ramp", "smooth_step")


# ---- the network: forward, loss and gradient side by side ---------------------------

@dataclass
class Model:
    act: str
    s: float              # output scale
    bias: bool            # b enters the preactivation
    leaky_slope: float
    ramp_width: float

    def preact(self, W, b, X):
        """Z (n, m) = X Wᵀ + b; W (m, d), b (m), X (n, d)."""
        Z = X @ W.T
        return Z + b[None, :] if self.bias else Z

    def forward(self, W, b, a, X):
        """f (n) = s Σ_j a_j σ(z_ij), with Z, σ(Z), σ'(Z) (each (n, m))."""
        Z = self.preact(W, b, X)
        H, D = activation(self.act, Z, self.leaky_slope, self.ramp_width)
        return self.s * (H @ a), Z, H, D

    def loss(self, W, b, a, X, y):
        """L = 1/(2n) Σ_i (f(x_i) − y_i)²  (DESIGN.md §2, "Loss")."""
        f = self.forward(W, b, a, X)[0]
        return 0.5 * np.mean((f - y) ** 2)

    def loss_grad(self, W, b, a, X, y):
        """L and its gradient (gW (m, d), gb (m), ga (m)) over all groups.

        With r = f − y (n):  ∂L/∂a_j  = (s/n) Σ_i r_i σ(z_ij)
                             ∂L/∂b_j  = (s/n) Σ_i r_i a_j σ'(z_ij)     (0 without bias)
                             ∂L/∂w_jk = (s/n) Σ_i r_i a_j σ'(z_ij) x_ik
        """
        n = X.shape[0]
        f, _, H, D = self.forward(W, b, a, X)
        r = f - y                                   # (n)
        L = 0.5 * np.mean(r * r)
        ga = self.s / n * (H.T @ r)                 # (m)
        G = self.s / n * (r[:, None] * D) * a[None, :]  # (n, m): ∂L/∂z_ij
        gW = G.T @ X                                # (m, d)
        gb = G.sum(axis=0) if self.bias else np.zeros_like(b)
        return L, gW, gb, ga

    def jacobian(self, W, b, a, X, groups):
        """J (n, P): ∂f(x_i)/∂θ over the trained groups, columns in theta order
        [W (m, d) row-major | b (m) | a (m)] restricted to the trained groups."""
        n, d = X.shape
        _, _, H, D = self.forward(W, b, a, X)
        dfdz = self.s * D * a[None, :]             # (n, m): ∂f_i/∂z_ij
        cols = []
        if groups & INNER:  # ∂f_i/∂w_jk = ∂f_i/∂z_ij x_ik
            cols.append((dfdz[:, :, None] * X[:, None, :]).reshape(n, -1))
        if groups & BIAS:
            cols.append(dfdz)
        if groups & OUTER:  # ∂f_i/∂a_j = s σ(z_ij)
            cols.append(self.s * H)
        return np.hstack(cols)


def edge_ratio(model, W, b, a, X, groups, eta_in, eta_out):
    """λmax(J D Jᵀ / n) / 2, D the step of each trained column (η_in for W and b, η_out for a):
    GD's stability edge at the step size (DESIGN.md §2, "Diagnosis"), by a full eigensolver."""
    J = model.jacobian(W, b, a, X, groups)
    m, d = W.shape
    rates = []
    if groups & INNER:
        rates += [eta_in] * (m * d)
    if groups & BIAS:
        rates += [eta_in] * m
    if groups & OUTER:
        rates += [eta_out] * m
    K = (J * np.asarray(rates)[None, :]) @ J.T / X.shape[0]
    return np.linalg.eigvalsh(K)[-1] / 2


def ntk_extreme_eigs(model, W, b, a, X, groups):
    """Smallest and largest eigenvalue of K = J Jᵀ / n (Jacot et al. 2018)."""
    J = model.jacobian(W, b, a, X, groups)
    lam = np.linalg.eigvalsh(J @ J.T / X.shape[0])
    return lam[0], lam[-1]


# ---- parameters as the export prints them (ssw_params_format text) ------------------

def parse_groups(text):
    """'[inner, outer]' -> bit set."""
    names = [t.strip() for t in text.strip().strip("[]").split(",") if t.strip()]
    bits = 0
    for name in names:
        bits |= GROUP_BITS[name]
    return bits


def parse_bool(text):
    return {"true": True, "false": False}[text]


@dataclass
class Config:
    """The keys the reference uses, from an export's "params"."""
    model: Model
    groups: int           # trained groups (bias dropped when bias is off)
    lr: float             # η_out
    rate_ratio: float     # η_in / η_out
    batch_size: int       # 0: full batch
    online: bool
    max_iters: int
    tol: float
    tol_rel: float
    diverge_factor: float
    test_n: int
    record_sharpness: bool

    @classmethod
    def from_params(cls, p):
        bias = parse_bool(p["bias"])
        groups = parse_groups(p["train"])
        if not bias:
            groups &= ~BIAS
        model = Model(act=p["activation"], s=float(p["output_scale"]), bias=bias,
                      leaky_slope=float(p["leaky_slope"]), ramp_width=float(p["ramp_width"]))
        return cls(model=model, groups=groups, lr=float(p["lr"]),
                   rate_ratio=float(p["rate_ratio"]), batch_size=int(p["batch_size"]),
                   online=parse_bool(p["online"]), max_iters=int(p["max_iters"]),
                   tol=float(p["tol"]), tol_rel=float(p["tol_rel"]),
                   diverge_factor=float(p["diverge_factor"]), test_n=int(p["test_n"]),
                   record_sharpness=parse_bool(p["record_sharpness"]))


# ---- training: the loop, recording and verdict ---------------------------------------

def _rel_dist(now, start):
    """‖now − start‖ / ‖start‖ (Frobenius), NaN when start = 0."""
    norm0 = np.linalg.norm(start)
    return np.linalg.norm(now - start) / norm0 if norm0 > 0 else math.nan


def _masked_grad_norm(groups, gW, gb, ga):
    """‖∇L‖₂ over the trained groups only."""
    total = 0.0
    if groups & INNER:
        total += np.sum(gW * gW)
    if groups & BIAS:
        total += np.sum(gb * gb)
    if groups & OUTER:
        total += np.sum(ga * ga)
    return math.sqrt(total)


class _Batches:
    """The samples of update t: the full set, a minibatch, or an online batch."""

    def __init__(self, cfg, export, X, y):
        self.cfg, self.X, self.y = cfg, X, y
        if cfg.online:
            self.online_X = export["online_X"]
            self.online_y = export["online_y"]
        elif cfg.batch_size > 0:
            self.perms = export["perms"]
            n = X.shape[0]
            self.nb = -(-n // cfg.batch_size)  # ceil(n / B) batches per epoch

    def __call__(self, t):
        cfg = self.cfg
        if cfg.online:  # B fresh samples for step t
            return np.array(self.online_X[t], dtype=float), np.array(self.online_y[t], dtype=float)
        if cfg.batch_size > 0:  # epoch t // nb, batch t % nb of that epoch's permutation
            B, n = cfg.batch_size, self.X.shape[0]
            e, j = divmod(t, self.nb)
            idx = np.asarray(self.perms[e][j * B:min((j + 1) * B, n)], dtype=int)
            return self.X[idx], self.y[idx]
        return self.X, self.y


def train(export):
    """Replay a cell from its export; returns a dict shaped like export["result"]."""
    with np.errstate(over="ignore", invalid="ignore"):  # diverging cells overflow on purpose
        return _train(export)


def _train(export):
    cfg = Config.from_params(export["params"])
    M, groups = cfg.model, cfg.groups
    X = np.array(export["X"], dtype=float).reshape(-1, len(export["W0"][0]))
    y = np.array(export["y"], dtype=float)
    X_test = np.array(export["X_test"], dtype=float).reshape(-1, X.shape[1])
    y_test = np.array(export["y_test"], dtype=float)
    W0 = np.array(export["W0"], dtype=float)
    b0 = np.array(export["b0"], dtype=float)
    a0 = np.array(export["a0"], dtype=float)
    steps = list(export["steps"])
    record_at = {s: i for i, s in enumerate(steps)}
    batches = _Batches(cfg, export, X, y)

    eta_out, eta_in = cfg.lr, cfg.rate_ratio * cfg.lr
    W, b, a = W0.copy(), b0.copy(), a0.copy()
    sign0 = M.preact(W0, b0, X) > 0                 # (n, m)
    L0 = M.loss(W0, b0, a0, X, y)
    series = {name: np.full(len(steps), math.nan) for name in SERIES}
    status, iters_to_tol, L = None, -1, math.nan
    rises, max_rise, before = 0, 0.0, L0

    for t in range(cfg.max_iters + 1):
        # Full-batch GD checks every step; SGD evaluates the loss set at record points only.
        if cfg.batch_size == 0 or t in record_at:
            L, gW, gb, ga = M.loss_grad(W, b, a, X, y)
            if t > 0 and math.isfinite(L) and L > before * (1 + RISE_RTOL):   # the descent counter
                rises, max_rise = rises + 1, max(max_rise, (L - before) / before)
            before = L
            if not math.isfinite(L) or L > cfg.diverge_factor * L0:
                status = STATUS_DIVERGED                  # never recorded
                break
            if t in record_at:
                i = record_at[t]
                series["loss"][i] = L
                series["grad_norm"][i] = _masked_grad_norm(groups, gW, gb, ga)
                series["inner_dist"][i] = _rel_dist(W, W0)
                series["outer_dist"][i] = _rel_dist(a, a0)
                series["pattern_change"][i] = np.mean((M.preact(W, b, X) > 0) != sign0)
                if cfg.test_n > 0:
                    series["test_loss"][i] = M.loss(W, b, a, X_test, y_test)
                if cfg.record_sharpness:
                    series["edge_ratio"][i] = edge_ratio(M, W, b, a, X, groups, eta_in, eta_out)
            if L <= cfg.tol or (cfg.tol_rel > 0 and L <= cfg.tol_rel * L0):
                status, iters_to_tol = STATUS_CONVERGED, t
                break
            if t == cfg.max_iters:
                status = STATUS_MAX_ITERS
                break
        # Update t: the gradient of 1/(2|batch|) Σ over the batch, per trained group.
        if cfg.batch_size > 0:
            Xb, yb = batches(t)
            _, gW, gb, ga = M.loss_grad(W, b, a, Xb, yb)
        if groups & INNER:
            W = W - eta_in * gW
        if groups & BIAS:
            b = b - eta_in * gb
        if groups & OUTER:
            a = a - eta_out * ga

    result = {name: series[name] for name in SERIES}
    result.update(status=status, iters=t, iters_to_tol=iters_to_tol, init_loss=L0,
                  final_loss=L, loss_rises=rises, max_rise=max_rise, loss_ratio=L / L0)
    result["edge_ratio_init"] = edge_ratio(M, W0, b0, a0, X, groups, eta_in, eta_out)
    result["edge_ratio_final"] = (edge_ratio(M, W, b, a, X, groups, eta_in, eta_out)
                                  if status != STATUS_DIVERGED else math.nan)
    result["final_series"] = {name: _last_finite(series[name]) for name in SERIES}
    result["diagnosis"] = diagnose(cfg, result, steps)
    return result


def _last_finite(values):
    finite = [v for v in values if math.isfinite(v)]
    return finite[-1] if finite else math.nan


def diagnose(cfg, r, steps):
    """Why a max_iters cell did not converge (DESIGN.md §2, "Diagnosis"): 1 unstable, 2 slow,
    3 plateau; 0 for every other status."""
    if r["status"] != STATUS_MAX_ITERS:
        return DIAG_NONE
    # the descent lemma is about full-batch GD: SGD's loss rises with its noise below the edge too
    full_batch = cfg.batch_size == 0 and not cfg.online
    rose = full_batch and cfg.model.act not in KINKED and r["loss_rises"] > 0 and r["max_rise"] > UNSTABLE_RISE
    if r["edge_ratio_init"] > 1 or r["edge_ratio_final"] > EDGE_OF_STABILITY or rose:
        return DIAG_UNSTABLE
    loss = r["loss"]
    last = len(steps) - 1
    early = [i for i in range(last) if steps[i] <= steps[last] // 2 and math.isfinite(loss[i]) and loss[i] > 0]
    target = max(cfg.tol, cfg.tol_rel * r["init_loss"])
    if early and loss[last] > 0 and target > 0 and loss[last] > target:
        a = early[-1]
        rate = (math.log(loss[a]) - math.log(loss[last])) / (steps[last] - steps[a])
        if rate > 0 and (math.log(loss[last]) - math.log(target)) / rate <= (SLOW_BUDGET_MULTIPLE - 1) * cfg.max_iters:
            return DIAG_SLOW
    return DIAG_PLATEAU


# ---- initialization, replayed from the counter-based generator ----------------------
# Philox4x32-10 (Salmon et al., SC'11; constants of Random123 1.14's philox.h) and the
# layout of include/shallowsweep/rng.h and init.h, so that the C core's initial weights
# are checked here rather than trusted.

PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57   # round multipliers
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85   # Weyl key increments (golden ratio, √3 − 1)
MASK32 = 0xFFFFFFFF
STREAM_INIT = 3


def philox4x32_10(ctr, key):
    """Ten Philox rounds: 4 x 32-bit counter, 2 x 32-bit key -> 4 x 32-bit output."""
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32)
        k0, k1 = (k0 + PHILOX_W0) & MASK32, (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def _uniform_pair(stream, seed, index, sub, block):
    """The two uniforms of Philox block `block` (rng.h: w = out[1]:out[0], out[3]:out[2];
    u = ((w >> 11) + 1/2) 2^-53)."""
    out = philox4x32_10((block & MASK32, index & MASK32, index >> 32, sub),
                        (seed & MASK32, stream))
    words = ((out[1] << 32) | out[0], (out[3] << 32) | out[2])
    return [((w >> 11) + 0.5) * 2.0 ** -53 for w in words]


def rng_uniforms(stream, seed, index, sub, count):
    u = []
    for block in range((count + 1) // 2):
        u += _uniform_pair(stream, seed, index, sub, block)
    return np.array(u[:count])


def rng_gaussians(stream, seed, index, sub, count):
    """Box-Muller on each block's pair (u0, u1): r cos(2π u1), r sin(2π u1), r = √(−2 ln u0)."""
    g = []
    for block in range((count + 1) // 2):
        u0, u1 = _uniform_pair(stream, seed, index, sub, block)
        r = math.sqrt(-2.0 * math.log(u0))
        g += [r * math.cos(2.0 * math.pi * u1), r * math.sin(2.0 * math.pi * u1)]
    return np.array(g[:count])


def init_weights(p):
    """W0 (m, d), b0 (m), a0 (m) of params p (export text) per include/shallowsweep/init.h."""
    m, d, seed = int(p["width"]), int(p["dim"]), int(p["seed"])
    sw, sa = float(p["inner_init_std"]), float(p["outer_init_std"])
    W, b, a = np.zeros((m, d)), np.zeros(m), np.zeros(m)
    for j in range(m):
        # w_j: INIT index j sub 0 (d Gaussians), or σ_w 1
        W[j] = sw * (np.ones(d) if p["inner_init"] == "ones"
                     else rng_gaussians(STREAM_INIT, seed, j, 0, d))
        # a_j: sub 1
        if p["outer_init"] == "gaussian":
            a[j] = sa * rng_gaussians(STREAM_INIT, seed, j, 1, 1)[0]
        elif p["outer_init"] == "sign":
            a[j] = -sa if rng_uniforms(STREAM_INIT, seed, j, 1, 1)[0] < 0.5 else sa
        elif p["outer_init"] == "ones":
            a[j] = sa
        # b_j: sub 2, N(0, std²) or −w_j u_j with u_j ~ U(0, 1) (positions, d = 1)
        if p["bias_init"] == "uniform_positions":
            b[j] = -W[j, 0] * rng_uniforms(STREAM_INIT, seed, j, 2, 1)[0]
        else:
            b[j] = float(p["bias_init_std"]) * rng_gaussians(STREAM_INIT, seed, j, 2, 1)[0]
    kappa, applies = float(p["init_scale"]), parse_groups(p["init_scale_applies"])
    W, b, a = (W * kappa if applies & INNER else W, b * kappa if applies & BIAS else b,
               a * kappa if applies & OUTER else a)
    if parse_bool(p["symmetric_init"]):  # neuron 2i+1 = (w_2i, b_2i, −a_2i): f ≡ 0
        W[1::2], b[1::2], a[1::2] = W[0::2], b[0::2], -a[0::2]
    return W, b, a
