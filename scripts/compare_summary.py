#!/usr/bin/env python3
"""Summarise evbench comparisons across several result directories.

    scripts/compare_summary.py aa DIR...        A/A: does each interval hold 1.0?
    scripts/compare_summary.py spread DIR...    the same comparisons across invocations

Reads each DIR's comparisons.json and per-trial JSON files (schema
evbench.run/1 and evbench.comparisons/1, docs/results.md). It recomputes every
median and interval from the per-trial figures on its own, as a check on
evbench's arithmetic, and computes them once more with every trial's figure
divided by its drift probe (the mean of the probes before and after it), to
show whether normalising by the probe narrows the intervals.
"""
import glob
import json
import math
import os
import sys


def binom_half_cdf(k, n):
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def median_ci(xs, level=0.95):
    """Median and the order-statistic interval (the sign test's): the same
    method as bench/compare/stats.c, written again here from its definition."""
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None, None, None, None
    med = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    if n < 3:
        return med, None, None, None
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * binom_half_cdf(k, n) >= level:
        k += 1
    return med, xs[k - 1], xs[n - k], 1 - 2 * binom_half_cdf(k - 1, n)


def trials(d):
    """{(server, conns, round): (server CPU us/req, probe ns)} of a run."""
    out = {}
    for f in glob.glob(os.path.join(d, '*.json')):
        if os.path.basename(f).startswith('comparisons'):
            continue
        j = json.load(open(f))
        r = j['result']
        cpu = (r.get('cpu_us_per_req') or {}).get('server')
        dr = r.get('drift') or {}
        b, a = dr.get('probe_before_ns'), dr.get('probe_after_ns')
        probe = (a + b) / 2 if a and b else None
        out[(j['server']['name'], j['load']['conns'], r['sweep']['round'])] = (
            cpu, probe, bool(dr.get('flagged')))
    return out


def paired(t, server, ref, conns, normalise):
    ratios = []
    rounds = sorted({k[2] for k in t if k[0] == server and k[1] == conns})
    for rd in rounds:
        a, b = t.get((server, conns, rd)), t.get((ref, conns, rd))
        if not a or not b or not a[0] or not b[0]:
            continue
        x, y = a[0], b[0]
        if normalise:
            if not a[1] or not b[1]:
                continue
            x, y = x / a[1], y / b[1]
        ratios.append(x / y)
    return ratios


def runs(dirs):
    for d in dirs:
        d = os.path.realpath(d)
        c = json.load(open(os.path.join(d, 'comparisons.json')))
        yield d, c, trials(d)


def fmt(med, lo, hi):
    if lo is None:
        return '%.3f (no CI)' % med
    return '%.3f [%.3f, %.3f]' % (med, lo, hi)


def aa(dirs):
    hold = holdn = 0
    n = 0
    points, widths, widths_n = [], [], []
    flagged = 0
    for d, c, t in runs(dirs):
        for cmp in c['comparisons']:
            m = cmp['server_cpu_us_per_req']
            r = paired(t, cmp['server'], cmp['reference'], cmp['conns'], False)
            med, lo, hi, lvl = median_ci(r)
            # evbench's own figures must agree with the recomputation.
            if m['median'] is None or abs(m['median'] - med) > 1e-6 * med:
                sys.exit('%s: evbench says median %s, recomputed %s' % (d, m['median'], med))
            if (m['ci'] is None) != (lo is None) or (lo is not None and (
                    abs(m['ci']['lo'] - lo) > 1e-6 or abs(m['ci']['hi'] - hi) > 1e-6)):
                sys.exit('%s: evbench says %s, recomputed [%s, %s]' % (d, m['ci'], lo, hi))
            rn = paired(t, cmp['server'], cmp['reference'], cmp['conns'], True)
            nmed, nlo, nhi, _ = median_ci(rn)
            n += 1
            points.append(med)
            flagged += cmp['flagged_rounds']
            if lo is not None:
                hold += lo <= 1.0 <= hi
                widths.append(hi - lo)
            if nlo is not None:
                holdn += nlo <= 1.0 <= nhi
                widths_n.append(nhi - nlo)
            print('%-24s %s %-30s normalised %-30s flagged rounds %d' % (
                os.path.basename(d), c['order'][:3], fmt(med, lo, hi), fmt(nmed, nlo, nhi),
                cmp['flagged_rounds']))
    if not n:
        sys.exit('no comparisons found')
    points.sort()
    print()
    print('A/A comparisons: %d; the 95%% interval holds 1.0 in %d of %d' % (n, hold, len(widths)))
    print('point estimates: min %.4f  median %.4f  max %.4f  (largest distance from 1: %.2f%%)'
          % (points[0], points[len(points) // 2], points[-1],
             100 * max(abs(p - 1) for p in points)))
    if widths:
        print('interval width: median %.4f; normalised by the drift probe: median %.4f, '
              'holds 1.0 in %d of %d' % (sorted(widths)[len(widths) // 2],
                                         sorted(widths_n)[len(widths_n) // 2] if widths_n else
                                         float('nan'), holdn, len(widths_n)))
    print('rounds resting on a flagged trial: %d' % flagged)


def spread(dirs):
    by = {}
    for d, c, t in runs(dirs):
        for cmp in c['comparisons']:
            m = cmp['server_cpu_us_per_req']
            key = (cmp['server'], cmp['conns'], cmp['reference'])
            by.setdefault(key, []).append((m['median'], m['ci']))
        # The absolute figures, for contrast: the reference's median us/req.
        ref = c['reference']
        cpus = sorted(v[0] for k, v in t.items() if k[0] == ref and v[0])
        if cpus:
            by.setdefault(('(absolute)', 0, ref), []).append((cpus[len(cpus) // 2], None))
    for (server, conns, ref), vals in sorted(by.items()):
        meds = [v[0] for v in vals if v[0] is not None]
        mid = (max(meds) + min(meds)) / 2
        half = (max(meds) - min(meds)) / 2 / mid * 100
        cis = '  '.join('%.3f' % v[0] + ('[%.2f,%.2f]' % (v[1]['lo'], v[1]['hi']) if v[1] else '')
                        for v in vals)
        what = ('%s us/req' % ref) if server == '(absolute)' else '%s/%s' % (server, ref)
        print('%-22s c=%-6d +-%.1f%%  %s' % (what, conns, half, cis))


if __name__ == '__main__':
    if len(sys.argv) < 3 or sys.argv[1] not in ('aa', 'spread'):
        print('usage: compare_summary.py aa|spread DIR...', file=sys.stderr)
        sys.exit(2)
    (aa if sys.argv[1] == 'aa' else spread)(sys.argv[2:])
