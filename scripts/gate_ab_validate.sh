#!/bin/sh
# Validates `evbench ab` + the paired gate on this machine (docs/gate.md):
# A/A trials (the build against itself) must pass, A/B trials against a build
# slowed by about 10% of server CPU per request must fail, each trial within
# the budget.
#
#   scripts/gate_ab_validate.sh [N]      N A/A and N A/B trials, alternating
#
# The slow build is this one behind wrappers: OUT/slow/bin/rot13-* exec the
# real binary with --work-ns W appended, busy work per request. W is
# calibrated by what the gate itself measures, because the busy loop costs
# more than its nominal time (its own clock reads, the cache it disturbs):
# W0 = SLOWDOWN x the median server CPU per request of SERVER at CONNS over 5
# interleaved rounds; then a 10-round `evbench ab` of the slow build measures
# the change c0 that W0 gives, and W = W0 x SLOWDOWN / c0. SLOWDOWN defaults
# to 0.12: about 10%, and clearly above the gate's 10% threshold, which a
# true 10% would cross only half the time. WORK_NS set skips the calibration.
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
# baseline) are appended to OUT/ratios.csv: kind,work_ns,trial,round,ratio.
#
# `evbench ab` wants builds, directories whose bin/ holds the servers; the
# baseline is OUT/base, whose bin is a link to BIN, and the slow build is
# OUT/slow. Nothing is read from BIN/.. .
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

slow="$OUT/slow"
make_slow() {
	mkdir -p "$slow/bin"
	for real in "$BIN"/rot13-*; do
		printf '#!/bin/sh\nexec "%s" "$@" --work-ns %s\n' "$real" "$1" >"$slow/bin/${real##*/}"
		chmod +x "$slow/bin/${real##*/}"
	done
}
# The change the gate measures for the slow build, as a fraction: 10 rounds.
measure() {
	"$BIN/evbench" ab --baseline "$root" --current "$slow" --server "$SERVER" --conns "$CONNS" \
		--rounds 10 --duration "$DURATION" --warmup "$WARMUP" --quiet --out "$OUT/calibrate" \
		2>>"$OUT/calibrate.log" | tee -a "$OUT/calibrate.log" |
		awk -F'|' '/\| server CPU \|/ { v = $6; gsub(/[ +%]/, "", v); if (v != "-") print v / 100 }'
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
	c0=$(measure)
	need_number "10-round evbench ab with --work-ns $w0" "$c0"
	awk -v c="$c0" 'BEGIN { exit !(c > 0) }' ||
		die "--work-ns $w0 measured $c0, no slowdown to scale from; see $OUT/calibrate.log"
	WORK_NS=$(awk -v w="$w0" -v s="$SLOWDOWN" -v c="$c0" 'BEGIN { printf "%d", w * s / c }')
	echo "calibration: $SERVER at $CONNS connections costs $us us/request; --work-ns $w0" \
	     "measured $c0; --work-ns $WORK_NS for $SLOWDOWN"
fi
make_slow "$WORK_NS"
if [ "$WORK_NS" != 0 ]; then
	c1=$(measure)
	need_number "10-round evbench ab with --work-ns $WORK_NS" "$c1"
	echo "slow build: --work-ns $WORK_NS, measured $c1 in 10 rounds${w0:+ (target $SLOWDOWN)}"
fi

# The server-CPU ratios of the latest trial's comparisons.json, one per round.
ratios() {
	awk -v pre="$1,$WORK_NS,$2" '/"server_cpu_us_per_req"/ { m = 1 }
		m && /"ratios"/ { r = 1; next }
		r && /\]/ { exit }
		r { gsub(/[ ,]/, ""); print pre "," ++k "," $0 }' "$3"
}
[ -f "$OUT/ratios.csv" ] || echo "kind,work_ns,trial,round,ratio" >"$OUT/ratios.csv"

aa_pass=0 aa_fail=0 aa_und=0 aa_err=0 ab_pass=0 ab_fail=0 ab_und=0 ab_err=0 worst=0
i=1
while [ "$i" -le "$n" ]; do
	for kind in $KINDS; do
		cur=$root
		[ "$kind" = ab ] && cur=$slow
		t0=$(date +%s)
		set +e
		"$BIN/evbench" ab --baseline "$root" --current "$cur" --server "$SERVER" \
			--conns "$CONNS" --rounds "$ROUNDS" --budget "$BUDGET" --duration "$DURATION" \
			--warmup "$WARMUP" --quiet --out "$OUT/$kind" >"$OUT/$kind-$i.md" 2>&1
		rc=$?
		set -e
		t=$(( $(date +%s) - t0 ))
		if [ "$rc" -eq 2 ] && [ "$i" -eq 1 ]; then
			echo "gate_ab_validate.sh: the first $kind trial failed:" >&2
			cat "$OUT/$kind-$i.md" >&2
			exit 2
		fi
		[ "$t" -gt "$worst" ] && worst=$t
		ratios "$kind" "$i" "$OUT/$kind/latest/comparisons.json" >>"$OUT/ratios.csv" || true
		case "$kind$rc" in
		aa0) aa_pass=$((aa_pass + 1)) ;; aa1) aa_fail=$((aa_fail + 1)) ;;
		aa3) aa_und=$((aa_und + 1)) ;; aa*) aa_err=$((aa_err + 1)) ;;
		ab0) ab_pass=$((ab_pass + 1)) ;; ab1) ab_fail=$((ab_fail + 1)) ;;
		ab3) ab_und=$((ab_und + 1)) ;; ab*) ab_err=$((ab_err + 1)) ;;
		esac
		change=$(grep '| server CPU |' "$OUT/$kind-$i.md" | awk -F'|' '{ print $5, $6, $7, $8 }')
		echo "$kind $i/$n: exit $rc in ${t}s: $change" >&2
	done
	i=$((i + 1))
done
echo "== evbench ab, $SERVER at $CONNS connections, --rounds $ROUNDS --budget $BUDGET," \
     "--duration $DURATION --warmup $WARMUP; slow build: --work-ns $WORK_NS"
case " $KINDS " in *" aa "*)
echo "A/A (same build): $aa_pass pass, $aa_fail false alarms, $aa_und undecided, $aa_err errors, of $n" ;;
esac
case " $KINDS " in *" ab "*)
echo "A/B (slow build): $ab_fail detected, $ab_pass passed, $ab_und undecided, $ab_err errors, of $n" ;;
esac
echo "longest trial: ${worst}s"
