/* The engine on a hand-built grid with a stand-in cell function (no training), for the
 * failing-cell test and the engine benchmarks (tests/bench/bench_engine.sh).
 *
 * usage: engine_driver MODE NCELLS BATCH [FILE]   (any number of ranks)
 *   dispatch  zero-work cells, nothing written: prints the master's dispatch rate
 *   write     zero-work cells written into FILE (created): prints the write cost per cell
 *   fail      cells with index % 5 == 2 fail with a message, the others converge; written to
 *             FILE, then read back and checked: exit 0 when statuses and messages are right
 * BATCH is --batch of `run` (0: automatic, 1: none). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "shallowsweep/engine.h"

enum { K = 30 }; /* record points, as in sweeps/quickstart.yaml */

static int zero_work(void *ctx, int64_t index, ssw_result_t *r, const volatile sig_atomic_t *stop,
                     ssw_train_state_t **state) {
  (void)ctx, (void)index, (void)stop, (void)state;
  r->status = SSW_STATUS_MAX_ITERS;
  r->wall_s = 0;
  return SSW_OK;
}

static int failing(void *ctx, int64_t index, ssw_result_t *r, const volatile sig_atomic_t *stop,
                   ssw_train_state_t **state) {
  (void)ctx, (void)stop, (void)state;
  for (int t = 0; t < K; t++) r->series[SSW_SERIES_LOSS][t] = (double)index / (1.0 + t);
  r->status = index % 5 == 2 ? SSW_STATUS_FAILED : SSW_STATUS_CONVERGED;
  if (r->status == SSW_STATUS_FAILED) snprintf(r->message, sizeof r->message, "injected failure in cell %lld", (long long)index);
  r->wall_s = 1e-3;
  return SSW_OK;
}

#define CHECK(call)                                                                     \
  do {                                                                                  \
    if ((call) != SSW_OK) {                                                             \
      ssw_error_print(stderr, "engine_driver: ");                                       \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                     \
    }                                                                                   \
  } while (0)

static int check_failures(const char *path, int64_t n) {
  ssw_store_t *store;
  CHECK(ssw_store_open_readonly(&store, path));
  int8_t *status = malloc((size_t)n);
  CHECK(ssw_store_read_status(store, status));
  ssw_result_t r;
  CHECK(ssw_result_init(&r, K));
  int bad = 0;
  for (int64_t c = 0; c < n; c++) {
    int want = c % 5 == 2 ? SSW_STATUS_FAILED : SSW_STATUS_CONVERGED;
    CHECK(ssw_store_read_cell(store, c, &r, NULL, NULL));
    char msg[64] = "";
    if (want == SSW_STATUS_FAILED) snprintf(msg, sizeof msg, "injected failure in cell %lld", (long long)c);
    if (status[c] != want || strcmp(r.message, msg) != 0 || r.series[SSW_SERIES_LOSS][1] != (double)c / 2.0) {
      if (bad++ < 5)
        fprintf(stderr, "cell %lld: status %d (want %d), message '%s' (want '%s'), loss[1] %g\n", (long long)c,
                status[c], want, r.message, msg, r.series[SSW_SERIES_LOSS][1]);
    }
  }
  ssw_result_fini(&r);
  free(status);
  CHECK(ssw_store_close(&store));
  printf("fail: %lld cells read back, %d wrong\n", (long long)n, bad);
  return bad ? 1 : 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  CHECK(ssw_check_setup(MPI_COMM_WORLD));
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 4 || (strcmp(argv[1], "dispatch") != 0 && argc < 5)) {
    if (rank == 0) fprintf(stderr, "usage: engine_driver dispatch|write|fail NCELLS BATCH [FILE]\n");
    MPI_Finalize();
    return 2;
  }
  const char *mode = argv[1];
  int64_t n = atoll(argv[2]);
  int batch = atoi(argv[3]);
  ssw_grid_t grid = {.naxes = 1, .ncells = n};
  ssw_axis_t *ax = &grid.axes[0];
  snprintf(ax->name, sizeof ax->name, "seed");
  ax->key = ssw_params_key("seed");
  ax->count = n;
  ax->values = malloc((size_t)n * sizeof *ax->values);
  ax->labels = malloc((size_t)n * sizeof *ax->labels);
  int64_t *pending = malloc((size_t)n * sizeof *pending);
  for (int64_t c = 0; c < n; c++) {
    ax->values[c] = (double)c;
    ax->labels[c] = NULL; /* numeric axis: labels unused by the store */
    pending[c] = c;
  }
  int64_t steps[K];
  for (int t = 0; t < K; t++) steps[t] = t;
  ssw_store_t *store = NULL;
  if (strcmp(mode, "dispatch") != 0) {
    ssw_store_spec_t spec = {.name = "engine-driver", .sweep_yaml = "", .sweep_canonical = "", .grid = &grid,
                             .k = K, .steps = steps, .series_mask = (1u << SSW_SERIES_TEST_LOSS) - 1};
    if (rank == 0) unlink(argv[4]);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(ssw_store_create(&store, argv[4], MPI_COMM_WORLD, &spec));
  }
  ssw_engine_job_t job = {.ncells = n, .k = K, .steps = steps, .cell = strcmp(mode, "fail") == 0 ? failing : zero_work,
                          .store = store, .pending = pending, .npending = n};
  ssw_engine_opts_t opts = {.batch_max = batch};
  ssw_engine_stats_t st;
  CHECK(ssw_engine_run(MPI_COMM_WORLD, &job, &opts, &st));
  CHECK(ssw_store_close(&store));
  int code = 0;
  if (rank == 0) {
    int workers = size > 1 ? size - 1 : 1;
    if (strcmp(mode, "dispatch") == 0)
      printf("dispatch: %lld zero-work cells, %d worker(s)%s, batch %s: %.0f cells/s (%lld messages)\n",
             (long long)n, workers, size == 1 ? " (rank 0 alone)" : "", batch == 0 ? "auto" : argv[3],
             (double)n / st.elapsed_s, (long long)st.messages);
    else if (strcmp(mode, "write") == 0)
      printf("write: %lld cells (K = %d, 5 series, 12 scalars), %d writer(s): %.1f us per cell written, %.0f cells/s overall\n",
             (long long)n, K, workers, 1e6 * st.write_s / (double)n, (double)n / st.elapsed_s);
    else
      code = check_failures(argv[4], n);
  }
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return code;
}
