/* shallowsweep plan FILE: what a sweep will cost before it runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "shallowsweep/error.h"
#include "shallowsweep/estimate.h"
#include "shallowsweep/reuse.h"
#include "shallowsweep/text.h"
#include "shallowsweep/store.h"
#include "shallowsweep/train.h"

/* Plan sums every cell up to this many, else a deterministic evenly spaced sample. */
#define SSW_PLAN_MAX_EXACT 1000000
/* Seconds plan spends timing cells by default (--measure-seconds). */
#define SSW_PLAN_MEASURE_S 5.0

static int run(int argc, char **argv);

const ssw_command_t ssw_command_plan = {
    .name = "plan",
    .run = run,
    .summary = "estimate a sweep's cost on this machine: cells, core-hours, wall time, file size, memory",
    .usage =
        "usage: shallowsweep plan FILE [--workers N] [--no-measure] [--measure-seconds S] [--json]\n"
        "                         [--reuse OLD.h5]... [--set key=value]...\n\n"
        "Print the number of cells, the output file's size, the memory one rank needs for the\n"
        "largest cell, and what the sweep costs: plan times a sample of the sweep's own cells\n"
        "for a few steps on this machine (the costliest per step of each activation, then a\n"
        "spread of the rest; about 5 s), fits the cost model to them, and prints the expected\n"
        "core-hours and the wall time on N training ranks, with an interval from the nearest\n"
        "timed cells. Both assume every cell runs to max_iters: cells that converge or diverge\n"
        "stop earlier, so a run takes at most about this long.\n\n"
        "  --workers N          training ranks to plan the wall time for (mpirun -n N+1);\n"
        "                       default: $SLURM_NTASKS - 1 inside a SLURM job, else the\n"
        "                       number of cores here\n"
        "  --no-measure         no timing: the instant estimate from the cost model's prior\n"
        "                       speed (20 GFLOP/s per core), labelled as such\n"
        "  --measure-seconds S  time cells for about S seconds (default 5)\n"
        "  --json               one JSON object on stdout with the same figures\n"
        "  --reuse OLD.h5       as 'shallowsweep run --reuse': count the finished cells of OLD.h5\n"
        "                       that the run will copy instead of training; the cost, wall time\n"
        "                       and memory count only the cells left to train (repeatable)\n"
        "  --set key=value      override a key as in 'shallowsweep validate'\n",
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
  /* seconds, every cell to max_iters: summed (core), on the workers (wall); lo, mid, hi */
  double core_s[3], wall_s[3];
  double gflops_min, gflops_max; /* the timed cells' steps, flop-equivalents per second */
} plan_t;

static int64_t plan_stride(int64_t ncells) { return ncells <= SSW_PLAN_MAX_EXACT ? 1 : ncells / SSW_PLAN_MAX_EXACT; }

/* The cells to train: every cell (todo->cells NULL), or those --reuse does not fill. */
typedef struct {
  int64_t n;      /* how many */
  int64_t *cells; /* (n) their indices, or NULL: 0..n-1 */
} todo_t;

static int64_t todo_cell(const todo_t *t, int64_t j) { return t->cells ? t->cells[j] : j; }

/* The place of cell c in todo (its cells are increasing). */
static int64_t todo_place(const todo_t *t, int64_t c) {
  int64_t lo = 0, hi = t->n - 1;
  while (t->cells && lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (t->cells[mid] < c) lo = mid + 1;
    else hi = mid;
  }
  return t->cells ? lo : c;
}

static void survey(const ssw_sweep_t *sweep, const todo_t *todo, plan_t *pl) {
  int64_t ncells = todo->n, stride = plan_stride(ncells);
  *pl = (plan_t){.min_flops = INFINITY};
  for (int64_t j = 0; j < ncells; j += stride) {
    int64_t i = todo_cell(todo, j);
    double f = ssw_sweep_cell_cost(sweep, i), mem = ssw_sweep_cell_memory(sweep, i);
    pl->total_flops += f;
    pl->min_flops = fmin(pl->min_flops, f);
    pl->max_flops = fmax(pl->max_flops, f);
    if (mem > pl->max_memory) pl->max_memory = mem, pl->max_memory_cell = i;
    pl->sampled++;
  }
  if (pl->sampled) pl->total_flops *= (double)ncells / (double)pl->sampled;
  else pl->min_flops = 0;
}

