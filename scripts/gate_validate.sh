#!/bin/sh
# Validate `evbench gate` on this machine, as a benchmark (not a test): how
# often does it cry wolf, and how often does it catch a real slowdown?
#
#   scripts/gate_validate.sh [PAIRS]          (default 20)
#
# Each of PAIRS rounds makes three fresh evbench runs of one server:
#   base  - the build as it is;
#   same  - the same build again: any regression the gate reports against
#           base is a false alarm;
#   slow  - the same build with --work-us WORK_US (busy CPU per answered
#           line, honoured by every server): a regression reported against
#           base is a detection; anything else is a miss.
# The order alternates (base same slow, then slow same base) so that a trend
# in the machine's load does not always favour one side.
#
# Environment: BIN (where evbench and the servers are; default bin), SERVER (epoll-lt), CONNS (100),
# REPEAT (5), DURATION (1), WORK_US (2), GATE_ARGS (extra gate options),
# OUT (a directory for the runs; default a fresh one under /tmp, kept).
# Prints one line per round and a summary; exit 0 unless evbench fails.
set -u

pairs=${1:-20}
bindir=${BIN:-bin}
server=${SERVER:-epoll-lt}
conns=${CONNS:-100}
repeat=${REPEAT:-5}
duration=${DURATION:-1}
work=${WORK_US:-2}
out=${OUT:-$(mktemp -d /tmp/gate-validate.XXXXXX)}
mkdir -p "$out/bin"
[ -x "$bindir/evbench" ] || { echo "gate_validate.sh: no $bindir/evbench (run make)" >&2; exit 2; }
# A private copy of the binaries: evbench runs the servers beside itself, and
# a rebuild of bin/ halfway through would make "same" a different build.
cp "$bindir/evbench" "$bindir"/rot13-* "$out/bin/"
evbench=$out/bin/evbench

run() { # run NAME [evbench options...]
	name=$1; shift
	"$evbench" --server "$server" --conns "$conns" --repeat "$repeat" --duration "$duration" \
		--quiet --out "$out/$name" "$@" >/dev/null 2>"$out/$name.log" ||
		{ echo "gate_validate.sh: evbench failed, see $out/$name.log" >&2; exit 1; }
}

# The verdicts of one gate report, as "metric:verdict" words for the log.
flagged() {
	grep '^| ' "$1" | grep -v '^| server' | awk -F'|' '{gsub(/^ +| +$/, "", $4); gsub(/^ +| +$/, "", $11); print $4 ": " $11}' |
		grep -i 'regression' | sed 's/ (.*)//; s/[*]//g' | paste -sd, -
}

# The throughput change the gate measured, for the calibration of WORK_US.
tput_change() {
	grep "| throughput" "$1" | awk -F'|' '{gsub(/ /, "", $8); print $8}'
}

false_alarms=0 detections=0 errors=0
echo "# gate validation: $pairs rounds, $server at $conns conns, --repeat $repeat --duration $duration, slowdown --work-us $work"
echo "# started $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg), runs in $out"
echo "# round  same-vs-base  slow-vs-base  throughput(same, slow)  flagged(same | slow)"
i=0
while [ $i -lt "$pairs" ]; do
	i=$((i + 1))
	if [ $((i % 2)) -eq 1 ]; then
		run "base$i"; run "same$i"; run "slow$i" --work-us "$work"
	else
		run "slow$i" --work-us "$work"; run "same$i"; run "base$i"
	fi
	# shellcheck disable=SC2086  # GATE_ARGS is a list of options
	"$evbench" gate "$out/base$i" "$out/same$i" ${GATE_ARGS:-} >"$out/same$i.gate.md" 2>&1
	rs=$?
	# shellcheck disable=SC2086
	"$evbench" gate "$out/base$i" "$out/slow$i" ${GATE_ARGS:-} >"$out/slow$i.gate.md" 2>&1
	rw=$?
	[ $rs -eq 1 ] && false_alarms=$((false_alarms + 1))
	[ $rw -eq 1 ] && detections=$((detections + 1))
	[ $rs -eq 2 ] || [ $rw -eq 2 ] && errors=$((errors + 1))
	printf '%7d  %12s  %12s  %10s %10s  %s | %s\n' "$i" \
		"$([ $rs -eq 0 ] && echo pass || { [ $rs -eq 1 ] && echo FALSE-ALARM || echo error; })" \
		"$([ $rw -eq 1 ] && echo detected || { [ $rw -eq 0 ] && echo MISSED || echo error; })" \
		"$(tput_change "$out/same$i.gate.md")" "$(tput_change "$out/slow$i.gate.md")" \
		"$(flagged "$out/same$i.gate.md")" "$(flagged "$out/slow$i.gate.md")"
done
# What the slowdown costs, over every repeat of every round: the median and
# the best (the least disturbed repeat, nearest the machine's capacity).
stat_of() { # stat_of KIND FIELD -> "median best"
	cat "$out"/"$1"[0-9]*/latest/*.json | sed -n "s/.*\"$2\": *\([0-9.]*\).*/\1/p" | sort -g |
		awk '{v[NR] = $1} END {if (NR) printf "%.1f %.1f", v[int((NR + 1) / 2)], v[NR]}'
}
set -- $(stat_of base throughput_rps) $(stat_of slow throughput_rps)
echo "# throughput, all repeats: base median $1 best $2; slow median $3 best $4 req/s" \
	"($(awk -v a="$1" -v b="$3" 'BEGIN {printf "%+.1f%%", 100 * (b - a) / a}') median," \
	"$(awk -v a="$2" -v b="$4" 'BEGIN {printf "%+.1f%%", 100 * (b - a) / a}') best)"
# Throughput on a shared machine says more about the neighbours than about the
# server, so the cost of the slowdown is also given from CPU time, which they
# do not change: when client and server share the cores, capacity is
# inversely proportional to client + server CPU per request.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$out" <<'PY'
import glob, json, statistics, sys
def cpu(kind):
    v = []
    for f in glob.glob(f"{sys.argv[1]}/{kind}[0-9]*/latest/*.json"):
        c = json.load(open(f))["result"].get("cpu_us_per_req") or {}
        if c.get("client") and c.get("server"):
            v.append(c["client"] + c["server"])
    return statistics.median(v) if v else float("nan")
b, s = cpu("base"), cpu("slow")
print(f"# client+server CPU per request, median: base {b:.2f} us, slow {s:.2f} us;"
      f" implied throughput cost at saturation {100 * (b / s - 1):+.1f}%")
PY
fi
echo "# finished $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "false alarms: $false_alarms/$pairs (target <= 1)"
echo "detections: $detections/$pairs (target >= 19)"
[ $errors -eq 0 ] || echo "gate errors (exit 2): $errors rounds; see $out/*.gate.md"
