#!/bin/sh
# Validates `evbench ab` + the paired gate on this machine (docs/gate.md):
# A/A trials (the build against itself) must pass, A/B trials against a build
# slowed by about 10% of server CPU per request must fail, each trial within
# the budget.
#
#   scripts/gate_ab_validate.sh [N]      N A/A and N A/B trials, alternating
#   WORK_NS="W1 W2 ..." KINDS=ab scripts/gate_ab_validate.sh [N]
#                                        N trials at each of several slowdowns,
#                                        one of each in turn (the gate's curve)
#
# The slow build is this one behind wrappers: OUT/slow/bin/rot13-* exec the
# real binary with --work-ns W appended, busy work per request. W is
# calibrated by what the gate itself measures, because the busy loop costs
# more than its nominal time (its own clock reads, the cache it disturbs):
# W0 = SLOWDOWN x the median server CPU per request of SERVER at CONNS over 5
# interleaved rounds; then a 10-round `evbench ab` of the slow build measures
# the change c0 that W0 gives, and W = W0 x SLOWDOWN / c0. SLOWDOWN defaults
# to 0.12: about 10%, and clearly above the gate's 10% threshold, which a
# true 10% would cross only half the time. WORK_NS set skips the calibration;
# a list of several values runs a slow build for each (OUT/slow-W), and each
# cycle runs one trial of every kind and level, so that a drift of the
# machine's noise falls on all of them alike; what each level's change really
# is, is then measured by all of its trials' rounds (scripts/gate_curve.sh).
# Each trial is `evbench ab --rounds auto --budget BUDGET`; its exit status is
# the verdict (0 pass, 1 regression, 3 undecided, 2 error).
#
# Environment: SERVER (epoll-lt), CONNS (100), DURATION (1), WARMUP (0.5),
# BUDGET (120), SLOWDOWN (0.12), WORK_NS (calibrated), OUT (results/gate-ab),
# BIN (bin: a directory holding evbench and rot13-SERVER, such as a copy of a
# build's bin/ under any name, so that a rebuild cannot change it under the
# run), KINDS ("aa ab"; "ab" alone measures detection at one slowdown, as for
# the smallest slowdown caught 19 times in 20), ROUNDS (auto; a number runs
# that many rounds and judges once, to collect the rounds' noise for the
# simulation of scripts/gate_oc.sh).
#
# Every trial's per-round ratios of server CPU per request (current over
# baseline) are appended to OUT/ratios.csv: kind,work_ns,trial,round,ratio;
# and its verdict to OUT/trials.csv: kind,work_ns,trial,exit,seconds,rounds,
# change (exit 0 pass, 1 REGRESSION, 3 UNDECIDED, 2 error; change in %, as
# the verdict's table printed it). A run adds to both, so that an
# interrupted series can be continued with more trials.
#
# `evbench ab` wants builds, directories whose bin/ holds the servers; the
# baseline is OUT/base, whose bin is a link to BIN, and a slow build is
# OUT/slow-W. Nothing is read from BIN/.. .
# A benchmark, not a test: run it on an otherwise idle machine.
set -eu
n=${1:-40}
SERVER=${SERVER:-epoll-lt}
CONNS=${CONNS:-100}
DURATION=${DURATION:-1}
WARMUP=${WARMUP:-0.5}
BUDGET=${BUDGET:-120}
SLOWDOWN=${SLOWDOWN:-0.12}
OUT=${OUT:-results/gate-ab}
BIN=${BIN:-bin}
KINDS=${KINDS:-aa ab}
ROUNDS=${ROUNDS:-auto}
die() { echo "gate_ab_validate.sh: $*" >&2; exit 2; }
case "$n" in ''|*[!0-9]*) die "N must be a whole number, got '$n'" ;; esac
case "$ROUNDS" in auto) ;; ''|*[!0-9]*) die "ROUNDS must be auto or a whole number, got '$ROUNDS'" ;; esac
[ -x "$BIN/evbench" ] || die "BIN=$BIN needs evbench in it (make, then copy bin/ or give BIN=bin)"
[ -x "$BIN/rot13-$SERVER" ] || die "BIN=$BIN needs rot13-$SERVER in it (the server of SERVER=$SERVER)"
BIN=$(cd "$BIN" && pwd)
mkdir -p "$OUT/base"
OUT=$(cd "$OUT" && pwd)
root="$OUT/base"
ln -sfn "$BIN" "$root/bin"
# A figure the awk scripts below print: a number, or the run that should have
# produced it failed (its output is in OUT/calibrate.log).
need_number() {
	case "$2" in
	''|*[!0-9.e+-]*) die "the calibration's $1 produced no figure (got '$2'); see $OUT/calibrate.log" ;;
	esac
}

