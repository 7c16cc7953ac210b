/*
 * jsonr.c - recursive-descent JSON reader; see jsonr.h.
 */
#include "jsonr.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *s;
	size_t len, pos;
	int depth;
	struct jr_error *err;
	bool failed;
};

/* Records the first error only: later ones are consequences of it. */
static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	if (!p->err)
		return;
	struct jr_error *e = p->err;
	e->offset = at;
	e->line = 1;
	e->column = 1;
	for (size_t i = 0; i < at && i < p->len; i++) {
		if (p->s[i] == '\n') {
			e->line++;
			e->column = 1;
		} else {
			e->column++;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

/* Describes the byte at pos for an error message. */
static const char *what_is_here(struct parser *p, char *buf, size_t cap)
{
	if (p->pos >= p->len)
		return "end of input";
	unsigned char c = (unsigned char)p->s[p->pos];
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, cap, "'%c'", c);
	else
		snprintf(buf, cap, "byte 0x%02x", c);
	return buf;
}

static void unexpected(struct parser *p, const char *wanted)
{
	char b[16];
	fail(p, p->pos, "expected %s, found %s", wanted, what_is_here(p, b, sizeof b));
}

static struct jr_value *new_value(struct parser *p, enum jr_type t)
{
	struct jr_value *v = calloc(1, sizeof *v);
	if (!v)
		fail(p, p->pos, "out of memory");
	else
		v->type = t;
	return v;
}

static int hex4(struct parser *p, size_t at, unsigned *out)
{
	if (at + 4 > p->len) {
		fail(p, at, "truncated \\u escape");
		return -1;
	}
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->s[at + i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else {
			fail(p, at + i, "bad hex digit in \\u escape");
			return -1;
		}
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parses a string at pos (the opening quote) into a fresh buffer. Decoded
 * text is never longer than its source, so one allocation is enough. */
static char *parse_string(struct parser *p, size_t *lenp)
{
	size_t start = p->pos++;
	size_t end = start + 1;
	while (end < p->len && p->s[end] != '"') {
		if (p->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= p->len) {
		fail(p, start, "unterminated string");
		return NULL;
	}
	char *o = malloc(end - start + 1), *w = o;
	if (!o) {
		fail(p, start, "out of memory");
		return NULL;
	}
	while (p->pos < end) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c < 0x20) {
			fail(p, p->pos, "control character in string");
			goto bad;
		}
		if (c != '\\') {
			*w++ = (char)c;
			p->pos++;
			continue;
		}
		char e = p->s[p->pos + 1];
		size_t at = p->pos;
		p->pos += 2;
		switch (e) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '/': *w++ = '/'; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(p, p->pos, &cp) < 0)
				goto bad;
			p->pos += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				/* A high surrogate needs its low half: together they
				 * are one code point above U+FFFF. */
				if (p->pos + 6 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
				    hex4(p, p->pos + 2, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000) {
					fail(p, at, "unpaired surrogate in \\u escape");
					goto bad;
				}
				p->pos += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				fail(p, at, "unpaired surrogate in \\u escape");
				goto bad;
			}
			w += put_utf8(w, cp);
			break;
		}
		default:
			fail(p, at, "bad escape in string");
			goto bad;
		}
	}
	p->pos = end + 1;
	*w = '\0';
	*lenp = (size_t)(w - o);
	return o;
bad:
	free(o);
	return NULL;
}

static bool is_digit(struct parser *p)
{
	return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

/* Steps over one or more digits; a missing digit is reported as `want`
 * (unexpected()) and returns false. */
static bool digits(struct parser *p, const char *want)
{
	if (!is_digit(p)) {
		unexpected(p, want);
		return false;
	}
	while (is_digit(p))
		p->pos++;
	return true;
}

/* Checks the JSON number grammar, which strtod alone would not enforce
 * (it takes "inf", hex, leading zeros and a lone '.'), then converts. */
static struct jr_value *parse_number(struct parser *p)
{
	size_t start = p->pos;
	if (p->s[p->pos] == '-')
		p->pos++;
	if (!is_digit(p)) {
		unexpected(p, "a digit");
		return NULL;
	}
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (is_digit(p))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digits(p, "a digit after '.'"))
			return NULL;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!digits(p, "a digit in the exponent"))
			return NULL;
	}
	char buf[64], *text = buf;
	size_t n = p->pos - start;
	if (n >= sizeof buf) {
		/* Longer numbers are legal but never come from evbench; the
		 * heap copy keeps strtod away from the unterminated source. */
		text = malloc(n + 1);
		if (!text) {
			fail(p, start, "out of memory");
			return NULL;
		}
	}
	memcpy(text, p->s + start, n);
	text[n] = '\0';
	struct jr_value *v = new_value(p, JR_NUMBER);
	if (v) {
		char *iend;

		v->number = strtod(text, NULL);
		/* An integer literal keeps its exact value, even past 2^53;
		 * any other number is truncated towards zero and clamped. */
		errno = 0;
		v->integer = strtoll(text, &iend, 10);
		if (errno == ERANGE)
			v->integer = v->number > 0 ? LLONG_MAX : LLONG_MIN;
		else if (*iend)
			v->integer = v->number >= 9.2e18 ? LLONG_MAX :
				     v->number <= -9.2e18 ? LLONG_MIN : (long long)v->number;
	}
	if (text != buf)
		free(text);
	return v;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
		p->pos += n;
		return true;
	}
	return false;
}

