/* Training-core benchmark: microseconds per full-batch GD step and GFLOP/s across sizes,
 * beside the single-thread DGEMM rate measured in the same run (this machine is shared and
 * noisy: compare ratios, not absolute figures). Prints a table; never passes or fails on time.
 *
 *   bench_core [--quick | --only WIDTH N DIM | --activations [NAME...] | --crossover | --gemm-share]
 *
 * --activations: every activation at the three shapes of tests/bench/bench_activations.py
 * (which runs this and numpy and PyTorch in one run), one line each:
 *   act NAME SHAPE WIDTH N DIM US_PER_STEP GFLOPS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "shallowsweep/error.h"
#include "shallowsweep/simd.h"
#include "shallowsweep/train.h"

/* Minimum measured time per configuration: long enough to average over timer and noise. */
#define MIN_SECONDS 1.0
enum { DGEMM_SIZE = 1024 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best-of-3 GFLOP/s of a square DGEMM. */
static double dgemm_gflops(int size) {
  double *A = malloc(sizeof(double) * (size_t)size * (size_t)size), *B = malloc(sizeof(double) * (size_t)size * (size_t)size),
         *C = calloc((size_t)size * (size_t)size, sizeof(double));
  for (int i = 0; i < size * size; i++) A[i] = B[i] = 1.0 / (1 + i % 7);
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now_s();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0, A, size, B, size, 0.0, C, size);
    double rate = 2.0 * size * (double)size * size / (now_s() - t0) * 1e-9;
    if (rate > best) best = rate;
  }
  free(A), free(B), free(C);
  return best;
}

/* Seconds per full-batch GD step of the real training loop (ssw_trainer_run: forward, backward,
 * update, verdict), all groups trained; best of several runs. */
/* kernel: -1 the model's own choice, 0 BLAS, 1 fused */
static int time_step_kernel(ssw_activation_t act, int64_t width, int64_t n, int64_t dim, int kernel, double *seconds,
                            double *flops) {
  /* at least 20 steps, so that the two record points (pattern change, norms) weigh little */
  const int64_t steps = 20 + 20000000 / (n * width * dim);
  ssw_params_t p;
  ssw_params_init(&p);
  p.width = width, p.n = n, p.dim = dim, p.max_iters = steps, p.record_points = 2, p.activation = act;
  p.lr = 1e-3, p.tol = 0; /* never stops early */
  ssw_trainer_t t;
  ssw_result_t r;
  SSW_TRY(ssw_trainer_init(&t, &p));
  SSW_TRY(ssw_result_init(&r, p.record_points));
  t.skip_edge = true; /* a per-cell cost of about 50 steps each, not part of the step */
  if (kernel >= 0) t.M.fused = kernel == 1;
  double best = 1e300, total = 0;
  SSW_TRY(ssw_trainer_run(&t, &r, NULL)); /* first touch of every page */
  /* the minimum is the figure least disturbed by other processes on a shared machine */
  for (int run = 0; run < 3 || total < MIN_SECONDS; run++) {
    SSW_TRY(ssw_trainer_run(&t, &r, NULL));
    SSW_REQUIRE(r.iters == steps, SSW_ERR_INTERNAL, "benchmark run stopped early (%s)", ssw_status_name(r.status));
    total += r.wall_s;
    const double per_step = r.wall_s / (double)(steps + 1); /* steps + 1 evaluations */
    if (per_step < best) best = per_step;
  }
  *seconds = best;
  *flops = ssw_model_step_flops(&t.M, n);
  ssw_result_fini(&r);
  ssw_trainer_fini(&t);
  return SSW_OK;
}

static int time_step(ssw_activation_t act, int64_t width, int64_t n, int64_t dim, double *seconds, double *flops) {
  return time_step_kernel(act, width, n, dim, -1, seconds, flops);
}

