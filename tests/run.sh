#!/bin/sh
# Run every test binary the build produced and close with one line that
# counts them all: "N passed, N failed".
#
# Called by `make test` with BUILD (objects and test binaries) and BIN (the
# binaries under test) set; both default to the plain build. The tests find the
# programs they drive through EVBENCH_BIN and EVBENCH_BUILD. The event-loop
# tests run once against libevent and once per evbase backend (EVTEST_BACKEND).
# Extra arguments go to every Criterion binary (e.g. --filter 'poll/*').
#
# Each binary's output is shown only when it failed (or with TEST_VERBOSE=1):
# a passing suite is one line, so that `make test` reads as its results and
# the messages a passing test provokes on purpose are not taken for failures.
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
EVBENCH_BIN=$(cd "$BIN" && pwd)
EVBENCH_BUILD=$(cd "$BUILD" && pwd)
export EVBENCH_BIN EVBENCH_BUILD

passed=0 failed=0 status=0
log=$(mktemp)
# Tests write only into their own scratch directories: anything under the
# clone's results/ or the binaries' directory newer than this stamp was
# written by a test, and fails the run (it would be lost or mistaken for a
# user's results).
stamp=$(mktemp)
trap 'rm -f "$log" "$stamp"' EXIT

# run LABEL [VAR=VALUE ...] BINARY: one Criterion binary; its summary is tallied.
run() {
	label=$1; shift
	env "$@" --verbose=0 $EXTRA_ARGS >"$log" 2>&1
	rc=$?
	line=$(grep 'Synthesis:' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "${TEST_VERBOSE:-0}" = 1 ]; then
		echo "== $label"
		cat "$log"
	else
		echo "== $label: $(echo "$line" | sed 's/.*Synthesis: *//')"
	fi
	if [ -z "$line" ]; then
		echo "$label: no Criterion summary (exit status $rc)"
		failed=$((failed + 1)); status=1; return
	fi
	p=$(echo "$line" | sed -n 's/.*Passing: *\([0-9]*\).*/\1/p')
	f=$(echo "$line" | sed -n 's/.*Failing: *\([0-9]*\).*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	[ "$rc" -eq 0 ] || status=1
}

EXTRA_ARGS="$*"
[ -x "$BUILD/tests/evbench-tests" ] && run "evbench tests" "$BUILD/tests/evbench-tests"
[ -x "$BUILD/tests/evtest-libevent" ] && run "event-loop tests against libevent" "$BUILD/tests/evtest-libevent"
if [ -x "$BUILD/tests/evtest-evbase" ]; then
	for be in select poll epoll io_uring; do
		run "event-loop tests against evbase ($be)" EVTEST_BACKEND=$be "$BUILD/tests/evtest-evbase"
	done
fi

# The thread tests as a plain program under ThreadSanitizer (make tsan-threads;
# tests/evbase/tsan/): its own closing line is tallied, and a report fails it.
if [ -n "${TSAN_TEST:-}" ] && [ -x "$TSAN_TEST" ] && [ -z "$EXTRA_ARGS" ]; then
	for be in select poll epoll io_uring; do
		EVTEST_BACKEND=$be TSAN_OPTIONS="exitcode=66 ${TSAN_OPTIONS:-}" "$TSAN_TEST" >"$log" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
		# As above: the whole output only when it failed, or with TEST_VERBOSE=1.
		if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "${TEST_VERBOSE:-0}" = 1 ]; then
			echo "== thread tests under ThreadSanitizer ($be)"
			cat "$log"
		else
			echo "== thread tests under ThreadSanitizer ($be): $line"
		fi
		if [ -z "$line" ]; then
			echo "thread tests under TSan ($be): no summary (exit status $rc)"
			failed=$((failed + 1)); status=1; continue
		fi
		passed=$((passed + ${line%% passed*}))
		f=${line#*passed, }; failed=$((failed + ${f%% failed}))
		[ "$rc" -eq 0 ] || status=1
	done
fi

intruders=$(find results "$BIN" -newer "$stamp" 2>/dev/null | head -n 5)
if [ -n "$intruders" ]; then
	echo "== the tests wrote into the clone instead of their scratch directories:"
	echo "$intruders"
	failed=$((failed + 1)); status=1
fi

echo "$passed passed, $failed failed"
exit $status
