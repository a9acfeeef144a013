/* The expression language of include/shallowsweep/expr.h: a recursive-descent parser into a
 * tree of nodes held in one array, an evaluator and a canonical printer.
 *
 * Grammar (precedence low to high):
 *   sum     := product (('+' | '-') product)*
 *   product := unary (('*' | '/') unary)*
 *   unary   := ('+' | '-') unary | power
 *   power   := primary ('^' unary)?          right-associative; -a^b = -(a^b)
 *   primary := NUMBER | NAME | FUNC '(' sum (',' sum)? ')' | '(' sum ')'
 */
#include "shallowsweep/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"

typedef enum {
  NODE_NUM, NODE_NAME, NODE_NEG, NODE_ADD, NODE_SUB, NODE_MUL, NODE_DIV, NODE_POW,
  NODE_SQRT, NODE_LOG, NODE_EXP, NODE_MIN, NODE_MAX
} node_kind_t;

typedef struct {
  node_kind_t kind;
  double value;   /* NUM */
  int name;       /* NAME: index into names */
  int lhs, rhs;   /* children (node indices), -1 if none */
} node_t;

struct ssw_expr {
  node_t *nodes;  /* (nnodes) */
  int nnodes, cap;
  int root;
  char **names;   /* (nnames) distinct, first-appearance order */
  int nnames;
};

static const struct { const char *name; node_kind_t kind; int arity; } functions[] = {
    {"sqrt", NODE_SQRT, 1}, {"log", NODE_LOG, 1}, {"exp", NODE_EXP, 1},
    {"min", NODE_MIN, 2},   {"max", NODE_MAX, 2},
};
enum { NFUNCTIONS = sizeof functions / sizeof functions[0] };

typedef struct {
  const char *text;
  size_t pos;
  int depth;
  ssw_expr_t *e;
} parser_t;

static int fail(parser_t *ps, int *err_col, const char *what) {
  if (err_col) *err_col = (int)ps->pos;
  char near[24] = "end of expression";
  if (ps->text[ps->pos]) snprintf(near, sizeof near, "'%.8s'", ps->text + ps->pos);
  return SSW_ERROR(SSW_ERR_INPUT, "%s at column %d (near %s)", what, (int)ps->pos + 1, near);
}

static void skip_blanks(parser_t *ps) {
  while (ps->text[ps->pos] == ' ' || ps->text[ps->pos] == '\t') ps->pos++;
}

/* Length of a decimal number at s (digits, optional fraction, optional exponent), 0 if none. */
static size_t scan_number(const char *s) {
  size_t i = 0, digits = 0;
  while (isdigit((unsigned char)s[i])) i++, digits++;
  if (s[i] == '.') {
    i++;
    while (isdigit((unsigned char)s[i])) i++, digits++;
  }
  if (digits == 0) return 0;
  if (s[i] == 'e' || s[i] == 'E') {
    size_t j = i + 1;
    if (s[j] == '+' || s[j] == '-') j++;
    if (isdigit((unsigned char)s[j])) {
      while (isdigit((unsigned char)s[j])) j++;
      i = j;
    }
  }
  return i;
}

static int new_node(parser_t *ps, node_kind_t kind, int lhs, int rhs, int *out) {
  ssw_expr_t *e = ps->e;
  if (e->nnodes == e->cap) {
    int cap = e->cap ? 2 * e->cap : 16;
    node_t *nodes = realloc(e->nodes, (size_t)cap * sizeof *nodes);
    SSW_REQUIRE(nodes, SSW_ERR_NOMEM, "out of memory parsing an expression");
    e->nodes = nodes;
    e->cap = cap;
  }
  e->nodes[e->nnodes] = (node_t){.kind = kind, .lhs = lhs, .rhs = rhs, .name = -1};
  *out = e->nnodes++;
  return SSW_OK;
}

