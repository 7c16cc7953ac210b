# bench_env.sh - sourced by the benchmark scripts that drive evbench and sum
# up its results in Python (compare_aa.sh, compare_rankings.sh,
# mech_overhead.sh): the checks each of them made for itself before its first
# run, in one place with one wording.
#
#   . "$here/bench_env.sh"       (here=$(dirname "$0"))
#   bench_count "$n" [MIN]       the script's N: a whole number, at least MIN
#   bench_need                   evbench built in $BIN; $py set
#
# BIN defaults to bin. After bench_need, $py is the Python 3 the summaries
# run with: they need 3.8+ and nothing else, so /usr/bin/python3 first, then
# the python3 on PATH. A failed check prints `SCRIPT: reason` on stderr and
# exits 2, as for any bad input.

BIN=${BIN:-bin}

bench_die() {
	echo "${0##*/}: $*" >&2
	exit 2
}

bench_count() {
	case "$1" in
	''|*[!0-9]*) bench_die "N must be a whole number${2:+ >= $2}, got '$1'" ;;
	esac
	[ -z "${2:-}" ] || [ "$1" -ge "$2" ] || bench_die "N must be a whole number >= $2, got '$1'"
}

bench_need() {
	# shellcheck disable=SC2034 # py is for the scripts that source this file
	py=$(command -v /usr/bin/python3 || command -v python3) ||
		bench_die "python3 is needed for the summary"
	[ -x "$BIN/evbench" ] || bench_die "$BIN/evbench is not built (make)"
}
