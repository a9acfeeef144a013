/* shallowsweep status OUT.h5: what a run has done so far — counts by status overall and per
 * axis value, the pending and failed cells, and (--verify) which done cells fail their
 * checksum. Read-only and lock-free: it works on a file a running job is writing, because
 * the file's metadata never changes after creation (HDF5 file locking is off for this open;
 * on NFS/Lustre readers elsewhere should set HDF5_USE_FILE_LOCKING=FALSE too). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shallowsweep/check.h"
#include "shallowsweep/error.h"
#include "shallowsweep/store.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_status = {
    .name = "status",
    .run = run,
    .summary = "counts by status, overall and per axis value, of a sweep's HDF5 file",
    .usage =
        "usage: shallowsweep status OUT.h5 [--json] [--verify] [--list N]\n\n"
        "Count the cells of OUT.h5 by status (pending, converged, max_iters, diverged,\n"
        "failed) and the max_iters cells by diagnosis (unstable: the loss rose or the step is\n"
        "beyond the stability edge; slow: still converging; plateau: a stall), overall and for\n"
        "every value of every axis; list pending and failed cells.\n"
        "Safe on a file that a job is writing: the file is opened read-only, without locks.\n\n"
        "  --json      one JSON object: file, sweep, ncells, record_points, counts, per-axis\n"
        "              counts, every pending cell index, failed cells with messages, verify\n"
        "  --verify    recompute every done cell's checksum; damaged cells are listed (and\n"
        "              'run --resume' runs them again); check the frozen metadata (axis\n"
        "              values and labels, recorded steps, sweep) against its checksum\n"
        "  --list N    list at most N pending and N failed cells (default 10)\n\n"
        "Exit: 0; 1 if --verify found damaged cells or edited metadata, or the file cannot\n"
        "be read; 2 bad usage.\n",
};

/* Counts per status, then per diagnosis (of max_iters cells): index SSW_STATUS_COUNT + d. */
enum { COUNTS = SSW_STATUS_COUNT + SSW_DIAG_COUNT };

typedef struct {
  ssw_store_t *store;
  const ssw_grid_t *grid;
  int64_t n;
  int8_t *status;     /* (n) */
  int8_t *diagnosis;  /* (n): 0 (none) throughout in a format-1 file */
  uint8_t *damaged;   /* (n) with --verify, else NULL */
  int64_t ndamaged;
  int frozen;         /* with --verify: 1 the frozen metadata matches its checksum, 0 none stored, -1 differs */
  int64_t total[COUNTS];
  int64_t *per_axis[SSW_MAX_AXES]; /* (count_a, COUNTS) */
} summary_t;

static int summarize(summary_t *s, bool verify) {
  s->grid = ssw_store_grid(s->store);
  s->n = ssw_store_ncells(s->store);
  SSW_ALLOC(s->status, s->n);
  SSW_TRY(ssw_store_read_status(s->store, s->status));
  SSW_ALLOC(s->diagnosis, s->n);
  SSW_TRY(ssw_store_read_diagnosis(s->store, s->diagnosis));
  for (int a = 0; a < s->grid->naxes; a++) SSW_ALLOC(s->per_axis[a], s->grid->axes[a].count * COUNTS);
  int64_t coords[SSW_MAX_AXES];
  for (int64_t c = 0; c < s->n; c++) {
    int st = s->status[c] >= 0 && s->status[c] < SSW_STATUS_COUNT ? s->status[c] : SSW_STATUS_FAILED;
    int dg = s->diagnosis[c] > 0 && s->diagnosis[c] < SSW_DIAG_COUNT ? SSW_STATUS_COUNT + s->diagnosis[c] : -1;
    s->total[st]++;
    if (dg >= 0) s->total[dg]++;
    ssw_grid_coords(s->grid, c, coords);
    for (int a = 0; a < s->grid->naxes; a++) {
      s->per_axis[a][coords[a] * COUNTS + st]++;
      if (dg >= 0) s->per_axis[a][coords[a] * COUNTS + dg]++;
    }
  }
  if (verify) {
    SSW_ALLOC(s->damaged, s->n);
    SSW_TRY(ssw_store_verify(s->store, s->status, s->damaged, &s->ndamaged));
    SSW_TRY(ssw_store_check_frozen(s->store, &s->frozen));
  }
  return SSW_OK;
}

static int failed_message(summary_t *s, int64_t index, char *msg, size_t size) {
  ssw_result_t r;
  SSW_TRY(ssw_result_init(&r, ssw_store_k(s->store)));
  int rc = ssw_store_read_cell(s->store, index, &r, NULL, NULL);
  snprintf(msg, size, "%s", rc == SSW_OK ? r.message : "(unreadable)");
  ssw_result_fini(&r);
  return rc;
}

