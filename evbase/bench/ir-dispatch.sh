#!/bin/sh
# ir-dispatch.sh DIR — user-space instructions per dispatched event, evbase
# against libevent, counted for the dispatch phase only.
#
# Runs DIR/dispatch-libevent (epoll) and DIR/dispatch-evbase (epoll and
# io_uring) under valgrind with the count limited to dispatch_phase() of
# evbase/bench/dispatch.c: the loop from the first byte sent to the last
# callback, without the setup of the n events. Valgrind 3.19's cachegrind
# cannot switch counting on and off, so this is callgrind's
# --toggle-collect, which counts the same thing (Ir, instructions executed
# in user space; the kernel's work in recv, send and epoll_wait is not in
# it). Every run dispatches a + w callbacks; with the warm-up run that is
# (runs + 1) x (a + w) events.
#
# Prints, for n = 1000 and the largest n the descriptor limit allows under
# valgrind (about 10,000), a = 100, w = 1000, 5 runs: the instructions per
# event of each, and evbase / libevent. Counts are deterministic to a few
# instructions per million; no timing is involved.
#
# Environment: IR_N (default "1000 10000"), IR_A (default 100).
set -u
dir=${1:-build/evbase-bench}
sizes=${IR_N:-1000 10000}
active=${IR_A:-100}
writes=1000 runs=5
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a / b }'; }
command -v valgrind >/dev/null 2>&1 || { echo "ir-dispatch.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
[ -x "$dir/dispatch-evbase" ] && [ -x "$dir/dispatch-libevent" ] ||
	{ echo "ir-dispatch.sh: no $dir/dispatch-evbase or dispatch-libevent" >&2; exit 2; }

# valgrind keeps a few descriptors of its own under the hard limit.
limit=$(ulimit -Hn)
[ "$limit" = unlimited ] && limit=1048576
max=$(( (limit - 12 - 16) / 2 ))

# ir LIBRARY BACKEND N: instructions in dispatch_phase, or nothing.
ir() {
	valgrind --tool=callgrind --toggle-collect=dispatch_phase --callgrind-out-file=/dev/null \
	    "$dir/dispatch-$1" -b "$2" -n "$3" -a "$active" -w "$writes" -r "$runs" 2>&1 >/dev/null |
	    sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

events=$(( (runs + 1) * (active + writes) ))
printf '%-9s %-9s %6s %4s %12s %12s %8s\n' library backend n a Ir Ir/event ratio
for n in $sizes; do
	[ "$n" -gt "$max" ] && n=$max
	base=$(ir libevent epoll "$n")
	[ -n "$base" ] && [ "$base" -gt 0 ] || { echo "ir-dispatch.sh: libevent at n=$n did not run" >&2; exit 1; }
	printf '%-9s %-9s %6d %4d %12d %12.1f %8s\n' libevent epoll "$n" "$active" "$base" \
	    "$(div "$base" "$events")" -
	for be in epoll io_uring; do
		c=$(ir evbase "$be" "$n")
		if [ -z "$c" ] || [ "$c" -eq 0 ]; then
			printf '%-9s %-9s %6d %4d %12s\n' evbase "$be" "$n" "$active" unavailable
			continue
		fi
		printf '%-9s %-9s %6d %4d %12d %12.1f %8.3f\n' evbase "$be" "$n" "$active" "$c" \
		    "$(div "$c" "$events")" "$(div "$c" "$base")"
	done
done
