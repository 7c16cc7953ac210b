#!/bin/sh
# What running the load on an agent over ssh costs the measurement: the
# server's CPU per request with the load from one agent over ssh, against the
# same agent in the same namespace started without ssh (ip netns exec), and
# against a local run, round by round in one interleaved run
# (docs/many-hosts.md, "Overhead").
#
#   flock /tmp/evbench-bench.lock nice -n -10 scripts/agents_overhead.sh [ROUNDS] [CONNS] [DURATION]
#
# Root: it makes a server namespace (a bridge on 198.51.100.1/24) and an
# agent namespace (198.51.100.10 on a veth pair) with Debian's sshd and keys
# made here, as tests/test_agents_netns.c does, and removes them on exit.
# evbench runs in the server namespace. Each round runs the three variants
# in a rotating order and prints the ratios ssh/via (what ssh and the
# coordinator's channel cost: the same path otherwise) and ssh/local; the
# end, their medians and ranges.
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

# One run; prints the server's CPU microseconds per request and replies/s.
# local: evbench's own load over the server namespace's loopback; via: one
# agent in the agent namespace started by `ip netns exec` (the same path as
# ssh's, without ssh); ssh: one agent over ssh.
run() {
	out=$tmp/out-$1-$2
	case $1 in
	local) set -- ;;
	via) set -- --agents "via:ip netns exec $ag" --agent-host 198.51.100.1 ;;
	ssh) set -- --agents ssh:198.51.100.10 --agent-host 198.51.100.1 --ssh-opts "$opts" ;;
	esac
	ip netns exec $srv "$evbench" --server epoll-lt --conns "$conns" --duration "$duration" \
		--warmup 1 --mechanism off --json --quiet --out "$tmp/results" "$@" > "$out" 2>/dev/null
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]["result"]; print(r["cpu_us_per_req"]["server"], r["throughput_rps"])' "$out"
}

# Each round runs the three in an order that rotates, so that no variant
# always runs first or last.
echo "round order            local_us  via_us  ssh_us  ssh/via  ssh/local  local_rps via_rps ssh_rps"
r=1
ratios_v="" ratios_l=""
while [ $r -le "$rounds" ]; do
	case $((r % 3)) in
	1) order="local via ssh" ;;
	2) order="via ssh local" ;;
	0) order="ssh local via" ;;
	esac
	for w in $order; do
		set -- $(run $w $r)
		eval "cpu_$w=$1 rps_$w=$2"
	done
	rv=$(python3 -c "print(f'{$cpu_ssh / $cpu_via:.4f}')")
	rl=$(python3 -c "print(f'{$cpu_ssh / $cpu_local:.4f}')")
	ratios_v="$ratios_v $rv" ratios_l="$ratios_l $rl"
	printf '%5d %-15s %8.3f %7.3f %7.3f  %7s  %9s  %9.0f %7.0f %7.0f\n' $r "$(echo $order | tr ' ' ,)" \
		"$cpu_local" "$cpu_via" "$cpu_ssh" "$rv" "$rl" "$rps_local" "$rps_via" "$rps_ssh"
	r=$((r + 1))
done
python3 -c "
import statistics, sys
n = (len(sys.argv) - 1) // 2
for name, v in (('ssh/via  ', sys.argv[1:1 + n]), ('ssh/local', sys.argv[1 + n:])):
    v = sorted(float(x) for x in v)
    print(f'{name} server CPU per request: median {statistics.median(v):.4f}, '
          f'range [{v[0]:.4f}, {v[-1]:.4f}] over {len(v)} rounds')" $ratios_v $ratios_l
