#!/bin/sh
# Fills a man page template (man/*.in) from the programs themselves, so that
# the pages list what the programs' own tables hold:
#
#   scripts/mkman.sh TEMPLATE BINDIR > PAGE
#
#   @EVBENCH_OPTIONS@  the option lines of `evbench --help`, up to its exit status
#   @LOADGEN_OPTIONS@  the option lines of `loadgen --help`
#   @SERVERS@          the servers of `evbench --list` (its design table)
#   @LESSONS@          the lessons of `evbench lesson --list`, when this evbench has them
#
# A help line "  --opt ARG   text" becomes a tagged paragraph; deeper-indented
# lines continue it; a line ending in ':' that begins a paragraph becomes a
# subsection. Binaries are named without their directory, which differs
# between the tree and an install.
set -eu
template=$1
bindir=$2

# Text as roff: backslashes, hyphens in options, and a leading dot or quote.
roff_help() {
	awk '
	function esc(s) {
		gsub(/\\/, "\\e", s)
		gsub(/-/, "\\-", s)
		sub(/^[.\047]/, "\\\\&&", s)
		return s
	}
	# "--server LIST, --conns LIST" with options bold, arguments italic.
	function tag(s,   n, w, i, out, t, comma) {
		n = split(s, w, " ")
		out = ""
		for (i = 1; i <= n; i++) {
			t = w[i]
			comma = sub(/,$/, "", t)
			if (t ~ /^--/ || t ~ /^-[a-z]$/)
				t = "\\fB" esc(t) "\\fR"
			else
				t = "\\fI" esc(t) "\\fR"
			out = out (i > 1 ? " " : "") t (comma ? "," : "")
		}
		return out
	}
	/^Exit status:/ { exit }
	/^usage:/ || /^ +evbench |^       / && !started { next }
	/^  -/ { started = 1 }
	!started { next }
	/^$/ { para = 0; next }
	/^   / { sub(/^ +/, ""); print esc($0); next }
	/^  [^ ]/ {
		line = substr($0, 3)
		if (match(line, /   */)) {
			head = substr(line, 1, RSTART - 1)
			rest = substr(line, RSTART + RLENGTH)
			print ".TP"
			print tag(head)
			if (rest != "")
				print esc(rest)
		} else {
			if (!para)
				print ".PP"
			para = 1
			print esc(line)
		}
		next
	}
	/:$/ && !para { sub(/:$/, ""); print ".SS \"" esc($0) "\""; next }
	{ if (!para) print ".PP"; para = 1; print esc($0) }
	'
}

servers() {
	"$bindir/evbench" --list | awk 'NR > 1 && $1 != "all" && NF >= 3 {
		n = $1; gsub(/-/, "\\-", n)
		print ".TP"; print "\\fB" n "\\fR"
		b = $3; sub(/.*\//, "", b); gsub(/-/, "\\-", b)
		extra = ""
		for (i = 4; i <= NF; i++) extra = extra " " $i
		gsub(/-/, "\\-", extra)
		print "binary \\fI" b "\\fR" extra
	}'
}

lessons() {
	if "$bindir/evbench" lesson --list >/dev/null 2>&1; then
		# A lesson's name and what it shows, then its indented lines
		# (the command it runs, the files to read), one per line.
		"$bindir/evbench" lesson --list | awk '
			function esc(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
			/^[^ ]/ { n = $1; $1 = ""; sub(/^ +/, "")
				  print ".TP"; print "\\fB" esc(n) "\\fR"; print esc($0); next }
			NF { sub(/^ +/, ""); print ".br"; print esc($0) }'
	else
		echo "This evbench has no lessons."
	fi
}

while IFS= read -r line; do
	case "$line" in
	@EVBENCH_OPTIONS@) "$bindir/evbench" --help | roff_help ;;
	@LOADGEN_OPTIONS@) "$bindir/loadgen" --help | roff_help ;;
	@SERVERS@) servers ;;
	@LESSONS@) lessons ;;
	*) printf '%s\n' "$line" ;;
	esac
done < "$template"
