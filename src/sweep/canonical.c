/* The canonical text of a sweep: every key with its resolved value or expression, in the
 * key table's order, then the axes; deterministic YAML that parses back to itself. It is
 * what the output file stores and what --resume compares, key by key (the diff below).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shallowsweep/error.h"
#include "shallowsweep/text.h"
#include "sweep_impl.h"

/* A YAML double-quoted string. */
static void quoted(ssw_text_t *s, const char *text) {
  ssw_text_add(s, "\"");
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') ssw_text_add(s, "\\%c", *c);
    else if (*c == '\n') ssw_text_add(s, "\\n");
    else if (*c == '\t') ssw_text_add(s, "\\t");
    else if (*c < 0x20 || *c == 0x7f) ssw_text_add(s, "\\x%02x", *c);
    else ssw_text_add(s, "%c", *c);
  }
  ssw_text_add(s, "\"");
}

int ssw_sweep_build_canonical(ssw_sweep_t *sw) {
  ssw_text_t s = {0};
  ssw_text_add(&s, "name: ");
  quoted(&s, sw->name);
  ssw_text_add(&s, "\ndescription: ");
  quoted(&s, sw->description);
  ssw_text_add(&s, "\n");
  for (int sec = 0; sec < SSW_SWEEP_NSECTIONS; sec++) {
    ssw_text_add(&s, "%s:\n", ssw_sweep_sections[sec]);
    for (size_t k = 0; k < sw->nkeys; k++) {
      if (strcmp(sw->keys[k].section, ssw_sweep_sections[sec]) != 0 || sw->ks[k].axis >= 0) continue;
      char buf[2048];
      if (sw->ks[k].expr) snprintf(buf, sizeof buf, "\"%s\"", sw->ks[k].expr_text);
      else ssw_params_format(&sw->base, &sw->keys[k], buf, sizeof buf);
      ssw_text_add(&s, "  %s: %s\n", sw->keys[k].name, buf);
    }
  }
  ssw_text_add(&s, "grid:\n");
  for (int a = 0; a < sw->grid.naxes; a++) {
    const ssw_axis_t *axis = &sw->grid.axes[a];
    if ((a == sw->grid.naxes - 1 && sw->refine.adaptive_seeds) || ssw_sweep_refine_slot(sw, axis->name) >= 0) {
      ssw_sweep_refine_canonical(sw, a, &s);
      continue;
    }
    bool seeds = strcmp(axis->name, "seed") == 0;
    for (int64_t i = 0; seeds && i < axis->count; i++) seeds = axis->values[i] == (double)i;
    if (seeds) {
      ssw_text_add(&s, "  seeds: %lld\n", (long long)axis->count);
      continue;
    }
    ssw_text_add(&s, "  %s: [", axis->name);
    for (int64_t i = 0; i < axis->count; i++) ssw_text_add(&s, "%s%s", i ? ", " : "", axis->labels[i]);
    ssw_text_add(&s, "]\n");
  }
  ssw_sweep_refine_section(sw, &s);
  SSW_TRY(ssw_text_take(&s, &sw->canonical, "the canonical sweep"));
  return SSW_OK;
}

/* ---- comparing two canonical texts ----
 * The canonical sweep is deterministic YAML: "key: value" lines, nested by indentation. Each
 * text becomes a list of (dotted path, value) pairs; list items and continuation lines are
 * appended to the value of the key above them. */

enum { DIFF_KEYS_MAX = 512, DIFF_PATH_MAX = 256, DIFF_DEPTH_MAX = 16 };

typedef struct {
  char path[DIFF_PATH_MAX];
  char value[512];
} diff_entry_t;

typedef struct {
  diff_entry_t e[DIFF_KEYS_MAX];
  int n;
} diff_map_t;

static void map_build(const char *text, diff_map_t *m) {
  char stack[DIFF_DEPTH_MAX][DIFF_PATH_MAX];
  int indent_of[DIFF_DEPTH_MAX], depth = 0;
  m->n = 0;
  for (const char *line = text; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    int indent = 0;
    while ((size_t)indent < len && line[indent] == ' ') indent++;
    const char *body = line + indent;
    size_t blen = len - (size_t)indent;
    const char *colon = memchr(body, ':', blen);
    bool is_key = blen && body[0] != '-' && body[0] != '#' && colon;
    if (is_key) {
      while (depth > 0 && indent_of[depth - 1] >= indent) depth--;
      if (depth < DIFF_DEPTH_MAX) {
        snprintf(stack[depth], DIFF_PATH_MAX, "%s%s%.*s", depth ? stack[depth - 1] : "", depth ? "." : "",
                 (int)(colon - body), body);
        indent_of[depth++] = indent;
        if (m->n < DIFF_KEYS_MAX) {
          snprintf(m->e[m->n].path, DIFF_PATH_MAX, "%s", stack[depth - 1]);
          snprintf(m->e[m->n].value, sizeof m->e[m->n].value, "%.*s", (int)(blen - (size_t)(colon + 1 - body)),
                   colon + 1);
          m->n++;
        }
      }
    } else if (blen && m->n > 0) {
      diff_entry_t *last = &m->e[m->n - 1];
      size_t used = strlen(last->value);
      snprintf(last->value + used, sizeof last->value - used, "|%.*s", (int)blen, body);
    }
    line = end ? end + 1 : NULL;
  }
}

static const diff_entry_t *map_find(const diff_map_t *m, const char *path) {
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->e[i].path, path) == 0) return &m->e[i];
  return NULL;
}

static void append_key(char *out, size_t size, const char *key) {
  size_t used = strlen(out), klen = strlen(key);
  for (const char *p = out; (p = strstr(p, key)) != NULL; p += klen)
    if ((p == out || p[-1] == ' ') && (p[klen] == ',' || p[klen] == '\0')) return;
  snprintf(out + used, size - used, "%s%s", used ? ", " : "", key);
}

void ssw_sweep_canonical_diff(const char *a, const char *b, char *out, size_t size) {
  static _Thread_local diff_map_t ma, mb;
  out[0] = '\0';
  if (strcmp(a, b) == 0) return;
  map_build(a, &ma);
  map_build(b, &mb);
  for (int i = 0; i < ma.n; i++) {
    const diff_entry_t *o = map_find(&mb, ma.e[i].path);
    if (!o || strcmp(o->value, ma.e[i].value) != 0) append_key(out, size, ma.e[i].path);
  }
  for (int i = 0; i < mb.n; i++)
    if (!map_find(&ma, mb.e[i].path)) append_key(out, size, mb.e[i].path);
  if (!out[0]) snprintf(out, size, "(the texts differ, but in no key: whitespace or order)");
}
