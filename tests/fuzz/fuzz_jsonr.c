/*
 * fuzz_jsonr.c — libFuzzer target for evbench's JSON reader (bench/jsonr.c).
 *
 * Any bytes may come in; what must hold:
 *  - jr_parse never crashes, leaks or reads outside the text (ASan, UBSan);
 *  - a failure names an offset inside the text and a line and column >= 1;
 *  - a success round-trips: the tree, written back as JSON by the small
 *    writer below, parses again to the same tree (types, numbers to the bit,
 *    strings to the byte, keys, order), so the reader loses or invents
 *    nothing it accepted;
 *  - jr_get and jr_path find, for every member of the top object, the last
 *    member of that name, as jsonr.h promises.
 */
#include "jsonr.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_jsonr: %s\n", what);
	abort();
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2 + 64;
		if (!(o->p = realloc(o->p, o->cap)))
			fail("out of memory");
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_string(struct out *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c < 0x20 || c == '"' || c == '\\') {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, s + i, 1);
		}
	}
	put(o, "\"", 1);
}

static void write_value(struct out *o, const struct jr_value *v)
{
	char num[40];

	switch (v->type) {
	case JR_NULL:
		put(o, "null", 4);
		break;
	case JR_BOOL:
		put(o, v->boolean ? "true" : "false", v->boolean ? 4 : 5);
		break;
	case JR_NUMBER:
		/* 17 digits give back the same double; an overflow to infinity
		 * is written as a number that overflows again. */
		if (isinf(v->number))
			snprintf(num, sizeof num, "%s", v->number > 0 ? "1e999" : "-1e999");
		else
			snprintf(num, sizeof num, "%.17g", v->number);
		put(o, num, strlen(num));
		break;
	case JR_STRING:
		put_string(o, v->string, v->len);
		break;
	case JR_ARRAY:
	case JR_OBJECT:
		put(o, v->type == JR_ARRAY ? "[" : "{", 1);
		for (size_t i = 0; i < v->len; i++) {
			if (i)
				put(o, ",", 1);
			if (v->type == JR_OBJECT) {
				put_string(o, v->keys[i], strlen(v->keys[i]));
				put(o, ":", 1);
			}
			write_value(o, v->items[i]);
		}
		put(o, v->type == JR_ARRAY ? "]" : "}", 1);
		break;
	}
}

static void same(const struct jr_value *a, const struct jr_value *b)
{
	if (a->type != b->type)
		fail("round trip changed a type");
	switch (a->type) {
	case JR_NULL:
		break;
	case JR_BOOL:
		if (a->boolean != b->boolean)
			fail("round trip changed a boolean");
		break;
	case JR_NUMBER:
		if (memcmp(&a->number, &b->number, sizeof a->number) != 0)
			fail("round trip changed a number");
		break;
	case JR_STRING:
		if (a->len != b->len || memcmp(a->string, b->string, a->len) != 0 || b->string[b->len])
			fail("round trip changed a string");
		break;
	case JR_ARRAY:
	case JR_OBJECT:
		if (a->len != b->len)
			fail("round trip changed a length");
		for (size_t i = 0; i < a->len; i++) {
			if (a->type == JR_OBJECT && strcmp(a->keys[i], b->keys[i]) != 0)
				fail("round trip changed a key");
			same(a->items[i], b->items[i]);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_error e;
	struct jr_value *v = jr_parse((const char *)data, size, &e);

	if (!v) {
		if (e.offset > size || e.line < 1 || e.column < 1 || !memchr(e.msg, '\0', sizeof e.msg) ||
		    !e.msg[0])
			fail("a failure without a proper position or message");
		return 0;
	}

	struct out o = { 0 };
	write_value(&o, v);
	struct jr_value *w = jr_parse(o.p, o.len, &e);
	if (!w) {
		fprintf(stderr, "%.*s\n%d:%d: %s\n", (int)o.len, o.p, e.line, e.column, e.msg);
		fail("what was accepted, written back, is refused");
	}
	same(v, w);

	if (v->type == JR_OBJECT) {
		for (size_t i = 0; i < v->len; i++) {
			const struct jr_value *last = NULL;
			for (size_t k = 0; k < v->len; k++)
				if (strcmp(v->keys[k], v->keys[i]) == 0)
					last = v->items[k];
			if (jr_get(v, v->keys[i]) != last)
				fail("jr_get did not find the last member of that name");
			/* A name without dots is a path of one step. */
			if (!strchr(v->keys[i], '.') && v->keys[i][0] && strlen(v->keys[i]) < 128 &&
			    jr_path(v, v->keys[i]) != last)
				fail("jr_path disagrees with jr_get");
		}
	}
	jr_free(w);
	jr_free(v);
	free(o.p);
	return 0;
}
