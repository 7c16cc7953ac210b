#!/usr/bin/env python3
"""gate_oc.py [--title T] OUT.png LABEL=CSV ... - draw the paired gate's
operating characteristic from the CSV files tests/helpers/gate_oc.c prints
with --csv (change,p_regression,p_pass,p_undecided,mean_rounds), one line per
file; scripts/gate_curve.sh writes the same columns for real trials.

Left: the chance of REGRESSION (exit 1) against the true change; right: the
chance of UNDECIDED (exit 3). The promise of docs/gate.md is drawn in: at
most 5% at or under half the threshold, at least 95% at 1.5 times it. A
label that starts with "old" is drawn dashed, one that holds "half" in
the second colour, as is one that holds "real", with a marker at each
measured level. scripts/gate_oc.sh and scripts/gate_curve.sh call it.
"""
import csv
import sys

from headless_plt import pyplot

plt = pyplot("OUT.png LABEL=CSV ...")


def main():
    args = sys.argv[1:]
    title = "evbench ab --rounds auto, threshold 10%: simulated from measured A/A rounds"
    if len(args) >= 2 and args[0] == "--title":
        title, args = args[1], args[2:]
    if len(args) < 2 or any("=" not in a for a in args[1:]):
        sys.stderr.write("usage: gate_oc.py [--title T] OUT.png LABEL=CSV ...\n")
        sys.exit(2)
    fig, (reg, und) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for arg in args[1:]:
        label, path = arg.split("=", 1)
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f)]
        x = [float(r["change"]) for r in rows]
        # Dashed: the rule before; a colour per noise level.
        style = "--" if label.startswith("old") else "-"
        if "real" in label:
            style += "o"
        colour = "C1" if "half" in label or "real" in label else "C0"
        reg.plot(x, [100 * float(r["p_regression"]) for r in rows], style, color=colour,
                 label=label)
        und.plot(x, [100 * float(r["p_undecided"]) for r in rows], style, color=colour,
                 label=label)
    # The promise at the default 10% threshold.
    reg.axhline(5, color="grey", lw=0.7)
    reg.axhline(95, color="grey", lw=0.7)
    reg.axvline(5, color="grey", lw=0.7, ls=":")
    reg.axvline(15, color="grey", lw=0.7, ls=":")
    reg.fill_between([0, 5], 5, 100, color="red", alpha=0.06, lw=0)
    reg.fill_between([15, max(x)], 0, 95, color="red", alpha=0.06, lw=0)
    reg.set_title("REGRESSION (exit 1)")
    und.set_title("UNDECIDED at the budget (exit 3)")
    for ax in (reg, und):
        ax.set_xlabel("true change of server CPU per request (%)")
        ax.set_ylabel("share of trials (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    reg.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(args[0], dpi=80)


main()
