/* The text formats every module shares (STYLE 15): one implementation each, so that the
 * same value never prints two ways (validate, status, the file and the Python labels all
 * show 0.30000000000000004, or all 0.3).
 */
#ifndef SHALLOWSWEEP_TEXT_H
#define SHALLOWSWEEP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "shallowsweep/error.h"

/* Longest text of ssw_format_real, with its NUL ("-2.2250738585072014e-308"). */
enum { SSW_REAL_TEXT_MAX = 32 };

/* A real number as the first of "%.15g", "%.16g", "%.17g" that reads back (strtod) to
 * exactly v: 0.5, 1e-05, 100000, 0.30000000000000004. Not collective. */
void ssw_format_real(double v, char *buf, size_t size);

/* Levenshtein distance, case-insensitive, over the first 64 bytes of each, for "did you
 * mean". Not collective. */
int ssw_edit_distance(const char *a, const char *b);

/* text for quoting in a one-line message: itself if at most SSW_QUOTE_MAX bytes, else its start,
 * "..." and its length, in buf (size >= SSW_QUOTE_MAX + 48), so that the reason after it shows. */
enum { SSW_QUOTE_MAX = 80 };
const char *ssw_text_quote(const char *text, char *buf, size_t size);

/* The directory of a path, as a path: "." for a bare name, "/" for a name in the root. */
void ssw_text_parent_dir(const char *path, char *dir, size_t size);
/* buf (size) = seconds as H:MM:SS, rounded ("?" when not finite or negative): plan's wall
 * time and the progress line's elapsed time and ETA. */
void ssw_text_hms(double seconds, char *buf, size_t size);

/* A growing NUL-terminated string. ssw_text_add never fails on its own: it records running
 * out of memory in oom, and ssw_text_take reports it once. */
typedef struct ssw_text {
  char *buf;      /* NUL-terminated, or NULL while empty */
  size_t len, cap;
  bool oom;
} ssw_text_t;

void ssw_text_add(ssw_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move the text out into *out (the caller frees it); SSW_ERR_NOMEM if any add ran out of
 * memory (the text is then freed). what names the text in the message. */
SSW_NODISCARD int ssw_text_take(ssw_text_t *t, char **out, const char *what);
void ssw_text_fini(ssw_text_t *t);

#endif
