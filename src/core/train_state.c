/* Stopping a cell's training between two updates and continuing it (train_state.h,
 * DESIGN.md §13). The loop itself is train.c's; this file moves its state in and out. */
#include "shallowsweep/train_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/data.h"
#include "train_impl.h"

int ssw_train_state_create(ssw_train_state_t **s, int64_t P, int64_t k, int64_t nm) {
  *s = NULL;
  SSW_REQUIRE(P >= 1 && k >= 1 && nm >= 1, SSW_ERR_INTERNAL, "a training state of P %lld, k %lld, nm %lld",
              (long long)P, (long long)k, (long long)nm);
  ssw_train_state_t *x = calloc(1, sizeof *x);
  SSW_REQUIRE(x, SSW_ERR_NOMEM, "out of memory allocating a training state");
  x->P = P, x->k = k, x->nm = nm;
  x->theta = calloc((size_t)P, sizeof *x->theta);
  x->series = calloc((size_t)(SSW_SERIES_COUNT * k), sizeof *x->series);
  x->sign0 = calloc((size_t)((nm + 7) / 8), 1);
  if (!x->theta || !x->series || !x->sign0) {
    ssw_train_state_destroy(&x);
    return SSW_ERROR(SSW_ERR_NOMEM, "out of memory allocating a training state (P %lld, k %lld, nm %lld)",
                     (long long)P, (long long)k, (long long)nm);
  }
  for (int64_t i = 0; i < SSW_SERIES_COUNT * k; i++) x->series[i] = NAN;
  *s = x;
  return SSW_OK;
}

void ssw_train_state_destroy(ssw_train_state_t **s) {
  if (!s || !*s) return;
  free((*s)->theta);
  free((*s)->series);
  free((*s)->sign0);
  free(*s);
  *s = NULL;
}

void ssw_trainer_state_sizes(const ssw_trainer_t *t, int64_t *P, int64_t *k, int64_t *nm) {
  *P = ssw_theta_size(&t->M);
  *k = t->p.record_points;
  *nm = t->n_loss * t->M.m;
}

void ssw_train_state_fields(ssw_train_state_t *s, ssw_train_state_field_t f[SSW_TRAIN_STATE_FIELDS]) {
  const size_t D = sizeof(double), I = sizeof(int64_t);
  int i = 0;
#define SCALAR(field, size) f[i++] = (ssw_train_state_field_t){#field, &s->field, size}
  SCALAR(step, I);
  SCALAR(next_record, I);
  SCALAR(loss_before, D);
  SCALAR(init_loss, D);
  SCALAR(ntk_min, D);
  SCALAR(ntk_max, D);
  SCALAR(edge_ratio_init, D);
  SCALAR(loss_rises, I);
  SCALAR(max_rise, D);
  SCALAR(wall_s, D);
  SCALAR(edge_s, D);
  SCALAR(flops, D);
  SCALAR(stops, I);
#undef SCALAR
  f[i++] = (ssw_train_state_field_t){"theta", s->theta, (size_t)s->P * D};
  f[i++] = (ssw_train_state_field_t){"series", s->series, (size_t)(SSW_SERIES_COUNT * s->k) * D};
  f[i++] = (ssw_train_state_field_t){"sign0", s->sign0, (size_t)((s->nm + 7) / 8)};
}

size_t ssw_train_state_bytes(const ssw_train_state_t *s) {
  ssw_train_state_field_t f[SSW_TRAIN_STATE_FIELDS];
  ssw_train_state_fields((ssw_train_state_t *)s, f);
  size_t bytes = 0;
  for (int i = 0; i < SSW_TRAIN_STATE_FIELDS; i++) bytes += f[i].bytes;
  return bytes;
}

void ssw_train_state_capture(const ssw_trainer_t *t, const ssw_result_t *r, const ssw_run_state_t *st,
                             int64_t step, double L, double wall_s, ssw_train_state_t *s) {
  s->step = step;
  s->next_record = st->next_record;
  s->loss_before = L;
  s->init_loss = r->init_loss, s->ntk_min = r->ntk_min, s->ntk_max = r->ntk_max;
  s->edge_ratio_init = r->edge_ratio_init;
  s->loss_rises = r->loss_rises, s->max_rise = r->max_rise;
  s->wall_s = wall_s, s->edge_s = st->edge_s, s->flops = st->flops;
  s->stops++;
  memcpy(s->theta, t->theta, (size_t)s->P * sizeof *s->theta);
  for (int q = 0; q < SSW_SERIES_COUNT; q++) memcpy(s->series + q * s->k, r->series[q], (size_t)s->k * sizeof(double));
  memset(s->sign0, 0, (size_t)((s->nm + 7) / 8));
  for (int64_t e = 0; e < s->nm; e++) s->sign0[e / 8] |= (uint8_t)((t->sign0[e] ? 1u : 0u) << (e % 8));
}

