/*
 * fuzz_tu_json.c — libFuzzer target for the tests' flat-object JSON reader
 * (tu_json_parse in tests/testutil.c, which reads every server's stop report).
 *
 * Any text may come in (as the NUL-terminated string it is given): it must not
 * crash or read past the string, and what it fills must be sane (at most
 * TU_JSON_FIELDS fields, keys and strings NUL-terminated in their arrays).
 * And it is checked against the project's full reader, common/jsonr.c, on
 * which tu_json_parse is now built (so this part checks the flattening into
 * tu_json's fixed fields and limits, no longer a second parser): every
 * flat object that jr_parse accepts and that fits tu_json's documented limits
 * (keys under 40 bytes, strings under 128, no \u escapes, which tu_json turns
 * into '?') must be accepted by tu_json_parse with the same members in the
 * same order and the same values. tu_json is allowed to be more lenient
 * (strtod's number syntax), never stricter, or a test could not read a report.
 */
#include "testutil.h"
#include "jsonr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_tu_json: %s\ninput: %s\n", what, text);
	abort();
}

/* True when jr's tree is a flat object within tu_json's limits. */
static bool fits(const struct jr_value *v)
{
	if (v->type != JR_OBJECT || v->len > TU_JSON_FIELDS)
		return false;
	for (size_t i = 0; i < v->len; i++) {
		const struct jr_value *x = v->items[i];
		if (strlen(v->keys[i]) >= sizeof ((struct tu_json_field *)0)->key)
			return false;
		if (x->type == JR_ARRAY || x->type == JR_OBJECT)
			return false;
		if (x->type == JR_STRING && x->len >= sizeof ((struct tu_json_field *)0)->str)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	static struct tu_json j;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	int rc = tu_json_parse(text, &j);
	if (j.n < 0 || j.n > TU_JSON_FIELDS)
		fail("field count out of range", text);
	for (int i = 0; i < j.n; i++)
		if (!memchr(j.f[i].key, '\0', sizeof j.f[i].key) ||
		    !memchr(j.f[i].str, '\0', sizeof j.f[i].str))
			fail("a key or string not terminated in its array", text);

	/* The comparison: the same text, read by the full reader. */
	if (memchr(data, '\0', size) == NULL && strstr(text, "\\u") == NULL) {
		struct jr_value *v = jr_parse(text, size, NULL);
		if (v && fits(v)) {
			if (rc != 0)
				fail("jr_parse accepts a flat object that tu_json_parse refuses", text);
			if ((size_t)j.n != v->len)
				fail("member count differs", text);
			for (size_t i = 0; i < v->len; i++) {
				const struct tu_json_field *f = &j.f[i];
				const struct jr_value *x = v->items[i];
				if (strcmp(f->key, v->keys[i]) != 0)
					fail("key differs", text);
				if (f->is_str != (x->type == JR_STRING))
					fail("string-ness differs", text);
				if (x->type == JR_STRING && strcmp(f->str, x->string) != 0)
					fail("string differs", text);
				if (x->type == JR_NUMBER && f->num != x->number)
					fail("number differs", text);
				if (x->type == JR_BOOL && f->num != (x->boolean ? 1 : 0))
					fail("boolean differs", text);
			}
		}
		jr_free(v);
	}
	free(text);
	return 0;
}