# The slow build of W ns of busy work per request: OUT/slow-W.
make_slow() {
	mkdir -p "$OUT/slow-$1/bin"
	for real in "$BIN"/rot13-*; do
		printf '#!/bin/sh\nexec "%s" "$@" --work-ns %s\n' "$real" "$1" \
			>"$OUT/slow-$1/bin/${real##*/}"
		chmod +x "$OUT/slow-$1/bin/${real##*/}"
	done
}
# The server-CPU change a verdict's table on stdin gives, in % (nothing when
# the table has none).
cpu_change() {
	awk -F'|' '/\| server CPU \|/ { v = $6; gsub(/[ +%]/, "", v); if (v != "-") print v; exit }'
}
# The change the gate measures for slow build $1, as a fraction: 10 rounds.
measure() {
	"$BIN/evbench" ab --baseline "$root" --current "$OUT/slow-$1" --server "$SERVER" --conns "$CONNS" \
		--rounds 10 --duration "$DURATION" --warmup "$WARMUP" --quiet --out "$OUT/calibrate" \
		2>>"$OUT/calibrate.log" | tee -a "$OUT/calibrate.log" | cpu_change |
		awk '{ print $1 / 100 }'
}

# A/A alone needs no slow build.
case " $KINDS " in *" ab "*) ;; *) WORK_NS=${WORK_NS:-0} ;; esac
if [ -z "${WORK_NS:-}" ]; then
	: >"$OUT/calibrate.log"
	"$BIN/evbench" --server "$SERVER" --conns "$CONNS" --repeat 5 --duration "$DURATION" \
		--warmup "$WARMUP" --quiet --out "$OUT/calibrate" >>"$OUT/calibrate.log" 2>&1 ||
		die "the calibration's evbench run failed; see $OUT/calibrate.log"
	us=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "cpu_us_per_req_server") c = i; next }
		      c && $c > 0 { print $c }' "$OUT/calibrate/latest/summary.csv" | sort -g |
	     awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
	need_number "server CPU per request of $SERVER" "$us"
	w0=$(awk -v us="$us" -v s="$SLOWDOWN" 'BEGIN { printf "%d", us * 1000 * s }')
	make_slow "$w0"
	c0=$(measure "$w0")
	need_number "10-round evbench ab with --work-ns $w0" "$c0"
	awk -v c="$c0" 'BEGIN { exit !(c > 0) }' ||
		die "--work-ns $w0 measured $c0, no slowdown to scale from; see $OUT/calibrate.log"
	WORK_NS=$(awk -v w="$w0" -v s="$SLOWDOWN" -v c="$c0" 'BEGIN { printf "%d", w * s / c }')
	echo "calibration: $SERVER at $CONNS connections costs $us us/request; --work-ns $w0" \
	     "measured $c0; --work-ns $WORK_NS for $SLOWDOWN"
fi
for w in $WORK_NS; do
	case "$w" in ''|*[!0-9]*) die "WORK_NS must be whole numbers of ns, got '$w'" ;; esac
	make_slow "$w"
done
# One level: its 10-round check, as before. Several: their trials measure them.
if [ "$WORK_NS" != 0 ] && [ "$WORK_NS" = "${WORK_NS%% *}" ]; then
	c1=$(measure "$WORK_NS")
	need_number "10-round evbench ab with --work-ns $WORK_NS" "$c1"
	echo "slow build: --work-ns $WORK_NS, measured $c1 in 10 rounds${w0:+ (target $SLOWDOWN)}"