int ssw_train_state_restore(ssw_trainer_t *t, ssw_result_t *r, ssw_run_state_t *st, const ssw_train_state_t *s,
                            int64_t *step, double *L, double *wall_s) {
  int64_t P, k, nm;
  ssw_trainer_state_sizes(t, &P, &k, &nm);
  if (s->P != P || s->k != k || s->nm != nm || s->step < 1 || s->step > t->p.max_iters || s->next_record < 0 ||
      s->next_record > k || (s->next_record < k && r->steps[s->next_record] < s->step))
    return SSW_ERROR(SSW_ERR_INPUT,
                     "the kept state (P %lld, k %lld, nm %lld, step %lld, record %lld) was not made for this cell "
                     "(P %lld, k %lld, nm %lld, max_iters %lld)",
                     (long long)s->P, (long long)s->k, (long long)s->nm, (long long)s->step,
                     (long long)s->next_record, (long long)P, (long long)k, (long long)nm,
                     (long long)t->p.max_iters);
  memcpy(t->theta, s->theta, (size_t)P * sizeof *t->theta);
  for (int64_t e = 0; e < nm; e++) t->sign0[e] = (s->sign0[e / 8] >> (e % 8)) & 1u;
  /* minibatch SGD draws epoch e's permutation at its first batch; mid-epoch, draw it again */
  if (t->p.batch_size > 0 && !t->p.online) {
    const int64_t per_epoch = (t->p.n + t->B - 1) / t->B;
    if (s->step % per_epoch != 0) ssw_batch_permutation((uint64_t)t->p.seed, s->step / per_epoch, t->p.n, t->perm);
  }
  for (int q = 0; q < SSW_SERIES_COUNT; q++) memcpy(r->series[q], s->series + q * k, (size_t)k * sizeof(double));
  r->init_loss = s->init_loss, r->ntk_min = s->ntk_min, r->ntk_max = s->ntk_max;
  r->edge_ratio_init = s->edge_ratio_init;
  r->loss_rises = s->loss_rises, r->max_rise = s->max_rise;
  st->next_record = s->next_record;
  st->edge_s = s->edge_s;
  st->flops = s->flops;
  t->ws.keep_z = true; /* as after any full evaluation */
  *step = s->step;
  *L = s->loss_before;
  *wall_s = s->wall_s;
  return SSW_OK;
}

int ssw_train_state_keep(const ssw_trainer_t *t, const ssw_result_t *r, const ssw_run_state_t *st, int64_t step,
                         double L, double wall_s, ssw_train_state_t **state) {
  if (state && step == 0) ssw_train_state_destroy(state);
  if (state && step > 0) {
    int64_t P, k, nm;
    ssw_trainer_state_sizes(t, &P, &k, &nm);
    if (*state && ((*state)->P != P || (*state)->k != k || (*state)->nm != nm)) ssw_train_state_destroy(state);
    if (!*state) SSW_TRY(ssw_train_state_create(state, P, k, nm));
    ssw_train_state_capture(t, r, st, step, L, wall_s, *state);
  }
  return SSW_ERROR(SSW_ERR_STOPPED, "stopped by a signal at step %lld%s", (long long)step,
                   state && *state ? " (state kept)" : "");
}

int ssw_cell_train_resume(const ssw_params_t *p, ssw_result_t *r, const volatile sig_atomic_t *stop,
                          ssw_train_state_t **state) {
  ssw_trainer_t t;
  int rc = ssw_trainer_init(&t, p);
  if (rc == SSW_OK) rc = ssw_trainer_resume(&t, r, stop, state);
  ssw_trainer_fini(&t);
  if (rc != SSW_OK) return ssw_error_frame(rc, __FILE__, __LINE__, __func__);
  return SSW_OK;
}
