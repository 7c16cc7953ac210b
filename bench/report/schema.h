/*
 * schema.h - the identifiers of the JSON files evbench writes and reads, the
 * `schema` member each opens with (docs/results.md, docs/gate.md,
 * docs/designs.md). A reader accepts a file by this id; a change of a file's
 * meaning changes its number.
 */
#ifndef EVBENCH_SCHEMA_H
#define EVBENCH_SCHEMA_H

#define EVB_SCHEMA_RUN          "evbench.run/1"          /* one run: <server>-c<N>-r<K>.json */
#define EVB_SCHEMA_COMPARISONS  "evbench.comparisons/1"  /* comparisons.json of a sweep */
#define EVB_SCHEMA_DESIGNS      "evbench.designs/1"      /* evbench --list --json */
#define EVB_SCHEMA_GATE         "evbench.gate/1"         /* evbench gate --json */
#define EVB_SCHEMA_GATE_PAIRED  "evbench.gate-paired/1"  /* the paired gate's verdict */
#define EVB_SCHEMA_INSTRUCTIONS "evbench.instructions/1" /* instruction counts the gate reads */
#define EVB_SCHEMA_AGENT        "evbench.agent/1"        /* one agent's share: docs/many-hosts.md */
#define EVB_SCHEMA_MERGED       "evbench.merged/1"       /* evbench merge --json */

#endif
