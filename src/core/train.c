/* One cell's training loop, recording and verdict (semantics in train.h). */
#include "shallowsweep/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/clock.h"
#include "shallowsweep/error.h"
#include "shallowsweep/init.h"
#include "shallowsweep/ntk.h"
#include "train_impl.h"

#include "act_simd.h"

const char *const ssw_series_names[SSW_SERIES_COUNT] = {
    "loss", "grad_norm", "inner_dist", "outer_dist", "pattern_change", "test_loss", "edge_ratio"};

const char *const ssw_status_names[SSW_STATUS_COUNT] = {"pending", "converged", "max_iters", "diverged",
                                                         "failed", "skipped"};

const char *const ssw_diagnosis_names[SSW_DIAG_COUNT] = {"none", "unstable", "slow", "plateau"};

void ssw_diagnosis_counts_text(const int64_t counts[SSW_DIAG_COUNT], char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int d = 1; d < SSW_DIAG_COUNT && used < size; d++) {
    int w = snprintf(buf + used, size - used, "%s%s %lld%s", d == 1 ? " (" : ", ", ssw_diagnosis_names[d],
                     (long long)counts[d], d == SSW_DIAG_COUNT - 1 ? ")" : "");
    if (w < 0) break;
    used += (size_t)w;
  }
}

const char *ssw_status_name(int status) {
  return status >= 0 && status < SSW_STATUS_COUNT ? ssw_status_names[status] : "unknown";
}

/* ---- results ---- */

int ssw_result_init(ssw_result_t *r, int64_t k) {
  memset(r, 0, sizeof *r);
  SSW_REQUIRE(k >= 1, SSW_ERR_INTERNAL, "a result needs at least one record point (k = %lld)", (long long)k);
  r->k = k;
  SSW_ALLOC(r->steps, k);
  for (int s = 0; s < SSW_SERIES_COUNT; s++) SSW_ALLOC(r->series[s], k);
  ssw_result_clear(r);
  return SSW_OK;
}

void ssw_result_fini(ssw_result_t *r) {
  free(r->steps);
  for (int s = 0; s < SSW_SERIES_COUNT; s++) free(r->series[s]);
  memset(r, 0, sizeof *r);
}

void ssw_result_clear(ssw_result_t *r) {
  for (int s = 0; s < SSW_SERIES_COUNT; s++)
    for (int64_t i = 0; i < r->k; i++) r->series[s][i] = NAN;
  r->status = SSW_STATUS_PENDING;
  r->init_loss = r->final_loss = r->wall_s = r->gflops = r->ntk_min = r->ntk_max = NAN;
  r->iters = 0;
  r->iters_to_tol = -1;
  r->loss_rises = -1;
  r->max_rise = r->edge_ratio_init = r->edge_ratio_final = r->loss_ratio = NAN;
  r->edge_s = 0.0;
  for (int s = 0; s < SSW_SERIES_COUNT; s++) r->final_series[s] = NAN;
  r->diagnosis = SSW_DIAG_NONE;
  r->message[0] = '\0';
}

