#!/bin/sh
# python.sh [SCRIPT ARGS...] - run SCRIPT with a Python that can import
# matplotlib; with no arguments, print that interpreter's path.
#
# /usr/bin/python3 comes first: Debian's python3-matplotlib installs there,
# while the python3 first on PATH may be a pyenv or venv one without it.
# When none can, one line says how to get it, and the status is 1.
for py in /usr/bin/python3 python3 /usr/local/bin/python3 python; do
	path=$(command -v "$py" 2>/dev/null) || continue
	if "$path" -c 'import matplotlib' >/dev/null 2>&1; then
		if [ $# -eq 0 ]; then
			echo "$path"
			exit 0
		fi
		exec "$path" "$@"
	fi
done
echo "python.sh: no Python here can import matplotlib; install it (make deps, or apt-get install python3-matplotlib, or pip install matplotlib) to draw the plots" >&2
exit 1
