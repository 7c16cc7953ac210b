#!/usr/bin/env python3
"""plot.py RESULTS_DIR - draw the plots of one evbench run directory.

Reads the evbench.run/1 JSON files (and the .hgrm files beside them) of
RESULTS_DIR, e.g. results/latest, and writes into RESULTS_DIR/plots/, each as
PNG and SVG:

  throughput   verified replies per second against connections, a line per server
  latency      p50 and p99 latency against connections (log scale)
  cpu          CPU microseconds per request, server and client, against connections
  spectrum     the latency percentile spectrum per server, HdrHistogram-style axis
  fd_limit     connections lost to descriptor limits, per server and cause
  compare      each server against the reference, round by round: the median ratio
               and its 95% interval (comparisons.json; only with two servers or more)
  mechanism    why: the server's system calls per request by name (stacked bars), its
               wake-ups per request, and voluntary and involuntary context switches per
               request, one bar per server and connection count (result.mechanism; only
               when some run counted them)

With --repeat K, lines show the median of the repeats and bars their range. A
hollow marker is a run during which other processes took more than 25% of the
CPUs (result.utilization.others): read it as the machine's figure as much as
the server's. A point whose connections did not all come up (select past
FD_SETSIZE) is a cross on a dotted line, labelled with how many were up: it
measured a smaller load than its x says, and it does not set the y range.
Runs that never ran (a server that did not start) are left out and listed.
"""
import glob
import json
import math
import os
import subprocess
import sys

from headless_plt import pyplot

plt = pyplot("DIR")
from matplotlib.ticker import FuncFormatter, NullFormatter, FixedLocator  # noqa: E402

MARKERS = "osD^v<>ph*X"


