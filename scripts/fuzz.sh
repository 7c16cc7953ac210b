#!/bin/sh
# fuzz.sh - run one libFuzzer target for a bounded time (`make fuzz` calls it).
#
#   scripts/fuzz.sh BUILD NAME SECONDS
#
# Runs BUILD/fuzz_NAME for SECONDS on its committed seeds, tests/fuzz/corpus/NAME/
# (read only), growing the working corpus BUILD/corpus/NAME/ (kept between runs,
# never committed). Prints one line: executions, their rate and the corpus
# size. A crash, a leak, a hang (10 s on one input) or a broken invariant
# leaves its input in BUILD/crash-NAME-*, prints the end of libFuzzer's log
# and the command that replays it, and exits 1. Bad arguments exit 2.
set -u
[ $# -eq 3 ] || { echo "usage: scripts/fuzz.sh BUILD NAME SECONDS" >&2; exit 2; }
build=$1 name=$2 secs=$3
bin=$build/fuzz_$name
seeds=tests/fuzz/corpus/$name
case $secs in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;; esac
[ -x "$bin" ] || { echo "fuzz.sh: $bin not built (make fuzz-build)" >&2; exit 2; }
[ -d "$seeds" ] || { echo "fuzz.sh: no seed corpus $seeds" >&2; exit 2; }

mkdir -p "$build/corpus/$name"
log=$build/fuzz-$name.log
# -rss_limit_mb: well below what the machine has, so a leak stops the run
# rather than the machine. Leaks are checked after every input (ASan's LSan).
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-artifact_prefix="$build/crash-$name-" "$build/corpus/$name" "$seeds" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
units=$(ls "$build/corpus/$name" | wc -l)
if [ $rc -ne 0 ]; then
	tail -n 40 "$log"
	echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; full log in $log"
	for a in "$build/crash-$name-"*; do
		[ -e "$a" ] && echo "  replay: $bin $a"
	done
	exit 1
fi
echo "fuzz $name: ${execs:-?} executions in ${secs} s (${rate:-?}/s), $units inputs in the working corpus, no finding"
