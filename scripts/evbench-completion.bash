# bash completion for evbench; installed by `make install` as
# PREFIX/share/bash-completion/completions/evbench. Source it to try it in
# a clone: . scripts/evbench-completion.bash
#
# Nothing is listed here: the options come from `evbench --help`, the
# servers from `evbench --list` (the design table), the lessons from
# `evbench lesson --list` when this evbench has them, so the completion
# offers what the evbench being completed has.

# The option names of `evbench [SUBCOMMAND] --help` (a lesson takes evbench's).
_evbench_options()
{
	local sub=$2
	[[ $sub == lesson ]] && sub=
	"$1" ${sub:+"$sub"} --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# Whether option $3 of `evbench [SUBCOMMAND]` takes a value: its line in
# --help (made from evbench's option table) shows one, "  --name ARG  ...".
_evbench_takes_value()
{
	local sub=$2
	[[ $sub == lesson ]] && sub=
	"$1" ${sub:+"$sub"} --help 2>/dev/null | grep -q -e "^  $3 [^ ]"
}

_evbench()
{
	local cur prev cword exe sub i choices=
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	exe=${COMP_WORDS[0]}
	sub=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		ab|gate|report|lesson) sub=${COMP_WORDS[i]}; break ;;
		esac
	done

	case $prev in
	--server|--reference)
		# A comma-separated list: complete the name after the last comma.
		local names prefix=
		names="all $("$exe" --list 2>/dev/null | awk 'NR > 1 && $1 != "all" { print $1 }')"
		[[ $prev == --reference ]] && names=${names#all }
		if [[ $cur == *,* ]]; then
			prefix=${cur%,*},
		fi
		COMPREPLY=($(compgen -P "$prefix" -W "$names" -- "${cur##*,}"))
		[[ ${#COMPREPLY[@]} -gt 0 ]] && compopt -o nospace 2>/dev/null
		return ;;
	--out|--baseline|--current)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--order) choices="interleaved sequential" ;;
	--io) choices="auto epoll uring" ;;
	--protocol) choices="rot13 echo" ;;
	--metrics) choices="cpu throughput p99 cpu,throughput cpu,throughput,p99" ;;
	--rounds) choices="auto" ;;
	--mechanism) choices="auto on off" ;;
	--*)
		# Any other option that takes a value takes one of the user's own.
		_evbench_takes_value "$exe" "$sub" "$prev" && return ;;
	esac
	# An option whose values are a few fixed words: those.
	if [[ -n $choices ]]; then
		COMPREPLY=($(compgen -W "$choices" -- "$cur"))
		return
	fi

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_evbench_options "$exe" "$sub")" -- "$cur"))
		return
	fi
	case $sub in
	gate|report)
		COMPREPLY=($(compgen -d -- "$cur")) ;;
	lesson)
		COMPREPLY=($(compgen -W "$("$exe" lesson --list 2>/dev/null | awk '/^[^ ]/ { print $1 }')" \
			-- "$cur")) ;;
	"")
		if [[ $COMP_CWORD -eq 1 ]]; then
			local subs="ab gate report"
			"$exe" lesson --list >/dev/null 2>&1 && subs="$subs lesson"
			COMPREPLY=($(compgen -W "$subs" -- "$cur"))
		fi ;;
	esac
}
complete -F _evbench evbench
