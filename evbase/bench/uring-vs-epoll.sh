#!/bin/sh
# uring-vs-epoll.sh DIR — evbase's io_uring backend against libevent's epoll,
# dispatch time, measured interleaved.
#
# This machine's speed drifts by a third for seconds at a time, so two
# batches run one after the other compare the moments, not the programs.
# Here the two binaries alternate run by run (the order flips every pair so
# that neither always goes first), each run short (DISPATCH_RUNS dispatch
# phases, their median), and each pair gives one ratio evbase / libevent.
# Printed: every pair, then the median ratio and its range over the pairs,
# and the interval between the 2nd smallest and 2nd largest ratio (with 12
# pairs, about a 99% confidence interval for the median). The same for the
# ratio of the batches' fastest runs, which a slow moment disturbs less.
#
# Environment: PAIRS (default 12), DISPATCH_RUNS (default 5), N (default:
# as close to 10,000 pairs as the descriptor limit allows), A (default 100),
# W (default 1000), EVBASE_BACKEND (default io_uring), LIBEVENT_BACKEND
# (default epoll), CLOCK (cpu, the default: the dispatch phase's CPU time,
# user and system, of the benchmark's one thread, which a descheduled moment
# does not inflate; wall: elapsed time). Runs under nice: others share the
# machine. ET=1 makes both sides' events edge-triggered (dispatch -e).
set -u
dir=${1:-build/evbase-bench}
pairs=${PAIRS:-12}
runs=${DISPATCH_RUNS:-5}
active=${A:-100}
writes=${W:-1000}
ebe=${EVBASE_BACKEND:-io_uring}
case "${CLOCK:-cpu}" in
cpu) cflag=-c ;;
wall) cflag= ;;
*) echo "uring-vs-epoll.sh: CLOCK is cpu or wall, not '$CLOCK'" >&2; exit 2 ;;
esac
[ "${ET:-0}" = 1 ] && cflag="$cflag -e"
lbe=${LIBEVENT_BACKEND:-epoll}
limit=$(ulimit -Hn)
[ "$limit" = unlimited ] && limit=1048576
n=${N:-$(( (limit - 16) / 2 ))}
[ "$n" -gt 10000 ] && n=10000

# one LIBRARY BACKEND: "median min" dispatch time of a short batch, in us.
one() {
	nice "$dir/dispatch-$1" -b "$2" -n "$n" -a "$active" -w "$writes" -r "$runs" $cflag |
	    awk '{ print $7, $8 }'
}

ratios=$(mktemp) mins=$(mktemp)
trap 'rm -f "$ratios" "$mins"' EXIT
echo "n=$n a=$active w=$writes, $runs runs a batch; ${CLOCK:-cpu} time in us, median (fastest)"
echo "pair  libevent-$lbe        evbase-$ebe      ratio (of fastest)"
i=1
while [ "$i" -le "$pairs" ]; do
	if [ $((i % 2)) -eq 1 ]; then
		l=$(one libevent "$lbe"); e=$(one evbase "$ebe")
	else
		e=$(one evbase "$ebe"); l=$(one libevent "$lbe")
	fi
	[ -n "$l" ] && [ -n "$e" ] || { echo "uring-vs-epoll.sh: a run failed (pair $i)" >&2; exit 1; }
	set -- $l $e
	r=$(awk -v e="$3" -v l="$1" 'BEGIN { printf "%.3f", e / l }')
	m=$(awk -v e="$4" -v l="$2" 'BEGIN { printf "%.3f", e / l }')
	printf '%4d  %8s (%8s)  %8s (%8s)  %s (%s)\n' "$i" "$1" "$2" "$3" "$4" "$r" "$m"
	echo "$r" >>"$ratios"
	echo "$m" >>"$mins"
	i=$((i + 1))
done
summary() {
	sort -n "$2" | awk -v what="$1" '{ r[NR] = $1 } END {
		med = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
		printf "%s: median ratio %.3f, range %.3f-%.3f", what, med, r[1], r[NR]
		if (NR >= 6) printf ", 2nd smallest to 2nd largest %.3f-%.3f", r[2], r[NR - 1]
		printf " (%d pairs)\n", NR
	}'
}
summary "batch medians" "$ratios"
summary "batch fastest" "$mins"
