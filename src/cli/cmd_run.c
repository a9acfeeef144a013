/* shallowsweep run FILE -o OUT [--resume]: train every pending cell of the sweep under MPI
 * (or alone without mpirun) into one parallel HDF5 file (DESIGN.md §1, §4, §5).
 *
 * main reads as: parse → resolve the sweep on every rank → create or open the file under its lock →
 * (resume: verify what is there) → master or worker → close → exit code. */
#define _GNU_SOURCE /* program_invocation_name: the binary as it was started */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "shallowsweep/check.h"
#include "shallowsweep/engine.h"
#include "shallowsweep/error.h"
#include "shallowsweep/estimate.h"
#include "shallowsweep/model.h"
#include "shallowsweep/reuse.h"
#include "shallowsweep/store.h"

static int run(int argc, char **argv);

const ssw_command_t ssw_command_run = {
    .name = "run",
    .run = run,
    .summary = "train every cell of a sweep under MPI into one HDF5 file (resumable)",
    .usage =
        "usage: [mpirun -n N [--oversubscribe]] shallowsweep run FILE -o OUT.h5 [--resume]\n"
        "                         [--reuse OLD.h5]... [--batch N] [--measure-seconds S] [--quiet]\n"
        "                         [--set key=value]...\n\n"
        "Rank 0 serves the cells, longest expected first, to the other ranks, which\n"
        "train them and write them into OUT.h5; alone (no mpirun) it trains them itself.\n"
        "Before serving, rank 0 times a few cells as 'shallowsweep plan' does; the hand-out\n"
        "order, the batches and the deadline use those seconds. An adaptive sweep (refine:,\n"
        "seeds: {start, max}) runs only the cells its finished results make needed; the\n"
        "others end as status 'skipped'.\n"
        "Rank 0 sleeps while it waits, so on c cores run c + 1 ranks to keep every core\n"
        "training: mpirun -n $(( $(nproc) + 1 )) --oversubscribe shallowsweep run ...\n\n"
        "  -o, --output OUT.h5  the file; it must not exist unless --resume\n"
        "  --resume             continue OUT.h5: its sweep must equal FILE's (with the same\n"
        "                       --set); cells whose checksum does not match go back to\n"
        "                       pending; only pending cells run. A missing OUT.h5 is created.\n"
        "  --reuse OLD.h5       copy, instead of training, every finished cell of OLD.h5 (a\n"
        "                       file of another sweep) whose parameters, every key, equal a\n"
        "                       cell's of FILE; checksums are checked before and after, a cell\n"
        "                       that fails is trained. Repeatable (the first file with a cell\n"
        "                       wins); OLD.h5 is only read. Refused (exit 2, OUT.h5 not made):\n"
        "                       a damaged, foreign or still running OLD.h5, or one with no\n"
        "                       matching cell (the line names the keys that differ)\n"
        "  --batch N            at most N cells per message (1 disables batching; default:\n"
        "                       sized to about 50 ms of work, at most 64)\n"
        "  --measure-seconds S  time cells for about S s before serving (0: none; default:\n"
        "                       1% of the expected wall time, at most 5 s, none under 0.25 s)\n"
        "  --quiet              no progress lines (stderr, at most one a second)\n"
        "  --deadline WHEN      start no cell expected to end after WHEN (minus\n"
        "                       $SSW_DEADLINE_MARGIN s, default 30): SECONDS from now, a local\n"
        "                       time YYYY-MM-DDTHH:MM[:SS], @EPOCH, or none; default: the SLURM\n"
        "                       job's EndTime (squeue). Cells left over: exit 75, resume later\n"
        "  --set key=value      override a key as in 'shallowsweep validate'\n\n"
        "Every rank holds a lock on OUT.h5 itself while it is open: a second run on the\n"
        "same file, by any path or link, is refused until the first (and any orphaned\n"
        "rank of it) is gone.\n"
        "SIGINT, SIGTERM, SIGUSR1: stop, keep each cell in hand as a checkpoint in\n"
        "OUT.h5.checkpoints/, close, exit 75; --resume continues those cells from where they\n"
        "stopped (removed once the sweep is complete). A second signal exits at once;\n"
        "finished cells are kept, and a cell in hand then runs again from its last checkpoint\n"
        "or from step 0.\n"
        "Exit: 0 all cells done; 75 stopped; 2 bad input or OUT.h5 exists; 1 other errors.\n",
};