/* Core and wall seconds of the sweep from the calibration (the prior alone when cal->n is 0):
 * each cell predicted, the hand-out simulated on `workers` ranks in rank 0's order. */
static int predict(const ssw_sweep_t *sweep, const ssw_calibration_t *cal, const todo_t *todo, int workers, plan_t *pl) {
  int64_t ncells = todo->n, stride = plan_stride(ncells), m = 0;
  ssw_queued_t *order; /* (m) sampled cells: mid seconds, in rank 0's hand-out order */
  double *bounds;      /* (ncells / stride + 1, 2) lo, hi seconds of cell j * stride */
  double *secs[3];     /* (m) lo, mid, hi seconds in hand-out order */
  SSW_ALLOC(order, ncells / stride + 1);
  SSW_ALLOC(bounds, 2 * (ncells / stride + 1));
  for (int64_t j = 0; j < ncells; j += stride, m++) {
    ssw_cell_seconds(sweep, cal, todo_cell(todo, j), &order[m].cost, &bounds[2 * m], &bounds[2 * m + 1]);
    order[m].index = todo_cell(todo, j);
  }
  ssw_handout_order(order, m);
  for (int b = 0; b < 3; b++) SSW_ALLOC(secs[b], m);
  for (int64_t j = 0; j < m; j++) {
    int64_t sample = todo_place(todo, order[j].index) / stride;
    secs[0][j] = bounds[2 * sample];
    secs[1][j] = order[j].cost;
    secs[2][j] = bounds[2 * sample + 1];
  }
  free(bounds);
  for (int b = 0; b < 3; b++) {
    double core = 0;
    for (int64_t j = 0; j < m; j++) core += secs[b][j];
    pl->core_s[b] = core * (double)stride;
    /* a sampled sweep: its cells spread evenly, no cell shorter than the longest sampled */
    pl->wall_s[b] = stride == 1 ? ssw_makespan(secs[b], m, NULL, workers)
                                : fmax(pl->core_s[b] / workers, m ? secs[b][0] : 0);
    free(secs[b]);
  }
  free(order);
  pl->gflops_min = INFINITY, pl->gflops_max = 0;
  for (int i = 0; i < cal->n; i++) {
    double g = 1e-9 / cal->s[i].step_s_per_cost;
    pl->gflops_min = fmin(pl->gflops_min, g);
    pl->gflops_max = fmax(pl->gflops_max, g);
  }
  return SSW_OK;
}

/* Training ranks to plan for: SLURM's tasks less rank 0 inside a job, else the cores. */
static int default_workers(void) {
  const char *t = getenv("SLURM_NTASKS");
  long n = t ? strtol(t, NULL, 10) : 0;
  if (n > 1) return (int)(n - 1);
  if (n == 1) return 1;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? (int)cores : 1;
}

typedef struct {
  ssw_cli_sweep_args_t sweep;
  int workers;
  bool measure, json;
  double measure_s;
  const char *reuse[SSW_REUSE_FILES_MAX]; /* --reuse, in order */
  int nreuse;
} plan_args_t;

