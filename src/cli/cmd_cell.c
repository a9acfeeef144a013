/* shallowsweep cell FILE --at width=256,n=64,seed=0: train one cell here, without MPI, and
 * print its verdict (--json: every scalar and series; --dump: the data and initial weights
 * too, in HDF5, so that the cell can be re-checked in Python). */
#include <hdf5.h>
#include <string.h>

#include "cli.h"
#include "shallowsweep/model.h"
#include "shallowsweep/error.h"
#include "shallowsweep/train.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_cell = {
    .name = "cell",
    .run = run,
    .summary = "train one cell here (no MPI) and print its verdict, scalars and series",
    .usage =
        "usage: shallowsweep cell FILE --at AXIS=VALUE,... [--json] [--dump OUT.h5]\n"
        "                         [--set key=value]...\n\n"
        "Train the cell of the sweep named by --at (every axis with more than one value, e.g.\n"
        "--at width=256,n=64,seed=0; values as 'validate' prints them) in this process and\n"
        "print its verdict and scalars. The numbers are those 'run' stores for the cell: a\n"
        "cell's data and weights depend only on its parameters and seed.\n\n"
        "  --at SPEC        the cell (may be omitted when every axis has one value)\n"
        "  --json           print one JSON object: the sweep, the cell's index and coordinates,\n"
        "                   its resolved parameters, every scalar (status, init_loss,\n"
        "                   final_loss, iters, iters_to_tol, wall_s, gflops, ntk_min,\n"
        "                   ntk_max, message) and every series at the recorded steps\n"
        "                   (non-finite values as null)\n"
        "  --dump OUT.h5    also write X, y (and X_test, y_test), the initial W0 (m, d), b0 (m),\n"
        "                   a0 (m), the recorded steps and /series/<name>, scalars as\n"
        "                   attributes of /result and parameters as attributes of /params\n"
        "  --set key=value  override a key as in 'shallowsweep validate'\n\n"
        "Exit status 0 whatever the verdict (converged, max_iters, diverged); 2 for a bad\n"
        "file or --at; 1 if training failed.\n",
};

/* ---- output ---- */

static void print_coords(const ssw_grid_t *g, int64_t index, bool json) {
  int64_t c[SSW_MAX_AXES];
  ssw_grid_coords(g, index, c);
  for (int a = 0; a < g->naxes; a++) {
    const ssw_axis_t *axis = &g->axes[a];
    if (!json) {
      printf("%s%s=%s", a ? ", " : "", axis->name, axis->labels[c[a]]);
      continue;
    }
    printf("%s", a ? ", " : "");
    ssw_json_string(stdout, axis->name);
    printf(": ");
    if (axis->key->type == SSW_KEY_ENUM || axis->key->type == SSW_KEY_BOOL) ssw_json_string(stdout, axis->labels[c[a]]);
    else ssw_json_number(stdout, axis->values[c[a]]);
  }
}

static void print_human(const ssw_sweep_t *sweep, int64_t index, const ssw_result_t *r) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  printf("cell %lld of %lld: ", (long long)index, (long long)g->ncells);
  print_coords(g, index, false);
  printf("\nverdict       %s after %lld steps\n", ssw_status_name(r->status), (long long)r->iters);
  printf("init_loss     %.6g\nfinal_loss    %.6g\niters_to_tol  %lld\n", r->init_loss, r->final_loss,
         (long long)r->iters_to_tol);
  printf("wall_s        %.3f\ngflops        %.3g\n", r->wall_s, r->gflops);
  if (r->ntk_min == r->ntk_min) printf("ntk_min       %.6g\nntk_max       %.6g\n", r->ntk_min, r->ntk_max);
  if (r->message[0]) printf("message       %s\n", r->message);
}

static void print_json(const ssw_sweep_t *sweep, int64_t index, const ssw_params_t *p, const ssw_result_t *r) {
  printf("{\"sweep\": ");
  ssw_json_string(stdout, ssw_sweep_name(sweep));
  printf(", \"index\": %lld, \"coords\": {", (long long)index);
  print_coords(ssw_sweep_grid(sweep), index, true);
  printf("},\n \"params\": {");
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  for (size_t k = 0; k < nkeys; k++) {
    char buf[2048];
    printf("%s", k ? ", " : "");
    ssw_json_string(stdout, keys[k].name);
    printf(": ");
    ssw_json_string(stdout, ssw_params_format(p, &keys[k], buf, sizeof buf));
  }
  printf("},\n \"status\": %d, \"status_name\": ", r->status);
  ssw_json_string(stdout, ssw_status_name(r->status));
  const struct { const char *name; double v; } scalars[] = {
      {"init_loss", r->init_loss}, {"final_loss", r->final_loss}, {"iters", (double)r->iters},
      {"iters_to_tol", (double)r->iters_to_tol}, {"wall_s", r->wall_s}, {"gflops", r->gflops},
      {"ntk_min", r->ntk_min}, {"ntk_max", r->ntk_max}};
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
    printf(", \"%s\": ", scalars[i].name);
    ssw_json_number(stdout, scalars[i].v);
  }
  printf(", \"message\": ");
  ssw_json_string(stdout, r->message);
  printf(",\n \"steps\": [");
  for (int64_t i = 0; i < r->k; i++) printf("%s%lld", i ? ", " : "", (long long)r->steps[i]);
  printf("],\n \"series\": {");
  for (int s = 0; s < SSW_SERIES_COUNT; s++) {
    printf("%s\n  \"%s\": [", s ? "," : "", ssw_series_names[s]);
    for (int64_t i = 0; i < r->k; i++) {
      printf("%s", i ? ", " : "");
      ssw_json_number(stdout, r->series[s][i]);
    }
    printf("]");
  }
  printf("}}\n");
}

