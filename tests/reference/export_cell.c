/* export_cell: train one cell with the C core and print, as one JSON document on stdout,
 * everything the independent numpy model (reference_model.py) needs to replay the cell:
 * the resolved parameters, the data, the initial weights, the randomness of the batches,
 * and the C core's result.
 *
 *   usage: export_cell key=value ...      (any ssw_params key; defaults for the rest)
 *
 * Dimension letters: n samples of the loss set, d inputs, m hidden units, k record points,
 * B batch size, E epochs used by minibatch SGD, T = max_iters steps.
 * Doubles are printed as %.17g (they read back exactly); NaN and +-Infinity as the tokens
 * Python's json module accepts (NaN, Infinity, -Infinity).
 *
 * Exit status: 0 ok, 2 bad parameters, 1 any other failure (the error trace on stderr).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/data.h"
#include "shallowsweep/error.h"
#include "shallowsweep/model.h"
#include "shallowsweep/params.h"
#include "shallowsweep/train.h"

/* ---- JSON output ---------------------------------------------------------------- */

static void put_double(FILE *f, double v) {
  if (isnan(v)) fputs("NaN", f);
  else if (isinf(v)) fputs(v > 0 ? "Infinity" : "-Infinity", f);
  else fprintf(f, "%.17g", v);
}

static void put_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

/* v (count) as a JSON list. */
static void put_vector(FILE *f, const double *v, int64_t count) {
  fputc('[', f);
  for (int64_t i = 0; i < count; i++) {
    if (i) fputc(',', f);
    put_double(f, v[i]);
  }
  fputc(']', f);
}

static void put_ints(FILE *f, const int64_t *v, int64_t count) {
  fputc('[', f);
  for (int64_t i = 0; i < count; i++) fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
  fputc(']', f);
}

/* A (rows, cols) row-major as a list of rows. */
static void put_matrix(FILE *f, const double *A, int64_t rows, int64_t cols) {
  fputc('[', f);
  for (int64_t i = 0; i < rows; i++) {
    if (i) fputc(',', f);
    put_vector(f, A + i * cols, cols);
  }
  fputc(']', f);
}

static void put_key(FILE *f, const char *name) {
  fputs(",\n", f);
  put_string(f, name);
  fputc(':', f);
}

/* ---- the parts of the document ------------------------------------------------------ */

static void put_params(FILE *f, const ssw_params_t *p) {
  size_t count;
  const ssw_param_key_t *keys = ssw_params_keys(&count);
  char buf[2048];
  fputs("\"params\":{", f);
  for (size_t i = 0; i < count; i++) {
    if (i) fputc(',', f);
    put_string(f, keys[i].name);
    fputc(':', f);
    put_string(f, ssw_params_format(p, &keys[i], buf, sizeof buf));
  }
  fputc('}', f);
}

/* The permutation of every minibatch epoch that steps 0..T-1 may use: E = ceil(T / nb)
 * epochs of nb = ceil(n / B) batches. */
static int put_minibatch_perms(FILE *f, const ssw_trainer_t *t) {
  const ssw_params_t *p = &t->p;
  int64_t nb = (p->n + p->batch_size - 1) / p->batch_size;
  int64_t epochs = (p->max_iters + nb - 1) / nb;
  int64_t *perm; /* (n) */
  SSW_ALLOC(perm, p->n);
  put_key(f, "perms");
  fputc('[', f);
  for (int64_t e = 0; e < epochs; e++) {
    ssw_batch_permutation((uint64_t)p->seed, e, p->n, perm);
    if (e) fputs(",\n", f);
    put_ints(f, perm, p->n);
  }
  fputc(']', f);
  free(perm);
  return SSW_OK;
}

/* Step t's online batch, t = 0..T-1: samples t*B .. t*B + B-1 of the ONLINE set. */
static int put_online_batches(FILE *f, const ssw_trainer_t *t) {
  const ssw_params_t *p = &t->p;
  int64_t B = p->batch_size, d = p->dim;
  double *Xb, *yb; /* (B, d), (B) */
  SSW_ALLOC(Xb, B * d);
  SSW_ALLOC(yb, B);
  int rc = SSW_OK;
  for (int pass = 0; pass < 2 && rc == SSW_OK; pass++) {
    put_key(f, pass == 0 ? "online_X" : "online_y");
    fputc('[', f);
    for (int64_t s = 0; s < p->max_iters; s++) {
      rc = ssw_source_draw(&t->src, SSW_SET_ONLINE, (uint64_t)(s * B), B, Xb, yb);
      if (rc != SSW_OK) break;
      if (s) fputs(",\n", f);
      if (pass == 0) put_matrix(f, Xb, B, d);
      else put_vector(f, yb, B);
    }
    fputc(']', f);
  }
  free(Xb);
  free(yb);
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  return SSW_OK;
}

