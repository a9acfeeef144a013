/* The thread-local error trace behind include/shallowsweep/error.h. */
#include "shallowsweep/error.h"

#include <stdarg.h>
#include <string.h>

enum { SSW_ERROR_MESSAGE_MAX = 1024, SSW_ERROR_FRAMES_MAX = 32, SSW_ERROR_FRAME_MAX = 160 };

typedef struct {
  int code;
  char message[SSW_ERROR_MESSAGE_MAX];
  int nframes;
  char frames[SSW_ERROR_FRAMES_MAX][SSW_ERROR_FRAME_MAX];
} ssw_error_trace_t;

static _Thread_local ssw_error_trace_t trace;

static const char *basename_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

int ssw_error_frame(int code, const char *file, int line, const char *func) {
  if (trace.nframes < SSW_ERROR_FRAMES_MAX)
    snprintf(trace.frames[trace.nframes++], SSW_ERROR_FRAME_MAX, "%s:%d %s()",
             basename_of(file), line, func);
  return code;
}

int ssw_error_set(int code, const char *file, int line, const char *func, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(trace.message, sizeof trace.message, fmt, ap);
  va_end(ap);
  trace.code = code;
  trace.nframes = 0;
  return ssw_error_frame(code, file, line, func);
}

const char *ssw_error_message(void) { return trace.message; }
int ssw_error_code(void) { return trace.code; }

void ssw_error_print(FILE *f, const char *prefix) {
  fprintf(f, "%serror: %s\n", prefix ? prefix : "", trace.message[0] ? trace.message : "unknown error");
  for (int i = 0; i < trace.nframes; i++)
    fprintf(f, "%s  at %s\n", prefix ? prefix : "", trace.frames[i]);
}

void ssw_error_clear(void) {
  trace.code = SSW_OK;
  trace.message[0] = '\0';
  trace.nframes = 0;
}
