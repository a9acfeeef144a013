/* shallowsweep: parse the subcommand, hand it the rest of the command line.
 * Subcommands that train under MPI (run) initialise MPI themselves; validate, plan and
 * cell never do, so they run anywhere without mpirun. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "shallowsweep/simd.h"
#include "ssw_config.h"

/* The subcommands, in --help order. Adding one: an X(name) line here, a file cmd_<name>.c
 * defining `const ssw_command_t ssw_command_<name>`, and that file in src/cli/meson.build. */
#define SSW_COMMANDS(X) \
  X(validate)           \
  X(plan)               \
  X(cell)               \
  X(run)                \
  X(status)             \
  X(keys)               \
  /* add X(name) lines above this one */

#define DECLARE(name) extern const ssw_command_t ssw_command_##name;
SSW_COMMANDS(DECLARE)
#define ENTRY(name) &ssw_command_##name,
static const ssw_command_t *const commands[] = {SSW_COMMANDS(ENTRY) NULL};

static void print_help(FILE *f) {
  fprintf(f, "usage: shallowsweep COMMAND [OPTIONS] ...\n\n"
             "Phase diagrams of gradient descent on shallow networks: sweep a grid of\n"
             "hyperparameters (a YAML sweep file), train every cell, keep the results in HDF5.\n\n"
             "commands:\n");
  for (int i = 0; commands[i]; i++) fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(f, "\noptions:\n"
             "  -h, --help     this help; 'shallowsweep COMMAND --help' for a command's options\n"
             "  --version      print the version\n\n"
             "exit codes: 0 done; 75 stopped by a signal (resume to finish); 2 bad command line\n"
             "or sweep file; 1 any other error. Sweep files: see sweeps/quickstart.yaml.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return SSW_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
    print_help(stdout);
    return SSW_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("shallowsweep %s (activation kernels: %s)\n", SSW_VERSION, ssw_simd_path());
    return SSW_EXIT_OK;
  }
  if (ssw_simd_check_env() != SSW_OK) { /* a bad SSW_SIMD is refused before any work */
    fprintf(stderr, "shallowsweep: %s\n", ssw_error_message());
    return SSW_EXIT_USAGE;
  }
  for (int i = 0; commands[i]; i++) {
    if (strcmp(commands[i]->name, name) != 0) continue;
    if (ssw_cli_wants_help(argc - 1, argv + 1)) {
      fputs(commands[i]->usage, stdout);
      return SSW_EXIT_OK;
    }
    return commands[i]->run(argc - 1, argv + 1);
  }
  fprintf(stderr, "shallowsweep: unknown command '%s' — run 'shallowsweep --help' for the list\n", name);
  return SSW_EXIT_USAGE;
}