/* Appends to an array or object, growing it by doubling. */
static int push(struct parser *p, struct jr_value *c, struct jr_value *item, char *key)
{
	size_t n = c->len;
	if ((n & (n - 1)) == 0) { /* n is 0 or a power of two: full */
		size_t cap = n ? 2 * n : 4;
		struct jr_value **it = realloc(c->items, cap * sizeof *it);
		if (!it)
			goto oom;
		c->items = it;
		if (c->type == JR_OBJECT) {
			char **k = realloc(c->keys, cap * sizeof *k);
			if (!k)
				goto oom;
			c->keys = k;
		}
	}
	c->items[n] = item;
	if (c->type == JR_OBJECT)
		c->keys[n] = key;
	c->len = n + 1;
	return 0;
oom:
	fail(p, p->pos, "out of memory");
	return -1;
}

static struct jr_value *parse_value(struct parser *p);

static struct jr_value *parse_container(struct parser *p, bool object)
{
	size_t open = p->pos;
	if (++p->depth > JR_MAX_DEPTH) {
		fail(p, open, "nesting deeper than %d levels", JR_MAX_DEPTH);
		return NULL;
	}
	struct jr_value *c = new_value(p, object ? JR_OBJECT : JR_ARRAY);
	if (!c)
		return NULL;
	char close = object ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return c;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(p);
		if (object) {
			size_t kl;
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				unexpected(p, "a member name in quotes");
				goto bad;
			}
			if (!(key = parse_string(p, &kl)))
				goto bad;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				unexpected(p, "':' after the member name");
				goto bad;
			}
			p->pos++;
		}
		struct jr_value *item = parse_value(p);
		if (!item || push(p, c, item, key) < 0) {
			free(key);
			jr_free(item);
			goto bad;
		}
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		unexpected(p, object ? "',' or '}'" : "',' or ']'");
		goto bad;
	}
	p->depth--;
	return c;
bad:
	jr_free(c);
	return NULL;
}

static struct jr_value *parse_value(struct parser *p)
{
	skip_ws(p);
	if (p->pos >= p->len) {
		unexpected(p, "a value");
		return NULL;
	}
	char c = p->s[p->pos];
	struct jr_value *v;
	switch (c) {
	case '{':
		return parse_container(p, true);
	case '[':
		return parse_container(p, false);
	case '"':
		if (!(v = new_value(p, JR_STRING)))
			return NULL;
		if (!(v->string = parse_string(p, &v->len))) {
			free(v);
			return NULL;
		}
		return v;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(p);
	}
	if (literal(p, "true") || literal(p, "false")) {
		if ((v = new_value(p, JR_BOOL)))
			v->boolean = c == 't';
		return v;
	}
	if (literal(p, "null"))
		return new_value(p, JR_NULL);
	unexpected(p, "a value");
	return NULL;
}

struct jr_value *jr_parse(const char *text, size_t len, struct jr_error *err)
{
	struct parser p = { .s = text, .len = len, .err = err };
	if (err)
		memset(err, 0, sizeof *err);
	struct jr_value *first = parse_value(&p), *all = NULL;
	if (!first)
		return NULL;
	for (;;) {
		size_t end = p.pos;
		skip_ws(&p);
		if (p.pos >= p.len)
			break;
		/* More after the first value: a sequence of objects or arrays
		 * (JSON Lines), returned as an array. Anything else after a
		 * value, like the "1" of "01", is garbage. */
		if (p.pos == end || (p.s[p.pos] != '{' && p.s[p.pos] != '[')) {
			unexpected(&p, "end of input");
			jr_free(all ? all : first);
			return NULL;
		}
		if (!all) {
			if (!(all = new_value(&p, JR_ARRAY)) || push(&p, all, first, NULL) < 0) {
				jr_free(all);
				jr_free(first);
				return NULL;
			}
		}
		struct jr_value *next = parse_value(&p);
		if (!next || push(&p, all, next, NULL) < 0) {
			jr_free(next);
			jr_free(all);
			return NULL;
		}
	}
	return all ? all : first;
}

struct jr_value *jr_parse_file(const char *path, struct jr_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (!f)
		goto ioerr;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				errno = ENOMEM;
				goto ioerr;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f))
				goto ioerr;
			break;
		}
	}
	fclose(f);
	struct jr_value *v = jr_parse(buf, len, err);
	free(buf);
	return v;
ioerr:
	if (err) {
		memset(err, 0, sizeof *err);
		snprintf(err->msg, sizeof err->msg, "%s", strerror(errno));
	}
	if (f)
		fclose(f);
	free(buf);
	return NULL;
}

void jr_free(struct jr_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->len && v->items; i++) {
		jr_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	free(v);
}

const struct jr_value *jr_get(const struct jr_value *v, const char *key)
{
	if (!v || v->type != JR_OBJECT)
		return NULL;
	for (size_t i = v->len; i-- > 0;)
		if (strcmp(v->keys[i], key) == 0)
			return v->items[i];
	return NULL;
}

const struct jr_value *jr_path(const struct jr_value *v, const char *path)
{
	char name[128];
	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof name)
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		v = jr_get(v, name);
		path += n;
		if (*path == '.')
			path++;
	}
	return v;
}

const char *jr_string(const struct jr_value *v)
{
	return v && v->type == JR_STRING ? v->string : NULL;
}

double jr_path_number(const struct jr_value *v, const char *path)
{
	double d;

	return jr_number(jr_path(v, path), &d) == 0 ? d : NAN;
}

int jr_int(const struct jr_value *v, long long *out)
{
	if (!v || v->type != JR_NUMBER)
		return -1;
	*out = v->integer;
	return 0;
}

int jr_number(const struct jr_value *v, double *out)
{
	if (!v || v->type != JR_NUMBER)
		return -1;
	*out = v->number;
	return 0;
}
