/* The shared text formats (src/core/text.c): real numbers round-trip in the shortest text,
 * edit distance, the growing string. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shallowsweep/text.h"

static void test_reals_are_shortest_and_exact(void **state) {
  (void)state;
  const struct { double v; const char *text; } cases[] = {
      {0.3, "0.3"}, {0.1 + 0.2, "0.30000000000000004"}, {1e-5, "1e-05"}, {64, "64"}, {-2.5, "-2.5"},
      {1.0 / 3.0, "0.3333333333333333"}, {2e15, "2e+15"}, {0.1, "0.1"}, {5e-324, "4.94065645841247e-324"}, {1e5, "100000"}, {1e16, "1e+16"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[SSW_REAL_TEXT_MAX];
    ssw_format_real(cases[i].v, buf, sizeof buf);
    if (strcmp(buf, cases[i].text) != 0) fail_msg("%.17g formatted as '%s', expected '%s'", cases[i].v, buf, cases[i].text);
  }
  /* every double of a pseudo-random spread reads back exactly */
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 100000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double v;
    memcpy(&v, &x, sizeof v);
    if (!isfinite(v)) continue;
    char buf[SSW_REAL_TEXT_MAX];
    ssw_format_real(v, buf, sizeof buf);
    if (strtod(buf, NULL) != v) fail_msg("'%s' does not read back as %.17g", buf, v);
    if (strlen(buf) >= SSW_REAL_TEXT_MAX) fail_msg("'%s' longer than SSW_REAL_TEXT_MAX", buf);
  }
}

static void test_edit_distance(void **state) {
  (void)state;
  assert_int_equal(ssw_edit_distance("widht", "width"), 2);
  assert_int_equal(ssw_edit_distance("width", "WIDTH"), 0);
  assert_int_equal(ssw_edit_distance("", "lr"), 2);
  assert_int_equal(ssw_edit_distance("n", "dim"), 3);
}

static void test_text_grows(void **state) {
  (void)state;
  ssw_text_t t = {0};
  for (int i = 0; i < 1000; i++) ssw_text_add(&t, "%d,", i);
  char *out;
  assert_int_equal(ssw_text_take(&t, &out, "a test text"), SSW_OK);
  assert_int_equal(strlen(out), 3890); /* 10*2 + 90*3 + 900*4 */
  assert_int_equal(strncmp(out, "0,1,2,", 6), 0);
  assert_null(t.buf);
  free(out);
  ssw_text_t empty = {0};
  assert_int_equal(ssw_text_take(&empty, &out, "an empty text"), SSW_OK);
  assert_string_equal(out, "");
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reals_are_shortest_and_exact),
      cmocka_unit_test(test_edit_distance),
      cmocka_unit_test(test_text_grows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