def design_table():
    """The servers in the report's order and their colours, from the design
    table (`evbench --list --json`, docs/designs.md). evbench --plot names
    itself in $EVBENCH; else bin/evbench beside this script, else PATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    for exe in (os.environ.get("EVBENCH"), os.path.join(here, "..", "bin", "evbench"),
                os.path.join(here, "..", "..", "bin", "evbench"), "evbench"):
        if not exe:
            continue
        try:
            out = subprocess.run([exe, "--list", "--json"], capture_output=True, timeout=10,
                                 check=True).stdout
            designs = json.loads(out)["designs"]
        except (OSError, ValueError, KeyError, subprocess.SubprocessError):
            continue
        return [d["name"] for d in designs], {d["name"]: d.get("color") for d in designs}
    sys.stderr.write("plot.py: evbench --list --json did not answer; servers in "
                     "alphabetical order, default colours\n")
    return [], {}


# The order of the report, then any other name alphabetically; one colour per
# server, the same in every plot. main() fills them from design_table().
ORDER, COLORS = [], {}


def order_key(name):
    return (ORDER.index(name), "") if name in ORDER else (len(ORDER), name)


def style(server, i):
    return dict(color=COLORS.get(server), marker=MARKERS[i % len(MARKERS)], markersize=5,
                linewidth=1.6, label=server)


def get(d, path, default=None):
    for key in path.split("."):
        if not isinstance(d, dict) or d.get(key) is None:
            return default
        d = d[key]
    return d


def load(dirpath):
    runs, skipped = [], []
    for path in sorted(glob.glob(os.path.join(dirpath, "*.json"))):
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError) as e:
            skipped.append("%s (%s)" % (os.path.basename(path), e))
            continue
        if not isinstance(d, dict) or d.get("schema") != "evbench.run/1":
            continue
        if not get(d, "result.ran", False):
            skipped.append("%s: %s" % (os.path.basename(path), get(d, "result.failure", "did not run")))
            continue
        d["_path"] = path
        runs.append(d)
    return runs, skipped


def by_server(runs):
    """{server: {conns: [run, ...]}}"""
    out = {}
    for r in runs:
        out.setdefault(r["server"]["name"], {}).setdefault(r["load"]["conns"], []).append(r)
    return {s: out[s] for s in sorted(out, key=order_key)}


def median(vals):
    vals = sorted(vals)
    n = len(vals)
    return vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2


def series(conns_runs, path, positive=False):
    """x, median, low error, high error (the range) of a metric over
    repeats, as the table shows it; with positive, values <= 0 are left out
    (they have no place on a log axis)."""
    xs, ys, lo, hi = [], [], [], []
    for c in sorted(conns_runs):
        vals = [get(r, path) for r in conns_runs[c]]
        vals = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)
                and (v > 0 or not positive)]
        if not vals:
            continue
        m = median(vals)
        xs.append(c)
        ys.append(m)
        lo.append(m - min(vals))
        hi.append(max(vals) - m)
    return xs, ys, lo, hi


def partial_points(conns_runs):
    """{conns: median connections up} for the connection counts whose runs
    did not get all their connections up when measuring began. Up is at most
    the server's peak_conns, as in the table (docs/results.md): a connection
    the server closes at once can still look open to the client."""
    out = {}
    for c, rs in conns_runs.items():
        ups = []
        for r in rs:
            u = get(r, "result.connections.up_at_measure")
            peak = get(r, "result.server_counters.peak_conns")
            if isinstance(u, (int, float)):
                ups.append(min(u, peak) if isinstance(peak, (int, float)) else u)
        if ups and median(ups) < c:
            out[c] = median(ups)
    return out


def fmt_count(v, _pos=None):
    if v >= 1e6:
        return "%gM" % (v / 1e6)
    if v >= 1e4:
        return ("%.1f" % (v / 1e3)).replace(".0", "") + "k"
    return "{:,.0f}".format(v) if v >= 1 else "%g" % v


def conns_axis(ax, all_conns):
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted(all_conns)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, p: "{:,.0f}".format(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("connections")
    if len(all_conns) == 1:
        c = next(iter(all_conns))
        ax.set_xlim(c / 2, c * 2)


def subtitle(runs):
    r = runs[0]
    load = r["load"]
    host = r["host"]
    mode = "open loop %g req/s" % load["rate"] if load.get("rate") else \
        "closed loop, %d in flight per connection" % load.get("pipeline", 1)
    proto = " (echo protocol)" if load.get("protocol") == "echo" else ""
    return "%s, %d-byte requests%s, %d client thread(s); %s, %d CPUs; run %s" % (
        mode, load.get("size", 0), proto, load.get("threads", 0), host.get("kernel", "?"),
        host.get("cpus", 0), r.get("run_id", "?"))


def save(fig, outdir, name, written):
    for ext in ("png", "svg"):
        path = os.path.join(outdir, name + "." + ext)
        fig.savefig(path, dpi=110 if ext == "png" else None, bbox_inches="tight")
        written.append(path)
    plt.close(fig)


# A run during which other processes took more than this share of the CPUs
# is drawn with a hollow marker: its figures say as much about the machine.
NOISY = 0.25


def line_plot(ax, groups, path, all_conns, errorbars=True, log=False):
    """Draws one line per server; returns (hollow, partial): whether a point
    was hollowed, and the partial points for mark_partial()."""
    hollow, full_ys, partial = False, [], []
    for i, (server, cr) in enumerate(groups.items()):
        xs, ys, lo, hi = series(cr, path, positive=log)
        if not xs:
            continue
        st = style(server, i)
        part = partial_points(cr)
        keep = [k for k, x in enumerate(xs) if x not in part]
        fx, fy = [xs[k] for k in keep], [ys[k] for k in keep]
        flo, fhi = [lo[k] for k in keep], [hi[k] for k in keep]
        full_ys += [y - l for y, l in zip(fy, flo)] + [y + h for y, h in zip(fy, fhi)]
        if errorbars and any(flo + fhi):
            ax.errorbar(fx, fy, yerr=[flo, fhi], capsize=3, **st)
        elif fx:
            ax.plot(fx, fy, **st)
        else:
            ax.plot([], [], **st)
        for k, x in enumerate(xs):
            if x not in part:
                continue
            prev = [j for j in keep if xs[j] < x]
            if prev:
                ax.plot([xs[prev[-1]], x], [ys[prev[-1]], ys[k]], linestyle=":",
                        color=st["color"], linewidth=1.4)
            partial.append((x, ys[k], server, part[x], st["color"]))
        ox, others, _, _ = series(cr, "result.utilization.others")
        share = dict(zip(ox, others))
        noisy = [(x, y) for x, y in zip(xs, ys) if share.get(x, 0) > NOISY]
        if noisy:
            hollow = True
            ax.plot([x for x, _ in noisy], [y for _, y in noisy], linestyle="none",
                    marker=st["marker"], markersize=st["markersize"] + 1,
                    markerfacecolor="white", markeredgecolor=st["color"], zorder=5)
    conns_axis(ax, all_conns)
    ax.grid(True, which="major", alpha=0.3)
    return hollow, (ax, full_ys, partial)


def mark_partial(drawn, log=False):
    """Draws the partial points of line_plot()s (one per axis, axes that may
    share y) as crosses labelled with the connections that were up, with a
    y range set by the full points alone, so that a collapsed design does
    not squeeze the others: a partial point beyond it sits on the edge with
    its value. Returns whether there was one."""
    full = [y for _, ys, _ in drawn for y in ys if not log or y > 0]
    if not any(p for _, _, p in drawn):
        return False
    if full:
        top, bottom = max(full), min(full)
        lims = (bottom / 1.6, top * 1.6) if log else (0, top * 1.12)
        for ax, _, _ in drawn:
            ax.set_ylim(*lims)
    for ax, _, partial in drawn:
        lo_lim, hi_lim = ax.get_ylim()
        for x, y, server, up, color in partial:
            shown = min(max(y, lo_lim), hi_lim)
            clipped = shown != y
            ax.plot([x], [shown], linestyle="none", marker="X", markersize=10, color=color,
                    markeredgecolor="black", markeredgewidth=0.6, zorder=6, clip_on=False)
            ax.annotate("%s: %s of %s up%s" % (server, fmt_count(up), fmt_count(x),
                                               " (%s, off the scale)" % fmt_value(y)
                                               if clipped else ""),
                        xy=(x, shown), xytext=(-10, -16 if shown >= hi_lim * 0.8 else -4),
                        textcoords="offset points", ha="right", va="center", fontsize=9,
                        color=color, bbox=dict(boxstyle="round,pad=0.2", fc="white",
                                               ec="none", alpha=0.8), zorder=7)
    return True


def fmt_value(v):
    return "%.3g" % v if v < 1e4 else fmt_count(v)


def partial_note(partial):
    """A title line explaining the crosses, or nothing."""
    return ("\n✖ on a dotted line: not every connection came up (partial load), "
            "labelled with how many did" if partial else "")


def noise_note(hollow):
    """A title line explaining hollow markers, or nothing."""
    return ("\nhollow markers: other processes took more than %d%% of the CPUs during that run"
            % (NOISY * 100)) if hollow else ""


def plot_throughput(groups, all_conns, runs, outdir, written):
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    hollow, drawn = line_plot(ax, groups, "result.throughput_rps", all_conns)
    ax.set_ylim(bottom=0)
    partial = mark_partial([drawn])
    ax.set_ylabel("throughput (verified replies / s)")
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_count))
    ax.set_title("Throughput against connections\n" + subtitle(runs) + noise_note(hollow) +
                 partial_note(partial), fontsize=10)
    ax.legend(fontsize=9, ncol=2)
    save(fig, outdir, "throughput", written)


def plot_latency(groups, all_conns, runs, outdir, written):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True, constrained_layout=True)
    basis = get(runs[0], "result.latency_basis", "")
    hollow, drawn = False, []
    for ax, (key, label) in zip(axes, [("p50", "median (p50)"), ("p99", "99th percentile")]):
        ax.set_yscale("log")
        h, d = line_plot(ax, groups, "result.latency_us." + key, all_conns, log=True)
        hollow, drawn = hollow or h, drawn + [d]
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, p: "%g" % (v / 1e3)))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, p: minor_125(v / 1e3)))
        ax.set_title(label)
    partial = mark_partial(drawn, log=True)
    axes[0].set_ylabel("latency (ms, log scale)")
    axes[0].legend(fontsize=9, ncol=2, loc="upper left")
    closed = not get(runs[0], "load.rate")
    fig.suptitle("Latency against connections (%s)\n%s%s%s%s" % (
        "from the intended send time" if basis == "intended_send" else "from the actual send",
        subtitle(runs),
        "\nclosed loop: every connection keeps its requests in flight, so by Little's law "
        "latency = connections in flight / throughput grows with the connections" if closed else "",
        noise_note(hollow), partial_note(partial)), fontsize=10)
    save(fig, outdir, "latency", written)


def minor_125(v, _pos=None):
    """Labels 2 and 5 of each decade on a log axis, so values can be read."""
    if v <= 0:
        return ""
    lead = round(v / 10 ** math.floor(math.log10(v)))
    return "%g" % v if lead in (2, 5) else ""


def fmt_us(v):
    if v >= 1e6:
        return "%g s" % (v / 1e6)
    if v >= 1e3:
        return "%g ms" % (v / 1e3)
    return "%g µs" % v


def plot_cpu(groups, all_conns, runs, outdir, written):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True, constrained_layout=True)
    hollow, drawn = False, []
    for ax, (key, label) in zip(axes, [("server", "server (whole process group)"),
                                       ("client", "client (load generator, clock())")]):
        # Log scale, and a range set by the full points alone: a design that
        # collapses (select past FD_SETSIZE) costs tens of times more, and
        # must not flatten the 5-20 us band where the designs differ.
        ax.set_yscale("log")
        h, d = line_plot(ax, groups, "result.cpu_us_per_req." + key, all_conns, log=True)
        hollow, drawn = hollow or h, drawn + [d]
        ax.set_title(label)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, p: "%g" % v))
        ax.yaxis.set_minor_formatter(FuncFormatter(minor_125))
        ax.grid(True, which="minor", axis="y", alpha=0.12)
    partial = mark_partial(drawn, log=True)
    axes[0].set_ylabel("CPU time per verified request (µs, log scale)")
    axes[0].legend(fontsize=9, ncol=2, loc="upper left")
    fig.suptitle("CPU cost per request, measure phase\n" + subtitle(runs) + noise_note(hollow) +
                 partial_note(partial), fontsize=10)
    save(fig, outdir, "cpu", written)


def read_hgrm(path):
    """(percentile in %, value in µs) pairs of an HdrHistogram .hgrm file."""
    pts = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or line.startswith("#"):
                    continue
                try:
                    v, p = float(parts[0]), float(parts[1])
                except ValueError:
                    continue
                pts.append((p, v))
    except OSError:
        pass
    return pts


def plot_spectrum(groups, all_conns, runs, outdir, written):
    conns_list = sorted(all_conns)
    n = len(conns_list)
    # Two panels a row and one legend for all in a panel of its own (or
    # below): three panels in a row made a 3.5:1 strip with tiny legends.
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    legend_cell = n < rows * cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 4.8 * rows),
                             squeeze=False, sharey=True, constrained_layout=True)
    # HdrHistogram's plots: x is 1/(1-p) on a log scale, labelled as percentiles.
    ticks = [1, 10, 100, 1000, 10000, 100000]
    labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
    for k, conns in enumerate(conns_list):
        ax = axes[k // cols][k % cols]
        top = 1
        for i, (server, cr) in enumerate(groups.items()):
            if conns not in cr:
                continue
            run = cr[conns][0]      # the first repeat
            pts = read_hgrm(os.path.splitext(run["_path"])[0] + ".hgrm")
            pts = [(1.0 / (1.0 - p), v) for p, v in pts if p < 1.0]
            if not pts:
                continue
            top = max(top, pts[-1][0])
            st = style(server, i)
            st.pop("marker")
            ax.plot([x for x, _ in pts], [v for _, v in pts], **st)
            # Open loop: the same replies timed from the actual send, dashed,
            # to show how much a stall hides when it is not corrected for.
            unc = read_hgrm(os.path.splitext(run["_path"])[0] + "-uncorrected.hgrm")
            unc = [(1.0 / (1.0 - p), v) for p, v in unc if p < 1.0]
            if unc:
                st.update(linestyle="--", linewidth=1, label=server + " (uncorrected)")
                ax.plot([x for x, _ in unc], [v for _, v in unc], **st)
        used = [t for t in ticks if t <= top * 1.01] or [1]
        ax.set_xscale("log")
        ax.set_xticks(used)
        ax.set_xticklabels(labels[:len(used)])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(1, max(used[-1], top))
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, p: fmt_us(v)))
        ax.grid(True, which="major", alpha=0.3)
        part = {s: partial_points(cr).get(conns) for s, cr in groups.items()}
        short = ["%s %s of %s up" % (s, fmt_count(u), fmt_count(conns))
                 for s, u in part.items() if u is not None]
        ax.set_title("{:,} connections".format(conns) +
                     ("\npartial load: " + ", ".join(short) if short else ""), fontsize=11)
        ax.set_xlabel("percentile")
        ax.yaxis.set_tick_params(labelleft=True)
        if k % cols == 0:
            ax.set_ylabel("latency (log scale, shared by the panels)")
    handles, labels = [], []
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    if legend_cell:
        axes[rows - 1][cols - 1].legend(handles, labels, loc="center", fontsize=11,
                                        title="server", title_fontsize=11)
    else:
        axes[0][0].legend(handles, labels, fontsize=10, ncol=2 if len(labels) > 4 else 1)
    fig.suptitle("Latency by percentile (first repeat of each run)\n" + subtitle(runs), fontsize=10)
    save(fig, outdir, "spectrum", written)


FD_CAUSES = [
    ("result.fd_limit.server.emfile", "server EMFILE", "#d62728"),
    ("result.fd_limit.server.enfile", "server ENFILE", "#ff9896"),
    ("result.fd_limit.server.fd_setsize_refused", "server fd >= FD_SETSIZE", "#8c564b"),
    ("result.fd_limit.client.emfile", "client EMFILE", "#1f77b4"),
    ("result.fd_limit.client.enfile", "client ENFILE", "#aec7e8"),
    ("result.fd_limit.client.eaddrnotavail", "client EADDRNOTAVAIL", "#17becf"),
]


def plot_fd_limit(groups, all_conns, runs, outdir, written):
    servers = list(groups)
    conns_list = sorted(all_conns)
    width = 0.8 / max(1, len(conns_list))
    fig, ax = plt.subplots(figsize=(max(8, 0.45 * len(servers) * len(conns_list) + 2), 5.2),
                           constrained_layout=True)
    total = 0
    ticks, ticklabels = [], []
    for j, conns in enumerate(conns_list):
        xs = [i + (j - (len(conns_list) - 1) / 2) * width for i in range(len(servers))]
        ticks += xs
        ticklabels += [fmt_count(conns)] * len(servers)
        bottoms = [0.0] * len(servers)
        for path, label, color in FD_CAUSES:
            vals = []
            for s in servers:
                rs = groups[s].get(conns, [])
                v = [get(r, path, 0) or 0 for r in rs]
                vals.append(sum(v) / len(v) if v else 0)
            if not any(vals):
                continue
            ax.bar(xs, vals, width * 0.9, bottom=bottoms, color=color,
                   label=label if label not in ax.get_legend_handles_labels()[1] else None)
            bottoms = [b + v for b, v in zip(bottoms, vals)]
            total += sum(vals)
        # Every bar is labelled: "0" where the run measured no failure,
        # "n/a" where it did not run, so that zero is not read as missing.
        for x, top, s in zip(xs, bottoms, servers):
            ran = bool(groups[s].get(conns))
            ax.text(x, top, fmt_count(top) if ran else "n/a", ha="center", va="bottom",
                    fontsize=9, color="black" if ran else "#888888")
    # Each bar is labelled with its connection count; the server's name
    # sits under its group of bars.
    ax.set_xticks(ticks)
    ax.set_xticklabels(ticklabels, fontsize=9)
    for i, s in enumerate(servers):
        ax.annotate(s, xy=(i, 0), xycoords=("data", "axes fraction"), xytext=(0, -24),
                    textcoords="offset points", ha="center", va="top", fontsize=11)
    ax.set_xlim(-0.6, len(servers) - 0.4)
    ax.set_ylabel("refused or failed connection attempts\n(all phases, retries included: "
                  "the load generator\nreopens a refused connection; mean over repeats)")
    ax.yaxis.set_major_formatter(FuncFormatter(fmt_count))
    ax.grid(True, axis="y", alpha=0.3)
    if total == 0:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "no descriptor-limit failures in this run", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="#555555")
    else:
        ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
        ax.legend(fontsize=9, title="cause", title_fontsize=9)
    ax.set_title("Descriptor-limit failures per server and connection count\n" +
                 subtitle(runs), fontsize=10)
    save(fig, outdir, "fd_limit", written)


COMPARED = [("server_cpu_us_per_req", "server CPU per request"),
            ("throughput_rps", "throughput"), ("p99_us", "p99 latency")]


def plot_compare(dirpath, all_conns, runs, outdir, written):
    """The paired comparisons of comparisons.json: a panel per metric, a
    line per server, bars from the interval's ends (docs/results.md)."""
    path = os.path.join(dirpath, "comparisons.json")
    try:
        with open(path) as f:
            c = json.load(f)
    except (OSError, ValueError):
        return
    if c.get("schema") != "evbench.comparisons/1" or not c.get("comparisons"):
        return
    servers = {}
    for cmp in c["comparisons"]:
        servers.setdefault(cmp["server"], []).append(cmp)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), constrained_layout=True)
    levels, flagged = set(), 0
    for ax, (key, label) in zip(axes, COMPARED):
        names = sorted(servers, key=order_key)
        for i, server in enumerate(names):
            pts = sorted((cmp["conns"], cmp[key], cmp["flagged_rounds"])
                         for cmp in servers[server] if cmp[key]["median"] is not None)
            if not pts:
                continue
            # Side by side around each connection count, so bars do not hide
            # each other (the axis is logarithmic: a factor, not an offset).
            shift = 1.06 ** (i - (len(names) - 1) / 2)
            xs = [p[0] * shift for p in pts]
            ys = [p[1]["median"] for p in pts]
            lo = [p[1]["median"] - p[1]["ci"]["lo"] if p[1]["ci"] else 0 for p in pts]
            hi = [p[1]["ci"]["hi"] - p[1]["median"] if p[1]["ci"] else 0 for p in pts]
            levels |= {p[1]["ci"]["level"] for p in pts if p[1]["ci"]}
            flagged += sum(p[2] for p in pts) if key == COMPARED[0][0] else 0
            ax.errorbar(xs, ys, yerr=[lo, hi], capsize=4, **style(server, i))
        ax.axhline(1.0, color="black", linewidth=1, alpha=0.6)
        conns_axis(ax, all_conns)
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title("%s over %s's" % (label, c["reference"]))
    axes[0].set_ylabel("ratio in the same round (1 = the reference)")
    axes[0].legend(fontsize=8, ncol=2)
    if levels and min(levels) < 0.95:
        cover = "bars: min-max of the rounds, covering %.0f%% (95%% needs 6 rounds)" % (
            100 * min(levels))
    elif levels:
        cover = "bars: 95% interval of the median (order statistics)"
    else:
        cover = "no interval: fewer than 3 rounds"
    fig.suptitle("Each server against %s, paired round by round: median ratio over %d rounds, "
                 "%s order, seed %s\n%s; %s%s" % (
                     c["reference"], c["rounds"], c["order"], c["seed"], subtitle(runs), cover,
                     "; %d rounds rest on a trial the drift probe flagged" % flagged
                     if flagged else ""), fontsize=10)
    save(fig, outdir, "compare", written)