double ssw_result_budget_used(const ssw_result_t *r) {
  int64_t budget = r->k > 0 ? r->steps[r->k - 1] : 0;
  if (budget <= 0) return 1.0;
  double f = (double)r->iters / (double)budget;
  return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* The last finite value of series s, or NaN. */
static double last_finite(const ssw_result_t *r, int s) {
  for (int64_t i = r->k - 1; i >= 0; i--)
    if (isfinite(r->series[s][i])) return r->series[s][i];
  return NAN;
}

/* The loss's geometric rate over the budget's second half, from the last record point at or
 * before max_iters / 2 to the last one; 0 when it cannot be told (or the loss did not fall). */
static double late_rate(const ssw_result_t *r) {
  const double *L = r->series[SSW_SERIES_LOSS];
  const int64_t last = r->k - 1, half = r->steps[last] / 2;
  int64_t a = -1;
  for (int64_t i = 0; i < last; i++)
    if (r->steps[i] <= half && isfinite(L[i]) && L[i] > 0) a = i;
  if (a < 0 || !(isfinite(L[last]) && L[last] > 0)) return 0.0;
  double rate = (log(L[a]) - log(L[last])) / (double)(r->steps[last] - r->steps[a]);
  return rate > 0 ? rate : 0.0;
}

bool ssw_activation_is_smooth(ssw_activation_t a) {
  return a != SSW_ACT_RELU && a != SSW_ACT_LEAKY_RELU && a != SSW_ACT_RAMP;
}

int8_t ssw_diagnose(const ssw_params_t *p, const ssw_result_t *r) {
  if (r->status != SSW_STATUS_MAX_ITERS) return SSW_DIAG_NONE;
  /* the descent lemma holds for full-batch GD on a smooth model: SGD's loss rises with its noise */
  const bool full_batch = p->batch_size == 0 && !p->online;
  const bool rose = full_batch && ssw_activation_is_smooth(p->activation) && r->loss_rises > 0 &&
                    r->max_rise > SSW_UNSTABLE_RISE;
  if (r->edge_ratio_init > 1.0 || r->edge_ratio_final > SSW_EDGE_OF_STABILITY || rose) return SSW_DIAG_UNSTABLE;
  const double target = fmax(p->tol, p->tol_rel * r->init_loss), rate = late_rate(r);
  const double L = r->series[SSW_SERIES_LOSS][r->k - 1];
  if (rate > 0 && target > 0 && L > target &&
      (log(L) - log(target)) / rate <= (SSW_SLOW_BUDGET_MULTIPLE - 1.0) * (double)p->max_iters)
    return SSW_DIAG_SLOW;
  return SSW_DIAG_PLATEAU;
}

int ssw_record_steps(int64_t max_iters, int64_t k, ssw_spacing_t spacing, int64_t *steps) {
  SSW_REQUIRE_KEY(k >= 2 && k <= max_iters + 1, SSW_ERR_INPUT,
              "record_points", "%lld points do not fit in steps 0..%lld", (long long)k, (long long)max_iters);
  const double T = (double)max_iters;
  for (int64_t i = 0; i < k; i++) {
    double ideal = spacing == SSW_SPACING_LINEAR ? T * (double)i / (double)(k - 1)
                   : i == 0                      ? 0.0
                                                 : pow(T, (double)(i - 1) / (double)(k > 2 ? k - 2 : 1));
    steps[i] = (int64_t)llround(ideal);
    if (i > 0 && steps[i] <= steps[i - 1]) steps[i] = steps[i - 1] + 1; /* distinct, increasing */
  }
  steps[k - 1] = max_iters; /* then pull back so that the last is max_iters */
  for (int64_t i = k - 2; i >= 0; i--)
    if (steps[i] >= steps[i + 1]) steps[i] = steps[i + 1] - 1;
  return SSW_OK;
}

/* ---- trainer ---- */

static int trainer_alloc(ssw_trainer_t *t) {
  ssw_trainer_sizes_t z;
  ssw_trainer_sizes(&t->p, &z);
  SSW_REQUIRE(z.P == ssw_theta_size(&t->M), SSW_ERR_INTERNAL, "trainer_sizes disagrees with the model's P");
  SSW_ALLOC(t->X, z.X);
  SSW_ALLOC(t->y, z.y);
  if (z.X_test) SSW_ALLOC(t->X_test, z.X_test);
  if (z.y_test) SSW_ALLOC(t->y_test, z.y_test);
  if (z.X_batch) SSW_ALLOC(t->X_batch, z.X_batch);
  if (z.y_batch) SSW_ALLOC(t->y_batch, z.y_batch);
  if (z.perm) SSW_ALLOC(t->perm, z.perm);
  SSW_ALLOC(t->theta0, z.P);
  SSW_ALLOC(t->theta, z.P);
  SSW_ALLOC(t->grad, z.P);
  SSW_ALLOC(t->sign0, z.sign0);
  SSW_TRY(ssw_workspace_init(&t->ws, z.ws_rows, t->M.m, t->M.d));
  return SSW_OK;
}

int ssw_trainer_init(ssw_trainer_t *t, const ssw_params_t *p) {
  memset(t, 0, sizeof *t);
  t->p = *p;
  ssw_params_resolve(&t->p);
  SSW_TRY(ssw_params_check(&t->p));
  ssw_model_from_params(&t->M, &t->p);
  t->groups = t->p.train & (t->p.bias ? SSW_GROUP_ALL : ~(unsigned)SSW_GROUP_BIAS);
  ssw_trainer_sizes_t z;
  ssw_trainer_sizes(&t->p, &z);
  t->n_loss = z.n_loss;
  t->B = z.B;
  SSW_TRY(ssw_source_init(&t->src, &t->p));
  SSW_TRY(trainer_alloc(t));
  SSW_TRY(ssw_source_draw(&t->src, SSW_SET_TRAIN, 0, t->n_loss, t->X, t->y));
  if (t->p.test_n > 0) SSW_TRY(ssw_source_draw(&t->src, SSW_SET_TEST, 0, t->p.test_n, t->X_test, t->y_test));
  SSW_TRY(ssw_init_weights(&t->p, &t->M, t->theta0));
  return SSW_OK;
}

void ssw_trainer_fini(ssw_trainer_t *t) {
  ssw_source_fini(&t->src);
  ssw_workspace_fini(&t->ws);
  void *owned[] = {t->X, t->y, t->X_test, t->y_test, t->X_batch, t->y_batch, t->perm,
                   t->theta0, t->theta, t->grad, t->sign0};
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) free(owned[i]);
  memset(t, 0, sizeof *t);
}

