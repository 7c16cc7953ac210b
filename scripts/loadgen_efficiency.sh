#!/bin/sh
# loadgen_efficiency.sh - is the load generator cheaper than the server it drives?
#
# Starts bin/rot13-epoll-lt on 127.0.0.1 (port 0), drives it with bin/loadgen
# at each connection count (closed loop, pipeline 1, 64-byte requests, one
# load thread, I/O mode auto: the defaults; LG_ARGS="--io epoll" compares the
# epoll mode), and prints the CPU each side spent per verified reply over the
# measure phase: client from clock(), server from /proc/PID/stat sampled by
# loadgen --server-pid at the phase's two boundaries. The ratio must stay
# below 1 for evbench's numbers to describe the server, not the client.
#
#   scripts/loadgen_efficiency.sh [CONNS ...]       (default: 100 10000)
#   env: BIN (default bin), DURATION (default 5), REPEAT (default 1), LG_ARGS
set -eu
BIN=${BIN:-bin}
DURATION=${DURATION:-5}
REPEAT=${REPEAT:-1}
LG_ARGS=${LG_ARGS:-}
[ $# -gt 0 ] || set -- 100 10000
for b in "$BIN/loadgen" "$BIN/rot13-epoll-lt"; do
	[ -x "$b" ] || { echo "loadgen_efficiency: $b not built (make)" >&2; exit 2; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

printf '%-7s %-5s %-3s %12s %12s %12s %8s %s\n' conns io run replies/s client_us server_us ratio errors
for conns in "$@"; do
	r=1
	while [ "$r" -le "$REPEAT" ]; do
		# A fresh file per server: the shell truncates it in the child, after
		# this loop may already have read the previous server's lines.
		out=$tmp/srv.$conns.$r.out
		"$BIN/rot13-epoll-lt" --port 0 >"$out" &
		srv_pid=$!
		i=0
		while ! grep -q "^ready .* pid=$srv_pid\$" "$out" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 100 ] && { echo "loadgen_efficiency: server not ready" >&2; exit 1; }
			sleep 0.05
		done
		port=$(sed -n 's/^ready .* port=\([0-9]*\).*/\1/p' "$out")
		# shellcheck disable=SC2086
		"$BIN/loadgen" --port "$port" --conns "$conns" --duration "$DURATION" --warmup 1 \
			--server-pid "$srv_pid" --json $LG_ARGS >"$tmp/lg.json"
		kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; srv_pid=
		python3 - "$tmp/lg.json" "$conns" "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["result"]; s = d["server_probe"]
c = r["cpu_us_per_req"]["client"]; v = s["cpu_us_per_req"]
f = lambda x: "%12.2f" % x if x is not None else "%12s" % "n/a"
ratio = "%8.2f" % (c / v) if c and v else "%8s" % "n/a"
print("%-7s %-5s %-3s %12.0f %s %s %s %d" % (sys.argv[2], d["load"]["io"], sys.argv[3], r["throughput_rps"],
      f(c), f(v), ratio, r["errors_total"]))
if c is None or v is None:
    print("  (no figure: replies %d, server cpu_s %s)" % (r["replies"], s["cpu_s"]))
PY
		r=$((r + 1))
	done
done
