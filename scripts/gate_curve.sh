#!/bin/sh
# The paired gate's operating characteristic from real trials (docs/gate.md):
# for each slowdown of a series that scripts/gate_ab_validate.sh ran (OUT/
# trials.csv and OUT/ratios.csv), what the change really was, and how often
# evbench ab said REGRESSION, pass or UNDECIDED; the rule now as the trials
# printed it, the rule before 2026-12-05 by judging each trial's own rounds
# again (tests/helpers/gate_oc.c --replay --clear 0). Prints a Markdown table
# and draws the curve.
#
#   scripts/gate_curve.sh [OUT [CURVE.png]]
#
# OUT: the validation's output directory (default results/gate-ab), or a
# directory holding a copy of its two files; CURVE.png default
# OUT/gate-curve.png. Environment: BUILD (build); TRIALS (1000) and
# BUDGET_ROUNDS (34) for the simulated curves drawn beside the real ones,
# from the series' own A/A rounds, as scripts/gate_oc.sh simulates.
#
# A level's change is the geometric mean of every round of all its trials
# (server CPU per request, current over baseline), with the standard error of
# that mean taken as if rounds were independent (they are not quite: a slow
# spell lasts a few rounds), so read it as a rough one. The replay at the
# rule now must give back each verdict the trials printed; a line says how
# many did not (0 checks the replay against evbench ab's own decisions).
# Not a benchmark: it runs no server.
set -eu
out=${1:-results/gate-ab}
png=${2:-$out/gate-curve.png}
BUILD=${BUILD:-build}
oc="$BUILD/tests/bin/gate_oc"
die() { echo "gate_curve.sh: $*" >&2; exit 2; }
[ -x "$oc" ] || die "$oc is not built (make $oc)"
[ -r "$out/trials.csv" ] && [ -r "$out/ratios.csv" ] ||
	die "$out needs trials.csv and ratios.csv (from scripts/gate_ab_validate.sh)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The 95% Wilson score interval of $1 events in $2 trials, in %: what a
# count of 20 trials can say (0 of 20 is still up to 16%).
wilson() {
	awk -v k="$1" -v n="$2" 'BEGIN { z = 1.96; p = k / n; d = 1 + z * z / n
		c = (p + z * z / (2 * n)) / d; h = z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
		lo = c - h; if (lo < 0) lo = 0; hi = c + h; if (hi > 1) hi = 1
		printf "%.0f-%.0f%%", 100 * lo, 100 * hi }'
}
# The verdicts of a replay, one word per trial.
verdicts() { "$oc" --replay --block 1 "$@" "$out/ratios.csv" | awk -F'|' 'NR > 2 { gsub(/ /, "", $4); print $4 }'; }

echo "change,p_regression,p_pass,p_undecided,mean_rounds" >"$tmp/now.csv"
echo "change,p_regression,p_pass,p_undecided,mean_rounds" >"$tmp/before.csv"
echo "| slowdown | change measured (± s.e.) | trials | REGRESSION (95% interval) | pass | UNDECIDED | error | rounds (mean) | seconds (mean, max) | rule before: REGRESSION | pass | UNDECIDED |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
mismatch=0
for level in $(awk -F, 'NR > 1 { print $1 ":" $2 }' "$out/trials.csv" | sort -t: -k1,1 -k2,2n -u); do
	kind=${level%:*} w=${level#*:}
	change=$(awk -F, -v k="$kind" -v w="$w" '$1 == k && $2 == w && $5 > 0 {
			x = log($5); n++; s += x; ss += x * x }
		END { if (n < 2) exit 1; m = s / n; sd = sqrt((ss - n * m * m) / (n - 1))
		      printf "%.2f %.2f %d\n", 100 * (exp(m) - 1), 100 * sd / sqrt(n), n }' "$out/ratios.csv") ||
		die "no rounds for $kind at --work-ns $w in $out/ratios.csv"
	set -- $change
	pct=$1 se=$2
	now=$(awk -F, -v k="$kind" -v w="$w" '$1 == k && $2 == w {
			n++; r += $6; s += $5; if ($5 > mx) mx = $5
			c[$4 == 0 ? "p" : $4 == 1 ? "R" : $4 == 3 ? "U" : "E"]++ }
		END { printf "%d %d %d %d %d %.1f %.0f %d\n", n, c["R"], c["p"], c["U"], c["E"], r / n, s / n, mx }' \
		"$out/trials.csv")
	set -- $now
	n=$1
	before=$(verdicts --kind "$kind" --work-ns "$w" --clear 0 | sort | uniq -c |
		awk '{ c[$2] = $1 } END { printf "%d %d %d\n", c["REGRESSION"], c["pass"], c["UNDECIDED"] }')
	# The replay at today's rule against the verdicts the trials printed, in order.
	verdicts --kind "$kind" --work-ns "$w" >"$tmp/replay"
	awk -F, -v k="$kind" -v w="$w" '$1 == k && $2 == w && $4 != 2 {
		print ($4 == 0 ? "pass" : $4 == 1 ? "REGRESSION" : "UNDECIDED") }' "$out/trials.csv" >"$tmp/real"
	mismatch=$((mismatch + $(diff "$tmp/real" "$tmp/replay" | grep -c '^>' || true)))
	label="A/B --work-ns $w"
	[ "$kind" = aa ] && label="A/A"
	printf '| %s | %+.1f%% ± %.1f | %d | %d (%s) | %d | %d | %d | %s | %s, %s | %s | %s | %s |\n' \
		"$label" "$pct" "$se" "$n" "$2" "$(wilson "$2" "$n")" "$3" "$4" "$5" "$6" "$7" "$8" $before
	echo "$pct $2 $3 $4 $6 $n" | awk '{ n = $6; printf "%s,%.4f,%.4f,%.4f,%s\n", $1, $2 / n, $3 / n, $4 / n, $5 }' >>"$tmp/now.csv"
	echo "$pct $before $n" | awk '{ n = $5; printf "%s,%.4f,%.4f,%.4f,\n", $1, $2 / n, $3 / n, $4 / n }' >>"$tmp/before.csv"
done
echo
echo "The replay at the rule now differs from the trials' own verdicts in $mismatch trials."
# The plot's x axis is the measured change: sort the levels by it.
for f in now before; do
	{ head -1 "$tmp/$f.csv"; tail -n +2 "$tmp/$f.csv" | sort -t, -k1,1g; } >"$tmp/$f.sorted"
done
# Beside them, the simulation (scripts/gate_oc.sh) from this series' own A/A
# rounds: the real trials should fall on it.
sim=
if grep -q '^aa,' "$out/ratios.csv"; then
	for rule in old new; do
		clear=; [ "$rule" = old ] && clear="--clear 0"
		# shellcheck disable=SC2086  # $clear is two words or none
		"$oc" --trials "${TRIALS:-1000}" --budget "${BUDGET_ROUNDS:-34}" $clear --csv \
			--changes "$(seq -s, 0 1 25)" "$out/ratios.csv" >"$tmp/sim-$rule.csv"
		sim="$sim $rule"
	done
fi
set -- "old rule, real trials=$tmp/before.sorted" "new rule, real trials=$tmp/now.sorted"
for rule in $sim; do
	set -- "$@" "$rule rule, simulated from the A/A rounds=$tmp/sim-$rule.csv"
done
scripts/python.sh scripts/gate_oc.py --title "evbench ab --rounds auto, threshold 10%: real trials" \
	"$png" "$@"
echo "drew $png"