static int add_name(ssw_expr_t *e, const char *s, size_t len, int *index) {
  for (int i = 0; i < e->nnames; i++)
    if (strlen(e->names[i]) == len && strncmp(e->names[i], s, len) == 0) return *index = i, SSW_OK;
  char **names = realloc(e->names, (size_t)(e->nnames + 1) * sizeof *names);
  SSW_REQUIRE(names, SSW_ERR_NOMEM, "out of memory parsing an expression");
  e->names = names;
  SSW_REQUIRE(e->names[e->nnames] = strndup(s, len), SSW_ERR_NOMEM, "out of memory parsing an expression");
  *index = e->nnames++;
  return SSW_OK;
}

static int parse_sum(parser_t *ps, int *out, int *err_col);
static int parse_unary(parser_t *ps, int *out, int *err_col);

static int parse_call(parser_t *ps, const char *name, size_t len, int *out, int *err_col) {
  for (int f = 0; f < NFUNCTIONS; f++) {
    if (strlen(functions[f].name) != len || strncmp(functions[f].name, name, len) != 0) continue;
    ps->pos++; /* '(' */
    int args[2] = {-1, -1};
    for (int a = 0; a < functions[f].arity; a++) {
      if (a > 0) {
        skip_blanks(ps);
        if (ps->text[ps->pos] != ',') return fail(ps, err_col, "expected ',' (this function takes 2 arguments)");
        ps->pos++;
      }
      SSW_TRY(parse_sum(ps, &args[a], err_col));
    }
    skip_blanks(ps);
    if (ps->text[ps->pos] != ')')
      return fail(ps, err_col, functions[f].arity == 1 ? "expected ')' (this function takes 1 argument)"
                                                       : "expected ')'");
    ps->pos++;
    return new_node(ps, functions[f].kind, args[0], args[1], out);
  }
  return fail(ps, err_col, "unknown function (use sqrt, log, exp, min, max)");
}

static int parse_primary(parser_t *ps, int *out, int *err_col) {
  skip_blanks(ps);
  const char *s = ps->text + ps->pos;
  size_t len = scan_number(s);
  if (len > 0) {
    if (isalpha((unsigned char)s[len]) || s[len] == '_' || s[len] == '.')
      return ps->pos += len, fail(ps, err_col, "malformed number");
    char buf[64];
    if (len >= sizeof buf) return fail(ps, err_col, "number too long");
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v)) return fail(ps, err_col, "number out of range");
    SSW_TRY(new_node(ps, NODE_NUM, -1, -1, out));
    ps->e->nodes[*out].value = v;
    ps->pos += len;
    return SSW_OK;
  }
  if (isalpha((unsigned char)*s) || *s == '_') {
    while (isalnum((unsigned char)s[len]) || s[len] == '_') len++;
    size_t start = ps->pos;
    ps->pos += len;
    skip_blanks(ps);
    if (ps->text[ps->pos] == '(') return parse_call(ps, ps->text + start, len, out, err_col);
    int index = -1;
    SSW_TRY(add_name(ps->e, s, len, &index));
    SSW_TRY(new_node(ps, NODE_NAME, -1, -1, out));
    ps->e->nodes[*out].name = index;
    return SSW_OK;
  }
  if (*s == '(') {
    ps->pos++;
    SSW_TRY(parse_sum(ps, out, err_col));
    skip_blanks(ps);
    if (ps->text[ps->pos] != ')') return fail(ps, err_col, "expected ')'");
    ps->pos++;
    return SSW_OK;
  }
  return fail(ps, err_col, *s ? "expected a number, a name or '('" : "unexpected end, expected a value");
}

static int parse_power(parser_t *ps, int *out, int *err_col) {
  SSW_TRY(parse_primary(ps, out, err_col));
  skip_blanks(ps);
  if (ps->text[ps->pos] != '^') return SSW_OK;
  ps->pos++;
  int rhs;
  SSW_TRY(parse_unary(ps, &rhs, err_col));
  return new_node(ps, NODE_POW, *out, rhs, out);
}

static int parse_unary(parser_t *ps, int *out, int *err_col) {
  if (++ps->depth > SSW_EXPR_MAX_DEPTH) return fail(ps, err_col, "expression nested too deeply");
  skip_blanks(ps);
  char c = ps->text[ps->pos];
  int rc;
  if (c == '+' || c == '-') {
    ps->pos++;
    rc = parse_unary(ps, out, err_col);
    if (rc == SSW_OK && c == '-') rc = new_node(ps, NODE_NEG, *out, -1, out);
  } else {
    rc = parse_power(ps, out, err_col);
  }
  ps->depth--;
  return rc;
}

