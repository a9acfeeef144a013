/* The store on a grid built by hand: create collectively, write cells from every rank, read
 * back, verify checksums, resume-style reopen. Usage: test_store FILE (any number of ranks;
 * FILE must not exist). Leaves FILE for test_layout.py to read with h5py and xarray.
 *
 * Grid: width (INT) {16, 32} x activation (ENUM) {relu, tanh, erf} x lr (REAL) {0.1, 0.5}
 *       x seed {0, 1, 2}: 36 cells, k = 5 record points. Cell c is written by rank c % size
 * unless c % 7 == 3 (left pending); cell 5 fails (status 4, a message). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shallowsweep/check.h"
#include "shallowsweep/store.h"

enum { K = 5 };
/* The series this test writes: the five every file has (test_loss and edge_ratio absent). */
#define SERIES_MASK 0x1fu

#define CHECK(call)                                                                     \
  do {                                                                                  \
    if ((call) != SSW_OK) {                                                             \
      fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #call);                    \
      ssw_error_print(stderr, "  ");                                                    \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                     \
    }                                                                                   \
  } while (0)

#define EXPECT(cond, ...)                                                               \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      fprintf(stderr, "FAIL %s:%d %s: ", __FILE__, __LINE__, #cond);                    \
      fprintf(stderr, __VA_ARGS__);                                                     \
      fprintf(stderr, "\n");                                                            \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                     \
    }                                                                                   \
  } while (0)

static void set_axis(ssw_axis_t *a, const char *name, int n, const double *values, const char *const *labels) {
  snprintf(a->name, sizeof a->name, "%s", name);
  a->key = ssw_params_key(name);
  a->count = n;
  a->values = malloc((size_t)n * sizeof *a->values);
  a->labels = malloc((size_t)n * sizeof *a->labels);
  for (int i = 0; i < n; i++) {
    a->values[i] = values[i];
    char buf[32];
    snprintf(buf, sizeof buf, "%g", values[i]);
    a->labels[i] = strdup(labels ? labels[i] : buf);
  }
}

