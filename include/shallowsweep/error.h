/* shallowsweep error codes, the error trace, and the one check layer every module uses.
 *
 * Every library function returns an int: SSW_OK (0) or one of the codes below, and every
 * int-returning function of a public header is SSW_NODISCARD, so that a dropped code is a
 * compiler warning (an error in this build). A failing function records one root cause
 * with SSW_ERROR (or SSW_ERROR_KEY, naming the key at fault); each frame it travels through
 * adds its file/line/function with SSW_TRY, so that the command line prints the cause
 * followed by the path it took (PETSc's model, one variadic macro). A caller that knows
 * where the mistake was written places it with ssw_error_locate: the trace keeps the
 * position, the key, a context ("in cell 3 (width=8, seed=0)") and the reason as separate
 * fields, and ssw_error_message() composes the one line a user reads:
 *   FILE:LINE:COL: key 'k': CONTEXT: REASON
 *
 * The trace lives in thread-local storage: it is the one piece of state that is not
 * passed explicitly, because threading an error object through every numeric kernel
 * would obscure the mathematics. Library code never prints and never exits.
 *
 * The HDF5 and MPI checks built on this layer are in shallowsweep/check.h (src/store).
 */
#ifndef SHALLOWSWEEP_ERROR_H
#define SHALLOWSWEEP_ERROR_H

#include <stdio.h>

/* On every int-returning function of a public header: its code must be looked at. */
#define SSW_NODISCARD __attribute__((warn_unused_result))

enum {
  SSW_OK = 0,
  SSW_ERR_INTERNAL = 1, /* a bug or a library failure: exit 1 */
  SSW_ERR_INPUT = 2,    /* bad command line or sweep file: exit 2 */
  SSW_ERR_NOMEM = 3,    /* allocation failed */
  SSW_ERR_IO = 4,       /* a file could not be read or written */
  SSW_ERR_LIB = 5,      /* BLAS/LAPACK/HDF5/MPI returned an error */
  SSW_ERR_SYSTEM = 6,   /* the machine failed a whole operation (disk full, quota, I/O error) and the
                           message says which file and what to do: one line, no trace, exit 1 */
  SSW_ERR_STOPPED = 75, /* stopped by a signal; resume to finish (EX_TEMPFAIL) */
};

/* Record the root cause (clears any earlier trace: position, key, context) and return code.
 * Not collective. */
int ssw_error_set(int code, const char *file, int line, const char *func,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, naming the key at fault (a sweep or parameter key, or NULL). */
int ssw_error_set_key(int code, const char *key, const char *file, int line, const char *func,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Append one frame (file:line function) to the current trace and return code. */
int ssw_error_frame(int code, const char *file, int line, const char *func);
/* Place the current error where the user wrote it: path (a file, or "--set"), line and col
 * (1-based; line 0: the file as a whole), the key at fault and a context ("in cell 3 (...)").
 * A NULL path, key or context keeps what the trace holds. Returns the current code. Not
 * collective. */
int ssw_error_locate(const char *path, int line, int col, const char *key, const char *context);
/* The one-line message, composed from the fields ("" if no error). */
const char *ssw_error_message(void);
/* The reason alone, without position, key or context. */
const char *ssw_error_reason(void);
/* The key at fault ("" if none). */
const char *ssw_error_key(void);
/* The code of the last ssw_error_set (SSW_OK if none). */
int ssw_error_code(void);
/* Print "error: <message>" then the trace, one frame per line, to f. */
void ssw_error_print(FILE *f, const char *prefix);
void ssw_error_clear(void);

#define SSW_ERROR(code, ...) ssw_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define SSW_ERROR_KEY(code, key, ...) ssw_error_set_key((code), (key), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Propagate a nonzero code from call, adding this frame. */
#define SSW_TRY(call)                                                         \
  do {                                                                        \
    int ssw_try_rc_ = (call);                                                 \
    if (ssw_try_rc_ != SSW_OK)                                                \
      return ssw_error_frame(ssw_try_rc_, __FILE__, __LINE__, __func__);      \
  } while (0)

/* One-line precondition check with printf context. */
#define SSW_REQUIRE(cond, code, ...)                                          \
  do {                                                                        \
    if (!(cond)) return SSW_ERROR((code), __VA_ARGS__);                       \
  } while (0)

/* The same, naming the key at fault. */
#define SSW_REQUIRE_KEY(cond, code, key, ...)                                 \
  do {                                                                        \
    if (!(cond)) return SSW_ERROR_KEY((code), (key), __VA_ARGS__);            \
  } while (0)

/* Allocation with a message naming what and how much. */
#define SSW_ALLOC(ptr, count)                                                 \
  do {                                                                        \
    size_t ssw_alloc_n_ = (size_t)(count);                                    \
    (ptr) = calloc(ssw_alloc_n_ ? ssw_alloc_n_ : 1, sizeof *(ptr));           \
    if (!(ptr))                                                               \
      return SSW_ERROR(SSW_ERR_NOMEM, "out of memory allocating %zu x %zu bytes for %s", \
                       ssw_alloc_n_, sizeof *(ptr), #ptr);                    \
  } while (0)

#endif
