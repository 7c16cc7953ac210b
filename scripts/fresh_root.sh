#!/bin/sh
# fresh_root.sh [STEP ...] - the README's two commands on a machine that has
# nothing: a minimal Debian root of this host's release, a clean clone of HEAD
# copied into it, and each STEP run there as the README says, as root.
#
#   scripts/fresh_root.sh                 make test, then make bench (make fresh-check)
#   scripts/fresh_root.sh bench test      the other order
#
# STEP is `test` or `bench`, run as `make STEP` in the clone, one after the
# other in the same root, so that the second finds what the first installed.
# The root is built by mmdebstrap (installed on the host for this check, if
# missing) from the host's own apt sources and its Acquire settings, so that no
# mirror's address is written in the repository; it has make (the README's one
# prerequisite, with a clone) and nothing else beyond minbase. Only what
# programs need from the kernel is mounted into it: /proc, /sys, tracefs (perf
# counts system calls through it), /dev and /dev/pts; nothing of the host's
# /usr. Everything is unmounted, every process left in the root is killed and
# the root removed on exit, also on failure or Ctrl-C.
#
# Exit status: 0 every step passed; 1 a step failed (the tail of its log is
# printed); 2 bad usage; 3 the proof could not be made because the package
# mirror cannot be reached (one loud line says so; it is never a pass).
set -u

usage() { echo "usage: scripts/fresh_root.sh [test|bench ...]" >&2; exit 2; }
steps=${*:-test bench}
for s in $steps; do
	case "$s" in test|bench) ;; *) usage ;; esac
done
[ "$(id -u)" = 0 ] || { echo "fresh_root.sh: needs root (mmdebstrap --mode=root, mounts, chroot)" >&2; exit 2; }
top=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel 2>/dev/null) ||
	{ echo "fresh_root.sh: not inside a git clone of evbench" >&2; exit 2; }
. /etc/os-release
release=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}

skip() {
	echo "!!! FRESH-ROOT PROOF SKIPPED: $* -- the README's commands were NOT checked on a fresh root !!!"
	exit 3
}

# The host's sources, as apt reads them: deb822 files, or the one-line list.
sources=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
	[ -s "$f" ] && grep -q '^[^#]' "$f" && { sources="$sources $f"; }
done
[ -n "$sources" ] || skip "no apt sources on this host"

if ! command -v mmdebstrap >/dev/null 2>&1; then
	echo "fresh_root.sh: installing mmdebstrap on the host" >&2
	{ apt-get install -y -q mmdebstrap || { apt-get update -q && apt-get install -y -q mmdebstrap; }; } \
		>/dev/null 2>&1 || skip "mmdebstrap is missing and apt-get could not install it"
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/evbench-fresh.XXXXXX")
root=$work/root
# The steps' logs live outside the root, and are kept when a step failed.
log=$(mktemp -d "${TMPDIR:-/tmp}/evbench-fresh-log.XXXXXX")
keep_log=0

# Every process whose root is ours, then every mount under it (deepest
# first), then the files: rm is told to stay on the root's own file system,
# and is not run at all while anything is still mounted there.
cleanup() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	for m in $(awk -v r="$root" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	if awk -v r="$root" 'index($5, r) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		echo "fresh_root.sh: mounts remain under $root; not removing it" >&2
	else
		rm -rf --one-file-system "$work"
	fi
	if [ "$keep_log" = 1 ]; then echo "fresh_root.sh: logs kept in $log" >&2; else rm -rf "$log"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

aptopts=""
for f in /etc/apt/apt.conf.d/*; do
	grep -q '^[[:space:]]*Acquire' "$f" 2>/dev/null && aptopts="$aptopts --aptopt=$f"
done
t0=$(date +%s)
# shellcheck disable=SC2086 # word splitting of the option lists is meant
if ! mmdebstrap --variant=minbase --mode=root --include=make $aptopts \
	"$release" "$root" $sources >"$log/mmdebstrap" 2>&1; then
	if grep -qiE 'could not resolve|failed to fetch|unable to connect|connection (refused|failed|timed out)|temporary failure|network is unreachable' "$log/mmdebstrap"; then
		skip "the package mirror cannot be reached ($(grep -iE 'fail|unable|could not' "$log/mmdebstrap" | head -n 1))"
	fi
	echo "fresh_root.sh: mmdebstrap failed:" >&2
	tail -n 20 "$log/mmdebstrap" >&2
	keep_log=1
	exit 1
fi
echo "fresh root: $release minbase + make in $(($(date +%s) - t0)) s ($(du -sm "$root" | cut -f1) MB)"

git clone -q --no-hardlinks "$top" "$root/root/evbench" ||
	{ echo "fresh_root.sh: cannot clone $top" >&2; exit 1; }
echo "fresh root: clone of $(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet HEAD || echo ' (uncommitted changes in the work tree are not in it)')"

mount -t proc proc "$root/proc" &&
	mount --bind /sys "$root/sys" &&
	{ [ ! -d "$root/sys/kernel/tracing" ] || mount -t tracefs tracefs "$root/sys/kernel/tracing"; } &&
	mount --bind /dev "$root/dev" &&
	mount --bind /dev/pts "$root/dev/pts" ||
	{ echo "fresh_root.sh: cannot mount the kernel's file systems into $root" >&2; exit 1; }

for s in $steps; do
	t0=$(date +%s)
	# The environment of a root login on a fresh machine, not the host's.
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		timeout -k 30 1800 /bin/sh -c "cd /root/evbench && make $s" >"$log/$s" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log/$s" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "fresh root: make $s FAILED (status $rc) after $secs s${summary:+: $summary}"
		# Criterion's failures, then the end of the step.
		grep -E -A6 '^\[(FAIL|----)\]|: (FAIL|Assertion)' "$log/$s" | head -n 60
		echo "--- the last lines of make $s:"
		tail -n 15 "$log/$s"
		keep_log=1
		exit 1
	fi
	echo "fresh root: make $s passed in $secs s${summary:+ ($summary)}"
done
