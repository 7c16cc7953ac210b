/*
 * html.c - evbench report DIR (html.h).
 *
 * Reads only what the sweep wrote: table.txt (the human table, written
 * beside the JSON so that the page shows the very figures the terminal
 * did, computed in one place), the run JSONs for the command, the host and
 * the failures, comparisons.json, and the PNG files of plots/.
 */
#include "html.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonr.h"
#include "report.h"
#include "schema.h"

/* Text as HTML: the five characters that are markup, escaped. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
}

/* A whole small file into memory (NUL-terminated); NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 65536 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 131072);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		fputc(tab[v >> 18 & 63], f);
		fputc(tab[v >> 12 & 63], f);
		fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? tab[v & 63] : '=', f);
	}
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static const char *str_at(const struct jr_value *v, const char *path)
{
	const char *s = jr_string(jr_path(v, path));

	return s ? s : "?";
}

/* The host and the command, from the first run. */
static void section_run(FILE *f, const struct jr_value *run, const char *dir)
{
	const struct jr_value *cmd = jr_path(run, "command");
	double cpus = 0, mem = 0, load = 0;

	jr_number(jr_path(run, "host.cpus"), &cpus);
	jr_number(jr_path(run, "host.mem_total_kb"), &mem);
	jr_number(jr_path(run, "host.loadavg_1m"), &load);
	fputs("<h2>Run</h2>\n<table class=kv>\n<tr><th>run</th><td>", f);
	esc(f, str_at(run, "run_id"));
	fputs(" (", f);
	esc(f, dir);
	fputs(")</td></tr>\n<tr><th>command</th><td><code>", f);
	for (size_t i = 0; cmd && cmd->type == JR_ARRAY && i < cmd->len; i++) {
		const char *a = jr_string(cmd->items[i]);

		if (i)
			fputc(' ', f);
		/* Quoted when a shell would split it. */
		if (a && (!a[0] || strpbrk(a, " \t'\"$`\\*?")))
			fputc('\'', f), esc(f, a), fputc('\'', f);
		else
			esc(f, a);
	}
	fputs("</code></td></tr>\n<tr><th>evbench</th><td>", f);
	esc(f, str_at(run, "evbench_version"));
	fputs("</td></tr>\n<tr><th>host</th><td>", f);
	esc(f, str_at(run, "host.hostname"));
	fputs(", ", f);
	esc(f, str_at(run, "host.kernel"));
	fprintf(f, ", %.0f CPUs, %.1f GiB, load average %.2f when it began</td></tr>\n", cpus,
		mem / 1048576, load);
	fputs("<tr><th>started</th><td>", f);
	esc(f, str_at(run, "started_at"));
	fputs("</td></tr>\n</table>\n", f);
}

/* One cell "1.04&times; [1.01, 1.06]" of a comparison's metric. */
static void ratio_cell(FILE *f, const struct jr_value *m)
{
	double med, lo, hi, level;
	const struct jr_value *ci = jr_path(m, "ci");

	if (jr_number(jr_path(m, "median"), &med) < 0) {
		fputs("<td>-</td>", f);
		return;
	}
	fprintf(f, "<td class=n>%.2f&times; ", med);
	if (ci && ci->type == JR_OBJECT && jr_number(jr_path(ci, "lo"), &lo) == 0 &&
	    jr_number(jr_path(ci, "hi"), &hi) == 0) {
		bool holds_one = lo <= 1 && hi >= 1;

		jr_number(jr_path(ci, "level"), &level);
		fprintf(f, "<span class=%s>[%.2f, %.2f]</span>%s", holds_one ? "same" : "diff", lo,
			hi, level < 0.95 ? " ~" : "");
	} else {
		fputs("<span class=same>(no interval)</span>", f);
	}
	fputs("</td>", f);
}

