/* shallowsweep plan FILE: what a sweep will cost before it runs. */
#include <math.h>
#include <string.h>

#include "cli.h"
#include "shallowsweep/error.h"
#include "shallowsweep/store.h"
#include "shallowsweep/train.h"

/* Sustained model GFLOP/s of one core (one rank, BLAS single-threaded): tests/bench/bench_core
 * measured 16-30 GFLOP/s for full-batch steps at width 64-1024, n 64-1024, dim 16 on a
 * 50 GFLOP/s-DGEMM core (README "Speed"); 20 is the middle of that range. */
#define SSW_PLAN_GFLOPS_PER_CORE 20.0
/* Plan sums every cell up to this many, else a deterministic evenly spaced sample. */
#define SSW_PLAN_MAX_EXACT 1000000

static int run(int argc, char **argv);

const ssw_command_t ssw_command_plan = {
    .name = "plan",
    .run = run,
    .summary = "estimate a sweep's cost: cells, core-hours, file size, memory per rank",
    .usage =
        "usage: shallowsweep plan FILE [--set key=value]...\n\n"
        "Print the number of cells, the estimated floating-point work (every cell running to\n"
        "max_iters: an upper bound), core-hours at the per-core speed the core benchmark\n"
        "measured (tests/bench), the output file's size and the memory one rank needs for the\n"
        "largest cell. --set key=value overrides a key as in 'shallowsweep validate'.\n",
};

static void human_bytes(double b, char *buf, size_t size) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, u++;
  snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

typedef struct {
  double total_flops, min_flops, max_flops, max_memory;
  int64_t max_memory_cell, sampled;
} plan_t;

static void survey(const ssw_sweep_t *sweep, plan_t *pl) {
  int64_t ncells = ssw_sweep_grid(sweep)->ncells;
  int64_t stride = ncells <= SSW_PLAN_MAX_EXACT ? 1 : ncells / SSW_PLAN_MAX_EXACT;
  *pl = (plan_t){.min_flops = INFINITY};
  for (int64_t i = 0; i < ncells; i += stride) {
    double f = ssw_sweep_cell_cost(sweep, i), mem = ssw_sweep_cell_memory(sweep, i);
    pl->total_flops += f;
    pl->min_flops = fmin(pl->min_flops, f);
    pl->max_flops = fmax(pl->max_flops, f);
    if (mem > pl->max_memory) pl->max_memory = mem, pl->max_memory_cell = i;
    pl->sampled++;
  }
  pl->total_flops *= (double)ncells / (double)pl->sampled;
}

static int run(int argc, char **argv) {
  ssw_cli_sweep_args_t args = {0};
  for (int i = 1; i < argc; i++)
    if (ssw_cli_sweep_arg(&ssw_command_plan, &args, argc, argv, &i) < 0) return SSW_EXIT_USAGE;
  if (!args.path) return ssw_cli_usage_error(&ssw_command_plan, "no sweep file given");
  ssw_sweep_t *sweep = NULL;
  int code = ssw_cli_load(&args, &sweep);
  if (code != SSW_EXIT_OK) return code;
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  plan_t pl;
  survey(sweep, &pl);
  int64_t k = ssw_sweep_record_points(sweep);
  double scalar_bytes = ssw_store_cell_bytes(0, 0), file_bytes = (double)g->ncells * ssw_store_cell_bytes(k, SSW_SERIES_COUNT);
  char fbuf[32], mbuf[32], cell[SSW_CELL_TEXT_MAX];
  human_bytes(file_bytes, fbuf, sizeof fbuf);
  human_bytes(pl.max_memory, mbuf, sizeof mbuf);
  printf("sweep        %s (%s)\n", ssw_sweep_name(sweep), args.path);
  printf("cells        %lld (", (long long)g->ncells);
  for (int a = 0; a < g->naxes; a++) printf("%s%s %lld", a ? " x " : "", g->axes[a].name, (long long)g->axes[a].count);
  printf(")\n");
  printf("work         %.3g flop-equivalents in all, %.3g .. %.3g per cell (every cell to max_iters: an "
         "upper bound)%s\n",
         pl.total_flops, pl.min_flops, pl.max_flops, pl.sampled < g->ncells ? " [sampled]" : "");
  printf("core-hours   %.3g at %.1f GFLOP/s per core (tests/bench); %.3g h wall on 64 workers\n",
         pl.total_flops / (SSW_PLAN_GFLOPS_PER_CORE * 1e9) / 3600.0, SSW_PLAN_GFLOPS_PER_CORE,
         pl.total_flops / (SSW_PLAN_GFLOPS_PER_CORE * 1e9) / 3600.0 / 64.0);
  printf("output file  %s (%lld cells x (%.0f B of scalars + %lld points x %d series x 8 B))\n", fbuf,
         (long long)g->ncells, scalar_bytes, (long long)k, SSW_SERIES_COUNT);
  ssw_grid_cell_text(g, pl.max_memory_cell, cell, sizeof cell);
  printf("memory/rank  %s (largest cell: %s)\n", mbuf, cell);
  code = ssw_cli_edge_check(sweep, stdout);
  ssw_sweep_destroy(&sweep);
  return code;
}
