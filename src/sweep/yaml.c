/* A YAML document (libyaml events) as a small tree whose every node knows its file position,
 * and the "FILE:LINE:COL: key 'k': ..." error prefix used by the whole sweep module.
 *
 * Aliases are refused (a sweep file has no use for them, and they make a file's size a poor
 * bound on its content); nesting is bounded by SSW_YAML_MAX_DEPTH. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "shallowsweep/error.h"
#include "sweep_impl.h"

typedef struct {
  yaml_parser_t parser;
  const char *file;
  int line_override; /* > 0: report this line (a --set argument's index) */
  int col_offset;
  char last_key[SSW_NAME_MAX]; /* last mapping key seen, for syntax errors */
} reader_t;

static ssw_loc_t mark_loc(const reader_t *rd, yaml_mark_t m) {
  return (ssw_loc_t){.file = rd->file,
                     .line = rd->line_override > 0 ? rd->line_override : (int)m.line + 1,
                     .col = (int)m.column + 1 + rd->col_offset};
}

void ssw_yaml_destroy(ssw_yaml_node_t **node) {
  if (!node || !*node) return;
  ssw_yaml_node_t *nd = *node;
  for (int i = 0; i < nd->nitems; i++) ssw_yaml_destroy(&nd->items[i]);
  free(nd->items);
  free(nd->text);
  free(nd);
  *node = NULL;
}

static int syntax_error(reader_t *rd) {
  const yaml_parser_t *p = &rd->parser;
  ssw_loc_t loc = mark_loc(rd, p->problem_mark);
  if (p->error == YAML_READER_ERROR) { /* bad encoding: only a byte offset is known */
    loc.line = rd->line_override > 0 ? rd->line_override : 1;
    loc.col = (int)p->problem_offset + 1 + rd->col_offset;
  }
  char what[256];
  snprintf(what, sizeof what, "%s%s%s", p->problem ? p->problem : "invalid YAML",
           p->context ? " " : "", p->context ? p->context : "");
  const char *advice = p->error == YAML_READER_ERROR
                           ? "the file must be UTF-8 text (is it a sweep file?)"
                           : "fix the YAML at this position (indentation, ':' after keys, brackets)";
  if (rd->last_key[0])
    return ssw_error_at_fmt(loc, rd->last_key, "YAML syntax error: %s — %s", what, advice);
  return ssw_error_at_fmt(loc, NULL, "YAML syntax error: %s — %s", what, advice);
}

static int next_event(reader_t *rd, yaml_event_t *ev) {
  if (!yaml_parser_parse(&rd->parser, ev)) return syntax_error(rd);
  return SSW_OK;
}

static int new_node(ssw_yaml_node_t **out, ssw_yaml_kind_t kind, ssw_loc_t loc) {
  SSW_ALLOC(*out, 1);
  (*out)->kind = kind;
  (*out)->loc = loc;
  return SSW_OK;
}

static int push_item(ssw_yaml_node_t *parent, ssw_yaml_node_t *child) {
  ssw_yaml_node_t **items = realloc(parent->items, (size_t)(parent->nitems + 1) * sizeof *items);
  SSW_REQUIRE(items, SSW_ERR_NOMEM, "out of memory reading YAML");
  parent->items = items;
  parent->items[parent->nitems++] = child;
  return SSW_OK;
}

static int read_node(reader_t *rd, yaml_event_t *ev, int depth, ssw_yaml_node_t **out);

/* The items of a sequence or mapping up to its end event. */
static int read_items(reader_t *rd, ssw_yaml_node_t *nd, int depth) {
  for (;;) {
    yaml_event_t ev;
    SSW_TRY(next_event(rd, &ev));
    if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      yaml_event_delete(&ev);
      return SSW_OK;
    }
    ssw_yaml_node_t *child = NULL;
    int rc = read_node(rd, &ev, depth + 1, &child); /* deletes ev */
    if (rc == SSW_OK) rc = push_item(nd, child);
    if (rc != SSW_OK) {
      ssw_yaml_destroy(&child);
      return rc;
    }
    bool is_key = nd->kind == SSW_YAML_MAP && nd->nitems % 2 == 1;
    if (is_key && child->kind == SSW_YAML_SCALAR)
      snprintf(rd->last_key, sizeof rd->last_key, "%s", child->text);
  }
}