/* ---- --dump: plain serial HDF5 (the default file driver needs no MPI) ---- */

#define H5_CHECK(call, what)                                                               \
  do {                                                                                     \
    if ((call) < 0) {                                                                      \
      H5Eprint2(H5E_DEFAULT, stderr);                                                      \
      return SSW_ERROR(SSW_ERR_IO, "HDF5: %s failed in %s — check the path and free space", \
                       what, path);                                                        \
    }                                                                                      \
  } while (0)

static int write_array(hid_t loc, const char *path, const char *name, hid_t type, int rank,
                       const int64_t *dims, const void *data) {
  hsize_t hd[2] = {(hsize_t)dims[0], rank > 1 ? (hsize_t)dims[1] : 1};
  hid_t space = H5Screate_simple(rank, hd, NULL);
  H5_CHECK(space, "H5Screate_simple");
  hid_t ds = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ds < 0) H5Sclose(space);
  H5_CHECK(ds, name);
  herr_t w = dims[0] > 0 ? H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0;
  herr_t c1 = H5Dclose(ds), c2 = H5Sclose(space);
  H5_CHECK(w, name);
  H5_CHECK(c1 < 0 || c2 < 0 ? -1 : 0, "closing a dataset");
  return SSW_OK;
}

static int write_attr_number(hid_t loc, const char *path, const char *name, double v) {
  hid_t space = H5Screate(H5S_SCALAR);
  H5_CHECK(space, "H5Screate");
  hid_t at = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);
  if (at < 0) H5Sclose(space);
  H5_CHECK(at, name);
  herr_t w = H5Awrite(at, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(at);
  H5Sclose(space);
  H5_CHECK(w, name);
  return SSW_OK;
}

static int write_attr_text(hid_t loc, const char *path, const char *name, const char *text) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5_CHECK(type, "H5Tcopy");
  H5Tset_size(type, strlen(text) + 1);
  H5Tset_cset(type, H5T_CSET_UTF8);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t at = space < 0 ? -1 : H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t w = at < 0 ? -1 : H5Awrite(at, type, text);
  if (at >= 0) H5Aclose(at);
  if (space >= 0) H5Sclose(space);
  H5Tclose(type);
  H5_CHECK(w, name);
  return SSW_OK;
}

static int dump_data(hid_t f, const char *path, const ssw_trainer_t *t) {
  const ssw_model_t *M = &t->M;
  int64_t d = t->p.dim, m = M->m;
  SSW_TRY(write_array(f, path, "X", H5T_NATIVE_DOUBLE, 2, (int64_t[]){t->n_loss, d}, t->X));
  SSW_TRY(write_array(f, path, "y", H5T_NATIVE_DOUBLE, 1, (int64_t[]){t->n_loss}, t->y));
  if (t->p.test_n > 0) {
    SSW_TRY(write_array(f, path, "X_test", H5T_NATIVE_DOUBLE, 2, (int64_t[]){t->p.test_n, d}, t->X_test));
    SSW_TRY(write_array(f, path, "y_test", H5T_NATIVE_DOUBLE, 1, (int64_t[]){t->p.test_n}, t->y_test));
  }
  SSW_TRY(write_array(f, path, "W0", H5T_NATIVE_DOUBLE, 2, (int64_t[]){m, d}, t->theta0 + ssw_theta_W(M)));
  SSW_TRY(write_array(f, path, "b0", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta0 + ssw_theta_b(M)));
  SSW_TRY(write_array(f, path, "a0", H5T_NATIVE_DOUBLE, 1, (int64_t[]){m}, t->theta0 + ssw_theta_a(M)));
  return SSW_OK;
}

