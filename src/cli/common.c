/* Helpers shared by the subcommands: --set collection, loading with one-line errors, exit
 * codes, JSON scalars. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "shallowsweep/error.h"

bool ssw_cli_add_set(ssw_cli_sweep_args_t *args, const char *text) {
  if (args->nsets == SSW_CLI_MAX_SETS) {
    fprintf(stderr, "shallowsweep: more than %d --set options — put them in the sweep file\n", SSW_CLI_MAX_SETS);
    return false;
  }
  args->sets[args->nsets++] = text;
  return true;
}

int ssw_cli_exit_code(int rc) {
  switch (rc) {
  case SSW_OK: return SSW_EXIT_OK;
  case SSW_ERR_INPUT: return SSW_EXIT_USAGE;
  case SSW_ERR_STOPPED: return SSW_EXIT_STOPPED;
  default: return SSW_EXIT_FAILED;
  }
}

void ssw_cli_print_error(const char *command) {
  if (ssw_error_code() == SSW_ERR_INPUT || ssw_error_code() == SSW_ERR_SYSTEM) {
    fprintf(stderr, "%s\n", ssw_error_message()); /* the user's mistake or the disk's: one line, no trace */
    return;
  }
  char prefix[64];
  snprintf(prefix, sizeof prefix, "shallowsweep %s: ", command);
  ssw_error_print(stderr, prefix);
}

int ssw_cli_load(const ssw_cli_sweep_args_t *args, ssw_sweep_t **sweep) {
  int rc = ssw_sweep_load(sweep, args->path, args->sets, args->nsets);
  if (rc == SSW_OK) return SSW_EXIT_OK;
  ssw_cli_print_error("load");
  return ssw_cli_exit_code(rc);
}

int ssw_cli_usage_error(const ssw_command_t *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "shallowsweep %s: ", cmd->name);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " — run 'shallowsweep %s --help'\n", cmd->name);
  return SSW_EXIT_USAGE;
}

bool ssw_cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) return false;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
  }
  return false;
}

void ssw_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c == '\n') fputs("\\n", f);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

void ssw_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.17g", v);
  else fputs("null", f);
}

int ssw_cli_option(const ssw_command_t *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value) {
  size_t len = strlen(name);
  const char *arg = argv[*i];
  if (strncmp(arg, name, len) != 0) return 0;
  if (arg[len] == '=') return *value = arg + len + 1, 1;
  if (arg[len] != '\0') return 0;
  if (*i + 1 >= argc) return ssw_cli_usage_error(cmd, "%s needs a value", name), -1;
  *value = argv[++*i];
  return 1;
}

int ssw_cli_option_once(const ssw_command_t *cmd, int argc, char **argv, int *i, const char *name,
                        const char **dest) {
  const char *prev = *dest;
  int found = ssw_cli_option(cmd, argc, argv, i, name, dest);
  if (found > 0 && prev)
    return ssw_cli_usage_error(cmd, "%s given twice ('%s' and '%s') — give it once", name, prev, *dest), -1;
  return found;
}

int ssw_cli_check_output_dir(const ssw_command_t *cmd, const char *option, const char *path) {
  char dir[4096];
  ssw_text_parent_dir(path, dir, sizeof dir);
  struct stat st;
  if (stat(dir, &st) != 0)
    return ssw_cli_usage_error(cmd, "%s %s: the directory %s does not exist — create it first", option, path, dir);
  if (!S_ISDIR(st.st_mode))
    return ssw_cli_usage_error(cmd, "%s %s: %s is not a directory", option, path, dir);
  if (access(dir, W_OK | X_OK) != 0)
    return ssw_cli_usage_error(cmd, "%s %s: the directory %s is not writable (%s) — choose another place", option,
                               path, dir, strerror(errno));
  return SSW_EXIT_OK;
}

int ssw_cli_sweep_arg(const ssw_command_t *cmd, ssw_cli_sweep_args_t *args, int argc, char **argv, int *i) {
  const char *value;
  int found = ssw_cli_option(cmd, argc, argv, i, "--set", &value);
  if (found < 0) return -1;
  if (found) return ssw_cli_add_set(args, value) ? 1 : -1;
  const char *arg = argv[*i];
  if (arg[0] == '-' && arg[1] != '\0') return ssw_cli_usage_error(cmd, "unknown option '%s'", arg), -1;
  if (args->path) return ssw_cli_usage_error(cmd, "more than one sweep file ('%s' and '%s')", args->path, arg), -1;
  args->path = arg;
  return 1;
}

int ssw_cli_edge_check(const ssw_sweep_t *sweep, FILE *info) {
  if (ssw_sweep_base(sweep)->edge_check == SSW_EDGE_CHECK_OFF) return SSW_EXIT_OK;
  ssw_edge_report_t rep;
  int rc = ssw_sweep_edge_check(sweep, &rep);
  if (rc != SSW_OK) {
    ssw_cli_print_error("edge check");
    return ssw_cli_exit_code(rc);
  }
  fprintf(info, "stability    edge ratio at init at most %.3g over %d sampled cells (grid corners, seed 0; "
          "above 1 the step is beyond the stability edge)\n", rep.max_ratio, rep.sampled);
  if (rep.beyond == 0) return SSW_EXIT_OK;
  fprintf(stderr, "shallowsweep: warning: the step is beyond the stability edge at initialization in %d of %d "
          "sampled cells, and a cell there that does not converge will be diagnosed unstable — lower lr or "
          "rate_ratio (edge_check: error refuses such a sweep):\n", rep.beyond, rep.sampled);
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  for (int i = 0; i < rep.shown; i++) {
    char text[SSW_CELL_TEXT_MAX];
    ssw_grid_cell_text(g, rep.cells[i], text, sizeof text);
    fprintf(stderr, "  %s: edge ratio %.3g\n", text, rep.ratios[i]);
  }
  return SSW_EXIT_OK;
}