static int parse_product(parser_t *ps, int *out, int *err_col) {
  SSW_TRY(parse_unary(ps, out, err_col));
  for (;;) {
    skip_blanks(ps);
    char c = ps->text[ps->pos];
    if (c != '*' && c != '/') return SSW_OK;
    ps->pos++;
    int rhs;
    SSW_TRY(parse_unary(ps, &rhs, err_col));
    SSW_TRY(new_node(ps, c == '*' ? NODE_MUL : NODE_DIV, *out, rhs, out));
  }
}

static int parse_sum(parser_t *ps, int *out, int *err_col) {
  if (++ps->depth > SSW_EXPR_MAX_DEPTH) return fail(ps, err_col, "expression nested too deeply");
  int rc = parse_product(ps, out, err_col);
  while (rc == SSW_OK) {
    skip_blanks(ps);
    char c = ps->text[ps->pos];
    if (c != '+' && c != '-') break;
    ps->pos++;
    int rhs;
    rc = parse_product(ps, &rhs, err_col);
    if (rc == SSW_OK) rc = new_node(ps, c == '+' ? NODE_ADD : NODE_SUB, *out, rhs, out);
  }
  ps->depth--;
  return rc;
}

void ssw_expr_destroy(ssw_expr_t **expr) {
  if (!expr || !*expr) return;
  ssw_expr_t *e = *expr;
  for (int i = 0; i < e->nnames; i++) free(e->names[i]);
  free(e->names);
  free(e->nodes);
  free(e);
  *expr = NULL;
}

int ssw_expr_parse(ssw_expr_t **expr, const char *text, int *err_col) {
  *expr = NULL;
  if (err_col) *err_col = 0;
  SSW_REQUIRE(strlen(text) <= SSW_EXPR_MAX_LEN, SSW_ERR_INPUT,
              "expression longer than %d characters", SSW_EXPR_MAX_LEN);
  ssw_expr_t *e = calloc(1, sizeof *e);
  SSW_REQUIRE(e, SSW_ERR_NOMEM, "out of memory parsing an expression");
  parser_t ps = {.text = text, .e = e};
  int rc = parse_sum(&ps, &e->root, err_col);
  if (rc == SSW_OK) {
    skip_blanks(&ps);
    if (text[ps.pos] != '\0')
      rc = fail(&ps, err_col, text[ps.pos] == ')' ? "unmatched ')'" : "unexpected character");
  }
  if (rc != SSW_OK) {
    ssw_expr_destroy(&e);
    return rc;
  }
  *expr = e;
  return SSW_OK;
}

int ssw_expr_name_count(const ssw_expr_t *expr) { return expr->nnames; }
const char *ssw_expr_name(const ssw_expr_t *expr, int i) { return expr->names[i]; }

/* Recursion depth is bounded by SSW_EXPR_MAX_DEPTH through the parser. */
static int eval_node(const ssw_expr_t *e, int i, ssw_expr_lookup_fn lookup, void *ctx, double *out) {
  const node_t *nd = &e->nodes[i];
  double a = 0, b = 0;
  if (nd->kind == NODE_NUM) return *out = nd->value, SSW_OK;
  if (nd->kind == NODE_NAME) {
    SSW_TRY(lookup(ctx, e->names[nd->name], out));
    return SSW_OK;
  }
  SSW_TRY(eval_node(e, nd->lhs, lookup, ctx, &a));
  if (nd->rhs >= 0) SSW_TRY(eval_node(e, nd->rhs, lookup, ctx, &b));
  switch (nd->kind) {
  case NODE_NEG: *out = -a; break;
  case NODE_ADD: *out = a + b; break;
  case NODE_SUB: *out = a - b; break;
  case NODE_MUL: *out = a * b; break;
  case NODE_DIV: *out = a / b; break;
  case NODE_POW: *out = pow(a, b); break;
  case NODE_SQRT: *out = sqrt(a); break;
  case NODE_LOG: *out = log(a); break;
  case NODE_EXP: *out = exp(a); break;
  case NODE_MIN: *out = fmin(a, b); break;
  case NODE_MAX: *out = fmax(a, b); break;
  default: return SSW_ERROR(SSW_ERR_INTERNAL, "bad expression node %d", (int)nd->kind);
  }
  return SSW_OK;
}

