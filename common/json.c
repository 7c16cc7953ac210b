/*
 * json.c - streaming JSON writer; see json.h.
 */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void json_init(struct json_writer *w, FILE *f, int indent)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->indent = indent;
	w->first[0] = true;
}

static void newline(struct json_writer *w)
{
	if (w->indent > 0) {
		fputc('\n', w->f);
		for (int i = 0; i < w->depth * w->indent; i++)
			fputc(' ', w->f);
	}
}

/* Everything that starts a value or a key goes through here: the comma and
 * line break owed to the previous sibling, unless a key just announced us. */
static void before_item(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (!w->first[w->depth])
			fputc(',', w->f);
		newline(w);
	}
	w->first[w->depth] = false;
}

static void open_level(struct json_writer *w, char c)
{
	before_item(w);
	fputc(c, w->f);
	if (w->depth >= JSON_MAX_DEPTH) {
		w->overflow = true;
		return;
	}
	w->depth++;
	w->first[w->depth] = true;
}

static void close_level(struct json_writer *w, char c)
{
	if (w->depth == 0) {
		w->overflow = true;
		return;
	}
	bool empty = w->first[w->depth];
	w->depth--;
	if (!empty)
		newline(w);
	fputc(c, w->f);
}

void json_begin_object(struct json_writer *w) { open_level(w, '{'); }
void json_end_object(struct json_writer *w)   { close_level(w, '}'); }
void json_begin_array(struct json_writer *w)  { open_level(w, '['); }
void json_end_array(struct json_writer *w)    { close_level(w, ']'); }

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void json_key(struct json_writer *w, const char *key)
{
	before_item(w);
	put_escaped(w->f, key);
	fputs(w->indent > 0 ? ": " : ":", w->f);
	w->after_key = true;
}

void json_string(struct json_writer *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	before_item(w);
	put_escaped(w->f, s);
}

void json_int(struct json_writer *w, int64_t v)
{
	before_item(w);
	fprintf(w->f, "%" PRId64, v);
}

void json_uint(struct json_writer *w, uint64_t v)
{
	before_item(w);
	fprintf(w->f, "%" PRIu64, v);
}

void json_double(struct json_writer *w, double v)
{
	if (!isfinite(v)) {
		json_null(w);
		return;
	}
	before_item(w);
	/* %.10g keeps microsecond latencies and rates readable and exact enough;
	 * integral values still print as integers, which JSON readers accept. */
	fprintf(w->f, "%.10g", v);
}

void json_bool(struct json_writer *w, bool v)
{
	before_item(w);
	fputs(v ? "true" : "false", w->f);
}

void json_null(struct json_writer *w)
{
	before_item(w);
	fputs("null", w->f);
}

void json_kv_string(struct json_writer *w, const char *k, const char *s) { json_key(w, k); json_string(w, s); }
void json_kv_int(struct json_writer *w, const char *k, int64_t v)       { json_key(w, k); json_int(w, v); }
void json_kv_uint(struct json_writer *w, const char *k, uint64_t v)     { json_key(w, k); json_uint(w, v); }
void json_kv_double(struct json_writer *w, const char *k, double v)     { json_key(w, k); json_double(w, v); }
void json_kv_bool(struct json_writer *w, const char *k, bool v)         { json_key(w, k); json_bool(w, v); }

void json_begin_document(struct json_writer *w, FILE *f, int indent, const char *schema)
{
	json_init(w, f, indent);
	json_begin_object(w);
	json_kv_string(w, "schema", schema);
}

int json_finish(struct json_writer *w)
{
	fputc('\n', w->f);
	if (fflush(w->f) != 0 || ferror(w->f))
		return -1;
	return (w->overflow || w->depth != 0) ? -1 : 0;
}

void json_kv_double_or_null(struct json_writer *w, const char *key, double v)
{
	json_key(w, key);
	if (v < 0)
		json_null(w);
	else
		json_double(w, v);
}

void json_kv_int_or_null(struct json_writer *w, const char *key, int64_t v)
{
	if (v < 0)
		json_kv_double_or_null(w, key, -1);   /* null */
	else
		json_kv_int(w, key, v);
}