static int parse(int argc, char **argv, plan_args_t *a) {
  const char *workers = NULL, *seconds = NULL, *reuse = NULL; /* given once each (but --reuse) */
  for (int i = 1; i < argc; i++) {
    int found;
    if ((found = ssw_cli_option_once(&ssw_command_plan, argc, argv, &i, "--workers", &workers)) != 0 ||
        (found = ssw_cli_option_once(&ssw_command_plan, argc, argv, &i, "--measure-seconds", &seconds)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if ((found = ssw_cli_option(&ssw_command_plan, argc, argv, &i, "--reuse", &reuse)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
      if (a->nreuse == SSW_REUSE_FILES_MAX)
        return ssw_cli_usage_error(&ssw_command_plan, "--reuse given more than %d times", SSW_REUSE_FILES_MAX);
      a->reuse[a->nreuse++] = reuse;
    } else if (strcmp(argv[i], "--no-measure") == 0) {
      a->measure = false;
    } else if (strcmp(argv[i], "--json") == 0) {
      a->json = true;
    } else if (ssw_cli_sweep_arg(&ssw_command_plan, &a->sweep, argc, argv, &i) < 0) {
      return SSW_EXIT_USAGE;
    }
  }
  char *end;
  if (workers) {
    long n = strtol(workers, &end, 10);
    if (end == workers || *end || n < 1 || n > 10000000)
      return ssw_cli_usage_error(&ssw_command_plan, "--workers %s: give an integer from 1 to 10000000", workers);
    a->workers = (int)n;
  }
  if (seconds) {
    a->measure_s = strtod(seconds, &end);
    if (end == seconds || *end || !(a->measure_s >= 0 && a->measure_s <= 86400))
      return ssw_cli_usage_error(&ssw_command_plan, "--measure-seconds %s: give seconds from 0 to 86400", seconds);
  }
  if (!a->sweep.path) return ssw_cli_usage_error(&ssw_command_plan, "no sweep file given");
  return SSW_EXIT_OK;
}

static void print_json(const ssw_sweep_t *sweep, const plan_args_t *a, const plan_t *pl, const ssw_calibration_t *cal,
                       double file_bytes, int64_t reused) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  printf("{\"sweep\": ");
  ssw_json_string(stdout, ssw_sweep_name(sweep));
  printf(", \"cells\": %lld, \"axes\": {", (long long)g->ncells);
  for (int i = 0; i < g->naxes; i++) {
    printf("%s", i ? ", " : "");
    ssw_json_string(stdout, g->axes[i].name);
    printf(": %lld", (long long)g->axes[i].count);
  }
  printf("}, \"reused\": %lld, \"flops\": %.6g, \"measured\": %s, \"samples\": %d, \"measure_seconds\": %.3g, ",
         (long long)reused, pl->total_flops, a->measure ? "true" : "false", cal->n, cal->spent_s);
  printf("\"workers\": %d, \"core_hours\": %.6g, \"core_hours_interval\": [%.6g, %.6g], ", a->workers,
         pl->core_s[1] / 3600, pl->core_s[0] / 3600, pl->core_s[2] / 3600);
  printf("\"wall_seconds\": %.6g, \"wall_seconds_interval\": [%.6g, %.6g], ", pl->wall_s[1], pl->wall_s[0],
         pl->wall_s[2]);
  printf("\"adaptive\": %s, \"min_cells\": %lld, ", ssw_sweep_is_adaptive(sweep) ? "true" : "false",
         (long long)(ssw_sweep_is_adaptive(sweep) ? ssw_sweep_refine_min_cells(sweep) : g->ncells));
  printf("\"assumes\": \"every cell runs to max_iters\", \"file_bytes\": %.0f, \"memory_per_rank_bytes\": %.0f}\n",
         file_bytes, pl->max_memory);
}

static void print_cost(const plan_args_t *a, const plan_t *pl, const ssw_calibration_t *cal) {
  char w[3][32];
  for (int b = 0; b < 3; b++) ssw_text_hms(pl->wall_s[b], w[b], sizeof w[b]);
  if (a->measure)
    printf("measured     %d cells timed here in %.1f s; their steps ran at %.3g .. %.3g GFLOP/s-equivalent\n", cal->n,
           cal->spent_s, pl->gflops_min, pl->gflops_max);
  const char *basis = a->measure ? "" : " at the prior 20 GFLOP/s per core, not measured (--no-measure): a rough guess";
  printf("core-hours   %.3g (%.3g .. %.3g)%s\n", pl->core_s[1] / 3600, pl->core_s[0] / 3600, pl->core_s[2] / 3600, basis);
  printf("wall         %s (%s .. %s) on %d training rank%s (mpirun -n %d), largest cells first\n", w[1], w[0], w[2],
         a->workers, a->workers == 1 ? "" : "s", a->workers == 1 ? 1 : a->workers + 1);
  printf("assumes      every cell runs to max_iters; cells that converge or diverge stop earlier, so the run "
         "takes at most about this long\n");
}

/* The cells --reuse does not fill (todo) and how many it does (*reused); the old files are
 * checked as run checks them. */
static int reuse_todo(const ssw_sweep_t *sweep, const plan_args_t *a, todo_t *todo, int64_t *reused) {
  ssw_reuse_t *reuse = NULL;
  SSW_TRY(ssw_reuse_create(&reuse, sweep, a->reuse, a->nreuse));
  *reused = ssw_reuse_count(reuse);
  todo->n = 0;
  todo->cells = malloc((size_t)(ssw_sweep_grid(sweep)->ncells - *reused + 1) * sizeof *todo->cells);
  for (int64_t c = 0; todo->cells && c < ssw_sweep_grid(sweep)->ncells; c++)
    if (ssw_reuse_source(reuse, c, NULL) < 0) todo->cells[todo->n++] = c;
  ssw_reuse_destroy(&reuse);
  SSW_REQUIRE(todo->cells, SSW_ERR_NOMEM, "out of memory for the cells to train");
  return SSW_OK;
}

static int run(int argc, char **argv) {
  plan_args_t a = {.measure = true, .measure_s = SSW_PLAN_MEASURE_S};
  int code = parse(argc, argv, &a);
  if (code != SSW_EXIT_OK) return code;
  if (a.workers == 0) a.workers = default_workers();
  ssw_sweep_t *sweep = NULL;
  code = ssw_cli_load(&a.sweep, &sweep);
  if (code != SSW_EXIT_OK) return code;
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  todo_t todo = {.n = g->ncells};
  int64_t reused = 0;
  int rc = a.nreuse ? reuse_todo(sweep, &a, &todo, &reused) : SSW_OK;
  plan_t pl;
  if (rc == SSW_OK) survey(sweep, &todo, &pl);
  ssw_calibration_t cal = {0};
  if (rc == SSW_OK && a.measure && todo.n > 0) rc = ssw_calibrate(sweep, a.measure_s, &cal);
  if (rc == SSW_OK) rc = predict(sweep, &cal, &todo, a.workers, &pl);
  free(todo.cells);
  if (rc != SSW_OK) {
    ssw_sweep_destroy(&sweep);
    ssw_cli_print_error("plan");
    return ssw_cli_exit_code(rc);
  }
  int64_t k = ssw_sweep_record_points(sweep);
  double scalar_bytes = ssw_store_cell_bytes(0, 0), file_bytes = (double)g->ncells * ssw_store_cell_bytes(k, SSW_SERIES_COUNT);
  if (a.json) {
    print_json(sweep, &a, &pl, &cal, file_bytes, reused);
    code = ssw_cli_edge_check(sweep, stderr);
    ssw_sweep_destroy(&sweep);
    return code;
  }
  char fbuf[32], mbuf[32], cell[SSW_CELL_TEXT_MAX];
  human_bytes(file_bytes, fbuf, sizeof fbuf);
  human_bytes(pl.max_memory, mbuf, sizeof mbuf);
  printf("sweep        %s (%s)\n", ssw_sweep_name(sweep), a.sweep.path);
  printf("cells        %lld (", (long long)g->ncells);
  for (int i = 0; i < g->naxes; i++) printf("%s%s %lld", i ? " x " : "", g->axes[i].name, (long long)g->axes[i].count);
  printf(")\n");
  if (a.nreuse)
    printf("reused       %lld finished cells of the --reuse files are copied, not trained; the figures below count "
           "the %lld cells left\n", (long long)reused, (long long)todo.n);
  char adaptive[512];
  ssw_sweep_refine_describe(sweep, adaptive, sizeof adaptive);
  if (adaptive[0])
    printf("adaptive     %s; the figures below are the dense grid's, an upper bound\n", adaptive);
  printf("work         %.3g flop-equivalents in all, %.3g .. %.3g per cell%s\n", pl.total_flops, pl.min_flops,
         pl.max_flops, pl.sampled < todo.n ? " [sampled]" : "");
  print_cost(&a, &pl, &cal);
  printf("output file  %s (%lld cells x (%.0f B of scalars + %lld points x %d series x 8 B))\n", fbuf,
         (long long)g->ncells, scalar_bytes, (long long)k, SSW_SERIES_COUNT);
  ssw_grid_cell_text(g, pl.max_memory_cell, cell, sizeof cell);
  printf("memory/rank  %s (largest cell: %s)\n", mbuf, cell);
  code = ssw_cli_edge_check(sweep, stdout);
  ssw_sweep_destroy(&sweep);
  return code;
}
