"""headless_plt.py - matplotlib's pyplot for evbench's plotting scripts
(scripts/plot.py, scripts/gate_oc.py): drawn to files with the Agg backend,
so that no display is needed, or, where this Python lacks matplotlib, one
line on how to get it and exit status 1, the same line for every script.
"""
import os
import sys


def pyplot(usage_args):
    """pyplot, or the one line and exit 1; usage_args completes the
    scripts/python.sh command that the line suggests."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        script = os.path.basename(sys.argv[0])
        sys.stderr.write(f"{script}: matplotlib is missing; install it (make deps, or apt-get "
                         f"install python3-matplotlib) or run scripts/python.sh "
                         f"scripts/{script} {usage_args}\n")
        sys.exit(1)
    return plt