/* ---- the loop ---- */

typedef ssw_run_state_t run_state_t;

static double norm2(const double *v, int64_t count) {
  double s = 0.0;
  for (int64_t i = 0; i < count; i++) s += v[i] * v[i];
  return sqrt(s);
}

static double dist2(const double *u, const double *v, int64_t count) {
  double s = 0.0;
  for (int64_t i = 0; i < count; i++) s += (u[i] - v[i]) * (u[i] - v[i]);
  return sqrt(s);
}

/* Mean squared-error loss on the test set, in chunks of the workspace's rows. */
static int test_loss(ssw_trainer_t *t, run_state_t *st, double *out) {
  double sum = 0.0;
  for (int64_t first = 0; first < t->p.test_n; first += t->ws.n_max) {
    int64_t count = t->p.test_n - first < t->ws.n_max ? t->p.test_n - first : t->ws.n_max;
    double chunk;
    SSW_TRY(ssw_model_loss_grad(&t->M, t->theta, count, t->X_test + first * t->p.dim, t->y_test + first,
                                0, NULL, &t->ws, &chunk));
    sum += chunk * 2.0 * (double)count;
    st->flops += 2.0 * (double)count * (double)t->M.m * (double)(t->M.d + 1);
  }
  *out = sum / (2.0 * (double)t->p.test_n);
  return SSW_OK;
}

static int edge_ratio(ssw_trainer_t *t, run_state_t *st, double *ratio);

/* Record point i: the loss-set quantities at theta_t; ws->Z holds the loss set's Z. */
static int record(ssw_trainer_t *t, ssw_result_t *r, run_state_t *st, double loss) {
  const ssw_model_t *M = &t->M;
  const int64_t i = st->next_record++, nm = t->n_loss * M->m, mW = M->m * M->d;
  r->series[SSW_SERIES_LOSS][i] = loss;
  r->series[SSW_SERIES_GRAD_NORM][i] = norm2(t->grad, ssw_theta_size(M));
  r->series[SSW_SERIES_INNER_DIST][i] =
      st->W0_norm > 0 ? dist2(t->theta, t->theta0, mW) / st->W0_norm : NAN;
  r->series[SSW_SERIES_OUTER_DIST][i] =
      st->a0_norm > 0 ? dist2(t->theta + ssw_theta_a(M), t->theta0 + ssw_theta_a(M), M->m) / st->a0_norm : NAN;
  int64_t changed = 0;
  for (int64_t e = 0; e < nm; e++) changed += (t->ws.Z[e] > 0) != t->sign0[e];
  r->series[SSW_SERIES_PATTERN_CHANGE][i] = (double)changed / (double)nm;
  if (t->p.test_n > 0) SSW_TRY(test_loss(t, st, &r->series[SSW_SERIES_TEST_LOSS][i]));
  if (t->p.record_sharpness) SSW_TRY(edge_ratio(t, st, &r->series[SSW_SERIES_EDGE_RATIO][i]));
  return SSW_OK;
}

/* Full loss and gradient on the loss set at theta. */
static int full_loss_grad(ssw_trainer_t *t, run_state_t *st, double *loss) {
  SSW_TRY(ssw_model_loss_grad(&t->M, t->theta, t->n_loss, t->X, t->y, t->groups, t->grad, &t->ws, loss));
  st->flops += ssw_model_step_flops(&t->M, t->n_loss);
  return SSW_OK;
}

