/* The job's end and whether a cell still fits before it (include/shallowsweep/deadline.h). */
#define _XOPEN_SOURCE 700 /* strptime */
#include "shallowsweep/deadline.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shallowsweep/error.h"

enum { SQUEUE_LINE_MAX = 128 };

void ssw_deadline_init(ssw_deadline_t *dl) {
  dl->end = INFINITY;
  dl->margin_s = SSW_DEADLINE_MARGIN_S;
  dl->safety = SSW_DEADLINE_SAFETY;
  snprintf(dl->source, sizeof dl->source, "none");
}

/* A whole string as a finite double (leading/trailing blanks allowed). */
static bool parse_number(const char *text, double *v) {
  char *end;
  errno = 0;
  *v = strtod(text, &end);
  if (end == text || errno || !isfinite(*v)) return false;
  while (isspace((unsigned char)*end)) end++;
  return *end == '\0';
}

/* "YYYY-MM-DDTHH:MM[:SS][Z]" (a space for the T also accepted): local time, or UTC with Z. */
static bool parse_iso(const char *text, double *epoch) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *rest = strptime(text, "%Y-%m-%d", &tm);
  if (!rest || (*rest != 'T' && *rest != ' ')) return false;
  const char *after = strptime(rest + 1, "%H:%M:%S", &tm);
  if (!after) after = strptime(rest + 1, "%H:%M", &tm);
  if (!after) return false;
  bool utc = *after == 'Z';
  if (utc) after++;
  while (isspace((unsigned char)*after)) after++;
  if (*after) return false;
  tm.tm_isdst = -1;
  time_t t = utc ? timegm(&tm) : mktime(&tm);
  if (t == (time_t)-1) return false;
  *epoch = (double)t;
  return true;
}

int ssw_deadline_parse(const char *text, double now, double *end) {
  SSW_REQUIRE(text, SSW_ERR_INPUT, "--deadline needs a value");
  while (isspace((unsigned char)*text)) text++;
  double v;
  if (strcmp(text, "none") == 0) {
    *end = INFINITY;
    return SSW_OK;
  }
  if (text[0] == '@' && parse_number(text + 1, &v)) {
    *end = v;
  } else if (parse_number(text, &v)) {
    SSW_REQUIRE(v > 0, SSW_ERR_INPUT, "--deadline %s: the number of seconds from now must be positive", text);
    *end = now + v;
  } else if (parse_iso(text, &v)) {
    *end = v;
  } else {
    return SSW_ERROR(SSW_ERR_INPUT,
                     "--deadline '%s' is not a time: give SECONDS from now (3600), a local time "
                     "YYYY-MM-DDTHH:MM[:SS] (as squeue prints EndTime; Z for UTC), @EPOCH, or none",
                     text);
  }
  SSW_REQUIRE(*end > now, SSW_ERR_INPUT, "--deadline %s lies in the past (%.0f s ago)", text, now - *end);
  return SSW_OK;
}

/* The EndTime of SLURM job `id` from squeue; false (with why) when there is none. */
static bool squeue_end(const char *id, double *end, char *why, size_t size) {
  for (const char *p = id; *p; p++) {
    if (!isalnum((unsigned char)*p) && *p != '_') { /* never hand a strange value to the shell */
      snprintf(why, size, "SLURM_JOB_ID '%s' is not a job id", id);
      return false;
    }
  }
  char cmd[160], line[SQUEUE_LINE_MAX] = "";
  snprintf(cmd, sizeof cmd, "squeue -h -j %s -o %%e 2>/dev/null", id);
  FILE *p = popen(cmd, "r");
  if (!p) {
    snprintf(why, size, "could not run squeue: %s", strerror(errno));
    return false;
  }
  bool got = fgets(line, sizeof line, p) != NULL;
  int status = pclose(p);
  line[strcspn(line, "\r\n")] = '\0';
  if (!got || status != 0) {
    snprintf(why, size, "squeue -j %s gave no end time (exit status %d)", id, status);
    return false;
  }
  if (!parse_iso(line, end)) {
    snprintf(why, size, "job %s has no end time (squeue: '%s')", id, line);
    return false;
  }
  return true;
}

/* Steps 2 and 3 of the look-up (deadline.h). */
static void from_environment(ssw_deadline_t *dl) {
  const char *env = getenv("SLURM_JOB_END_TIME");
  double v;
  if (env && *env) {
    if (parse_number(env, &v) && v > 0) {
      dl->end = v;
      snprintf(dl->source, sizeof dl->source, "SLURM_JOB_END_TIME");
    } else {
      snprintf(dl->source, sizeof dl->source, "none (SLURM_JOB_END_TIME='%.40s' is not a time)", env);
    }
    return;
  }
  const char *id = getenv("SLURM_JOB_ID");
  if (!id || !*id) return;
  char why[sizeof dl->source - 8];
  if (squeue_end(id, &v, why, sizeof why)) {
    dl->end = v;
    snprintf(dl->source, sizeof dl->source, "squeue EndTime of job %.40s", id);
  } else {
    snprintf(dl->source, sizeof dl->source, "none (%s)", why);
  }
}

int ssw_deadline_resolve(ssw_deadline_t *dl, const char *option, double now) {
  ssw_deadline_init(dl);
  const char *margin = getenv("SSW_DEADLINE_MARGIN");
  if (margin && *margin) {
    double v;
    SSW_REQUIRE(parse_number(margin, &v) && v >= 0, SSW_ERR_INPUT,
                "SSW_DEADLINE_MARGIN='%s' must be a number of seconds >= 0", margin);
    dl->margin_s = v;
  }
  if (option) {
    SSW_TRY(ssw_deadline_parse(option, now, &dl->end));
    snprintf(dl->source, sizeof dl->source, "--deadline %.100s", option);
    return SSW_OK;
  }
  from_environment(dl);
  return SSW_OK;
}

bool ssw_deadline_active(const ssw_deadline_t *dl) { return dl && isfinite(dl->end); }

double ssw_deadline_left(const ssw_deadline_t *dl, double now) {
  if (!ssw_deadline_active(dl)) return INFINITY;
  return dl->end - dl->margin_s - now;
}

double ssw_deadline_estimate(double cost, double cost_done, double wall_done, double prior_s_per_cost) {
  if (!(cost_done > 0) || !(wall_done > 0)) return cost * prior_s_per_cost;
  return cost * (wall_done / cost_done);
}

bool ssw_deadline_allows(const ssw_deadline_t *dl, double now, double est_s) {
  if (!ssw_deadline_active(dl)) return true;
  double left = ssw_deadline_left(dl, now);
  if (isnan(est_s)) return left > 0;
  return dl->safety * est_s <= left;
}
