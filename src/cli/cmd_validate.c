/* shallowsweep validate FILE: parse, resolve and check every cell; print the axes. */
#include <string.h>

#include "cli.h"
#include "shallowsweep/error.h"
#include "shallowsweep/refine.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_validate = {
    .name = "validate",
    .run = run,
    .summary = "parse and check a sweep file; print its axes and cell count",
    .usage =
        "usage: shallowsweep validate FILE [--set key=value]... [--canonical]\n\n"
        "Parse the sweep file, apply the --set overrides, resolve defaults and expressions,\n"
        "check every key (and every cell, or the grid's corners when there are more than\n"
        "20000), then print the axes with their values and the number of cells.\n\n"
        "  --set key=value  override a key (repeatable; the last wins). A list or a range\n"
        "                   makes it an axis: --set width=[16,32], --set 'n={geom: [8, 512],\n"
        "                   num: 7}'; seeds=N sets the seed axis; a plain value removes an axis.\n"
        "  --canonical      print the canonical resolved sweep (every key, defaults filled in,\n"
        "                   YAML) instead; it is what the output file stores, and it parses\n"
        "                   back to itself.\n\n"
        "Errors are one line, 'FILE:LINE:COL: key 'name': what is wrong — what to do', exit 2.\n",
};

static void print_axes(const ssw_sweep_t *sweep, const char *path) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  printf("sweep '%s' (%s): %d axes, %lld cells\n", ssw_sweep_name(sweep), path, g->naxes,
         (long long)g->ncells);
  for (int a = 0; a < g->naxes; a++) {
    const ssw_axis_t *axis = &g->axes[a];
    printf("  %-16s %-6s %6lld  ", axis->name, axis->key->section, (long long)axis->count);
    int64_t shown = axis->count <= 12 ? axis->count : 10;
    for (int64_t i = 0; i < shown; i++) printf("%s%s", i ? ", " : "", axis->labels[i]);
    if (shown < axis->count) printf(", ..., %s", axis->labels[axis->count - 1]);
    printf("\n");
  }
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  int shown = 0;
  for (size_t k = 0; k < nkeys; k++) {
    const char *e = ssw_sweep_expression(sweep, keys[k].name);
    if (!e) continue;
    printf("%s%s = %s", shown++ ? ", " : "  expressions: ", keys[k].name, e);
  }
  if (shown) printf("\n");
  char adaptive[512];
  ssw_sweep_refine_describe(sweep, adaptive, sizeof adaptive);
  if (adaptive[0]) printf("  adaptive: %s\n", adaptive);
}

static int run(int argc, char **argv) {
  ssw_cli_sweep_args_t args = {0};
  bool canonical = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--canonical") == 0) canonical = true;
    else if (ssw_cli_sweep_arg(&ssw_command_validate, &args, argc, argv, &i) < 0) return SSW_EXIT_USAGE;
  }
  if (!args.path) return ssw_cli_usage_error(&ssw_command_validate, "no sweep file given");
  ssw_sweep_t *sweep = NULL;
  int code = ssw_cli_load(&args, &sweep);
  if (code != SSW_EXIT_OK) return code;
  if (canonical) fputs(ssw_sweep_canonical(sweep), stdout);
  else print_axes(sweep, args.path);
  if (!canonical) code = ssw_cli_edge_check(sweep, stdout);
  if (!canonical && code == SSW_EXIT_OK) printf("ok\n");
  ssw_sweep_destroy(&sweep);
  return code;
}