typedef struct {
  ssw_cli_sweep_args_t sweep;
  const char *out;
  bool resume, quiet;
  const char *deadline; /* --deadline text, or NULL: from the environment (deadline.h) */
  int batch;
  double measure_s;      /* --measure-seconds, or -1: ssw_run_measure_budget */
  const char *reuse[SSW_REUSE_FILES_MAX]; /* --reuse, in order */
  int nreuse;
  int argc;              /* the command line after the binary ("run" first), for the resume hint */
  char **argv;
} run_args_t;

static int parse(int argc, char **argv, run_args_t *a) {
  for (int i = 1; i < argc; i++) {
    const char *v;
    int found;
    if ((found = ssw_cli_option_once(&ssw_command_run, argc, argv, &i, "--output", &a->out)) != 0 ||
        (found = ssw_cli_option_once(&ssw_command_run, argc, argv, &i, "-o", &a->out)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
    } else if ((found = ssw_cli_option(&ssw_command_run, argc, argv, &i, "--deadline", &v)) != 0) {
      double end;
      if (found < 0) return SSW_EXIT_USAGE;
      if (ssw_deadline_parse(v, ssw_clock_wall(), &end) != SSW_OK)
        return ssw_cli_usage_error(&ssw_command_run, "%s", ssw_error_message());
      a->deadline = v;
    } else if ((found = ssw_cli_option(&ssw_command_run, argc, argv, &i, "--batch", &v)) != 0) {
      char *end;
      long n = found < 0 ? 0 : strtol(v, &end, 10);
      if (found < 0 || *end || n < 1 || n > SSW_ENGINE_BATCH_MAX)
        return ssw_cli_usage_error(&ssw_command_run, "--batch takes an integer from 1 to %d", SSW_ENGINE_BATCH_MAX);
      a->batch = (int)n;
    } else if ((found = ssw_cli_option(&ssw_command_run, argc, argv, &i, "--measure-seconds", &v)) != 0) {
      char *end;
      a->measure_s = found < 0 ? -1 : strtod(v, &end);
      if (found < 0 || *end || end == v || !(a->measure_s >= 0 && a->measure_s <= 86400))
        return ssw_cli_usage_error(&ssw_command_run, "--measure-seconds takes seconds from 0 to 86400");
    } else if ((found = ssw_cli_option(&ssw_command_run, argc, argv, &i, "--reuse", &v)) != 0) {
      if (found < 0) return SSW_EXIT_USAGE;
      if (a->nreuse == SSW_REUSE_FILES_MAX)
        return ssw_cli_usage_error(&ssw_command_run, "--reuse given more than %d times", SSW_REUSE_FILES_MAX);
      a->reuse[a->nreuse++] = v;
    } else if (strcmp(argv[i], "--resume") == 0) {
      a->resume = true;
    } else if (strcmp(argv[i], "--quiet") == 0) {
      a->quiet = true;
    } else if (ssw_cli_sweep_arg(&ssw_command_run, &a->sweep, argc, argv, &i) < 0) {
      return SSW_EXIT_USAGE;
    }
  }
  if (!a->sweep.path) return ssw_cli_usage_error(&ssw_command_run, "no sweep file given");
  if (!a->out) return ssw_cli_usage_error(&ssw_command_run, "no output file given (-o OUT.h5)");
  if (ssw_cli_check_output_dir(&ssw_command_run, "-o", a->out) != SSW_EXIT_OK) return SSW_EXIT_USAGE;
  return SSW_EXIT_OK;
}

/* ---- every rank resolves the same text ---- */

/* Rank 0 reads the file (ssw_sweep_read_file, as every command does) and broadcasts it;
 * every rank parses it. Collective on comm. */
static int load_sweep(MPI_Comm comm, int rank, const run_args_t *a, ssw_sweep_t **sweep) {
  char *text = NULL;
  size_t size = 0;
  int rc = rank == 0 ? ssw_sweep_read_file(a->sweep.path, &text, &size) : SSW_OK;
  long len = rc == SSW_OK ? (long)size : -1;
  MPI_CHECK(MPI_Bcast(&len, 1, MPI_LONG, 0, comm));
  if (len < 0) {
    free(text);
    return rank == 0 ? rc : SSW_ERROR(SSW_ERR_INPUT, "rank 0 could not read %s", a->sweep.path);
  }
  if (rank != 0) SSW_ALLOC(text, len + 1);
  rc = MPI_Bcast(text, (int)len, MPI_CHAR, 0, comm);
  if (rc != MPI_SUCCESS) {
    free(text);
    return ssw_mpi_fail(rc, __FILE__, __LINE__, __func__, "MPI_Bcast(sweep text)");
  }
  text[len] = '\0';
  rc = ssw_sweep_load_text(sweep, a->sweep.path, text, (size_t)len, a->sweep.sets, a->sweep.nsets);
  free(text);
  return rc;
}

/* The record steps, and whether test_loss is stored, from the first cell that resolves. */
static int sweep_spec(const ssw_sweep_t *sweep, ssw_store_spec_t *spec, int64_t **steps) {
  const ssw_grid_t *g = ssw_sweep_grid(sweep);
  ssw_params_t p;
  int rc = SSW_ERR_INPUT;
  for (int64_t c = 0; c < g->ncells && rc != SSW_OK; c++) rc = ssw_sweep_cell_params(sweep, c, &p);
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  int64_t k = ssw_sweep_record_points(sweep);
  SSW_ALLOC(*steps, k);
  SSW_TRY(ssw_record_steps(p.max_iters, k, p.record_spacing, *steps));
  bool test = p.test_n > 0, sharpness = p.record_sharpness;
  for (int i = 0; i < g->naxes; i++) {
    test = test || strcmp(g->axes[i].name, "test_n") == 0;
    sharpness = sharpness || strcmp(g->axes[i].name, "record_sharpness") == 0;
  }
  *spec = (ssw_store_spec_t){.name = ssw_sweep_name(sweep), .sweep_yaml = ssw_sweep_text(sweep),
                             .sweep_canonical = ssw_sweep_canonical(sweep), .grid = g, .k = k, .steps = *steps,
                             .series_mask = (1u << SSW_SERIES_TEST_LOSS) - 1u};
  if (test) spec->series_mask |= 1u << SSW_SERIES_TEST_LOSS;
  if (sharpness) spec->series_mask |= 1u << SSW_SERIES_EDGE_RATIO;
  return SSW_OK;
}

/* ---- --reuse: rank 0 matches the old files' cells before the output exists ---- */

/* Rank 0 opens the old files (refusing a bad one before OUT is made); the others wait for its
 * verdict. Collective on comm. */
static int open_reuse(MPI_Comm comm, int rank, const run_args_t *a, const ssw_sweep_t *sweep, ssw_reuse_t **reuse) {
  int rc = SSW_OK;
  struct stat out, old;
  for (int i = 0; rank == 0 && i < a->nreuse && rc == SSW_OK; i++)
    if (stat(a->out, &out) == 0 && stat(a->reuse[i], &old) == 0 && out.st_dev == old.st_dev && out.st_ino == old.st_ino)
      rc = SSW_ERROR(SSW_ERR_INPUT, "--reuse %s is the output file itself: give an older sweep's file", a->reuse[i]);
  if (rank == 0 && rc == SSW_OK && a->nreuse > 0) rc = ssw_reuse_create(reuse, sweep, a->reuse, a->nreuse);
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
  if (rc != SSW_OK) return rank == 0 ? rc : SSW_ERROR(rc, "rank 0 could not reuse the old files (it says why)");
  return SSW_OK;
}

/* Rank 0: say how many cells were copied from where. */
static void say_reused(const ssw_reuse_t *reuse, const ssw_reuse_stats_t *st) {
  char line[4096] = "";
  size_t len = 0;
  for (int i = 0; i < ssw_reuse_nfiles(reuse) && len < sizeof line; i++)
    len += (size_t)snprintf(line + len, sizeof line - len, "%s%lld from %s", i ? ", " : "", (long long)st->copied[i],
                            ssw_reuse_path(reuse, i));
  fprintf(stderr, "shallowsweep run: --reuse: copied %lld finished cell%s (%s) instead of training them\n",
          (long long)st->total, st->total == 1 ? "" : "s", line);
}

/* ---- the file ---- */

/* Open (resume) or create OUT. Collective on comm. */
static int open_output(MPI_Comm comm, int rank, const run_args_t *a, const ssw_store_spec_t *spec,
                       ssw_store_t **store) {
  int exists = rank == 0 && access(a->out, F_OK) == 0;
  MPI_CHECK(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  if (exists && !a->resume)
    return SSW_ERROR(SSW_ERR_INPUT,
                     "%s exists and was left untouched: add --resume to continue it, or choose another -o", a->out);
  if (!exists) {
    if (a->resume && rank == 0 && !a->quiet) fprintf(stderr, "shallowsweep run: %s does not exist yet: creating it\n", a->out);
    return ssw_store_create(store, a->out, comm, spec);
  }
  SSW_TRY(ssw_store_open(store, a->out, comm));
  char diff[2048] = "";
  if (rank == 0) ssw_sweep_canonical_diff(ssw_store_canonical(*store), spec->sweep_canonical, diff, sizeof diff);
  MPI_CHECK(MPI_Bcast(diff, sizeof diff, MPI_CHAR, 0, comm));
  if (diff[0]) {
    SSW_TRY(ssw_store_close(store)); /* collective: every rank has the same diff */
    return SSW_ERROR(SSW_ERR_INPUT,
                     "refusing to resume %s: it was made from a different sweep; keys that differ: %s. "
                     "Undo the change, or run into a new file without --resume",
                     a->out, diff);
  }
  return SSW_OK;
}

/* Rank 0: statuses, damaged cells back to pending (resume), finished cells of the --reuse
 * files copied, the pending list: every pending cell, or those an adaptive sweep needs now
 * (*plan, which then decides the rest). */
static int plan_pending(ssw_store_t *store, const ssw_sweep_t *sweep, const run_args_t *a, ssw_reuse_t *reuse,
                        ssw_engine_job_t *job, int64_t **pending, ssw_refine_plan_t **plan) {
  int64_t n = ssw_store_ncells(store);
  int8_t *status, *diagnosis;
  SSW_ALLOC(status, n);
  SSW_ALLOC(diagnosis, n);
  SSW_TRY(ssw_store_read_status(store, status));
  if (a->resume) {
    uint8_t *damaged;
    int64_t ndamaged;
    SSW_ALLOC(damaged, n);
    SSW_TRY(ssw_store_verify(store, status, damaged, &ndamaged));
    for (int64_t c = 0; c < n && ndamaged; c++) {
      if (!damaged[c]) continue;
      char cell[SSW_CELL_TEXT_MAX];
      ssw_grid_cell_text(ssw_sweep_grid(sweep), c, cell, sizeof cell);
      fprintf(stderr, "shallowsweep run: cell %lld (%s) was marked done but its data do not match its checksum: "
              "running it again\n", (long long)c, cell);
      SSW_TRY(ssw_store_write_status(store, c, SSW_STATUS_PENDING));
      status[c] = SSW_STATUS_PENDING;
    }
    free(damaged);
  }
  /* --reuse after resume's check, so only into pending cells; an adaptive sweep copies only the
     cells it needs, as each copy decides what it needs next */
  ssw_reuse_stats_t copied = {0};
  if (reuse && !ssw_sweep_is_adaptive(sweep))
    SSW_TRY(ssw_reuse_copy(reuse, store, status, stderr, "shallowsweep run: ", &copied));
  SSW_ALLOC(*pending, n);
  job->npending = 0;
  if (ssw_sweep_is_adaptive(sweep)) {
    SSW_TRY(ssw_run_adaptive_begin(sweep, status, store, reuse, plan, *pending, &job->npending, &copied));
    job->more = ssw_run_adaptive_more;
    job->more_ctx = *plan;
  }
  if (reuse) say_reused(reuse, &copied);
  SSW_TRY(ssw_store_read_diagnosis(store, diagnosis));
  for (int64_t c = 0; c < n; c++) {
    if (status[c] == SSW_STATUS_PENDING && !*plan) {
      (*pending)[job->npending++] = c;
    } else if (ssw_status_is_done(status[c])) {
      job->done_before[status[c]]++;
      if (diagnosis[c] > 0 && diagnosis[c] < SSW_DIAG_COUNT) job->diagnosed_before[diagnosis[c]]++;
    }
  }
  free(status);
  free(diagnosis);
  job->pending = *pending;
  return SSW_OK;
}

/* The expected seconds of every cell the queue may hold: the pending ones, and for an adaptive
 * sweep every cell not done, since any may become needed. */
static int fill_costs(const ssw_sweep_t *sweep, const ssw_calibration_t *cal, const ssw_engine_job_t *job,
                      double *cost) {
  if (!job->more) {
    for (int64_t i = 0; i < job->npending; i++) ssw_cell_seconds(sweep, cal, job->pending[i], &cost[job->pending[i]], NULL, NULL);
    return SSW_OK;
  }
  int8_t *status;
  SSW_ALLOC(status, job->ncells);
  int rc = ssw_store_read_status(job->store, status);
  for (int64_t c = 0; c < job->ncells && rc == SSW_OK; c++)
    if (!ssw_status_is_done(status[c])) ssw_cell_seconds(sweep, cal, c, &cost[c], NULL, NULL);
  free(status);
  return rc;
}

/* Rank 0: the expected seconds of the cells (fill_costs), from cells timed now when the run is
 * long enough for its order to matter (or --measure-seconds says so), else the prior. */
static int plan_costs(const ssw_sweep_t *sweep, const run_args_t *a, int workers, ssw_engine_job_t *job,
                      double **cost) {
  ssw_calibration_t cal = {0};
  SSW_ALLOC(*cost, job->ncells);
  job->cost = *cost;
  double prior_core_s = 0; /* the pending cells at the prior: what decides the timing budget */
  for (int64_t i = 0; i < job->npending; i++) {
    ssw_cell_seconds(sweep, &cal, job->pending[i], &(*cost)[job->pending[i]], NULL, NULL);
    prior_core_s += (*cost)[job->pending[i]];
  }
  double budget = a->measure_s >= 0 ? a->measure_s : ssw_run_measure_budget(prior_core_s, workers);
  if (budget > 0 && job->npending > 0) {
    SSW_TRY(ssw_calibrate(sweep, budget, &cal));
    job->cost_measured = cal.n > 0;
    if (!a->quiet)
      fprintf(stderr, "shallowsweep run: timed %d cell%s in %.1f s; the hand-out order, batches and deadline use "
              "their seconds\n", cal.n, cal.n == 1 ? "" : "s", cal.spent_s);
  }
  return cal.n > 0 || job->more ? fill_costs(sweep, &cal, job, *cost) : SSW_OK;
}

/* ---- the run ---- */

/* Append word to buf as one word of a POSIX shell: as it is when it is plain, else in single
 * quotes (a quote inside written '\''). */
static void shell_word(char *buf, size_t size, const char *word) {
  size_t len = strlen(buf);
  bool plain = word[0] != '\0' && strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+-@%") == strlen(word);
  len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? " " : "", plain ? "" : "'");
  for (const char *c = word; *c && len + 5 < size; c++) len += (size_t)snprintf(buf + len, size - len, *c == '\'' ? "'\\''" : "%c", *c);
  if (!plain && len + 1 < size) snprintf(buf + len, size - len, "'");
}

/* The exact command that finishes this run: the launcher that started it (mpirun with its
 * rank count and --oversubscribe, or srun), this binary, the same arguments, and --resume. */
static void resume_command(const run_args_t *a, int size, char *buf, size_t n) {
  char count[32];
  snprintf(count, sizeof count, "%d", size);
  buf[0] = '\0';
  if (getenv("OMPI_COMM_WORLD_SIZE")) { /* set by Open MPI's mpirun for every rank */
    const char *over = getenv("OMPI_MCA_rmaps_base_oversubscribe");
    const char *words[] = {"mpirun", "-n", count, over && strcmp(over, "1") == 0 ? "--oversubscribe" : NULL};
    for (size_t i = 0; i < sizeof words / sizeof *words && words[i]; i++) shell_word(buf, n, words[i]);
  } else if (getenv("SLURM_PROCID") && size > 1) { /* srun */
    const char *words[] = {"srun", "-n", count};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) shell_word(buf, n, words[i]);
  }
  shell_word(buf, n, program_invocation_name);
  for (int i = 0; i < a->argc; i++) shell_word(buf, n, a->argv[i]);
  if (!a->resume) shell_word(buf, n, "--resume");
}