int ssw_expr_eval(const ssw_expr_t *expr, ssw_expr_lookup_fn lookup, void *ctx, double *value) {
  SSW_TRY(eval_node(expr, expr->root, lookup, ctx, value));
  return SSW_OK;
}

/* ---- canonical printing ---- */

typedef struct {
  char *buf;
  size_t size, len;
} out_t;

static void put(out_t *o, const char *s) {
  size_t n = strlen(s);
  if (o->len + 1 < o->size) {
    size_t room = o->size - 1 - o->len;
    memcpy(o->buf + o->len, s, n < room ? n : room);
    o->buf[o->len + (n < room ? n : room)] = '\0';
  }
  o->len += n;
}

static int precedence(node_kind_t k) {
  switch (k) {
  case NODE_ADD: case NODE_SUB: return 1;
  case NODE_MUL: case NODE_DIV: return 2;
  case NODE_NEG: return 3;
  case NODE_POW: return 4;
  default: return 5;
  }
}

static void print_node(const ssw_expr_t *e, int i, out_t *o);

static void print_child(const ssw_expr_t *e, int child, bool parens, out_t *o) {
  if (parens) put(o, "(");
  print_node(e, child, o);
  if (parens) put(o, ")");
}

static void print_node(const ssw_expr_t *e, int i, out_t *o) {
  const node_t *nd = &e->nodes[i];
  int p = precedence(nd->kind);
  char num[40];
  switch (nd->kind) {
  case NODE_NUM:
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(num, sizeof num, "%.*g", prec, nd->value);
      if (strtod(num, NULL) == nd->value) break;
    }
    put(o, num);
    return;
  case NODE_NAME: put(o, e->names[nd->name]); return;
  case NODE_NEG:
    put(o, "-");
    print_child(e, nd->lhs, precedence(e->nodes[nd->lhs].kind) < p, o);
    return;
  case NODE_SQRT: case NODE_LOG: case NODE_EXP: case NODE_MIN: case NODE_MAX:
    for (int f = 0; f < NFUNCTIONS; f++)
      if (functions[f].kind == nd->kind) put(o, functions[f].name);
    put(o, "(");
    print_node(e, nd->lhs, o);
    if (nd->rhs >= 0) put(o, ", "), print_node(e, nd->rhs, o);
    put(o, ")");
    return;
  default: {
    /* Binary: keep the tree's grouping exactly, so the text parses back to the same tree. */
    static const char *const ops[] = {[NODE_ADD] = " + ", [NODE_SUB] = " - ", [NODE_MUL] = "*",
                                      [NODE_DIV] = "/", [NODE_POW] = "^"};
    int lp = precedence(e->nodes[nd->lhs].kind), rp = precedence(e->nodes[nd->rhs].kind);
    bool right_assoc = nd->kind == NODE_POW;
    print_child(e, nd->lhs, right_assoc ? lp <= p : lp < p, o);
    put(o, ops[nd->kind]);
    print_child(e, nd->rhs, right_assoc ? rp < p && rp != 3 : rp <= p, o);
    return;
  }
  }
}

char *ssw_expr_format(const ssw_expr_t *expr, char *buf, size_t size) {
  out_t o = {.buf = buf, .size = size};
  if (size) buf[0] = '\0';
  print_node(expr, expr->root, &o);
  return buf;
}

bool ssw_expr_is_number(const char *text, double *value) {
  const char *s = text;
  while (*s == ' ' || *s == '\t') s++;
  const char *start = s;
  if (*s == '+' || *s == '-') s++;
  size_t len = scan_number(s);
  if (len == 0) return false;
  const char *end = s + len;
  while (*end == ' ' || *end == '\t') end++;
  if (*end != '\0') return false;
  double v = strtod(start, NULL);
  if (!isfinite(v)) return false;
  if (value) *value = v;
  return true;
}