/* The fused kernel against the BLAS path, relu, across d: where SSW_FUSED_MAX_DIM comes from. */
static int crossover_table(void) {
  static const int64_t shapes[][2] = {{16, 4}, {16, 16}, {1024, 256}, {4096, 1024}}; /* (width, n) */
  static const int64_t dims[] = {2, 4, 8, 12, 16, 24, 32, 64};
  printf("%6s %6s %4s %12s %12s %8s\n", "width", "n", "dim", "BLAS us", "fused us", "BLAS/fused");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
      double blas, fused, flops;
      SSW_TRY(time_step_kernel(SSW_ACT_RELU, shapes[s][0], shapes[s][1], dims[k], 0, &blas, &flops));
      SSW_TRY(time_step_kernel(SSW_ACT_RELU, shapes[s][0], shapes[s][1], dims[k], 1, &fused, &flops));
      printf("%6lld %6lld %4lld %12.2f %12.2f %8.2f\n", (long long)shapes[s][0], (long long)shapes[s][1],
             (long long)dims[k], blas * 1e6, fused * 1e6, blas / fused);
      fflush(stdout);
    }
  return SSW_OK;
}

/* Where the BLAS path's step goes at the big shape (width 4096, n 1024, d 64), relu: its GEMMs
 * timed alone, as model.c calls them (Z = W X^T and grad W = G X by blocks of 2^18 / n neurons),
 * against the whole step; the rest is the elementwise passes, the update and the verdict. */
static int gemm_share(double peak) {
  const int n = 1024, m = 4096, d = 64, mb = (1 << 18) / n;
  double *W = malloc(sizeof(double) * (size_t)m * d), *X = malloc(sizeof(double) * (size_t)n * d);
  double *Z = malloc(sizeof(double) * (size_t)m * n), *gW = malloc(sizeof(double) * (size_t)m * d);
  SSW_REQUIRE(W && X && Z && gW, SSW_ERR_NOMEM, "out of memory");
  for (int e = 0; e < m * d; e++) W[e] = 1.0 / (1 + e % 7);
  for (int e = 0; e < n * d; e++) X[e] = 1.0 / (1 + e % 5);
  for (int e = 0; e < m * n; e++) Z[e] = 1.0 / (1 + e % 3);
  double best_f = 1e300, best_b = 1e300;
  for (int rep = 0; rep < 5; rep++) {
    double t0 = now_s();
    for (int j0 = 0; j0 < m; j0 += mb)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mb, n, d, 1.0, W + (size_t)j0 * d, d, X, d, 0.0,
                  Z + (size_t)j0 * n, n);
    double t1 = now_s();
    for (int j0 = 0; j0 < m; j0 += mb)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mb, d, n, 1.0, Z + (size_t)j0 * n, n, X, d, 0.0,
                  gW + (size_t)j0 * d, d);
    double t2 = now_s();
    if (t1 - t0 < best_f) best_f = t1 - t0;
    if (t2 - t1 < best_b) best_b = t2 - t1;
  }
  free(W), free(X), free(Z), free(gW);
  double step, flops;
  SSW_TRY(time_step(SSW_ACT_RELU, m, n, d, &step, &flops));
  const double gemm_flops = 2.0 * n * (double)m * d;
  printf("big shape (width %d, n %d, dim %d), relu, BLAS path:\n", m, n, d);
  printf("  step                 %10.1f us  %5.1f%% of DGEMM\n", step * 1e6, 100.0 * flops / step * 1e-9 / peak);
  printf("  Z = W X^T (GEMMs)    %10.1f us  %5.1f%% of DGEMM  %5.1f%% of the step\n", best_f * 1e6,
         100.0 * gemm_flops / best_f * 1e-9 / peak, 100.0 * best_f / step);
  printf("  grad W = G X (GEMMs) %10.1f us  %5.1f%% of DGEMM  %5.1f%% of the step\n", best_b * 1e6,
         100.0 * gemm_flops / best_b * 1e-9 / peak, 100.0 * best_b / step);
  printf("  the rest             %10.1f us                   %5.1f%% of the step\n",
         (step - best_f - best_b) * 1e6, 100.0 * (step - best_f - best_b) / step);
  printf("  the step if the rest were free: %.1f%% of DGEMM\n",
         100.0 * flops / (best_f + best_b) * 1e-9 / peak);
  return SSW_OK;
}