/* The run's figures (unless --quiet) and, after a stop, the command that finishes it. */
static void print_summary(const run_args_t *a, const ssw_engine_stats_t *st, int size) {
  double work = st->train_s + st->write_s;
  if (!a->quiet)
    fprintf(stderr,
          "shallowsweep run: %lld cells in %.2f s on %d rank(s); trainers busy %.2f s: %.1f%% training, "
          "%.1f%% writing, %.1f%% waiting; %lld messages; rank 0 used %.1f%% of a core\n",
          (long long)st->finished, st->elapsed_s, size, st->busy_s,
          st->busy_s > 0 ? 100 * st->train_s / st->busy_s : 0.0, st->busy_s > 0 ? 100 * st->write_s / st->busy_s : 0.0,
          st->busy_s > 0 ? 100 * (st->busy_s - work) / st->busy_s : 0.0, (long long)st->messages,
          st->elapsed_s > 0 ? 100 * st->master_cpu_s / st->elapsed_s : 0.0);
  if (st->continued > 0 || st->kept > 0) /* the overnight test reads this line */
    fprintf(stderr, "shallowsweep run: checkpoints: %lld cells continued from one, %lld stopped cells kept in one\n",
            (long long)st->continued, (long long)st->kept);
  if (st->stopped) {
    char hint[8192];
    resume_command(a, size, hint, sizeof hint);
    fprintf(stderr, "shallowsweep run: stopped (a signal, or the deadline); finish with: %s\n", hint);
  }
}