/* The values a test cell holds: a function of its index, so any reader can recompute them. */
static void fill_cell(ssw_result_t *r, int64_t c) {
  ssw_result_clear(r);
  int stop = c % 4 == 1 ? 3 : K; /* some cells stop early: NaN after */
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    for (int t = 0; t < stop; t++) r->series[s][t] = (double)c + 0.01 * s + 0.001 * t;
  r->status = c == 5 ? SSW_STATUS_FAILED : (int8_t)(1 + c % 3);
  r->init_loss = (double)c;
  r->final_loss = (double)c / 10;
  r->iters = 100 * c;
  r->iters_to_tol = c % 2 ? -1 : 10 * c;
  r->wall_s = 0.5;
  r->gflops = 1.5;
  r->ntk_min = NAN;
  r->ntk_max = NAN;
  if (c == 5) snprintf(r->message, sizeof r->message, "cell %lld: key 'lr': diverged at birth", (long long)c);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  CHECK(ssw_check_setup(MPI_COMM_WORLD));
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 2) {
    fprintf(stderr, "usage: test_store FILE\n");
    return 2;
  }
  const char *path = argv[1];
  ssw_grid_t grid = {.naxes = 4};
  set_axis(&grid.axes[0], "width", 2, (double[]){16, 32}, NULL);
  set_axis(&grid.axes[1], "activation", 3, (double[]){0, 5, 6}, (const char *[]){"relu", "tanh", "erf"});
  set_axis(&grid.axes[2], "lr", 2, (double[]){0.1, 0.5}, NULL);
  set_axis(&grid.axes[3], "seed", 3, (double[]){0, 1, 2}, NULL);
  grid.ncells = 36;
  int64_t steps[K] = {0, 1, 10, 100, 1000};
  ssw_store_spec_t spec = {.name = "store-test", .sweep_yaml = "name: store-test\n",
                           .sweep_canonical = "name: store-test\ntrain:\n  lr: 0.5\n", .grid = &grid, .k = K,
                           .steps = steps, .series_mask = SERIES_MASK};
  ssw_store_t *store;
  CHECK(ssw_store_create(&store, path, MPI_COMM_WORLD, &spec));
  EXPECT(ssw_store_ncells(store) == 36, "ncells %lld", (long long)ssw_store_ncells(store));
  EXPECT(ssw_store_k(store) == K, "k");
  EXPECT(strcmp(ssw_store_grid(store)->axes[1].labels[2], "erf") == 0, "label %s", ssw_store_grid(store)->axes[1].labels[2]);
  EXPECT(ssw_store_grid(store)->axes[1].values[2] == 6, "enum value");
  ssw_result_t r, back;
  CHECK(ssw_result_init(&r, K));
  CHECK(ssw_result_init(&back, K));
  for (int64_t c = 0; c < 36; c++) {
    if (c % size != rank || c % 7 == 3) continue;
    fill_cell(&r, c);
    CHECK(ssw_store_write_cell(store, c, &r, rank));
  }
  CHECK(ssw_store_close(&store));
  MPI_Barrier(MPI_COMM_WORLD);

  /* read back (every rank, read-only, no MPI-IO) */
  CHECK(ssw_store_open_readonly(&store, path));
  int8_t status[36];
  CHECK(ssw_store_read_status(store, status));
  for (int64_t c = 0; c < 36; c++) {
    int8_t want = c % 7 == 3 ? 0 : c == 5 ? 4 : (int8_t)(1 + c % 3);
    EXPECT(status[c] == want, "cell %lld status %d, want %d", (long long)c, status[c], want);
    if (!want) continue;
    uint32_t crc;
    int32_t who;
    CHECK(ssw_store_read_cell(store, c, &back, &crc, &who));
    fill_cell(&r, c);
    for (int s = 0; s < SSW_SERIES_COUNT; s++)
      for (int t = 0; t < K && (SERIES_MASK & (1u << s)); t++) /* the series the file has */
        EXPECT(memcmp(&back.series[s][t], &r.series[s][t], 8) == 0, "cell %lld series %d t %d: %g vs %g",
               (long long)c, s, t, back.series[s][t], r.series[s][t]);
    EXPECT(back.iters == r.iters && back.iters_to_tol == r.iters_to_tol && back.final_loss == r.final_loss,
           "cell %lld scalars", (long long)c);
    EXPECT(strcmp(back.message, r.message) == 0, "cell %lld message '%s'", (long long)c, back.message);
    EXPECT(who == (int32_t)(c % size), "cell %lld rank %d", (long long)c, who);
    EXPECT(crc == ssw_store_cell_checksum(&back, 0x1f, who), "cell %lld checksum", (long long)c);
  }
  uint8_t damaged[36];
  int64_t ndamaged = -1;
  CHECK(ssw_store_verify(store, status, damaged, &ndamaged));
  EXPECT(ndamaged == 0, "%lld damaged cells in a clean file", (long long)ndamaged);
  CHECK(ssw_store_close(&store));
  MPI_Barrier(MPI_COMM_WORLD);

  /* reopen for writing (resume): canonical kept, a cell goes back to pending */
  CHECK(ssw_store_open(&store, path, MPI_COMM_WORLD));
  char diff[256];
  ssw_sweep_canonical_diff(ssw_store_canonical(store), spec.sweep_canonical, diff, sizeof diff);
  EXPECT(diff[0] == '\0', "diff '%s'", diff);
  ssw_sweep_canonical_diff(ssw_store_canonical(store), "name: store-test\ntrain:\n  lr: 0.25\n", diff, sizeof diff);
  EXPECT(strcmp(diff, "train.lr") == 0, "diff '%s'", diff);
  if (rank == 0) CHECK(ssw_store_write_status(store, 0, 0));
  CHECK(ssw_store_close(&store));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    CHECK(ssw_store_open_readonly(&store, path));
    CHECK(ssw_store_read_status(store, status));
    EXPECT(status[0] == 0 && status[1] == 2, "status after reset: %d %d", status[0], status[1]);
    CHECK(ssw_store_close(&store));
    printf("test_store: %d rank(s), 36 cells written and read back, checksums verified\n", size);
  }
  ssw_result_fini(&r);
  ssw_result_fini(&back);
  MPI_Finalize();
  return 0;
}
