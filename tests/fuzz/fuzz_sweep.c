/* libFuzzer target over the sweep parser (YAML -> resolved sweep) and the expression parser.
 * An input starting with '=' is an expression (the rest); anything else is a sweep file.
 * Beyond "no crash, leak or hang", it checks two properties and aborts when they fail:
 *   - an expression's canonical text parses back to the same canonical text;
 *   - a sweep's canonical text loads again to the same canonical text.
 * Built only with meson -Dfuzzing=true (clang); run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/expr.h"
#include "shallowsweep/sweep.h"

enum { MAX_ROUND_TRIP = 1 << 16 }; /* skip the sweep round trip above this canonical size */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup(void *ctx, const char *name, double *v) {
  (void)ctx;
  *v = (double)strlen(name) + 0.5;
  return SSW_OK;
}

static void fuzz_expression(const char *text) {
  ssw_expr_t *e = NULL, *again = NULL;
  int col;
  if (ssw_expr_parse(&e, text, &col) != SSW_OK) {
    if (col < 0 || (size_t)col > strlen(text)) abort(); /* the column points into the text */
    return;
  }
  double v;
  if (ssw_expr_eval(e, lookup, NULL, &v) != SSW_OK) abort();
  char a[4 * SSW_EXPR_MAX_LEN], b[4 * SSW_EXPR_MAX_LEN];
  ssw_expr_format(e, a, sizeof a);
  if (strlen(a) < SSW_EXPR_MAX_LEN) {
    if (ssw_expr_parse(&again, a, NULL) != SSW_OK) {
      fprintf(stderr, "canonical expression '%s' of '%s' does not parse: %s\n", a, text, ssw_error_message());
      abort();
    }
    ssw_expr_format(again, b, sizeof b);
    if (strcmp(a, b) != 0) {
      fprintf(stderr, "canonical expression '%s' prints back as '%s'\n", a, b);
      abort();
    }
  }
  ssw_expr_destroy(&again);
  ssw_expr_destroy(&e);
}

static void fuzz_sweep(const char *text, size_t len) {
  static const char *const sets[] = {"seeds=2"};
  ssw_sweep_t *s = NULL, *again = NULL;
  if (ssw_sweep_load_text(&s, "fuzz.yaml", text, len, sets, (int)(len % 2)) != SSW_OK) return;
  const ssw_grid_t *g = ssw_sweep_grid(s);
  ssw_params_t p;
  int64_t last = g->ncells - 1, index = -1;
  (void)ssw_sweep_cell_params(s, last, &p); /* may fail (an expression out of range): no crash */
  (void)ssw_sweep_cell_cost(s, 0);
  (void)ssw_grid_find(g, "seed=0", &index);
  const char *c = ssw_sweep_canonical(s);
  size_t clen = strlen(c);
  if (clen < MAX_ROUND_TRIP) {
    if (ssw_sweep_load_text(&again, "canonical.yaml", c, clen, NULL, 0) != SSW_OK) {
      fprintf(stderr, "canonical sweep does not load: %s\n%s\n", ssw_error_message(), c);
      abort();
    }
    if (strcmp(c, ssw_sweep_canonical(again)) != 0) {
      fprintf(stderr, "canonical sweep changes on reload:\n%s\n---\n%s\n", c, ssw_sweep_canonical(again));
      abort();
    }
  }
  ssw_sweep_destroy(&again);
  ssw_sweep_destroy(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if (size > 0 && text[0] == '=') fuzz_expression(text + 1);
  else fuzz_sweep(text, size);
  ssw_error_clear();
  free(text);
  return 0;
}
