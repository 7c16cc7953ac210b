#!/bin/sh
# Are evbench's rankings reproducible? (docs/results.md, "Comparisons")
#
#   scripts/compare_rankings.sh [N]
#
# Runs `evbench --server SERVERS --conns CONNS --repeat ROUNDS` N times (default
# 5) as separate invocations and prints, for each design, its server-CPU ratio
# to the reference in every invocation and their spread (half the range, in %
# of its middle), next to the spread of the reference's absolute figure.
#
# Environment: SERVERS (epoll-lt,evbase,libevent,poll), CONNS (100), ROUNDS
# (10), DURATION (evbench's default when empty), WARMUP (likewise), OUT
# (results/rankings), BIN (bin). A benchmark: run it on an otherwise idle machine.
set -eu
n=${1:-5}
SERVERS=${SERVERS:-epoll-lt,evbase,libevent,poll}
CONNS=${CONNS:-100}
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-}
WARMUP=${WARMUP:-}
OUT=${OUT:-results/rankings}
here=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=bench_env.sh
. "$here/bench_env.sh"
bench_count "$n"
bench_need
set -- ${DURATION:+--duration "$DURATION"} ${WARMUP:+--warmup "$WARMUP"}

mkdir -p "$OUT"
dirs=""
i=1
while [ "$i" -le "$n" ]; do
	"$BIN/evbench" --server "$SERVERS" --conns "$CONNS" --repeat "$ROUNDS" "$@" --quiet \
		--out "$OUT" >/dev/null
	dirs="$dirs $(readlink -f "$OUT/latest")"
	echo "invocation $i/$n: $(readlink "$OUT/latest")" >&2
	i=$((i + 1))
done
echo "== $n invocations of evbench --server $SERVERS --conns $CONNS --repeat $ROUNDS $*"
# shellcheck disable=SC2086
"$py" "$here/compare_summary.py" spread $dirs