static void put_result(FILE *f, const ssw_result_t *r) {
  put_key(f, "result");
  fputc('{', f);
  for (int s = 0; s < SSW_SERIES_COUNT; s++) {
    put_string(f, ssw_series_names[s]);
    fputc(':', f);
    put_vector(f, r->series[s], r->k);
    fputs(",\n", f);
  }
  fprintf(f, "\"status\":%d,\"iters\":%" PRId64 ",\"iters_to_tol\":%" PRId64, (int)r->status, r->iters,
          r->iters_to_tol);
  const char *names[] = {"init_loss", "final_loss", "ntk_min", "ntk_max", "max_rise", "edge_ratio_init",
                         "edge_ratio_final", "loss_ratio"};
  const double values[] = {r->init_loss, r->final_loss, r->ntk_min, r->ntk_max, r->max_rise, r->edge_ratio_init,
                           r->edge_ratio_final, r->loss_ratio};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    fprintf(f, ",\"%s\":", names[i]);
    put_double(f, values[i]);
  }
  fprintf(f, ",\"loss_rises\":%" PRId64 ",\"diagnosis\":%d,\"final_series\":{", r->loss_rises, (int)r->diagnosis);
  for (int s = 0; s < SSW_SERIES_COUNT; s++) {
    fprintf(f, "%s\"%s\":", s ? "," : "", ssw_series_names[s]);
    put_double(f, r->final_series[s]);
  }
  fputc('}', f);
  fputs(",\"message\":", f);
  put_string(f, r->message);
  fputc('}', f);
}

/* The whole document for a trained cell. */
static int put_document(FILE *f, const ssw_trainer_t *t, const ssw_result_t *r) {
  const ssw_params_t *p = &t->p;
  const ssw_model_t *M = &t->M;
  int64_t m = M->m, d = M->d;
  fputc('{', f);
  put_params(f, p);
  put_key(f, "groups");
  fprintf(f, "%u", t->groups);
  put_key(f, "n_loss");
  fprintf(f, "%" PRId64, t->n_loss);
  put_key(f, "X");
  put_matrix(f, t->X, t->n_loss, d);
  put_key(f, "y");
  put_vector(f, t->y, t->n_loss);
  put_key(f, "X_test");
  put_matrix(f, t->X_test, p->test_n, d);
  put_key(f, "y_test");
  put_vector(f, t->y_test, p->test_n);
  put_key(f, "W0");
  put_matrix(f, t->theta0 + ssw_theta_W(M), m, d);
  put_key(f, "b0");
  put_vector(f, t->theta0 + ssw_theta_b(M), m);
  put_key(f, "a0");
  put_vector(f, t->theta0 + ssw_theta_a(M), m);
  put_key(f, "steps");
  put_ints(f, r->steps, r->k);
  if (p->online) SSW_TRY(put_online_batches(f, t));
  else if (p->batch_size > 0) SSW_TRY(put_minibatch_perms(f, t));
  put_result(f, r);
  fputs("}\n", f);
  return SSW_OK;
}

/* ---- main: parse -> resolve -> check -> train -> print ------------------------------ */

static int parse_args(int argc, char **argv, ssw_params_t *p) {
  ssw_params_init(p);
  for (int i = 1; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    SSW_REQUIRE(eq, SSW_ERR_INPUT, "argument '%s' is not key=value — e.g. width=8", argv[i]);
    *eq = '\0';
    SSW_TRY(ssw_params_set(p, argv[i], eq + 1));
  }
  ssw_params_resolve(p);
  SSW_TRY(ssw_params_check(p));
  return SSW_OK;
}

static int export_cell(const ssw_params_t *p) {
  ssw_trainer_t t;
  ssw_result_t r;
  memset(&t, 0, sizeof t);
  memset(&r, 0, sizeof r);
  int rc = ssw_trainer_init(&t, p);
  if (rc == SSW_OK) rc = ssw_result_init(&r, p->record_points);
  if (rc == SSW_OK) rc = ssw_trainer_run(&t, &r, NULL);
  if (rc == SSW_OK) rc = put_document(stdout, &t, &r);
  ssw_result_fini(&r);
  ssw_trainer_fini(&t);
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  return fflush(stdout) == 0 ? SSW_OK : SSW_ERROR(SSW_ERR_IO, "could not write the JSON to stdout");
}

int main(int argc, char **argv) {
  ssw_params_t p;
  int rc = parse_args(argc, argv, &p);
  if (rc == SSW_OK) rc = export_cell(&p);
  if (rc != SSW_OK) {
    ssw_error_print(stderr, "export_cell");
    return rc == SSW_ERR_INPUT ? 2 : 1;
  }
  return 0;
}
