#!/bin/sh
# run-dispatch.sh DIR — the dispatch benchmark, libevent and evbase side by side.
#
# Runs DIR/dispatch-libevent and DIR/dispatch-evbase for every backend, for
# n = 100, 1000 and as close to 10000 pairs as the descriptor limit allows
# (two descriptors a pair), with a = 1 and a = 100 active chains, and prints
# the median time of the dispatch phase of each and their ratio
# (evbase / libevent: below 1 means evbase is faster).
#
# Environment: DISPATCH_RUNS (runs per point, default 15), DISPATCH_WRITES
# (default 1000), DISPATCH_N (default "100 1000 10000"), DISPATCH_BACKENDS
# (default "epoll poll select").
set -u
dir=${1:-build/evbase-bench}
runs=${DISPATCH_RUNS:-15}
writes=${DISPATCH_WRITES:-1000}
sizes=${DISPATCH_N:-100 1000 10000}
backends=${DISPATCH_BACKENDS:-epoll poll select}

limit=$(ulimit -Hn)
[ "$limit" = unlimited ] && limit=1048576
max=$(( (limit - 16) / 2 ))

# one LIBRARY BACKEND N A: the median, or "failed" (libevent's select backend
# aborts on descriptors >= FD_SETSIZE; see docs/evbase.md).
one() {
	# Through sh -c with stderr closed, so that an abort is not announced
	# by the shell in the middle of the table.
	out=$(sh -c '"$0" "$@"; exit $?' "$dir/dispatch-$1" -b "$2" -n "$3" -a "$4" \
	    -w "$writes" -r "$runs" 2>/dev/null) || out=
	set -- $out
	echo "${7:-failed}"
}

printf '%-7s %6s %4s %5s %14s %14s %7s\n' backend n a w libevent_us evbase_us ratio
for be in $backends; do
	for n in $sizes; do
		[ "$n" -gt "$max" ] && n=$max
		for a in 1 100; do
			[ "$a" -gt "$n" ] && continue
			tle=$(one libevent "$be" "$n" "$a")
			teb=$(one evbase "$be" "$n" "$a")
			ratio=-
			case "$tle$teb" in *failed*) ;; *)
				ratio=$(awk -v x="$teb" -v y="$tle" 'BEGIN { printf "%.2f", x / y }') ;;
			esac
			printf '%-7s %6s %4s %5s %14s %14s %7s\n' "$be" "$n" "$a" "$writes" "$tle" "$teb" "$ratio"
		done
	done
done