/* Verdict at step t with loss L. Returns true when the run stops here. */
static bool evaluate(ssw_trainer_t *t, ssw_result_t *r, run_state_t *st, int64_t step, double L, int *rc) {
  const ssw_params_t *p = &t->p;
  if (!isfinite(L) || L > p->diverge_factor * r->init_loss) {
    r->status = SSW_STATUS_DIVERGED;
  } else {
    if (st->next_record < r->k && r->steps[st->next_record] == step) *rc = record(t, r, st, L);
    if (L <= p->tol || (p->tol_rel > 0 && L <= p->tol_rel * r->init_loss)) {
      r->status = SSW_STATUS_CONVERGED;
      r->iters_to_tol = step;
    } else if (step == p->max_iters) {
      r->status = SSW_STATUS_MAX_ITERS;
    }
  }
  if (r->status == SSW_STATUS_PENDING && *rc == SSW_OK) return false;
  r->final_loss = L;
  r->iters = step;
  return true;
}

/* theta -= eta (.) grad over the trained groups. */
static void update(ssw_trainer_t *t) {
  const ssw_model_t *M = &t->M;
  const double eta_out = t->p.lr, eta_in = t->p.rate_ratio * t->p.lr;
  if (t->groups & SSW_GROUP_INNER)
    for (int64_t e = ssw_theta_W(M); e < ssw_theta_b(M); e++) t->theta[e] -= eta_in * t->grad[e];
  if (t->groups & SSW_GROUP_BIAS)
    for (int64_t e = ssw_theta_b(M); e < ssw_theta_a(M); e++) t->theta[e] -= eta_in * t->grad[e];
  if (t->groups & SSW_GROUP_OUTER)
    for (int64_t e = ssw_theta_a(M); e < ssw_theta_size(M); e++) t->theta[e] -= eta_out * t->grad[e];
}

/* The minibatch (or online batch) of update `step` into X_batch, y_batch; *count_out its size. */
static int load_batch(ssw_trainer_t *t, int64_t step, int64_t *count_out) {
  const int64_t n = t->p.n, B = t->B, d = t->p.dim;
  if (t->p.online) {
    *count_out = B;
    SSW_TRY(ssw_source_draw(&t->src, SSW_SET_ONLINE, (uint64_t)(step * B), B, t->X_batch, t->y_batch));
    return SSW_OK;
  }
  const int64_t per_epoch = (n + B - 1) / B, epoch = step / per_epoch, j = step % per_epoch;
  if (j == 0) ssw_batch_permutation((uint64_t)t->p.seed, epoch, n, t->perm);
  const int64_t first = j * B, count = first + B <= n ? B : n - first;
  for (int64_t i = 0; i < count; i++) {
    const int64_t src = t->perm[first + i];
    memcpy(t->X_batch + i * d, t->X + src * d, (size_t)d * sizeof(double));
    t->y_batch[i] = t->y[src];
  }
  *count_out = count;
  return SSW_OK;
}

static int batch_step(ssw_trainer_t *t, run_state_t *st, int64_t step) {
  int64_t count;
  SSW_TRY(load_batch(t, step, &count));
  double batch_loss;
  SSW_TRY(ssw_model_loss_grad(&t->M, t->theta, count, t->X_batch, t->y_batch, t->groups, t->grad, &t->ws,
                              &batch_loss));
  st->flops += ssw_model_step_flops(&t->M, count);
  update(t);
  return SSW_OK;
}

/* The edge ratio of the full loss at theta for this cell's steps (ntk.h). */
static int edge_ratio(ssw_trainer_t *t, run_state_t *st, double *ratio) {
  if (t->skip_edge) return SSW_OK;
  ssw_edge_t edge;
  const double t0 = ssw_clock_monotonic();
  SSW_TRY(ssw_ntk_edge_ratio(&t->M, t->theta, t->n_loss, t->X, t->groups, t->p.rate_ratio * t->p.lr, t->p.lr,
                             &edge));
  st->edge_s += ssw_clock_monotonic() - t0;
  st->flops += (double)edge.iters * ssw_model_step_flops(&t->M, t->n_loss);
  *ratio = edge.ratio;
  return SSW_OK;
}

/* The norms inner_dist and outer_dist divide by: functions of theta_0 alone. */
static void initial_norms(const ssw_trainer_t *t, run_state_t *st) {
  const ssw_model_t *M = &t->M;
  st->W0_norm = norm2(t->theta0, M->m * M->d);
  st->a0_norm = norm2(t->theta0 + ssw_theta_a(M), M->m);
}

