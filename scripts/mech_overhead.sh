#!/bin/sh
# What counting system calls costs (docs/results.md, "What counting costs"):
# the same evbench, the same server, with --mechanism ON (on, or auto) and off, in pairs
# whose order is drawn at random, so that a slow spell of the machine lands on
# both sides. For each pair the on/off ratio of throughput, server CPU per
# request and client CPU per request; the summary gives each side's median and
# the median ratio with its sign-test interval (the method of "Comparisons").
#
#   scripts/mech_overhead.sh [N]     N pairs (default 8)
#
# Environment: ON (on: the mode compared with off), SERVER (epoll-lt), CONNS (100), DURATION (2), WARMUP (0.5),
# EXTRA (more evbench options, e.g. "--requests-per-conn 1"), OUT
# (results/mech_overhead), BIN (bin). A benchmark, not a test: nice it, and
# run it on a machine doing nothing else of yours.
set -eu
n=${1:-8}
SERVER=${SERVER:-epoll-lt}
CONNS=${CONNS:-100}
DURATION=${DURATION:-2}
WARMUP=${WARMUP:-0.5}
EXTRA=${EXTRA:-}
ON=${ON:-on}
OUT=${OUT:-results/mech_overhead}
# shellcheck source-path=SCRIPTDIR source=bench_env.sh
. "$(dirname "$0")/bench_env.sh"
bench_count "$n" 1
bench_need
mkdir -p "$OUT"
log="$OUT/pairs.txt"
: > "$log"

run() {  # run MODE: one line "MODE throughput srv_us cli_us" on the log
	# shellcheck disable=SC2086
	"$BIN/evbench" --server "$SERVER" --conns "$CONNS" --duration "$DURATION" \
		--warmup "$WARMUP" --mechanism "$1" --quiet --json --out "$OUT" $EXTRA 2>/dev/null |
	"$py" -c 'import json, sys
r = json.load(sys.stdin)[0]["result"]
c = r.get("cpu_us_per_req") or {}
print(sys.argv[1], r.get("throughput_rps"), c.get("server"), c.get("client"))' "$1" >> "$log"
}

i=1
while [ "$i" -le "$n" ]; do
	# A coin per pair: which side runs first.
	if [ $(( $(od -An -N1 -tu1 /dev/urandom) % 2 )) -eq 0 ]; then
		run "$ON"; run off
	else
		run off; run "$ON"
	fi
	echo "pair $i/$n done" >&2
	i=$((i + 1))
done

echo "== $n pairs, --mechanism $ON against off: $SERVER at $CONNS connections, --duration $DURATION --warmup $WARMUP $EXTRA"
"$py" - "$log" <<'EOF'
import math, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
on = [r for r in rows if r[0] != "off"]
off = [r for r in rows if r[0] == "off"]
pairs = list(zip(on, off))

def interval(v, level=0.95):
    v = sorted(v)
    n = len(v)
    best = None
    for k in range(1, n // 2 + 1):
        cover = 1 - 2 * sum(math.comb(n, j) for j in range(k)) / 2 ** n
        if cover >= level:
            best = (v[k - 1], v[n - k], cover)
    if best is None and n >= 3:
        best = (v[0], v[-1], 1 - 2 / 2 ** n)
    return best

for col, name in ((1, "throughput_rps"), (2, "server_us_per_req"), (3, "client_us_per_req")):
    a = [float(p[0][col]) for p in pairs if p[0][col] != "None" and p[1][col] != "None"]
    b = [float(p[1][col]) for p in pairs if p[0][col] != "None" and p[1][col] != "None"]
    if not a:
        print(f"{name}: not measured")
        continue
    ratios = [x / y for x, y in zip(a, b)]
    ci = interval(ratios)
    cis = f"[{ci[0]:.3f}, {ci[1]:.3f}] ({ci[2]*100:.1f}%)" if ci else "(no interval)"
    print(f"{name}: on {statistics.median(a):.4g}, off {statistics.median(b):.4g}, "
          f"on/off median {statistics.median(ratios):.3f} {cis}")
EOF
