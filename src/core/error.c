/* The thread-local error trace behind include/shallowsweep/error.h. */
#include "shallowsweep/error.h"

#include <stdarg.h>
#include <string.h>

enum {
  SSW_ERROR_REASON_MAX = 4096,  /* a reason may quote a long expression: keep its end */
  SSW_ERROR_FIELD_MAX = 512,    /* path, context */
  SSW_ERROR_KEY_MAX = 64,
  SSW_ERROR_FRAMES_MAX = 32,
  SSW_ERROR_FRAME_MAX = 160,
  SSW_ERROR_MESSAGE_MAX = SSW_ERROR_REASON_MAX + 2 * SSW_ERROR_FIELD_MAX + SSW_ERROR_KEY_MAX + 64,
};

typedef struct {
  int code;
  char reason[SSW_ERROR_REASON_MAX];
  char key[SSW_ERROR_KEY_MAX];
  char path[SSW_ERROR_FIELD_MAX];  /* "" when not placed */
  int line, col;
  char context[SSW_ERROR_FIELD_MAX];
  char message[SSW_ERROR_MESSAGE_MAX]; /* composed from the fields above */
  int nframes;
  char frames[SSW_ERROR_FRAMES_MAX][SSW_ERROR_FRAME_MAX];
} ssw_error_trace_t;

static _Thread_local ssw_error_trace_t trace;

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* FILE:LINE:COL: key 'k': CONTEXT: REASON, each part only when known. */
static void compose(void) {
  size_t size = sizeof trace.message, len = 0;
  char *m = trace.message;
  m[0] = '\0';
#define PART(...) (len += (size_t)snprintf(m + (len < size ? len : size - 1), len < size ? size - len : 1, __VA_ARGS__))
  if (trace.path[0] && trace.line > 0) PART("%s:%d:%d: ", trace.path, trace.line, trace.col);
  else if (trace.path[0]) PART("%s: ", trace.path);
  if (trace.key[0]) PART("key '%s': ", trace.key);
  if (trace.context[0]) PART("%s: ", trace.context);
  PART("%s", trace.reason);
#undef PART
}

int ssw_error_frame(int code, const char *file, int line, const char *func) {
  if (trace.nframes < SSW_ERROR_FRAMES_MAX)
    snprintf(trace.frames[trace.nframes++], SSW_ERROR_FRAME_MAX, "%s:%d %s()",
             basename_of(file), line, func);
  return code;
}

static int set_v(int code, const char *key, const char *file, int line, const char *func, const char *fmt,
                 va_list ap) {
  vsnprintf(trace.reason, sizeof trace.reason, fmt, ap);
  trace.code = code;
  snprintf(trace.key, sizeof trace.key, "%s", key ? key : "");
  trace.path[0] = trace.context[0] = '\0';
  trace.line = trace.col = 0;
  trace.nframes = 0;
  compose();
  return ssw_error_frame(code, file, line, func);
}

int ssw_error_set(int code, const char *file, int line, const char *func, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = set_v(code, NULL, file, line, func, fmt, ap);
  va_end(ap);
  return rc;
}

int ssw_error_set_key(int code, const char *key, const char *file, int line, const char *func, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = set_v(code, key, file, line, func, fmt, ap);
  va_end(ap);
  return rc;
}

int ssw_error_locate(const char *path, int line, int col, const char *key, const char *context) {
  if (path) {
    snprintf(trace.path, sizeof trace.path, "%s", path);
    trace.line = line;
    trace.col = col;
  }
  if (key) snprintf(trace.key, sizeof trace.key, "%s", key);
  if (context) snprintf(trace.context, sizeof trace.context, "%s", context);
  compose();
  return trace.code;
}

const char *ssw_error_message(void) { return trace.message; }
const char *ssw_error_reason(void) { return trace.reason; }
const char *ssw_error_key(void) { return trace.key; }
int ssw_error_code(void) { return trace.code; }

void ssw_error_print(FILE *f, const char *prefix) {
  fprintf(f, "%serror: %s\n", prefix ? prefix : "", trace.message[0] ? trace.message : "unknown error");
  for (int i = 0; i < trace.nframes; i++)
    fprintf(f, "%s  at %s\n", prefix ? prefix : "", trace.frames[i]);
}

void ssw_error_clear(void) {
  trace.code = SSW_OK;
  trace.reason[0] = trace.key[0] = trace.path[0] = trace.context[0] = trace.message[0] = '\0';
  trace.line = trace.col = 0;
  trace.nframes = 0;
}