/* The sweep is complete: its checkpoint directory goes (a failure is said, not fatal: every
 * cell is written). */
static void remove_checkpoints(ssw_checkpoints_t *checkpoints) {
  if (ssw_checkpoints_remove_all(checkpoints) == SSW_OK) return;
  fprintf(stderr, "shallowsweep run: every cell is done, but %s; delete %s by hand\n", ssw_error_reason(),
          ssw_checkpoints_dir(checkpoints));
  ssw_error_clear();
}

/* Rank 0 learns the job's end (it may ask squeue); the others wait for its verdict. Collective on comm. */
static int job_deadline(MPI_Comm comm, int rank, const run_args_t *a, ssw_deadline_t *dl) {
  double now = ssw_clock_wall();
  int rc = rank == 0 ? ssw_deadline_resolve(dl, a->deadline, now) : SSW_OK;
  MPI_CHECK(MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
  if (rc != SSW_OK) return rank == 0 ? rc : SSW_ERROR(SSW_ERR_INPUT, "rank 0 could not resolve the deadline");
  if (rank == 0 && !a->quiet && ssw_deadline_active(dl))
    fprintf(stderr, "shallowsweep run: deadline in %.0f s (%s); cells start until %.0f s before it\n", dl->end - now,
            dl->source, dl->margin_s);
  return SSW_OK;
}

/* Everything between MPI_Init and MPI_Finalize. Collective on comm. */
static int run_sweep(MPI_Comm comm, const run_args_t *a, bool *stopped) {
  int rank, size;
  MPI_CHECK(MPI_Comm_rank(comm, &rank));
  MPI_CHECK(MPI_Comm_size(comm, &size));
  ssw_sweep_t *sweep = NULL;
  SSW_TRY(load_sweep(comm, rank, a, &sweep));
  ssw_deadline_t deadline;
  SSW_TRY(job_deadline(comm, rank, a, &deadline));
  ssw_store_spec_t spec;
  int64_t *steps = NULL, *pending = NULL;
  double *cost = NULL;
  SSW_TRY(sweep_spec(sweep, &spec, &steps));
  ssw_reuse_t *reuse = NULL;
  SSW_TRY(open_reuse(comm, rank, a, sweep, &reuse));
  ssw_store_t *store = NULL;
  SSW_TRY(open_output(comm, rank, a, &spec, &store));
  ssw_checkpoints_t *checkpoints = NULL;
  SSW_TRY(ssw_checkpoints_open(&checkpoints, a->out, spec.sweep_canonical)); /* every rank lists them */
  ssw_engine_job_t job = {.ncells = ssw_store_ncells(store), .k = spec.k, .steps = steps,
                          .cell = ssw_engine_train_cell, .cell_ctx = sweep, .store = store,
                          .checkpoints = checkpoints, .notes = stderr};
  ssw_blas_single_thread(); /* before the timing, as the workers train */
  ssw_refine_plan_t *plan = NULL;
  if (rank == 0) SSW_TRY(plan_pending(store, sweep, a, reuse, &job, &pending, &plan));
  ssw_reuse_destroy(&reuse);
  if (rank == 0) SSW_TRY(plan_costs(sweep, a, size > 1 ? size - 1 : 1, &job, &cost));
  ssw_engine_opts_t opts = {.batch_max = a->batch, .progress = (rank == 0 && !a->quiet) ? stderr : NULL,
                            .deadline = rank == 0 ? &deadline : NULL};
  ssw_engine_stats_t stats;
  SSW_TRY(ssw_engine_run(comm, &job, &opts, &stats));
  int64_t skipped = 0;
  if (plan && !stats.stopped) SSW_TRY(ssw_run_adaptive_finish(store, plan, &skipped));
  if (plan && !a->quiet) {
    double worker_s = (double)(stats.trainers > 0 ? stats.trainers : 1) * stats.elapsed_s;
    fprintf(stderr, "shallowsweep run: adaptive: %lld cells needed so far, %lld skipped%s; workers waited %.1f%% of "
            "their time for cells still being decided\n", (long long)ssw_refine_plan_count_needed(plan),
            (long long)skipped, stats.stopped ? " (decided once the sweep is complete)" : "",
            worker_s > 0 ? 100 * stats.waited_s / worker_s : 0.0);
  }
  ssw_refine_plan_destroy(&plan);
  SSW_TRY(ssw_store_close(&store));
  if (rank == 0 && !stats.stopped) remove_checkpoints(checkpoints);
  if (rank == 0) print_summary(a, &stats, size);
  ssw_checkpoints_close(&checkpoints);
  *stopped = stats.stopped;
  free(pending);
  free(cost);
  free(steps);
  ssw_sweep_destroy(&sweep);
  return SSW_OK;
}

/* MPI_Finalize, and the exit code: a failing finalize turns success into failure. */
static int finalize(int code) {
  if (MPI_Finalize() != MPI_SUCCESS && code == SSW_EXIT_OK) {
    fprintf(stderr, "shallowsweep run: MPI_Finalize failed after the run — check the output with "
                    "'shallowsweep status --verify'\n");
    return SSW_EXIT_FAILED;
  }
  return code;
}

static int run(int argc, char **argv) {
  run_args_t a = {.batch = 0, .measure_s = -1, .argc = argc, .argv = argv};
  int code = parse(argc, argv, &a);
  if (code != SSW_EXIT_OK) return code;
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
    fprintf(stderr, "shallowsweep run: MPI_Init failed — is Open MPI installed and working (try 'mpirun -n 1 hostname')?\n");
    return SSW_EXIT_FAILED;
  }
  /* Until ssw_check_setup, MPI's default handler aborts the job on any error: these two cannot
   * return a failure. */
  int rank = 0, size = 1;
  (void)MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  (void)MPI_Comm_size(MPI_COMM_WORLD, &size);
  bool stopped = false;
  int rc = ssw_check_setup(MPI_COMM_WORLD);
  if (rc == SSW_OK) rc = ssw_signals_install();
  if (rc == SSW_OK) rc = run_sweep(MPI_COMM_WORLD, &a, &stopped);
  if (rc == SSW_OK) return finalize(stopped ? SSW_EXIT_STOPPED : SSW_EXIT_OK);
  /* input errors are the same on every rank: rank 0 says it once and all exit 2; anything
   * else may be one rank's alone: it says so and aborts the job (the others may wait) */
  if (ssw_error_code() == SSW_ERR_INPUT || rc == SSW_ERR_INPUT) {
    if (rank == 0) ssw_cli_print_error("run");
    return finalize(SSW_EXIT_USAGE);
  }
  if (ssw_error_code() == SSW_ERR_SYSTEM) { /* every rank knows (creation agrees before going on) */
    if (rank == 0) ssw_cli_print_error("run");
    return finalize(SSW_EXIT_FAILED);
  }
  char prefix[64];
  snprintf(prefix, sizeof prefix, "[rank %d] shallowsweep run: ", rank);
  ssw_error_print(stderr, prefix);
  if (size > 1) (void)MPI_Abort(MPI_COMM_WORLD, SSW_EXIT_FAILED); /* does not return */
  return finalize(SSW_EXIT_FAILED);
}
