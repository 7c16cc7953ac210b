#!/bin/sh
# Install what evbench needs from Debian's packages, and nothing it already has.
#
#   scripts/deps.sh [--check] [build|test|bench|fuzz|all|browser]
#
# build: a C compiler, make, pkg-config, libevent (the reference server and
#        the libevent side of evbase's tests) and liburing (evbase's io_uring
#        backend, rot13-uring), libuv (rot13-libuv); test: Criterion and groff
#        (the man pages' check) as well, and servers nobody here wrote for
#        the load generator to verify: socat, ncat, and python3 for the
#        stdlib asyncio server tests/helpers/asyncio_srv.py;
# bench: /usr/bin/python3 with matplotlib as well (plots), and linux-perf
# (evbench counts system calls per request with perf stat; the tests check
# that counting too); fuzz: the test set, clang and its libFuzzer runtime
# (make fuzz); all: everything. browser, optional and in no other set:
# chromium, for scripts/report_screenshot.sh alone.
# With --check nothing is installed: the exit status says whether all is there.
# As root the missing packages are installed with apt-get; otherwise the exact
# command is printed and the status is 1, so that make stops with the remedy.
set -u

check_only=0
if [ "${1:-}" = "--check" ]; then check_only=1; shift; fi
want=${1:-all}
case "$want" in
build|test|bench|fuzz|all|browser) ;;
*) echo "deps.sh: unknown set '$want' (build, test, bench, fuzz, all or browser)" >&2; exit 2 ;;
esac

missing=""
need() { missing="$missing $1"; }

if [ "$want" = browser ]; then
	command -v chromium >/dev/null 2>&1 || need chromium
	want=none
fi
[ "$want" = none ] || command -v cc >/dev/null 2>&1 || need gcc
[ "$want" = none ] || command -v make >/dev/null 2>&1 || need make
if [ "$want" = none ]; then
	:
elif ! command -v pkg-config >/dev/null 2>&1; then
	need pkg-config
	need libevent-dev
else
	pkg-config --exists libevent libevent_core 2>/dev/null || need libevent-dev
fi
# evbase's io_uring backend (evbase/src/uring.c) and rot13-uring.
[ "$want" = none ] || [ -f /usr/include/liburing.h ] || need liburing-dev
# rot13-libuv.
[ "$want" = none ] || { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libuv 2>/dev/null; } || need libuv1-dev
if [ "$want" = test ] || [ "$want" = fuzz ] || [ "$want" = all ]; then
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists criterion 2>/dev/null; then
		need libcriterion-dev
	fi
	command -v groff >/dev/null 2>&1 || need groff
	command -v socat >/dev/null 2>&1 || need socat
	command -v ncat >/dev/null 2>&1 || need ncat
	command -v python3 >/dev/null 2>&1 || need python3
	# The agents' tests (tests/test_agents.c): ssh to the agents, and sshd
	# inside the network namespaces the multi-host proof makes.
	command -v ssh >/dev/null 2>&1 || need openssh-client
	[ -x /usr/sbin/sshd ] || need openssh-server
	command -v ip >/dev/null 2>&1 || need iproute2
fi
if [ "$want" = fuzz ] || [ "$want" = all ]; then
	# libclang-rt-dev is Debian's default version of the sanitizer and
	# libFuzzer runtimes, the one that matches its default clang.
	command -v clang >/dev/null 2>&1 || need clang
	rt=$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null)
	[ -f "$rt" ] || need libclang-rt-dev
fi
if [ "$want" != build ] && [ "$want" != none ]; then
	# result.mechanism (docs/results.md): perf stat on syscall tracepoints.
	command -v perf >/dev/null 2>&1 || need linux-perf
fi
if [ "$want" = bench ] || [ "$want" = all ]; then
	# Debian's matplotlib lives in /usr/bin/python3, which may not be the
	# python3 first on PATH; scripts/python.sh picks the right one later.
	/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1 || need python3-matplotlib
fi

[ -z "$missing" ] && exit 0
[ "$check_only" = 1 ] && exit 1

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "evbench needs:$missing" >&2
	echo "install them with: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; a failed install with stale lists is
# retried once after an update rather than updating every time.
if ! $cmd >/dev/null 2>&1; then
	apt-get update -q >/dev/null 2>&1 || { echo "deps.sh: apt-get update failed" >&2; exit 1; }
	$cmd >&2 || { echo "deps.sh: '$cmd' failed" >&2; exit 1; }
fi
exit 0