static void section_comparisons(FILE *f, const char *dir)
{
	char path[PATH_MAX + 32];
	const struct jr_value *list;
	struct jr_value *c;
	struct jr_error jerr;
	double rounds = 0;

	snprintf(path, sizeof path, "%s/comparisons.json", dir);
	c = jr_parse_file(path, &jerr);
	if (!c)
		return;
	list = jr_path(c, "comparisons");
	jr_number(jr_path(c, "rounds"), &rounds);
	fputs("<h2>Comparisons</h2>\n<p>Each server divided by ", f);
	esc(f, str_at(c, "reference"));
	fprintf(f, " in the same round, median over %.0f round%s, with its interval (95%% from 6 "
		"rounds; <b>~</b> marks the min-max of 3 to 5 rounds, which covers less). An interval "
		"that holds 1.00 (grey) means this run cannot tell the two apart; "
		"<b>!</b> marks a comparison resting on a round the drift probe flagged "
		"(docs/results.md, \"Comparisons\"). Order ", rounds, rounds == 1 ? "" : "s");
	esc(f, str_at(c, "order"));
	/* The seed is a 64-bit integer, more digits than a double holds: its
	 * digits are copied from the file's text. */
	{
		char *text = slurp(path, NULL), *at = text ? strstr(text, "\"seed\":") : NULL;

		if (at) {
			at += 7;
			at += strspn(at, " ");
			fprintf(f, ", seed %.*s", (int)strspn(at, "0123456789"), at);
		}
		free(text);
	}
	fputs(".</p>\n<table>\n<tr><th>server</th><th>conns</th><th>server CPU / request</th>"
	      "<th>throughput</th><th>p99 latency</th><th>flagged rounds</th></tr>\n", f);
	for (size_t i = 0; list && list->type == JR_ARRAY && i < list->len; i++) {
		const struct jr_value *x = list->items[i];
		double conns = 0, flagged = 0;

		jr_number(jr_path(x, "conns"), &conns);
		jr_number(jr_path(x, "flagged_rounds"), &flagged);
		fputs("<tr><td>", f);
		esc(f, str_at(x, "server"));
		fprintf(f, "</td><td class=n>%.0f</td>", conns);
		ratio_cell(f, jr_path(x, "server_cpu_us_per_req"));
		ratio_cell(f, jr_path(x, "throughput_rps"));
		ratio_cell(f, jr_path(x, "p99_us"));
		fprintf(f, "<td class=n>%.0f%s</td></tr>\n", flagged, flagged > 0 ? " !" : "");
	}
	fputs("</table>\n", f);
	jr_free(c);
}

/* One PNG inlined as a figure; false when it cannot be read. */
static bool figure(FILE *f, const char *pdir, const char *name)
{
	char path[PATH_MAX + 300];
	unsigned char *png;
	size_t len;

	snprintf(path, sizeof path, "%s/%s", pdir, name);
	png = (unsigned char *)slurp(path, &len);
	if (!png)
		return false;
	fputs("<figure><img alt=\"", f);
	esc(f, name);
	fputs("\" src=\"data:image/png;base64,", f);
	base64(f, png, len);
	fputs("\"><figcaption>", f);
	esc(f, name);
	fputs("</figcaption></figure>\n", f);
	free(png);
	return true;
}

/* The plots in the order a reader wants them (plot.py's), then any other. */
static const char *const plot_order[] = {
	"throughput.png", "latency.png", "cpu.png", "compare.png", "spectrum.png", "fd_limit.png",
	NULL
};

static void section_plots(FILE *f, const char *dir)
{
	char pdir[PATH_MAX + 16];
	struct dirent **names;
	int n;

	snprintf(pdir, sizeof pdir, "%s/plots", dir);
	n = scandir(pdir, &names, NULL, by_name);
	if (n < 0) {
		fputs("<h2>Plots</h2>\n<p>No plots in this directory (<code>evbench --plot</code> or "
		      "<code>make plots</code> draws them).</p>\n", f);
		return;
	}
	fputs("<h2>Plots</h2>\n", f);
	for (int k = 0; plot_order[k]; k++)
		for (int i = 0; i < n; i++)
			if (!strcmp(names[i]->d_name, plot_order[k]))
				figure(f, pdir, names[i]->d_name);
	for (int i = 0; i < n; i++) {
		bool listed = false;

		for (int k = 0; plot_order[k]; k++)
			listed |= !strcmp(names[i]->d_name, plot_order[k]);
		if (!listed && ends_with(names[i]->d_name, ".png"))
			figure(f, pdir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* The runs of DIR, parsed, in file-name order. Returns how many, or -1. */
static int load_runs(const char *dir, struct jr_value ***runs)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), k = 0;

	*runs = NULL;
	if (n < 0)
		return -1;
	*runs = calloc((size_t)(n ? n : 1), sizeof **runs);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 300];
		struct jr_value *v;
		struct jr_error jerr;

		if (*runs && ends_with(names[i]->d_name, ".json")) {
			snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
			v = jr_parse_file(path, &jerr);
			if (v && !strcmp(str_at(v, "schema"), EVB_SCHEMA_RUN))
				(*runs)[k++] = v;
			else
				jr_free(v);
		}
		free(names[i]);
	}
	free(names);
	return *runs ? k : -1;
}

