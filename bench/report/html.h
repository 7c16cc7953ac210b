/*
 * html.h - `evbench report DIR`: one self-contained HTML page of a results
 * directory, to publish as a CI artefact or to open offline.
 *
 * The page holds the sweep's table as evbench printed it (DIR/table.txt),
 * the paired comparisons of comparisons.json with their intervals, every
 * plot of DIR/plots/ inlined as a base64 PNG, the command line, the host,
 * and the runs that failed. Nothing is fetched from anywhere: no script, no
 * style sheet, no font. docs/results.md ("The report") describes it.
 */
#ifndef EVBENCH_HTML_H
#define EVBENCH_HTML_H

#include <stddef.h>

/* Writes DIR/report.html (DIR or DIR/latest, as the gate reads them) and
 * puts its path in out. Returns 0, or -1 with a one-line reason in err:
 * no evbench.run/1 result in DIR, or a file that could not be written. */
int html_report(const char *dir, char *out, size_t outlen, char *err, size_t errlen);

#endif
