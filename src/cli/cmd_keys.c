/* shallowsweep keys [SECTION|KEY] [--outputs]: every key of the sweep file from the one key
 * table (params.c) with its section, type, default, range or choices and meaning; with
 * --outputs, what the HDF5 file holds (store.h's table of series and scalars). */
#include <string.h>

#include "cli.h"
#include "shallowsweep/params.h"
#include "shallowsweep/store.h"
#include "shallowsweep/sweep.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_keys = {
    .name = "keys",
    .run = run,
    .summary = "every sweep-file key (type, default, range, meaning); --outputs: the file's series",
    .usage =
        "usage: shallowsweep keys [SECTION | KEY] [--outputs]\n\n"
        "List every key a sweep file may set, by section (model, data, init, train, and the\n"
        "grid's seed): its type, default, range or choices, and what it means. A SECTION\n"
        "lists that section's keys; a KEY shows that key alone. Any key may also be a grid\n"
        "axis (a list or a range under grid:) or an expression of other keys.\n\n"
        "  --outputs   list what the output file holds instead: the /traj series (one value\n"
        "              per record point) and the /cell scalars (one per cell), with their\n"
        "              types and definitions (the same text as the datasets' description)\n\n"
        "Exit: 0; 2 an unknown section or key (the nearest valid names are given).\n",
};

/* The type column: what a value looks like. */
static const char *type_name(const ssw_param_key_t *k) {
  switch (k->type) {
  case SSW_KEY_INT: return "int";
  case SSW_KEY_REAL: return "real";
  case SSW_KEY_BOOL: return "bool";
  case SSW_KEY_ENUM: return "choice";
  case SSW_KEY_GROUPS: return "groups";
  case SSW_KEY_REAL_LIST: return "reals";
  }
  return "?";
}

/* The values a key accepts, as one text. */
static void accepted(const ssw_param_key_t *k, char *buf, size_t size) {
  switch (k->type) {
  case SSW_KEY_INT:
  case SSW_KEY_REAL:
    ssw_params_range_text(k, buf, size);
    return;
  case SSW_KEY_BOOL: snprintf(buf, size, "true | false"); return;
  case SSW_KEY_GROUPS: snprintf(buf, size, "a list of inner, bias, outer"); return;
  case SSW_KEY_REAL_LIST: snprintf(buf, size, "a list of reals"); return;
  case SSW_KEY_ENUM: break;
  }
  buf[0] = '\0';
  for (int c = 0; k->choices[c]; c++) {
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s", c ? " | " : "", k->choices[c]);
  }
}

static void print_key(const ssw_param_key_t *k) {
  char range[512];
  accepted(k, range, sizeof range);
  printf("  %-20s %-6s %-16s %s\n", k->name, type_name(k), k->default_text, k->help);
  printf("  %-20s %-6s %-16s %s%s\n", "", "", "", "accepts ", range);
}

static int print_outputs(void) {
  ssw_store_output_t out[SSW_STORE_OUTPUTS_MAX];
  int n = ssw_store_outputs(out, SSW_STORE_OUTPUTS_MAX);
  const char *group = "";
  for (int i = 0; i < n; i++) {
    if (strcmp(group, out[i].group) != 0) {
      group = out[i].group;
      printf(strcmp(group, "traj") == 0 ? "/traj/<series>: one value per record point (/traj/step), NaN after a stop\n"
                                        : "/cell/<scalar>: one value per cell, shaped by the grid's axes\n");
    }
    printf("  %-22s %-8s %s\n", out[i].name, out[i].type, out[i].description);
  }
  printf("Series test_loss and edge_ratio exist only when test_n > 0 or record_sharpness is set.\n");
  return SSW_EXIT_OK;
}

/* Every key, or those of one section, or one key. */
static int print_keys(const char *what) {
  size_t nkeys;
  const ssw_param_key_t *keys = ssw_params_keys(&nkeys);
  const char *section = "";
  int shown = 0;
  for (size_t i = 0; i < nkeys; i++) {
    const ssw_param_key_t *k = &keys[i];
    if (what && strcmp(what, k->name) != 0 && strcmp(what, k->section) != 0) continue;
    if (strcmp(section, k->section) != 0) {
      section = k->section;
      printf("%s%s:\n", shown ? "\n" : "", section);
      printf("  %-20s %-6s %-16s %s\n", "KEY", "TYPE", "DEFAULT", "MEANING");
    }
    print_key(k);
    shown++;
  }
  if (shown && !what)
    printf("\nA sweep file's top level: name, description, the sections above, and grid: (any key as an\n"
           "axis: a list, {geom: [lo, hi], num: N} or {lin: ...}; seeds: N is the seed axis 0..N-1).\n"
           "Examples: sweeps/*.yaml; a key's value may be an expression of others (lr: 0.1*width).\n");
  if (shown) return SSW_EXIT_OK;
  const char *near = ssw_sweep_nearest_name(what);
  return ssw_cli_usage_error(&ssw_command_keys, "no section or key '%s'%s%s%s", what, near ? " — did you mean '" : "",
                             near ? near : "", near ? "'?" : " (sections: model, data, init, train, grid)");
}

static int run(int argc, char **argv) {
  const char *what = NULL;
  bool outputs = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--outputs") == 0) outputs = true;
    else if (argv[i][0] == '-') return ssw_cli_usage_error(&ssw_command_keys, "unknown option '%s'", argv[i]);
    else if (what) return ssw_cli_usage_error(&ssw_command_keys, "more than one section or key");
    else what = argv[i];
  }
  if (outputs && what) return ssw_cli_usage_error(&ssw_command_keys, "--outputs takes no section or key");
  return outputs ? print_outputs() : print_keys(what);
}