int html_report(const char *given, char *out, size_t outlen, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], tmp[PATH_MAX + 48];
	struct jr_value **runs;
	struct stat st;
	char *table;
	int n, failed = 0;
	FILE *f;

	/* A directory of runs, or one whose `latest` points at them. */
	snprintf(dir, sizeof dir, "%s/latest", given);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(dir, sizeof dir, "%s", given);
	n = load_runs(dir, &runs);
	if (n <= 0) {
		snprintf(err, errlen, "%s: %s", dir, n < 0 ? strerror(errno) :
			 "no evbench.run/1 result here (a directory evbench wrote)");
		free(runs);
		return -1;
	}
	snprintf(path, sizeof path, "%s/report.html", dir);
	snprintf(tmp, sizeof tmp, "%s/.report.html.tmp", dir);
	f = fopen(tmp, "we");
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		for (int i = 0; i < n; i++)
			jr_free(runs[i]);
		free(runs);
		return -1;
	}
	fputs("<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>evbench ", f);
	esc(f, str_at(runs[0], "run_id"));
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;"
	      "color:#222}\n"
	      "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:13px;line-height:1.35}\n"
	      "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;"
	      "border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;"
	      "font-variant-numeric:tabular-nums}\n"
	      "table.kv th{color:#555;font-weight:normal}\n"
	      ".same{color:#888}.diff{font-weight:bold}\n"
	      "figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
	      "figcaption{color:#666;font-size:12px}\n.fail{color:#b00}\n"
	      "</style>\n</head>\n<body>\n<h1>evbench run ", f);
	esc(f, str_at(runs[0], "run_id"));
	fputs("</h1>\n", f);
	section_run(f, runs[0], dir);

	fputs("<h2>Table</h2>\n", f);
	snprintf(path, sizeof path, "%s/table.txt", dir);
	table = slurp(path, NULL);
	if (table) {
		fputs("<pre>", f);
		esc(f, table);
		fputs("</pre>\n", f);
		free(table);
	} else {
		fputs("<p>No table.txt here: evbench writes it at the end of a sweep (this one was "
		      "interrupted, or written by an older evbench); summary.csv has the figures.</p>\n",
		      f);
	}
	section_comparisons(f, dir);
	section_plots(f, dir);

	for (int i = 0; i < n; i++) {
		const char *why = jr_string(jr_path(runs[i], "result.failure"));

		if (!why)
			continue;
		if (!failed++)
			fputs("<h2>Failed runs</h2>\n<ul>\n", f);
		fputs("<li class=fail>", f);
		esc(f, str_at(runs[i], "server.name"));
		fputs(": ", f);
		esc(f, why);
		fputs("</li>\n", f);
	}
	if (failed)
		fputs("</ul>\n", f);
	fprintf(f, "<p style=\"color:#777;font-size:12px\">%d run%s; the JSON of each, summary.csv "
		"and the .hgrm files are beside this page (docs/results.md).</p>\n</body>\n</html>\n",
		n, n == 1 ? "" : "s");
	for (int i = 0; i < n; i++)
		jr_free(runs[i]);
	free(runs);
	snprintf(path, sizeof path, "%s/report.html", dir);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(out, outlen, "%s", path);
	return 0;
}
