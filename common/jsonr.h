/*
 * jsonr.h - a small JSON reader: recursive descent into a tree.
 *
 * Strict RFC 8259 JSON, except that a text may hold several top-level values
 * one after another (JSON Lines, or `evbench --json` printing one object per
 * run); jr_parse then returns them as one array. Strings are decoded to
 * UTF-8 (\u escapes and surrogate pairs included) and NUL-terminated;
 * numbers become doubles, and integers also stay exact as long long.
 * Nesting deeper than JR_MAX_DEPTH is an error, so a
 * hostile file cannot overflow the stack.
 *
 *     struct jr_error e;
 *     struct jr_value *v = jr_parse(text, len, &e);
 *     if (!v) printf("%s:%d:%d: %s\n", path, e.line, e.column, e.msg);
 *     double p99;
 *     if (jr_number(jr_path(v, "result.latency_us.p99"), &p99) == 0) ...
 *     jr_free(v);
 */
#ifndef EVBENCH_JSONR_H
#define EVBENCH_JSONR_H

#include <stdbool.h>
#include <stddef.h>

#define JR_MAX_DEPTH 64

enum jr_type { JR_NULL, JR_BOOL, JR_NUMBER, JR_STRING, JR_ARRAY, JR_OBJECT };

struct jr_value {
	enum jr_type type;
	bool   boolean;
	double number;
	long long integer;        /* JR_NUMBER: exact for an integer literal, else
	                           * truncated towards zero and clamped */
	char  *string;            /* JR_STRING: decoded, NUL-terminated */
	size_t len;               /* string bytes, or array/object members */
	struct jr_value **items;  /* JR_ARRAY and JR_OBJECT: the values */
	char **keys;              /* JR_OBJECT: the member names, parallel to items */
};

/* Where and why a parse failed. offset counts bytes from the start of the
 * text; line and column count from 1 (column in bytes). */
struct jr_error {
	size_t offset;
	int    line, column;
	char   msg[96];
};

/* Parses len bytes of text. Returns the tree, owned by the caller (jr_free),
 * or NULL with *err filled (err may be NULL). An empty text is an error. */
struct jr_value *jr_parse(const char *text, size_t len, struct jr_error *err);

/* Reads a whole file and parses it. NULL on failure: a read error sets
 * err->msg from errno with offset 0 and line 0. */
struct jr_value *jr_parse_file(const char *path, struct jr_error *err);

void jr_free(struct jr_value *v);

/* The member `key` of an object (the last one if repeated), or NULL when v is
 * NULL, not an object, or has no such member. */
const struct jr_value *jr_get(const struct jr_value *v, const char *key);

/* Follows a dotted path of member names: "result.latency_us.p99". */
const struct jr_value *jr_path(const struct jr_value *v, const char *path);

/* The string of a JR_STRING, else NULL. */
const char *jr_string(const struct jr_value *v);

/* Stores a JR_NUMBER in *out and returns 0; returns -1 for anything else. */
int jr_number(const struct jr_value *v, double *out);

/* The number at a dotted path, or NaN when it is absent, null or not a
 * number: the reader's side of the "number or null" convention. */
double jr_path_number(const struct jr_value *v, const char *path);

/* The same as an integer (the `integer` member); -1 for anything else. */
int jr_int(const struct jr_value *v, long long *out);

#endif
