/* The command line: one ssw_command_t per subcommand (src/cli/cmd_<name>.c), listed in
 * main.c's table, and the helpers they share (src/cli/common.c).
 *
 * Exit codes (DESIGN.md §1): 0 done; 75 stopped by a signal, resume to finish; 2 bad
 * command line or sweep file; 1 any other error. validate, plan and cell never touch MPI.
 */
#ifndef SHALLOWSWEEP_CLI_H
#define SHALLOWSWEEP_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "shallowsweep/error.h"
#include "shallowsweep/refine.h"
#include "shallowsweep/reuse.h"
#include "shallowsweep/store.h"
#include "shallowsweep/sweep.h"

enum { SSW_EXIT_OK = 0, SSW_EXIT_FAILED = 1, SSW_EXIT_USAGE = 2, SSW_EXIT_STOPPED = 75 };

typedef struct ssw_command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name; returns an exit code */
  const char *summary;               /* one line for `shallowsweep --help` */
  const char *usage;                 /* the full text of `shallowsweep NAME --help` */
} ssw_command_t;

enum { SSW_CLI_MAX_SETS = 256 };

/* The options every sweep-reading subcommand shares. */
typedef struct ssw_cli_sweep_args {
  const char *path;                      /* the sweep file (the one positional argument) */
  const char *sets[SSW_CLI_MAX_SETS];    /* --set key=value, in order */
  int nsets;
} ssw_cli_sweep_args_t;

/* Add a --set argument; false (with a message on stderr) when there are too many. */
bool ssw_cli_add_set(ssw_cli_sweep_args_t *args, const char *text);
/* Load and resolve the sweep; on failure print the message and return the exit code (2 for
 * a bad file), else 0. */
SSW_NODISCARD int ssw_cli_load(const ssw_cli_sweep_args_t *args, ssw_sweep_t **sweep);
/* The pre-run stability check (ssw_sweep_edge_check) unless the sweep says edge_check: off: a
 * line of its figures to info, a warning naming the worst cells on stderr, or (edge_check:
 * error) the one-line error. Returns the exit code (0 unless refused). */
SSW_NODISCARD int ssw_cli_edge_check(const ssw_sweep_t *sweep, FILE *info);
/* The exit code for a library return code. */
int ssw_cli_exit_code(int rc);
/* Print the current error: an input error as its one line, anything else with its trace. */
void ssw_cli_print_error(const char *command);
/* "shallowsweep CMD: what — run 'shallowsweep CMD --help'" and SSW_EXIT_USAGE. */
int ssw_cli_usage_error(const ssw_command_t *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help (before a "--"). */
bool ssw_cli_wants_help(int argc, char **argv);

/* JSON output: a string with escapes, and a double (NaN and infinities as null). */
void ssw_json_string(FILE *f, const char *s);
void ssw_json_number(FILE *f, double v);


/* Option parsing for argv[*i]: "--name VALUE" or "--name=VALUE". Returns 1 and sets *value
 * (advancing *i past a separate value), 0 if argv[*i] is another option, -1 after printing a
 * usage error (a missing value). */
SSW_NODISCARD int ssw_cli_option(const ssw_command_t *cmd, int argc, char **argv, int *i, const char *name,
                   const char **value);
/* The same for an option that may appear once: dest holds the value (NULL until given); a
 * second occurrence is a usage error (-1). */
SSW_NODISCARD int ssw_cli_option_once(const ssw_command_t *cmd, int argc, char **argv, int *i, const char *name,
                                      const char **dest);
/* The directory of an output path exists and is writable, else a usage error (exit 2) naming
 * option, path and cause. */
/* dir (size) = the directory part of path ("." if none, "/" for a file at the root). */
SSW_NODISCARD int ssw_cli_check_output_dir(const ssw_command_t *cmd, const char *option, const char *path);
/* The shared arguments: --set key=value, the sweep file; rejects unknown options. Returns 1 if
 * consumed, -1 after a usage error. Call it for whatever the command did not recognise. */
SSW_NODISCARD int ssw_cli_sweep_arg(const ssw_command_t *cmd, ssw_cli_sweep_args_t *args, int argc, char **argv, int *i);
/* ---- run on an adaptive sweep (run_adaptive.c) ---- */
/* The plan from the file's statuses (ncells): the cells to run now into pending (room for
 * ncells), *npending of them. With reuse (NULL: none), the cells the plan needs are copied from
 * the --reuse files into store first, each copy fed to the plan, until nothing more it needs can
 * be copied (status updated, *copied counts them): never a cell the sweep would skip. */
SSW_NODISCARD int ssw_run_adaptive_begin(const ssw_sweep_t *sweep, int8_t *status, ssw_store_t *store,
                                         ssw_reuse_t *reuse, ssw_refine_plan_t **plan, int64_t *pending,
                                         int64_t *npending, ssw_reuse_stats_t *copied);
/* The engine's `more` (engine.h) with the plan as ctx. */
SSW_NODISCARD int ssw_run_adaptive_more(void *ctx, int64_t cell, int status, ssw_cell_list_t *more);
/* Once the plan is complete: every cell neither needed nor done becomes skipped in the file
 * (*skipped of them); a plan stopped short writes nothing. Rank 0, after the engine. */
SSW_NODISCARD int ssw_run_adaptive_finish(ssw_store_t *store, const ssw_refine_plan_t *plan, int64_t *skipped);

#endif
