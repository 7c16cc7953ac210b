/*
 * json.h - a tiny streaming JSON writer to a FILE*.
 *
 * The writer tracks nesting and commas; callers only say what comes next:
 *
 *     struct json_writer w;
 *     json_init(&w, stdout, 2);
 *     json_begin_object(&w);
 *     json_key(&w, "wall_s");  json_double(&w, 10.0);
 *     json_key(&w, "errors");  json_begin_object(&w); json_end_object(&w);
 *     json_end_object(&w);
 *     json_finish(&w);          -- newline, flush, 0 or -1
 *
 * Inside an object every value must follow a json_key(). Nothing is checked at
 * run time beyond the depth limit: a wrong sequence writes wrong JSON.
 */
#ifndef EVBENCH_JSON_H
#define EVBENCH_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *f;
	int   indent;                      /* spaces per level; 0 writes one line */
	int   depth;
	bool  first[JSON_MAX_DEPTH + 1];   /* no member/element written yet at this depth */
	bool  after_key;                   /* a key was written; its value comes next */
	bool  overflow;                    /* nesting went past JSON_MAX_DEPTH */
};

/* Starts a document on f. indent 0 writes compact JSON on one line. */
void json_init(struct json_writer *w, FILE *f, int indent);

/* Starts one of evbench's own documents on f: json_init(), then the top
 * object with its schema id (bench/report/schema.h) as the first member,
 * as every results file and report opens. Readers may rely on that order:
 * `evbench merge` finds an agent's result in a log by its opening. */
void json_begin_document(struct json_writer *w, FILE *f, int indent, const char *schema);

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);

/* Writes a member name (escaped); the next call writes its value. */
void json_key(struct json_writer *w, const char *key);

/* Values. Strings are escaped (quotes, backslash, control characters as \uXXXX;
 * other bytes pass through, so give UTF-8). NULL strings write null. */
void json_string(struct json_writer *w, const char *s);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
/* Up to 10 significant digits, no exponent for ordinary magnitudes; NaN and
 * infinities, which JSON cannot hold, are written as null. */
void json_double(struct json_writer *w, double v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* Shorthands for a key and its value. */
void json_kv_string(struct json_writer *w, const char *key, const char *s);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_double(struct json_writer *w, const char *key, double v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

/* The project's one "number or null" convention: a figure that was not
 * measured (unknown, unread, unlimited) is negative in the structs that hold
 * it, and null in JSON; NaN and infinities are null too. */
void json_kv_int_or_null(struct json_writer *w, const char *key, int64_t v);
void json_kv_double_or_null(struct json_writer *w, const char *key, double v);

/* Ends the document with a newline and flushes. Returns 0, or -1 when the
 * stream reported an error or the nesting was unbalanced or too deep. */
int json_finish(struct json_writer *w);

#endif