# The calls drawn in their own colour in the mechanism plot; the others are
# summed into "other".
SYSCALL_COLORS = {
    "read": "#1f77b4", "recvfrom": "#aec7e8", "readv": "#6baed6", "write": "#ff7f0e",
    "writev": "#ffbb78", "sendto": "#fdae6b", "epoll_wait": "#2ca02c", "epoll_pwait": "#98df8a",
    "epoll_ctl": "#d62728", "poll": "#9467bd", "ppoll": "#c5b0d5", "select": "#8c564b",
    "pselect6": "#c49c94", "accept4": "#e377c2", "accept": "#f7b6d2", "close": "#7f7f7f",
    "io_uring_enter": "#bcbd22", "clone3": "#17becf", "clone": "#9edae5", "wait4": "#393b79",
    "futex": "#637939",
}


def plot_mechanism(groups, all_conns, runs, outdir, written):
    """Stacked bars of the server's system calls per request by name, and
    its context switches per request, one bar per (server, conns): the
    medians over repeats. Nothing when no run counted them."""
    bars = []   # (label, {name: per req}, wakeups, vol, invol)
    for server, cr in groups.items():
        for c in sorted(cr):
            rs = cr[c]
            names = {}
            for r in rs:
                for k, v in (get(r, "result.mechanism.server.by_name_per_req") or {}).items():
                    names.setdefault(k, []).append(v)
            if not names:
                # --mechanism auto counts the total only: one grey bar.
                tot = [get(r, "result.mechanism.server.syscalls_per_req") for r in rs]
                tot = [x for x in tot if isinstance(x, (int, float))]
                if not tot:
                    continue
                names = {"other": tot}
            byname = {k: median(v) for k, v in names.items()}

            def med(path):
                v = [get(r, path) for r in rs]
                v = [x for x in v if isinstance(x, (int, float))]
                return median(v) if v else None
            bars.append(("%s\n%s" % (server, fmt_count(c)), byname,
                         med("result.mechanism.server.wakeups_per_req"),
                         med("result.mechanism.server.ctxsw_voluntary_per_req"),
                         med("result.mechanism.server.ctxsw_involuntary_per_req")))
    if not bars:
        return
    fig, axes = plt.subplots(1, 2, figsize=(max(9, 1.1 * len(bars) + 5), 5.4),
                             constrained_layout=True,
                             gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    xs = list(range(len(bars)))
    shown = [n for n in SYSCALL_COLORS if any(b[1].get(n, 0) > 0 for b in bars)]
    bottom = [0.0] * len(bars)
    for n in shown + ["other"]:
        vals = []
        for b in bars:
            if n == "other":
                vals.append(sum(v for k, v in b[1].items() if k not in shown))
            else:
                vals.append(b[1].get(n, 0))
        if not any(vals):
            continue
        ax.bar(xs, vals, bottom=bottom, color=SYSCALL_COLORS.get(n, "#dddddd"), label=n,
               edgecolor="white", linewidth=0.5)
        bottom = [a + v for a, v in zip(bottom, vals)]
    for x, b, top in zip(xs, bars, bottom):
        note = "%.2f" % top
        if b[2] is not None:
            note += "\nwake %.3g" % b[2]
        ax.annotate(note, (x, top), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels([b[0] for b in bars], fontsize=8)
    ax.set_ylabel("system calls per request (server)")
    ax.set_ylim(top=max(bottom) * 1.2 if max(bottom) > 0 else 1)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.set_title("system calls per request, by name (wake: waiting-call returns per request)",
                 fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)

    ax = axes[1]
    w = 0.4
    vol = [b[3] if b[3] is not None else 0 for b in bars]
    inv = [b[4] if b[4] is not None else 0 for b in bars]
    ax.bar([x - w / 2 for x in xs], vol, width=w, color="#1f77b4", label="voluntary (blocked)")
    ax.bar([x + w / 2 for x in xs], inv, width=w, color="#d62728",
           label="involuntary (preempted)")
    for x, b in zip(xs, bars):
        if b[3] is None:
            ax.annotate("n/a", (x, 0), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels([b[0] for b in bars], fontsize=8)
    ax.set_ylabel("context switches per request (server, live threads)")
    ax.legend(fontsize=7)
    ax.set_title("context switches per request", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("Why each design costs what it costs (perf syscall tracepoints, /proc), "
                 "measure phase\n" + subtitle(runs), fontsize=10)
    save(fig, outdir, "mechanism", written)


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: plot.py RESULTS_DIR   (e.g. results/latest)\n")
        return 2
    dirpath = argv[1]
    if not os.path.isdir(dirpath):
        sys.stderr.write("plot.py: %s is not a directory\n" % dirpath)
        return 2
    runs, skipped = load(dirpath)
    for s in skipped:
        sys.stderr.write("plot.py: left out %s\n" % s)
    if not runs:
        sys.stderr.write("plot.py: no evbench.run/1 result that ran in %s\n" % dirpath)
        return 1
    global ORDER, COLORS
    ORDER, COLORS = design_table()
    groups = by_server(runs)
    all_conns = {r["load"]["conns"] for r in runs}
    outdir = os.path.join(dirpath, "plots")
    os.makedirs(outdir, exist_ok=True)
    written = []
    plot_throughput(groups, all_conns, runs, outdir, written)
    plot_latency(groups, all_conns, runs, outdir, written)
    plot_cpu(groups, all_conns, runs, outdir, written)
    plot_spectrum(groups, all_conns, runs, outdir, written)
    plot_fd_limit(groups, all_conns, runs, outdir, written)
    plot_compare(dirpath, all_conns, runs, outdir, written)
    plot_mechanism(groups, all_conns, runs, outdir, written)
    if not os.environ.get("EVBENCH_PLOT_QUIET"):     # evbench --quiet
        sys.stderr.write("plot.py: wrote %d plots (PNG and SVG) in %s/\n" % (len(written) // 2, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
