#!/bin/sh
# Count the instructions a benchmark executes, for `evbench gate`'s
# deterministic mode: timing on a shared CI machine moves by several percent
# from run to run, while the number of instructions a fixed program executes
# on a fixed input moves by a fraction of a percent. Two files written by this
# script compare with
#
#     evbench gate baseline-ir.json current-ir.json     (threshold 2% by default)
#
# Usage:
#   scripts/gate_instructions.sh OUT.json [NAME=COMMAND ...]
#
# Each COMMAND runs under `valgrind --tool=cachegrind` RUNS times (default 3,
# env GATE_IR_RUNS); the total of executed instructions (Ir) of each run is
# recorded, and the median is the benchmark's figure. COMMAND is split on
# blanks (no quoting) and must do a fixed amount of work: a benchmark that runs
# "for one second" executes as many instructions as the second allows, which
# is as noisy as timing it. With no NAME=COMMAND, the evbase dispatch
# benchmark in $BUILD/evbase-bench/ (BUILD defaults to build) runs in five
# fixed configurations (see below).
#
# Writes {"schema": "evbench.instructions/1", "tool": "cachegrind",
# "benchmarks": [{"name", "ir", "ir_runs": [...], "spread_pct"}]}.
# Exit status: 0, or 2 on a usage error, a missing valgrind or a failed run.
set -u

die() { echo "gate_instructions.sh: $*" >&2; exit 2; }

[ $# -ge 1 ] || die "usage: scripts/gate_instructions.sh OUT.json [NAME=COMMAND ...]"
out=$1; shift
runs=${GATE_IR_RUNS:-3}
case "$runs" in ''|*[!0-9]*|0) die "GATE_IR_RUNS must be a positive integer, got '$runs'" ;; esac
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (apt-get install valgrind)"

list=$(mktemp) log=$(mktemp) counts=$(mktemp)
trap 'rm -f "$list" "$log" "$counts"' EXIT

if [ $# -eq 0 ]; then
	# The event-loop dispatch benchmark (evbase/bench/dispatch.c): 1000
	# socketpairs, 1000 writes, 5 runs. One active chain (a = 1) makes every
	# loop round cost what the backend does with 999 idle descriptors; 100
	# chains weigh the per-callback bookkeeping instead. libevent, which no
	# change in this project touches, is the control: it must not move.
	dir=${BUILD:-build}/evbase-bench
	[ -x "$dir/dispatch-evbase" ] && [ -x "$dir/dispatch-libevent" ] ||
		die "no $dir/dispatch-evbase or dispatch-libevent (make $dir/dispatch-evbase $dir/dispatch-libevent)"
	args="-n 1000 -w 1000 -r 5"
	for be in epoll poll select; do
		echo "evbase-$be-a1=$dir/dispatch-evbase -b $be -a 1 $args" >>"$list"
	done
	echo "evbase-epoll-a100=$dir/dispatch-evbase -b epoll -a 100 $args" >>"$list"
	echo "libevent-epoll-a1=$dir/dispatch-libevent -b epoll -a 1 $args" >>"$list"
else
	for spec in "$@"; do
		case "$spec" in
		?*=?*) echo "$spec" >>"$list" ;;
		*) die "'$spec' is not NAME=COMMAND" ;;
		esac
	done
fi

tmpout=$out.tmp.$$
{
	printf '{"schema": "evbench.instructions/1", "tool": "cachegrind", "runs": %s,\n' "$runs"
	printf ' "benchmarks": ['
} >"$tmpout"

sep=""
while IFS= read -r spec; do
	name=${spec%%=*}
	cmd=${spec#*=}
	: >"$counts"
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		# --cache-sim=no: only the instruction count is wanted, and the
		# cache simulation would multiply the run time for nothing.
		# shellcheck disable=SC2086  # COMMAND is split on blanks on purpose
		valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
			--log-file="$log" $cmd >/dev/null 2>&1
		rc=$?
		ir=$(sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$log" | tr -d , | tail -n 1)
		[ $rc -eq 0 ] || { rm -f "$tmpout"; die "$name: '$cmd' exited with status $rc under valgrind"; }
		[ -n "$ir" ] || { rm -f "$tmpout"; die "$name: no instruction count in valgrind's log"; }
		echo "$ir" >>"$counts"
	done
	median=$(sort -n "$counts" | sed -n "$(( (runs + 1) / 2 ))p")
	all=$(paste -sd, "$counts")
	spread=$(sort -n "$counts" | awk -v m="$median" 'NR==1{lo=$1} {hi=$1} END{printf "%.4f", 100*(hi-lo)/m}')
	printf '%s\n  {"name": "%s", "ir": %s, "ir_runs": [%s], "spread_pct": %s}' \
		"$sep" "$name" "$median" "$all" "$spread" >>"$tmpout"
	sep=","
	echo "$name: Ir $median (runs: $all; spread $spread%)" >&2
done <"$list"

printf '\n]}\n' >>"$tmpout"
mv "$tmpout" "$out"