static void print_counts(const int64_t *k) {
  for (int st = 1; st < SSW_STATUS_COUNT; st++) {
    if (st == SSW_STATUS_SKIPPED && k[st] == 0) continue; /* a dense sweep has none */
    printf("  %s %lld", ssw_status_name(st), (long long)k[st]);
    if (st == SSW_STATUS_MAX_ITERS && k[st] > 0) { /* why they did not converge */
      char text[128];
      ssw_diagnosis_counts_text(k + SSW_STATUS_COUNT, text, sizeof text);
      fputs(text, stdout);
    }
  }
  printf("  %s %lld", ssw_status_name(SSW_STATUS_PENDING), (long long)k[SSW_STATUS_PENDING]);
}

static int print_human(summary_t *s, const char *path, int list) {
  int64_t done = s->n - s->total[SSW_STATUS_PENDING] - s->total[SSW_STATUS_SKIPPED];
  int64_t wanted = s->n - s->total[SSW_STATUS_SKIPPED]; /* an adaptive sweep's computed cells */
  printf("%s: sweep '%s', %d axes, %lld cells, %lld record points\n", path, ssw_store_name(s->store), s->grid->naxes,
         (long long)s->n, (long long)ssw_store_k(s->store));
  printf("done %lld/%lld (%.1f%%)%s:", (long long)done, (long long)wanted,
         wanted ? 100.0 * (double)done / (double)wanted : 100.0, s->total[SSW_STATUS_SKIPPED] ? " of the cells not skipped" : "");
  print_counts(s->total);
  printf("\n");
  for (int a = 0; a < s->grid->naxes; a++) {
    const ssw_axis_t *ax = &s->grid->axes[a];
    if (ax->count < 2) continue;
    printf("by %s:\n", ax->name);
    for (int64_t v = 0; v < ax->count; v++) {
      printf("  %-12s", ax->labels[v]);
      print_counts(&s->per_axis[a][v * COUNTS]);
      printf("\n");
    }
  }
  char name[SSW_CELL_TEXT_MAX], msg[SSW_MESSAGE_MAX];
  for (int pass = 0; pass < 2; pass++) {
    int8_t want = pass == 0 ? SSW_STATUS_PENDING : SSW_STATUS_FAILED;
    int64_t count = s->total[want], shown = 0;
    if (!count) continue;
    printf("%s (%lld%s):\n", ssw_status_name(want), (long long)count, count > list ? ", first shown" : "");
    for (int64_t c = 0; c < s->n && shown < list; c++) {
      if (s->status[c] != want) continue;
      ssw_grid_cell_text(s->grid, c, name, sizeof name);
      if (pass == 1) SSW_TRY(failed_message(s, c, msg, sizeof msg));
      printf("  cell %lld (%s)%s%s\n", (long long)c, name, pass == 1 ? ": " : "", pass == 1 ? msg : "");
      shown++;
    }
  }
  if (s->damaged) {
    printf("verify: %s\n", s->frozen > 0 ? "frozen metadata matches its checksum"
                          : s->frozen == 0 ? "frozen metadata has no checksum (file written before 2026-12-05)"
                                           : "frozen metadata (axis values or labels, recorded steps, canonical sweep) "
                                             "does NOT match its checksum: the file was edited or damaged, its cells "
                                             "may be mislabelled");
    printf("verify: %lld done cells checked, %lld damaged%s\n", (long long)done, (long long)s->ndamaged,
           s->ndamaged ? " (run --resume to train them again):" : "");
    for (int64_t c = 0; c < s->n; c++)
      if (s->damaged[c]) {
        ssw_grid_cell_text(s->grid, c, name, sizeof name);
        printf("  cell %lld (%s)\n", (long long)c, name);
      }
  }
  return SSW_OK;
}

static void json_counts(const int64_t *k) {
  printf("{");
  for (int st = 0; st < SSW_STATUS_COUNT; st++) printf("%s\"%s\": %lld", st ? ", " : "", ssw_status_name(st), (long long)k[st]);
  printf("}");
}

/* The max_iters cells by diagnosis. */
static void json_diagnosis(const int64_t *k) {
  printf("{");
  for (int d = 1; d < SSW_DIAG_COUNT; d++)
    printf("%s\"%s\": %lld", d > 1 ? ", " : "", ssw_diagnosis_names[d], (long long)k[SSW_STATUS_COUNT + d]);
  printf("}");
}