/* The three shapes of issue 12: tiny, thin (small d, the seed experiments) and big. */
static const struct { const char *name; int64_t width, n, dim; } SHAPES[] = {
    {"tiny", 16, 16, 16}, {"thin", 1024, 256, 8}, {"big", 4096, 1024, 64}};

/* names (count): the activations to time, all if count is 0 */
static int activations_table(int count, char **names) {
  for (size_t k = 0; k < sizeof SHAPES / sizeof SHAPES[0]; k++)
    for (int act = 0; act < SSW_ACT_COUNT; act++) {
      bool wanted = count == 0;
      for (int i = 0; i < count; i++) wanted |= !strcmp(names[i], ssw_activation_name((ssw_activation_t)act));
      if (!wanted) continue;
      double sec, flops;
      SSW_TRY(time_step((ssw_activation_t)act, SHAPES[k].width, SHAPES[k].n, SHAPES[k].dim, &sec, &flops));
      printf("act %s %s %lld %lld %lld %.3f %.3f\n", ssw_activation_name((ssw_activation_t)act), SHAPES[k].name,
             (long long)SHAPES[k].width, (long long)SHAPES[k].n, (long long)SHAPES[k].dim, sec * 1e6,
             flops / sec * 1e-9);
      fflush(stdout);
    }
  return SSW_OK;
}

int main(int argc, char **argv) {
  const bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  const bool acts = argc > 1 && strcmp(argv[1], "--activations") == 0;
  const bool crossover = argc > 1 && strcmp(argv[1], "--crossover") == 0;
  const bool share = argc > 1 && strcmp(argv[1], "--gemm-share") == 0;
  const bool only = argc == 5 && strcmp(argv[1], "--only") == 0; /* --only WIDTH N DIM */
  ssw_blas_single_thread();
  const char *coretype = getenv("OPENBLAS_CORETYPE");
  printf("OpenBLAS config: %s; OPENBLAS_CORETYPE=%s; kernel core: %s\n", openblas_get_config(),
         coretype ? coretype : "(unset)", openblas_get_corename());
  const double peak = dgemm_gflops(DGEMM_SIZE);
  printf("activation kernels: %s (SSW_SIMD=%s)\n", ssw_simd_path(), getenv("SSW_SIMD") ? getenv("SSW_SIMD") : "(unset)");
  printf("single-thread DGEMM %dx%d: %.1f GFLOP/s\n\n", DGEMM_SIZE, DGEMM_SIZE, peak);
  if (acts || crossover || share) {
    if ((acts ? activations_table(argc - 2, argv + 2) : crossover ? crossover_table() : gemm_share(peak)) != SSW_OK) {
      ssw_error_print(stderr, "bench_core: ");
      return 1;
    }
    printf("\nDGEMM again at the end: %.1f GFLOP/s\n", dgemm_gflops(DGEMM_SIZE));
    return 0;
  }
  const int64_t widths[] = {16, 64, 256, 1024, 4096}, ns[] = {16, 64, 256, 1024}, dims[] = {16, 64};
  printf("%6s %6s %4s %12s %10s %9s\n", "width", "n", "dim", "us/step", "GFLOP/s", "of DGEMM");
  for (size_t a = 0; a < 2; a++)
    for (size_t b = 0; b < 4; b++)
      for (size_t c = 0; c < 5; c++) {
        if (quick && !(c == 0 || c == 4)) continue;
        if (only && (widths[c] != atoll(argv[2]) || ns[b] != atoll(argv[3]) || dims[a] != atoll(argv[4]))) continue;
        double sec, flops;
        if (time_step(SSW_ACT_RELU, widths[c], ns[b], dims[a], &sec, &flops) != SSW_OK) {
          ssw_error_print(stderr, "bench_core: ");
          return 1;
        }
        printf("%6lld %6lld %4lld %12.2f %10.2f %8.0f%%\n", (long long)widths[c], (long long)ns[b],
               (long long)dims[a], sec * 1e6, flops / sec * 1e-9, 100.0 * flops / sec * 1e-9 / peak);
        fflush(stdout);
      }
  printf("\nDGEMM again at the end: %.1f GFLOP/s\n", dgemm_gflops(DGEMM_SIZE));
  return 0;
}
