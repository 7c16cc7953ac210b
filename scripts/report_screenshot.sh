#!/bin/sh
# Renders a results directory's report.html in headless Chromium and takes a
# screenshot, to see the page as a reader would (docs/results.md, "The report").
#
#   scripts/report_screenshot.sh DIR [OUT.png] [WIDTHxHEIGHT]
#
# Writes DIR/report.html first (bin/evbench report DIR) when it is missing.
# Needs Debian's chromium (scripts/deps.sh browser; optional, in no other set).
# The browser gets a fresh profile, no network but the file itself, and at
# most 60 s; the profile is removed afterwards.
set -u
dir=${1:?usage: report_screenshot.sh DIR [OUT.png] [WIDTHxHEIGHT]}
out=${2:-report.png}
size=${3:-1400x4000}
here=$(cd "$(dirname "$0")" && pwd)

command -v chromium >/dev/null 2>&1 || {
	echo "report_screenshot.sh: chromium is missing: scripts/deps.sh browser" >&2; exit 2; }
[ -d "$dir/latest" ] && dir="$dir/latest"
if [ ! -f "$dir/report.html" ]; then
	evbench=$here/../bin/evbench
	[ -x "$evbench" ] || evbench=evbench
	"$evbench" report "$dir" >/dev/null || exit 1
fi
page=$(cd "$dir" && pwd)/report.html
profile=$(mktemp -d /tmp/evbench-chromium-XXXXXX)
trap 'rm -rf "$profile"' EXIT
# --virtual-time-budget lets the page finish laying out its images before
# the shot is taken.
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=5000 \
	--window-size="$(echo "$size" | tr x ,)" --screenshot="$out" "file://$page" \
	>/dev/null 2>&1
rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
	echo "report_screenshot.sh: chromium failed (status $rc) on $page" >&2
	exit 1
fi
echo "$out"
