/* The core's own result for one cell, for tests/cli/test_cli.py to hold `shallowsweep cell
 * --json` to: load the sweep, find the cell, ssw_cell_train, print the result as JSON.
 * usage: cell_core FILE AT [key=value]... (the extra arguments are --set overrides) */
#include <math.h>
#include <stdio.h>

#include "shallowsweep/error.h"
#include "shallowsweep/sweep.h"
#include "shallowsweep/train.h"

static void number(double v) {
  if (isfinite(v)) printf("%.17g", v);
  else printf("null");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: cell_core FILE AT [key=value]...\n");
    return 2;
  }
  ssw_sweep_t *sweep = NULL;
  int64_t index;
  ssw_params_t p;
  ssw_result_t r;
  if (ssw_sweep_load(&sweep, argv[1], (const char *const *)argv + 3, argc - 3) != SSW_OK ||
      ssw_grid_find(ssw_sweep_grid(sweep), argv[2], &index) != SSW_OK ||
      ssw_sweep_cell_params(sweep, index, &p) != SSW_OK || ssw_result_init(&r, p.record_points) != SSW_OK ||
      ssw_cell_train(&p, &r, NULL) != SSW_OK) {
    ssw_error_print(stderr, "cell_core: ");
    return 1;
  }
  printf("{\"index\": %lld, \"status\": %d, \"iters\": %lld, \"iters_to_tol\": %lld", (long long)index,
         r.status, (long long)r.iters, (long long)r.iters_to_tol);
  const struct { const char *name; double v; } s[] = {{"init_loss", r.init_loss}, {"final_loss", r.final_loss},
                                                      {"ntk_min", r.ntk_min}, {"ntk_max", r.ntk_max}};
  for (int i = 0; i < 4; i++) printf(", \"%s\": ", s[i].name), number(s[i].v);
  printf(", \"steps\": [");
  for (int64_t i = 0; i < r.k; i++) printf("%s%lld", i ? ", " : "", (long long)r.steps[i]);
  printf("], \"series\": {");
  for (int k = 0; k < SSW_SERIES_COUNT; k++) {
    printf("%s\"%s\": [", k ? ", " : "", ssw_series_names[k]);
    for (int64_t i = 0; i < r.k; i++) printf("%s", i ? ", " : ""), number(r.series[k][i]);
    printf("]");
  }
  printf("}}\n");
  ssw_result_fini(&r);
  ssw_sweep_destroy(&sweep);
  return 0;
}
