#!/bin/sh
# The paired gate's operating characteristic (docs/gate.md): how often
# `evbench ab --rounds auto` says REGRESSION, pass or UNDECIDED at true
# changes of 0 to 25%, simulated by tests/helpers/gate_oc.c with the gate's
# own decision code from the per-round noise of real A/A trials, for the
# rule before 2026-12-05 (clearance 0) and the current one; at the noise as
# measured and at half of it. Prints the tables at 0, 5, 8, 10, 12, 15, 20%
# and draws the curves.
#
#   scripts/gate_oc.sh [NOISE.csv [OUT.png]]
#
# NOISE.csv: OUT/ratios.csv of scripts/gate_ab_validate.sh (default
# docs/gate-noise.csv, measured 2026-12-05); OUT.png default docs/gate-oc.png.
# Environment: BUILD (build), BUDGET_ROUNDS (34: the 120 s budget at the 3.5 s
# a round of the noise's trials), TRIALS (1000). Not a benchmark: it runs no
# server, only arithmetic.
set -eu
noise=${1:-docs/gate-noise.csv}
png=${2:-docs/gate-oc.png}
BUILD=${BUILD:-build}
BUDGET_ROUNDS=${BUDGET_ROUNDS:-34}
TRIALS=${TRIALS:-1000}
oc="$BUILD/tests/bin/gate_oc"
[ -x "$oc" ] || { echo "gate_oc.sh: $oc is not built (make $oc)" >&2; exit 2; }
[ -r "$noise" ] || { echo "gate_oc.sh: cannot read $noise" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { "$oc" --trials "$TRIALS" --budget "$BUDGET_ROUNDS" "$@" "$noise"; }
for scale in 1 0.5; do
	for rule in old new; do
		clear=; [ "$rule" = old ] && clear="--clear 0"
		echo "== $rule rule (${clear:-default clearance}), noise x $scale"
		# shellcheck disable=SC2086  # $clear is two words or none
		run $clear --scale "$scale"
		echo
		# shellcheck disable=SC2086
		run $clear --scale "$scale" --csv --changes "$(seq -s, 0 1 25)" \
			>"$tmp/$rule-$scale.csv"
	done
done
scripts/python.sh scripts/gate_oc.py "$png" \
	"old rule, measured noise=$tmp/old-1.csv" "new rule, measured noise=$tmp/new-1.csv" \
	"old rule, half the noise=$tmp/old-0.5.csv" "new rule, half the noise=$tmp/new-0.5.csv"
echo "drew $png"
