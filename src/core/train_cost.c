/* The model of a cell's memory and cost that plan, the scheduler and the deadline use
 * (train.h): the arrays a trainer allocates, and flop-equivalents per step fitted to the core
 * benchmark. */
#include "act_simd.h"
#include "shallowsweep/init.h"
#include "shallowsweep/ntk.h"
#include "shallowsweep/train.h"
#include "train_impl.h"

void ssw_trainer_sizes(const ssw_params_t *p, ssw_trainer_sizes_t *z) {
  const int64_t d = p->dim, m = p->width;
  *z = (ssw_trainer_sizes_t){0};
  z->n_loss = p->online ? p->eval_n : p->n;
  z->B = p->batch_size > 0 ? p->batch_size : p->n;
  z->X = z->n_loss * d;
  z->y = z->n_loss;
  if (p->test_n > 0) z->X_test = p->test_n * d, z->y_test = p->test_n;
  if (p->batch_size > 0) {
    z->X_batch = z->B * d;
    z->y_batch = z->B;
    if (!p->online) z->perm = p->n;
  }
  z->P = m * d + 2 * m; /* ssw_theta_size: W, b, a */
  z->sign0 = z->n_loss * m;
  z->ws_rows = z->n_loss > z->B ? z->n_loss : z->B;
}

double ssw_trainer_memory(const ssw_params_t *p) {
  ssw_trainer_sizes_t z;
  ssw_trainer_sizes(p, &z);
  const double D = sizeof(double);
  double bytes = D * (double)(z.X + z.y + z.X_test + z.y_test + z.X_batch + z.y_batch) +
                 (double)sizeof(int64_t) * (double)z.perm + D * 3.0 * (double)z.P + (double)z.sign0 +
                 ssw_workspace_bytes(z.ws_rows, p->width, p->dim) + ssw_source_bytes(p) +
                 D * (double)p->record_points * (SSW_SERIES_COUNT + 1); /* the result */
  /* at step 0 only, one after the other: the NTK's eigenvalues (if asked) and the edge ratio */
  double edge = ssw_ntk_edge_bytes(z.n_loss, p->width, p->dim);
  double ntk = p->ntk_eigs ? ssw_ntk_eigs_bytes(z.n_loss, p->width) : 0.0;
  return bytes + (ntk > edge ? ntk : edge);
}

/* A BLAS-path step's cost beyond its flops, in flop-equivalents at the plan's 20 GFLOP/s, fitted
 * to the per-step times of sweeps/quickstart.yaml (dim 8, width 4..1024, n 8..256, when it ran
 * the BLAS path; README "Speed"):
 * the memory-bound elementwise passes (activation, backward) take about 2.5 ns per (sample,
 * neuron) pair, and the loop, BLAS calls and update about 0.3 us per step. The fit predicts
 * the ratio of per-step times between any two of those cells to within 10%. Without these
 * terms the many small cells of a sweep would look free to the ETA and to batching. */
#define SSW_ELEMENT_COST_FLOPS 50.0
#define SSW_STEP_OVERHEAD_FLOPS 6e3
/* Step-equivalents an edge ratio costs: Lanczos needs at most 11 K_D products on the cells of
 * tests/unit/test_edge and 31 at dim 32, width 2048, n 1024, where the whole edge ratio took 51
 * step times (each product is two unblocked (n, m) passes); 300 with the power iteration of 0.2. */
#define SSW_EDGE_COST_ITERS 50.0

/* The register-blocked fused kernel (d <= SSW_FUSED_MAX_DIM) in the same flop-equivalents:
 * about 2.5 dp per (sample, neuron) pair with d padded to dp = 2, 4, 8, 16, its flops included
 * (the least-squares line through relu's step at width 1024, n 256 and d = 2, 4, 8, 16 of
 * bench_core --crossover on 2026-12-06: 6.0, 8.8, 18.1, 40.0 per pair; the line has no
 * intercept to speak of, -0.4, and is within 7% at dp = 8 and 16, 25% at dp = 2). */
#define SSW_FUSED_PAIR_FLOPS_PER_DIM 2.5

