#!/bin/sh
# Renders deploy/k8s/agents-job.yaml, evbench's load agents as a Kubernetes
# Indexed Job (docs/many-hosts.md), on stdout.
#
#   scripts/k8s_agents.sh render [VAR=VALUE ...] | kubectl apply -f -
#
# VARs: NAME (evbench-agents), AGENTS (3), IMAGE (evbench:latest), TARGET_HOST
# (required), TARGET_PORT (required), CONNS (300), DURATION (10), WARMUP (1),
# START_AT (now + 60 s, CLOCK_REALTIME seconds). Bad input: one line, exit 2.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
template=${K8S_TEMPLATE:-$here/../deploy/k8s/agents-job.yaml}

die() { echo "k8s_agents.sh: $*" >&2; exit 2; }
[ "${1:-}" = render ] || die "usage: scripts/k8s_agents.sh render [VAR=VALUE ...]"
shift

NAME=evbench-agents AGENTS=3 IMAGE=evbench:latest TARGET_HOST= TARGET_PORT=
CONNS=300 DURATION=10 WARMUP=1 START_AT=$(( $(date +%s) + 60 ))
for kv in "$@"; do
	case "$kv" in
	NAME=*|AGENTS=*|IMAGE=*|TARGET_HOST=*|TARGET_PORT=*|CONNS=*|DURATION=*|WARMUP=*|START_AT=*)
		eval "${kv%%=*}=\${kv#*=}" ;;
	*) die "unknown setting '$kv'" ;;
	esac
done
[ -n "$TARGET_HOST" ] && [ -n "$TARGET_PORT" ] || die "TARGET_HOST and TARGET_PORT are required"
case "$AGENTS" in ''|*[!0-9]*|0) die "AGENTS must be an integer >= 1, got '$AGENTS'" ;; esac
case "$CONNS" in ''|*[!0-9]*) die "CONNS must be an integer, got '$CONNS'" ;; esac
[ "$CONNS" -ge "$AGENTS" ] || die "CONNS ($CONNS) must be at least AGENTS ($AGENTS)"
# Values go into double-quoted YAML strings and a DNS name: nothing that
# could end the string or the line.
for v in "$NAME" "$IMAGE" "$TARGET_HOST" "$TARGET_PORT" "$DURATION" "$WARMUP" "$START_AT"; do
	case "$v" in *[\"\\\ \	\$]*|'') die "a setting holds a quote, backslash, blank or \$: '$v'" ;; esac
done

out=$(sed -e "s|\${NAME}|$NAME|g" -e "s|\${AGENTS}|$AGENTS|g" -e "s|\${IMAGE}|$IMAGE|g" \
	-e "s|\${TARGET_HOST}|$TARGET_HOST|g" -e "s|\${TARGET_PORT}|$TARGET_PORT|g" \
	-e "s|\${CONNS}|$CONNS|g" -e "s|\${DURATION}|$DURATION|g" -e "s|\${WARMUP}|$WARMUP|g" \
	-e "s|\${START_AT}|$START_AT|g" "$template")
case "$out" in *'${'*) die "the template holds a variable this script does not know" ;; esac
printf '%s\n' "$out"