/* Build the node that starts with event ev (consumed). */
static int read_node(reader_t *rd, yaml_event_t *ev, int depth, ssw_yaml_node_t **out) {
  ssw_loc_t loc = mark_loc(rd, ev->start_mark);
  int rc = SSW_OK;
  *out = NULL;
  switch (ev->type) {
  case YAML_SCALAR_EVENT:
    rc = new_node(out, SSW_YAML_SCALAR, loc);
    if (rc == SSW_OK) {
      (*out)->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      (*out)->text = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
      if (!(*out)->text) rc = SSW_ERROR(SSW_ERR_NOMEM, "out of memory reading YAML");
    }
    break;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT:
    if (depth >= SSW_YAML_MAX_DEPTH) {
      rc = ssw_error_at_fmt(loc, rd->last_key[0] ? rd->last_key : NULL,
                            "YAML nested more than %d levels — a sweep file has sections, keys and "
                            "axis specs only", SSW_YAML_MAX_DEPTH);
      break;
    }
    rc = new_node(out, ev->type == YAML_SEQUENCE_START_EVENT ? SSW_YAML_SEQ : SSW_YAML_MAP, loc);
    if (rc == SSW_OK) rc = read_items(rd, *out, depth);
    break;
  case YAML_ALIAS_EVENT:
    rc = ssw_error_at_fmt(loc, rd->last_key[0] ? rd->last_key : NULL,
                          "YAML aliases (*name) are not supported — write the value out");
    break;
  default:
    rc = ssw_error_at_fmt(loc, NULL, "unexpected YAML event %d — is this a sweep file?", (int)ev->type);
    break;
  }
  yaml_event_delete(ev);
  if (rc != SSW_OK) ssw_yaml_destroy(out);
  return rc;
}

/* Stream start, document start, the root node, document end, then stream end (one document). */
static int read_document(reader_t *rd, ssw_yaml_node_t **root) {
  yaml_event_t ev;
  SSW_TRY(next_event(rd, &ev)); /* stream start */
  yaml_event_delete(&ev);
  SSW_TRY(next_event(rd, &ev));
  if (ev.type == YAML_STREAM_END_EVENT) return yaml_event_delete(&ev), SSW_OK; /* empty */
  yaml_event_delete(&ev); /* document start */
  SSW_TRY(next_event(rd, &ev));
  SSW_TRY(read_node(rd, &ev, 0, root));
  SSW_TRY(next_event(rd, &ev)); /* document end */
  yaml_event_delete(&ev);
  SSW_TRY(next_event(rd, &ev));
  bool more = ev.type != YAML_STREAM_END_EVENT;
  ssw_loc_t loc = mark_loc(rd, ev.start_mark);
  yaml_event_delete(&ev);
  if (more)
    return ssw_error_at_fmt(loc, NULL, "a second YAML document ('---') — a sweep file holds one document");
  return SSW_OK;
}

int ssw_yaml_parse(ssw_yaml_node_t **root, const char *file, const char *text, size_t len,
                   int line_override, int col_offset, const char *key) {
  *root = NULL;
  reader_t rd = {.file = file, .line_override = line_override, .col_offset = col_offset};
  if (key) snprintf(rd.last_key, sizeof rd.last_key, "%s", key);
  SSW_REQUIRE(yaml_parser_initialize(&rd.parser), SSW_ERR_NOMEM, "out of memory starting the YAML parser");
  yaml_parser_set_input_string(&rd.parser, (const unsigned char *)text, len);
  int rc = read_document(&rd, root);
  yaml_parser_delete(&rd.parser);
  if (rc != SSW_OK) ssw_yaml_destroy(root);
  return rc;
}

/* ---- error messages with a position ---- */

int ssw_error_at(ssw_loc_t loc, const char *key, const char *cell_context) {
  return ssw_error_locate(loc.file ? loc.file : "(sweep)", loc.line, loc.col, key, cell_context);
}

int ssw_error_at_fmt(ssw_loc_t loc, const char *key, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  (void)SSW_ERROR_KEY(SSW_ERR_INPUT, key, "%s", msg);
  return ssw_error_at(loc, NULL, NULL);
}
