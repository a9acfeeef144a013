/* The shared text formats of include/shallowsweep/text.h. */
#include "shallowsweep/text.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ssw_format_real(double v, char *buf, size_t size) {
  /* 17 significant digits always round-trip an IEEE double, and every decimal of 15 digits
   * survives the trip to a double and back, so the %.15g text is exact for every value a
   * user can type; 16 and 17 digits only for values that need them (0.1 + 0.2). %g keeps
   * integers below 1e15 in plain digits (100000, not 1e+05). */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

int ssw_edit_distance(const char *a, const char *b) {
  enum { MAXLEN = 64 };
  size_t la = strnlen(a, MAXLEN), lb = strnlen(b, MAXLEN);
  int row[MAXLEN + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int best = sub < up + 1 ? sub : up + 1;
      row[j] = best < row[j - 1] + 1 ? best : row[j - 1] + 1;
      diag = up;
    }
  }
  return row[lb];
}

void ssw_text_add(ssw_text_t *t, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return (void)(t->oom = true);
    if (t->buf && t->len + (size_t)n < t->cap) return (void)(t->len += (size_t)n);
    size_t cap = (t->cap + (size_t)n + 1) * 2;
    char *b = realloc(t->buf, cap);
    if (!b) return (void)(t->oom = true);
    t->buf = b;
    t->cap = cap;
  }
}

int ssw_text_take(ssw_text_t *t, char **out, const char *what) {
  *out = NULL;
  if (t->oom || !t->buf) {
    bool oom = t->oom;
    ssw_text_fini(t);
    if (oom) return SSW_ERROR(SSW_ERR_NOMEM, "out of memory writing %s", what);
    SSW_REQUIRE(*out = strdup(""), SSW_ERR_NOMEM, "out of memory writing %s", what);
    return SSW_OK;
  }
  *out = t->buf;
  *t = (ssw_text_t){0};
  return SSW_OK;
}

void ssw_text_fini(ssw_text_t *t) {
  free(t->buf);
  *t = (ssw_text_t){0};
}

const char *ssw_text_quote(const char *text, char *buf, size_t size) {
  const size_t len = strlen(text);
  if (len <= SSW_QUOTE_MAX) return text;
  snprintf(buf, size, "%.*s... (%zu characters)", SSW_QUOTE_MAX - 20, text, len);
  return buf;
}

void ssw_text_parent_dir(const char *path, char *dir, size_t size) {
  snprintf(dir, size, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, size, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
}

void ssw_text_hms(double seconds, char *buf, size_t size) {
  if (!isfinite(seconds) || seconds < 0) {
    snprintf(buf, size, "?");
    return;
  }
  long t = lround(seconds);
  snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}
