#!/bin/sh
# The A/A proof of evbench's comparisons (docs/results.md, "Comparisons"):
# the same binary entered twice, as SERVER and SERVER@b, must come out equal.
#
#   scripts/compare_aa.sh [N]      N A/A sweeps interleaved, then N sequential
#
# Each sweep is `evbench --server SERVER,SERVER@b --conns CONNS --repeat ROUNDS`
# with short phases; the summary says in how many the 95% interval of the
# server-CPU ratio holds 1.0, how far the point estimates stray from 1, and
# whether dividing by the drift probe narrows the intervals. The sequential
# sweeps run every repeat of SERVER, then every repeat of SERVER@b: the way
# evbench ran before, for contrast.
#
# Environment: SERVER (epoll-lt), CONNS (100), ROUNDS (10), DURATION (1),
# WARMUP (0.5), ORDERS ("interleaved sequential"), OUT (results/aa), BIN (bin).
# A benchmark, not a test: run it on a machine doing nothing else of yours.
set -eu
n=${1:-20}
SERVER=${SERVER:-epoll-lt}
CONNS=${CONNS:-100}
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-1}
WARMUP=${WARMUP:-0.5}
ORDERS=${ORDERS:-interleaved sequential}
OUT=${OUT:-results/aa}
here=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=bench_env.sh
. "$here/bench_env.sh"
bench_count "$n"
bench_need

for order in $ORDERS; do
	mkdir -p "$OUT/$order"
	dirs=""
	i=1
	while [ "$i" -le "$n" ]; do
		"$BIN/evbench" --server "$SERVER,$SERVER@b" --conns "$CONNS" --repeat "$ROUNDS" \
			--duration "$DURATION" --warmup "$WARMUP" --order "$order" --quiet \
			--out "$OUT/$order" >/dev/null
		dirs="$dirs $(readlink -f "$OUT/$order/latest")"
		echo "$order $i/$n: $(readlink "$OUT/$order/latest")" >&2
		i=$((i + 1))
	done
	echo "== $order: $n A/A sweeps of $SERVER at $CONNS connections, $ROUNDS rounds," \
	     "--duration $DURATION --warmup $WARMUP"
	# shellcheck disable=SC2086
	"$py" "$here/compare_summary.py" aa $dirs
	echo
done