static int start(ssw_trainer_t *t, ssw_result_t *r, run_state_t *st) {
  const ssw_model_t *M = &t->M;
  const int64_t P = ssw_theta_size(M), nm = t->n_loss * M->m;
  memcpy(t->theta, t->theta0, (size_t)P * sizeof *t->theta);
  initial_norms(t, st);
  if (t->p.ntk_eigs)
    SSW_TRY(ssw_ntk_extreme_eigs(M, t->theta0, t->n_loss, t->X, t->groups, &r->ntk_min, &r->ntk_max));
  SSW_TRY(full_loss_grad(t, st, &r->init_loss));
  for (int64_t e = 0; e < nm; e++) t->sign0[e] = t->ws.Z[e] > 0;
  SSW_TRY(edge_ratio(t, st, &r->edge_ratio_init));
  r->loss_rises = 0;
  r->max_rise = 0.0;
  return SSW_OK;
}

/* A rise of the loss from before to now (both full-loss evaluations). */
static void note_descent(ssw_result_t *r, double before, double now) {
  if (isfinite(now) && now > before * (1.0 + SSW_RISE_RTOL)) {
    r->loss_rises++;
    r->max_rise = fmax(r->max_rise, (now - before) / before);
  }
}

/* What is known once the run stopped: the edge ratio where it stopped, the last recorded
 * values, the diagnosis. */
static int finish(ssw_trainer_t *t, ssw_result_t *r, run_state_t *st) {
  if (r->status != SSW_STATUS_DIVERGED) SSW_TRY(edge_ratio(t, st, &r->edge_ratio_final));
  for (int s = 0; s < SSW_SERIES_COUNT; s++) r->final_series[s] = last_finite(r, s);
  r->loss_ratio = r->final_loss / r->init_loss;
  r->diagnosis = ssw_diagnose(&t->p, r);
  return SSW_OK;
}

int ssw_trainer_resume(ssw_trainer_t *t, ssw_result_t *r, const volatile sig_atomic_t *stop,
                       ssw_train_state_t **state) {
  const ssw_params_t *p = &t->p;
  SSW_REQUIRE(r->k == p->record_points, SSW_ERR_INTERNAL, "result has %lld record points, params %lld",
              (long long)r->k, (long long)p->record_points);
  ssw_result_clear(r);
  SSW_TRY(ssw_record_steps(p->max_iters, r->k, p->record_spacing, r->steps));
  const double t0 = ssw_clock_monotonic();
  double wall_before = 0.0, L = NAN;
  int64_t first = 0;
  run_state_t st = {0};
  if (state && *state) {
    SSW_TRY(ssw_train_state_restore(t, r, &st, *state, &first, &L, &wall_before));
    initial_norms(t, &st);
  } else {
    SSW_TRY(start(t, r, &st));
    L = r->init_loss;
  }
  const bool sgd = p->batch_size > 0;
  int rc = SSW_OK;
  for (int64_t step = first;; step++) {
    if ((stop && *stop) || (t->stop_at > 0 && step == t->stop_at && step > first))
      return ssw_train_state_keep(t, r, &st, step, L, wall_before + ssw_clock_monotonic() - t0, state);
    const bool check = !sgd || step == p->max_iters ||
                       (st.next_record < r->k && step == r->steps[st.next_record]);
    if (step > 0 && check) {
      const double before = L;
      t->ws.keep_z = st.next_record < r->k && step == r->steps[st.next_record]; /* for pattern_change */
      SSW_TRY(full_loss_grad(t, &st, &L));
      t->ws.keep_z = true;
      note_descent(r, before, L);
    }
    if (check && evaluate(t, r, &st, step, L, &rc)) break;
    if ((step & 63) == 0) ssw_train_progress_tick(step, p->max_iters, wall_before, t0);
    if (sgd) SSW_TRY(batch_step(t, &st, step));
    else update(t);
  }
  SSW_TRY(rc);
  SSW_TRY(finish(t, r, &st));
  r->wall_s = wall_before + ssw_clock_monotonic() - t0;
  r->edge_s = st.edge_s;
  r->gflops = r->wall_s > 0 ? st.flops / r->wall_s * 1e-9 : NAN;
  return SSW_OK;
}

int ssw_trainer_run(ssw_trainer_t *t, ssw_result_t *r, const volatile sig_atomic_t *stop) {
  return ssw_trainer_resume(t, r, stop, NULL);
}

int ssw_cell_train(const ssw_params_t *p, ssw_result_t *r, const volatile sig_atomic_t *stop) {
  return ssw_cell_train_resume(p, r, stop, NULL);
}