static int print_json(summary_t *s, const char *path) {
  printf("{\"file\": ");
  ssw_json_string(stdout, path);
  printf(", \"sweep\": ");
  ssw_json_string(stdout, ssw_store_name(s->store));
  printf(", \"ncells\": %lld, \"record_points\": %lld, \"done\": %lld,\n \"counts\": ", (long long)s->n,
         (long long)ssw_store_k(s->store),
         (long long)(s->n - s->total[SSW_STATUS_PENDING] - s->total[SSW_STATUS_SKIPPED]));
  json_counts(s->total);
  printf(",\n \"diagnosis\": ");
  json_diagnosis(s->total);
  printf(",\n \"axes\": [");
  for (int a = 0; a < s->grid->naxes; a++) {
    const ssw_axis_t *ax = &s->grid->axes[a];
    printf("%s\n  {\"name\": ", a ? "," : "");
    ssw_json_string(stdout, ax->name);
    printf(", \"values\": [");
    for (int64_t v = 0; v < ax->count; v++) {
      printf("%s", v ? ", " : "");
      ssw_json_string(stdout, ax->labels[v]);
    }
    printf("], \"counts\": [");
    for (int64_t v = 0; v < ax->count; v++) {
      printf("%s", v ? ", " : "");
      json_counts(&s->per_axis[a][v * COUNTS]);
    }
    printf("], \"diagnosis\": [");
    for (int64_t v = 0; v < ax->count; v++) {
      printf("%s", v ? ", " : "");
      json_diagnosis(&s->per_axis[a][v * COUNTS]);
    }
    printf("]}");
  }
  printf("],\n \"pending\": [");
  for (int64_t c = 0, k = 0; c < s->n; c++)
    if (s->status[c] == SSW_STATUS_PENDING) printf("%s%lld", k++ ? ", " : "", (long long)c);
  printf("],\n \"failed\": [");
  char msg[SSW_MESSAGE_MAX];
  for (int64_t c = 0, k = 0; c < s->n; c++) {
    if (s->status[c] != SSW_STATUS_FAILED) continue;
    SSW_TRY(failed_message(s, c, msg, sizeof msg));
    printf("%s{\"index\": %lld, \"message\": ", k++ ? ", " : "", (long long)c);
    ssw_json_string(stdout, msg);
    printf("}");
  }
  printf("],\n \"verify\": ");
  if (!s->damaged) {
    printf("null}\n");
    return SSW_OK;
  }
  printf("{\"frozen_metadata\": \"%s\", \"checked\": %lld, \"damaged\": [",
         s->frozen > 0 ? "ok" : s->frozen == 0 ? "absent" : "mismatch", (long long)(s->n - s->total[SSW_STATUS_PENDING] - s->total[SSW_STATUS_SKIPPED]));
  for (int64_t c = 0, k = 0; c < s->n; c++)
    if (s->damaged[c]) printf("%s%lld", k++ ? ", " : "", (long long)c);
  printf("]}}\n");
  return SSW_OK;
}

static int summary_free(summary_t *s) {
  free(s->status);
  free(s->damaged);
  free(s->diagnosis);
  for (int a = 0; a < SSW_MAX_AXES; a++) free(s->per_axis[a]);
  return ssw_store_close(&s->store);
}

static int run(int argc, char **argv) {
  const char *path = NULL, *v;
  bool json = false, verify = false;
  int list = 10;
  for (int i = 1; i < argc; i++) {
    int found = ssw_cli_option(&ssw_command_status, argc, argv, &i, "--list", &v);
    if (found < 0) return SSW_EXIT_USAGE;
    if (found) {
      char *end;
      long n = strtol(v, &end, 10);
      if (end == v || *end || n < 0 || n > INT32_MAX)
        return ssw_cli_usage_error(&ssw_command_status, "--list takes a whole number >= 0 (got '%s')", v);
      list = (int)n;
    }
    else if (strcmp(argv[i], "--json") == 0) json = true;
    else if (strcmp(argv[i], "--verify") == 0) verify = true;
    else if (argv[i][0] == '-') return ssw_cli_usage_error(&ssw_command_status, "unknown option '%s'", argv[i]);
    else if (path) return ssw_cli_usage_error(&ssw_command_status, "more than one file");
    else path = argv[i];
  }
  if (!path) return ssw_cli_usage_error(&ssw_command_status, "no file given");
  summary_t s = {0};
  int rc = ssw_check_setup_hdf5(); /* errors come back as codes with HDF5's text */
  if (rc == SSW_OK) rc = ssw_store_open_readonly(&s.store, path);
  if (rc == SSW_OK) rc = summarize(&s, verify);
  if (rc == SSW_OK) rc = json ? print_json(&s, path) : print_human(&s, path, list);
  if (rc != SSW_OK) ssw_cli_print_error("status"); /* before closing, which may set an error of its own */
  int closed = summary_free(&s);
  if (rc == SSW_OK && closed != SSW_OK) ssw_cli_print_error("status");
  if (rc == SSW_OK) rc = closed;
  if (rc != SSW_OK) return ssw_cli_exit_code(rc);
  return s.ndamaged || s.frozen < 0 ? SSW_EXIT_FAILED : SSW_EXIT_OK;
}
