/* The expression language: values against hand-computed numbers, precedence, errors with
 * columns, and the canonical text that parses back to itself. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shallowsweep/error.h"
#include "shallowsweep/expr.h"

static int lookup(void *ctx, const char *name, double *v) {
  (void)ctx;
  if (strcmp(name, "width") == 0) return *v = 256, SSW_OK;
  if (strcmp(name, "dim") == 0) return *v = 16, SSW_OK;
  if (strcmp(name, "gamma") == 0) return *v = 0.5, SSW_OK;
  return SSW_ERROR(SSW_ERR_INPUT, "unknown name '%s'", name);
}

static double eval(const char *text) {
  ssw_expr_t *e = NULL;
  int col;
  if (ssw_expr_parse(&e, text, &col) != SSW_OK) fail_msg("'%s' did not parse: %s", text, ssw_error_message());
  double v = NAN;
  assert_int_equal(ssw_expr_eval(e, lookup, NULL, &v), SSW_OK);
  ssw_expr_destroy(&e);
  assert_null(e);
  return v;
}

static void check(const char *text, double want) {
  double got = eval(text);
  if (!(got == want || fabs(got - want) <= 1e-15 * fabs(want)))
    fail_msg("'%s' = %.17g, want %.17g (abs diff %.3g)", text, got, want, fabs(got - want));
}

static void test_values(void **state) {
  (void)state;
  check("1/sqrt(dim)", 0.25);
  check("width^-gamma", 1.0 / 16.0);
  check("0.5*width", 128);
  check("1 + 2*3", 7);
  check("(1 + 2)*3", 9);
  check("2^3^2", 512);           /* right-associative */
  check("-2^2", -4);             /* ^ before unary minus */
  check("(-2)^2", 4);
  check("2^-1", 0.5);
  check("8/4/2", 1);             /* left-associative */
  check("10 - 4 - 3", 3);
  check("min(3, width)", 3);
  check("max(3, width)", 256);
  check("exp(log(5))", exp(log(5.0)));
  check("log(width)/log(2)", log(256.0) / log(2.0));
  check("1e-3*width", 0.256);
  check(" --3 ", 3);
  check("+.5", 0.5);
  check("sqrt(width*dim)", 64);
}

static void expect_error(const char *text, int col) {
  ssw_expr_t *e = NULL;
  int got_col = -1;
  assert_int_equal(ssw_expr_parse(&e, text, &got_col), SSW_ERR_INPUT);
  assert_null(e);
  if (got_col != col) fail_msg("'%s': error at column %d, want %d (%s)", text, got_col, col, ssw_error_message());
}

static void test_errors(void **state) {
  (void)state;
  expect_error("", 0);
  expect_error("1 +", 3);
  expect_error("(1", 2);
  expect_error("1)", 1);
  expect_error("2**3", 2);
  expect_error("foo(1)", 3);
  expect_error("min(1)", 5);
  expect_error("sqrt(1, 2)", 6);
  expect_error("1e999", 0);
  expect_error("3x", 1);
  expect_error("width $ 2", 6);
  expect_error("import os", 7);
  char deep[300];
  memset(deep, '(', 200);
  strcpy(deep + 200, "1");
  expect_error(deep, 32); /* nesting bound */
}

static void test_names(void **state) {
  (void)state;
  ssw_expr_t *e = NULL;
  assert_int_equal(ssw_expr_parse(&e, "width*dim + width^gamma", NULL), SSW_OK);
  assert_int_equal(ssw_expr_name_count(e), 3);
  assert_string_equal(ssw_expr_name(e, 0), "width");
  assert_string_equal(ssw_expr_name(e, 1), "dim");
  assert_string_equal(ssw_expr_name(e, 2), "gamma");
  ssw_expr_destroy(&e);
  assert_int_equal(ssw_expr_parse(&e, "nope + 1", NULL), SSW_OK);
  double v;
  assert_int_equal(ssw_expr_eval(e, lookup, NULL, &v), SSW_ERR_INPUT);
  ssw_expr_destroy(&e);
  ssw_expr_destroy(&e); /* NULL is fine */
}

static void test_canonical(void **state) {
  (void)state;
  static const struct { const char *in, *out; } cases[] = {
      {"1/sqrt( dim )", "1/sqrt(dim)"},     {"width^-gamma", "width^-gamma"},
      {"a-(b-c)", "a - (b - c)"},           {"(a-b)-c", "a - b - c"},
      {"a+(b+c)", "a + (b + c)"},           {"(2^3)^2", "(2^3)^2"},
      {"-(a+b)*c", "-(a + b)*c"},           {"(-2)^2", "(-2)^2"},
      {"min(a,max(b , c))", "min(a, max(b, c))"}, {"0.1*3", "0.1*3"},
      {"1e-8", "1e-08"},                    {"--a", "--a"},
      {"a/(b*c)", "a/(b*c)"},               {"a*-b", "a*-b"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ssw_expr_t *e = NULL, *e2 = NULL;
    char buf[256], buf2[256];
    assert_int_equal(ssw_expr_parse(&e, cases[i].in, NULL), SSW_OK);
    ssw_expr_format(e, buf, sizeof buf);
    if (strcmp(buf, cases[i].out) != 0) fail_msg("'%s' printed as '%s', want '%s'", cases[i].in, buf, cases[i].out);
    assert_int_equal(ssw_expr_parse(&e2, buf, NULL), SSW_OK);
    ssw_expr_format(e2, buf2, sizeof buf2);
    assert_string_equal(buf, buf2);
    ssw_expr_destroy(&e);
    ssw_expr_destroy(&e2);
  }
}

static void test_is_number(void **state) {
  (void)state;
  double v;
  assert_true(ssw_expr_is_number("0.5", &v) && v == 0.5);
  assert_true(ssw_expr_is_number(" -1e-3 ", &v) && v == -1e-3);
  assert_false(ssw_expr_is_number("1/2", &v));
  assert_false(ssw_expr_is_number("inf", &v));
  assert_false(ssw_expr_is_number("nan", &v));
  assert_false(ssw_expr_is_number("0x10", &v));
  assert_false(ssw_expr_is_number("", &v));
  assert_false(ssw_expr_is_number("1e999", &v));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values), cmocka_unit_test(test_errors), cmocka_unit_test(test_names),
      cmocka_unit_test(test_canonical), cmocka_unit_test(test_is_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
