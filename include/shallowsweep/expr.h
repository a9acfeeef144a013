/* Arithmetic expressions in sweep values (DESIGN.md §2): "1/sqrt(dim)", "width^-gamma",
 * "0.5*width".
 *
 * The language, and nothing more: numbers (123, 0.5, 1e-3), names ([A-Za-z_][A-Za-z0-9_]*),
 * + - * / ^, unary + and -, parentheses, sqrt(x), log(x) (natural), exp(x), min(x, y),
 * max(x, y). ^ binds tighter than unary minus and is right-associative, as in mathematics:
 * -2^2 = -4, 2^3^2 = 2^9, width^-0.5 = width^(-0.5). This is the only evaluation of user
 * text in shallowsweep: a recursive-descent parser into a small tree, no eval, no shell.
 *
 * Canonical text: ssw_expr_format prints the tree with single spaces around + and -,
 * none around * / ^, and only the parentheses the tree needs, so that parsing the
 * printed text gives the same tree (and the same text again).
 */
#ifndef SHALLOWSWEEP_EXPR_H
#define SHALLOWSWEEP_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include "shallowsweep/error.h"

enum {
  SSW_EXPR_MAX_LEN = 1024,  /* characters of one expression */
  SSW_EXPR_MAX_DEPTH = 64,  /* nesting of parentheses / operators (bounds the recursion) */
};

typedef struct ssw_expr ssw_expr_t; /* a parsed expression: a tree and the names it uses */

/* Parse text. On a syntax error returns SSW_ERR_INPUT with a message "what is wrong at
 * column C" and, if err_col is non-NULL, *err_col = C (0-based offset into text).
 * Not collective. */
SSW_NODISCARD int ssw_expr_parse(ssw_expr_t **expr, const char *text, int *err_col);
void ssw_expr_destroy(ssw_expr_t **expr);

/* The distinct names used, in order of first appearance. */
int ssw_expr_name_count(const ssw_expr_t *expr);
const char *ssw_expr_name(const ssw_expr_t *expr, int i);

/* Value of name i; return nonzero (with an ssw_error_set message) to fail the evaluation. */
typedef int (*ssw_expr_lookup_fn)(void *ctx, const char *name, double *value);

/* Evaluate with every name's value from lookup. The result may be non-finite (log(0),
 * 1/0): the caller decides whether that is an error. */
SSW_NODISCARD int ssw_expr_eval(const ssw_expr_t *expr, ssw_expr_lookup_fn lookup, void *ctx, double *value);

/* The canonical text (see above) into buf; returns buf (truncated if size is too small). */
char *ssw_expr_format(const ssw_expr_t *expr, char *buf, size_t size);

/* True if text is exactly one finite decimal number (optional sign, surrounding blanks). */
bool ssw_expr_is_number(const char *text, double *value);

#endif