static int dump_result(hid_t f, const char *path, const ssw_result_t *r) {
  SSW_TRY(write_array(f, path, "steps", H5T_NATIVE_INT64, 1, (int64_t[]){r->k}, r->steps));
  hid_t g = H5Gcreate2(f, "series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK(g, "creating /series");
  int rc = SSW_OK;
  for (int s = 0; s < SSW_SERIES_COUNT && rc == SSW_OK; s++)
    rc = write_array(g, path, ssw_series_names[s], H5T_NATIVE_DOUBLE, 1, (int64_t[]){r->k}, r->series[s]);
  H5Gclose(g);
  SSW_TRY(rc);
  g = H5Gcreate2(f, "result", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK(g, "creating /result");
  const struct { const char *name; double v; } scalars[] = {
      {"status", r->status}, {"init_loss", r->init_loss}, {"final_loss", r->final_loss},
      {"iters", (double)r->iters}, {"iters_to_tol", (double)r->iters_to_tol}, {"wall_s", r->wall_s},
      {"gflops", r->gflops}, {"ntk_min", r->ntk_min}, {"ntk_max", r->ntk_max}};
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0] && rc == SSW_OK; i++)
    rc = write_attr_number(g, path, scalars[i].name, scalars[i].v);
  if (rc == SSW_OK) rc = write_attr_text(g, path, "message", r->message);
  H5Gclose(g);
  return rc;
}

static int dump_params(hid_t f, const char *path, const ssw_sweep_t *sweep, int64_t index, const ssw_params_t *p) {
  SSW_TRY(write_attr_text(f, path, "sweep_canonical", ssw_sweep_canonical(sweep)));
  SSW_TRY(write_attr_number(f, path, "cell_index", (double)index));
  hid_t g = H5Gcreate2(f, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK(g, "creating /params");
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  int rc = SSW_OK;
  for (size_t k = 0; k < nkeys && rc == SSW_OK; k++) {
    char buf[2048];
    if (keys[k].type == SSW_KEY_INT || keys[k].type == SSW_KEY_REAL)
      rc = write_attr_number(g, path, keys[k].name, ssw_params_get_number(p, &keys[k]));
    else
      rc = write_attr_text(g, path, keys[k].name, ssw_params_format(p, &keys[k], buf, sizeof buf));
  }
  H5Gclose(g);
  return rc;
}

static int dump(const char *path, const ssw_sweep_t *sweep, int64_t index, const ssw_trainer_t *t,
                const ssw_result_t *r) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK(f, "creating the file");
  int rc = dump_data(f, path, t);
  if (rc == SSW_OK) rc = dump_result(f, path, r);
  if (rc == SSW_OK) rc = dump_params(f, path, sweep, index, &t->p);
  herr_t c = H5Fclose(f);
  SSW_TRY(rc);
  H5_CHECK(c, "closing the file");
  return SSW_OK;
}

/* ---- the command ---- */

typedef struct {
  ssw_cli_sweep_args_t sweep;
  const char *at, *dump;
  bool json;
} cell_args_t;

static int parse(int argc, char **argv, cell_args_t *a) {
  const ssw_command_t *cmd = &ssw_command_cell;
  for (int i = 1; i < argc; i++) {
    int found;
    if (strcmp(argv[i], "--json") == 0) a->json = true;
    else if ((found = ssw_cli_option(cmd, argc, argv, &i, "--at", &a->at)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if ((found = ssw_cli_option(cmd, argc, argv, &i, "--dump", &a->dump)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if (ssw_cli_sweep_arg(cmd, &a->sweep, argc, argv, &i) < 0) {
      return SSW_EXIT_USAGE;
    }
  }
  if (!a->sweep.path) return ssw_cli_usage_error(cmd, "no sweep file given");
  return SSW_EXIT_OK;
}

/* Train cell `index` with one trainer, so that the dump holds exactly what was trained. */
static int train_cell(const ssw_sweep_t *sweep, int64_t index, const cell_args_t *a) {
  ssw_params_t p;
  SSW_TRY(ssw_sweep_cell_params(sweep, index, &p));
  ssw_result_t r;
  SSW_TRY(ssw_result_init(&r, p.record_points));
  ssw_trainer_t t;
  int rc = ssw_trainer_init(&t, &p);
  if (rc == SSW_OK) rc = ssw_trainer_run(&t, &r, NULL);
  if (rc == SSW_OK) {
    if (a->json) print_json(sweep, index, &t.p, &r);
    else print_human(sweep, index, &r);
  }
  if (rc == SSW_OK && a->dump) rc = dump(a->dump, sweep, index, &t, &r);
  ssw_trainer_fini(&t);
  ssw_result_fini(&r);
  SSW_TRY(rc);
  return SSW_OK;
}

static int run(int argc, char **argv) {
  cell_args_t a = {0};
  int code = parse(argc, argv, &a);
  if (code != SSW_EXIT_OK) return code;
  ssw_sweep_t *sweep = NULL;
  if ((code = ssw_cli_load(&a.sweep, &sweep)) != SSW_EXIT_OK) return code;
  ssw_blas_single_thread(); /* as every rank of run does: the same numbers, bit for bit */
  int64_t index = 0;
  int rc = ssw_grid_find(ssw_sweep_grid(sweep), a.at ? a.at : "", &index);
  if (rc != SSW_OK) {
    fprintf(stderr, "shallowsweep cell: %s\n", ssw_error_message());
  } else if ((rc = train_cell(sweep, index, &a)) != SSW_OK) {
    ssw_cli_print_error("cell");
  }
  ssw_sweep_destroy(&sweep);
  return ssw_cli_exit_code(rc);
}
