#!/usr/bin/env python3
"""result_keys.py DIR - the shape of an evbench results directory, values left out.

Prints one line per key path of every JSON file in DIR (run ids and numbers in
file names written as #, array elements as []), the header of every CSV file,
and the file names, sorted. Two directories written by the same command before
and after a change that should not change the results have the same lines:

    bin/evbench --server select,evbase,fork --conns 20 --duration 1 --warmup 0.2 \\
        --seed 1 --quiet --out /tmp/a
    scripts/result_keys.py /tmp/a/latest > before.txt   (and again after)
    diff before.txt after.txt
"""
import json
import os
import re
import sys


def paths(value, prefix, out):
    if isinstance(value, dict):
        for key, item in value.items():
            paths(item, prefix + "." + key, out)
    elif isinstance(value, list):
        for item in value:
            paths(item, prefix + "[]", out)
    else:
        out.add(prefix)


def main(argv):
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        sys.stderr.write("usage: result_keys.py RESULTS_DIR\n")
        return 2
    out = set()
    for name in sorted(os.listdir(argv[1])):
        path = os.path.join(argv[1], name)
        shape = re.sub(r"\d", "#", name)
        out.add("file:" + shape)
        if name.endswith(".json"):
            with open(path) as f:
                paths(json.load(f), shape, out)
        elif name.endswith(".csv"):
            with open(path) as f:
                out.add("csv:" + shape + ":" + f.readline().strip())
    for line in sorted(out):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
