/* shallowsweep cell FILE --at width=256,n=64,seed=0: train one cell here, without MPI, and
 * print its verdict (--json: every scalar and series; --dump: the data and initial weights
 * too, in HDF5, so that the cell can be re-checked in Python). */
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "shallowsweep/check.h"
#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/store.h"
#include "shallowsweep/train.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_cell = {
    .name = "cell",
    .run = run,
    .summary = "train one cell here (no MPI) and print its verdict, scalars and series",
    .usage =
        "usage: shallowsweep cell FILE --at AXIS=VALUE,... [--json] [--dump OUT.h5 [--force]]\n"
        "                         [--set key=value]...\n\n"
        "Train the cell of the sweep named by --at (every axis with more than one value, e.g.\n"
        "--at width=256,n=64,seed=0; values as 'validate' prints them) in this process and\n"
        "print its verdict and scalars. The numbers are those 'run' stores for the cell: a\n"
        "cell's data and weights depend only on its parameters and seed.\n\n"
        "  --at SPEC        the cell (may be omitted when every axis has one value)\n"
        "  --json           print one JSON object: the sweep, the cell's index and coordinates,\n"
        "                   its resolved parameters, every scalar the file stores (status,\n"
        "                   init_loss, final_loss, iters, ..., loss_rises, max_rise,\n"
        "                   edge_ratio_init, edge_ratio_final, diagnosis, message) and every\n"
        "                   series at the recorded steps (non-finite values as null)\n"
        "  --dump OUT.h5    also write X, y (and X_test, y_test), the initial W0 (m, d), b0 (m),\n"
        "                   a0 (m), the final W (m, d), b (m), a (m), the recorded steps and /series/<name>, scalars as\n"
        "                   attributes of /result and parameters as attributes of /params;\n"
        "                   an existing OUT.h5 is refused unless --force (which replaces a\n"
        "                   regular file, never a directory or a symlink)\n"
        "  --set key=value  override a key as in 'shallowsweep validate'\n\n"
        "Exit status 0 whatever the verdict (converged, max_iters, diverged); 2 for a bad\n"
        "file or --at; 1 if training failed.\n",
};

/* ---- output ---- */

static void print_json_coords(const ssw_grid_t *g, int64_t index) {
  int64_t c[SSW_MAX_AXES];
  ssw_grid_coords(g, index, c);
  for (int a = 0; a < g->naxes; a++) {
    const ssw_axis_t *axis = &g->axes[a];
    printf("%s", a ? ", " : "");
    ssw_json_string(stdout, axis->name);
    printf(": ");
    if (axis->key->type == SSW_KEY_ENUM || axis->key->type == SSW_KEY_BOOL) ssw_json_string(stdout, axis->labels[c[a]]);
    else ssw_json_number(stdout, axis->values[c[a]]);
  }
}

static void print_human(const ssw_sweep_t *sweep, int64_t index, const ssw_result_t *r) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  char cell[SSW_CELL_TEXT_MAX];
  ssw_grid_cell_text(g, index, cell, sizeof cell);
  printf("cell %lld of %lld: %s\n", (long long)index, (long long)g->ncells, cell);
  printf("verdict       %s after %lld steps%s%s%s\n", ssw_status_name(r->status), (long long)r->iters,
         r->diagnosis ? " (" : "", r->diagnosis ? ssw_diagnosis_names[r->diagnosis] : "", r->diagnosis ? ")" : "");
  printf("edge ratio    %.4g at init, %.4g at the end (above 1: the step is beyond the stability edge)\n",
         r->edge_ratio_init, r->edge_ratio_final);
  printf("loss rises    %lld (largest %.3g relative)\n", (long long)r->loss_rises, r->max_rise);
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
  print_json_coords(ssw_sweep_grid(sweep), index);
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
  const char *names[SSW_STORE_SCALARS_MAX];
  double values[SSW_STORE_SCALARS_MAX];
  int count = ssw_store_result_scalars(r, names, values);
  for (int i = 0; i < count; i++) { /* every numeric scalar the file stores, in its order */
    printf(", \"%s\": ", names[i]);
    ssw_json_number(stdout, values[i]);
  }
  printf(", \"diagnosis_name\": ");
  ssw_json_string(stdout, ssw_diagnosis_names[r->diagnosis]);
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

/* ---- the command ---- */

typedef struct {
  ssw_cli_sweep_args_t sweep;
  const char *at, *dump;
  bool json, force; /* force: --dump may replace an existing regular file */
} cell_args_t;

static int parse(int argc, char **argv, cell_args_t *a) {
  const ssw_command_t *cmd = &ssw_command_cell;
  for (int i = 1; i < argc; i++) {
    int found;
    if (strcmp(argv[i], "--json") == 0) a->json = true;
    else if (strcmp(argv[i], "--force") == 0) a->force = true;
    else if ((found = ssw_cli_option_once(cmd, argc, argv, &i, "--at", &a->at)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if ((found = ssw_cli_option_once(cmd, argc, argv, &i, "--dump", &a->dump)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if (ssw_cli_sweep_arg(cmd, &a->sweep, argc, argv, &i) < 0) {
      return SSW_EXIT_USAGE;
    }
  }
  if (!a->sweep.path) return ssw_cli_usage_error(cmd, "no sweep file given");
  struct stat st;
  if (a->dump && ssw_cli_check_output_dir(cmd, "--dump", a->dump) != SSW_EXIT_OK) return SSW_EXIT_USAGE;
  if (a->dump && lstat(a->dump, &st) == 0) { /* never replace what the user may need */
    if (!S_ISREG(st.st_mode))
      return ssw_cli_usage_error(cmd, "--dump %s: the path exists and is not a regular file — give a new file name",
                                 a->dump);
    if (!a->force)
      return ssw_cli_usage_error(cmd, "--dump %s: the file exists — give a new name, or add --force to replace it",
                                 a->dump);
  }
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
  if (rc == SSW_OK && a->dump) rc = ssw_check_setup_hdf5();
  if (rc == SSW_OK && a->dump) rc = ssw_store_dump_cell(a->dump, ssw_sweep_canonical(sweep), index, &t, &r);
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