fi

# The server-CPU ratios of comparisons.json $4, one per round, as rows of
# ratios.csv for kind $1 at work $2, trial $3.
ratios() {
	awk -v pre="$1,$2,$3" '/"server_cpu_us_per_req"/ { m = 1 }
		m && /"ratios"/ { r = 1; next }
		r && /\]/ { exit }
		r { gsub(/[ ,]/, ""); print pre "," ++k "," $0 }' "$4"
}
[ -f "$OUT/ratios.csv" ] || echo "kind,work_ns,trial,round,ratio" >"$OUT/ratios.csv"
[ -f "$OUT/trials.csv" ] || echo "kind,work_ns,trial,exit,seconds,rounds,change" >"$OUT/trials.csv"
# This run's trials are the lines of trials.csv from $first on; a run that
# adds to a series numbers its trials on from the series' last.
first=$(($(wc -l <"$OUT/trials.csv") + 1))
i0=$(awk -F, 'NR > 1 && $3 + 0 > m { m = $3 + 0 } END { print m + 0 }' "$OUT/trials.csv")

# One trial: kind $1 (aa or ab) at work $2, trial number $3.
trial() {
	cur=$root
	[ "$1" = ab ] && cur="$OUT/slow-$2"
	md="$OUT/$1-$2-$3.md"
	t0=$(date +%s)
	set +e
	"$BIN/evbench" ab --baseline "$root" --current "$cur" --server "$SERVER" \
		--conns "$CONNS" --rounds "$ROUNDS" --budget "$BUDGET" --duration "$DURATION" \
		--warmup "$WARMUP" --quiet --out "$OUT/$1" >"$md" 2>&1
	rc=$?
	set -e
	t=$(( $(date +%s) - t0 ))
	if [ "$rc" -eq 2 ] && [ "$3" -eq $((i0 + 1)) ]; then
		echo "gate_ab_validate.sh: the first $1 trial failed:" >&2
		cat "$md" >&2
		exit 2
	fi
	ratios "$1" "$2" "$3" "$OUT/$1/latest/comparisons.json" >"$OUT/trial.csv" || true
	cat "$OUT/trial.csv" >>"$OUT/ratios.csv"
	change=$(cpu_change <"$md")
	echo "$1,$2,$3,$rc,$t,$(wc -l <"$OUT/trial.csv"),${change:--}" >>"$OUT/trials.csv"
	echo "$1 w$2 $3: exit $rc in ${t}s: $(grep '| server CPU |' "$md" |
		awk -F'|' '{ print $5, $6, $7, $8 }')" >&2
}

i=$((i0 + 1))
while [ "$i" -le $((i0 + n)) ]; do
	for kind in $KINDS; do
		if [ "$kind" = aa ]; then
			trial aa 0 "$i"
		else
			for w in $WORK_NS; do trial ab "$w" "$i"; done
		fi
	done
	i=$((i + 1))
done
echo "== evbench ab, $SERVER at $CONNS connections, --rounds $ROUNDS --budget $BUDGET," \
     "--duration $DURATION --warmup $WARMUP; trials $((i0 + 1)) to $((i0 + n)) in $OUT/trials.csv"
tail -n +"$first" "$OUT/trials.csv" | awk -F, -v n="$n" '
	{ k = ($1 == "aa" ? "A/A (same build)" : "A/B (--work-ns " $2 ")")
	  if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
	  c[k, $4 == 0 ? "pass" : $4 == 1 ? "REGRESSION" : $4 == 3 ? "UNDECIDED" : "error"]++
	  if ($5 > worst) worst = $5 }
	END { for (j = 1; j <= nk; j++) { k = order[j]
		printf "%s: %d REGRESSION, %d pass, %d undecided, %d errors, of %d\n", k,
		       c[k, "REGRESSION"], c[k, "pass"], c[k, "UNDECIDED"], c[k, "error"], n }
	      printf "longest trial: %ds\n", worst }'
