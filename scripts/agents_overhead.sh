#!/bin/sh
# What running the load on an agent over ssh costs the measurement: the
# server's CPU per request in a local run against a run whose load comes from
# one agent over ssh, paired round by round, in one interleaved run
# (docs/many-hosts.md, "Overhead").
#
#   flock /tmp/evbench-bench.lock nice -n -10 scripts/agents_overhead.sh [ROUNDS] [CONNS] [DURATION]
#
# Root: it makes a server namespace (a bridge on 198.51.100.1/24) and an
# agent namespace (198.51.100.10 on a veth pair) with Debian's sshd and keys
# made here, as tests/test_agents_netns.c does, and removes them on exit.
# evbench runs in the server namespace: the local run loads its server over
# that namespace's loopback, the agent run from the agent namespace over ssh.
# Each round runs both, in an order that alternates (ABBA), and prints the
# ratio agent/local of server CPU per request; the end, the median ratio and
# its range.
set -eu
rounds=${1:-6} conns=${2:-100} duration=${3:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
evbench=$here/bin/evbench
[ "$(id -u)" = 0 ] || { echo "agents_overhead.sh: needs root (namespaces, sshd)" >&2; exit 2; }
[ -x "$evbench" ] || { echo "agents_overhead.sh: build first ($evbench)" >&2; exit 2; }

tag=evbO$$
srv=$tag-s ag=$tag-a
tmp=$(mktemp -d)
cleanup() {
	for ns in $ag $srv; do
		ip netns pids $ns 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del $ns 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ip netns add $srv
ip -n $srv link set lo up
ip -n $srv link add br0 type bridge
ip -n $srv addr add 198.51.100.1/24 dev br0
ip -n $srv link set br0 up
ip netns add $ag
ip -n $ag link set lo up
ifv=v$tag ifp=p$tag   # at most 12 characters: an interface name has 15
ip link add "$ifv" type veth peer name "$ifp"
ip link set "$ifv" netns $ag
ip link set "$ifp" netns $srv
ip -n $srv link set "$ifp" master br0 up
ip -n $ag addr add 198.51.100.10/24 dev "$ifv"
ip -n $ag link set "$ifv" up

ssh-keygen -q -t ed25519 -N '' -f "$tmp/id"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/hostkey"
mkdir -p /run/sshd
cat > "$tmp/sshd.conf" <<EOF
ListenAddress 198.51.100.10
Port 22
HostKey $tmp/hostkey
AuthorizedKeysFile $tmp/id.pub
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
PidFile $tmp/sshd.pid
LogLevel ERROR
EOF
ip netns exec $ag /usr/sbin/sshd -f "$tmp/sshd.conf"
opts="-i $tmp/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
i=0
until ip netns exec $srv ssh -T -o BatchMode=yes $opts 198.51.100.10 true 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || { echo "agents_overhead.sh: sshd does not answer" >&2; exit 1; }
	sleep 0.1
done

# One run; prints the server's CPU microseconds per request.
run() {
	out=$tmp/out-$1-$2
	if [ "$1" = local ]; then
		ip netns exec $srv "$evbench" --server epoll-lt --conns "$conns" --duration "$duration" \
			--warmup 1 --mechanism off --json --quiet --out "$tmp/results" > "$out"
	else
		ip netns exec $srv "$evbench" --server epoll-lt --conns "$conns" --duration "$duration" \
			--warmup 1 --mechanism off --json --quiet --out "$tmp/results" \
			--agents ssh:198.51.100.10 --agent-host 198.51.100.1 --ssh-opts "$opts" > "$out" \
			2>/dev/null
	fi
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]["result"]; print(r["cpu_us_per_req"]["server"], r["throughput_rps"])' "$out"
}

echo "round order   local_srv_us  agent_srv_us  ratio   local_rps  agent_rps"
r=1
ratios=""
while [ $r -le "$rounds" ]; do
	if [ $((r % 4)) = 1 ] || [ $((r % 4)) = 0 ]; then order="local agent"; else order="agent local"; fi
	for w in $order; do
		set -- $(run $w $r)
		eval "cpu_$w=$1 rps_$w=$2"
	done
	ratio=$(python3 -c "print(f'{$cpu_agent / $cpu_local:.4f}')")
	ratios="$ratios $ratio"
	printf '%5d %-11s %12.3f %13.3f  %6s  %9.0f  %9.0f\n' $r "$(echo $order | tr ' ' ,)" \
		"$cpu_local" "$cpu_agent" "$ratio" "$rps_local" "$rps_agent"
	r=$((r + 1))
done
python3 -c "
import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
print(f'agent/local server CPU per request: median {statistics.median(v):.4f}, '
      f'range [{v[0]:.4f}, {v[-1]:.4f}] over {len(v)} paired rounds')" $ratios