/* What each activation adds per (sample, neuron) over relu, in the same flop-equivalents: (us
 * per step - relu's) / (n m) at 20 GFLOP/s, the prior plan's estimate starts from (README
 * "Speed"). Fused: the thin shape of tests/bench/bench_activations.py (n 256, d 8, width 1024),
 * the least disturbed (smallest) of three runs on 2026-12-06; negative differences (linear) are
 * 0. BLAS: the big shape (n 1024, d 64, width 4096) of the quieter run of 2026-12-05 (the BLAS
 * path has not changed since). */
static const double ACT_EXTRA_FLOPS_FUSED[SSW_ACT_COUNT] = {
    [SSW_ACT_RELU] = 0, [SSW_ACT_LEAKY_RELU] = 1, [SSW_ACT_QUADRATIC] = 1, [SSW_ACT_TANH] = 32,
    [SSW_ACT_SOFTPLUS] = 96, [SSW_ACT_SIGMOID] = 29, [SSW_ACT_ERF] = 181, [SSW_ACT_GELU] = 185,
    [SSW_ACT_LINEAR] = 0, [SSW_ACT_RAMP] = 5, [SSW_ACT_SMOOTH_STEP] = 18};
static const double ACT_EXTRA_FLOPS_BLAS[SSW_ACT_COUNT] = {
    [SSW_ACT_RELU] = 0, [SSW_ACT_LEAKY_RELU] = 7, [SSW_ACT_QUADRATIC] = 0, [SSW_ACT_TANH] = 35,
    [SSW_ACT_SOFTPLUS] = 121, [SSW_ACT_SIGMOID] = 21, [SSW_ACT_ERF] = 184, [SSW_ACT_GELU] = 222,
    [SSW_ACT_LINEAR] = 0, [SSW_ACT_RAMP] = 25, [SSW_ACT_SMOOTH_STEP] = 37};

static double step_cost(const ssw_model_t *M, int64_t batch) {
  const double pairs = (double)batch * (double)M->m;
  const bool known = M->act < SSW_ACT_COUNT;
  if (M->fused && M->d <= SSW_FUSED_DIM_LIMIT)
    return (SSW_FUSED_PAIR_FLOPS_PER_DIM * (double)ssw_fused_padded_dim(M->d) +
            (known ? ACT_EXTRA_FLOPS_FUSED[M->act] : 0.0)) * pairs + SSW_STEP_OVERHEAD_FLOPS;
  const double extra = known ? ACT_EXTRA_FLOPS_BLAS[M->act] : 0.0;
  return ssw_model_step_flops(M, batch) + (SSW_ELEMENT_COST_FLOPS + extra) * pairs + SSW_STEP_OVERHEAD_FLOPS;
}

/* Every update is one loss-and-gradient over its batch (full batch: n samples) plus the terms
 * above; minibatch and online SGD add a full loss evaluation at each record point; the NTK
 * adds the Gram matrix through two (n, m) x (m, n) products and the eigensolver on the n x n
 * Gram (~ 4 n^2 m + 2 n^2 d + 9 n^3, dsyevd). */
double ssw_trainer_cost(const ssw_params_t *p) {
  ssw_model_t M;
  ssw_model_from_params(&M, p);
  ssw_trainer_sizes_t z;
  ssw_trainer_sizes(p, &z);
  double flops = (double)p->max_iters * step_cost(&M, p->batch_size > 0 ? z.B : z.n_loss);
  if (p->batch_size > 0) flops += (double)p->record_points * step_cost(&M, z.n_loss);
  if (p->test_n > 0) flops += (double)p->record_points * step_cost(&M, p->test_n);
  if (p->ntk_eigs) {
    double n = (double)z.n_loss;
    flops += 4.0 * n * n * (double)M.m + 2.0 * n * n * (double)M.d + 9.0 * n * n * n;
  }
  /* the edge ratio at the start and the end */
  flops += (2.0 + (p->record_sharpness ? (double)p->record_points : 0.0)) * SSW_EDGE_COST_ITERS *
           step_cost(&M, z.n_loss);
  return flops;
}

