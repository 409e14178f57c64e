# SPDX-License-Identifier: LGPL-2.1-or-later
"""Repeats for the benchmarks: every case runs --repeat times and the tables show
min / median / max of the runs, ours next to the baseline measured in the same run,
with the ratio of the medians.

    ap = argparse.ArgumentParser(); repeat.add_argument(ap, default=3)
    ours = repeat.runs(args.repeat, lambda: repeat.timed(work))
    repeat.compare_table('what', 'pic-celld', 'baseline', [('case', ours, base)], repeat.SECONDS)
"""

import statistics
import time


def add_argument(ap, default=3):
    ap.add_argument('--repeat', type=int, default=default, metavar='N',
                    help='runs of each case; tables show min / median / max of them (default %d)' % default)


def runs(n, fn):
    """fn() n times: the list of what it returned."""
    return [fn() for _ in range(n)]


def timed(fn, *args, **kwargs):
    """Seconds fn(*args, **kwargs) took."""
    t0 = time.monotonic()
    fn(*args, **kwargs)
    return time.monotonic() - t0


def median(values):
    return statistics.median(values)


def ratio(ours, base):
    """Median of ours over median of base."""
    return statistics.median(ours) / statistics.median(base)


# (format of one value, scale applied to it): how compare_table and mmm print a list of values
SECONDS = ('%.3f s', 1)
MS = ('%.2f ms', 1000)
MS_1 = ('%.1f ms', 1000)
PER_SECOND = ('%.0f/s', 1)
MBITS = ('%.0f Mbit/s', 1)
PLAIN = ('%.2f', 1)


def mmm(values, unit=SECONDS):
    """'min / median / max' of values (a single value prints alone)."""
    fmt, scale = unit
    v = sorted(values)
    if len(v) == 1:
        return fmt % (v[0] * scale)
    return ' / '.join(fmt % (x * scale) for x in (v[0], statistics.median(v), v[-1]))


def table(headers, rows):
    """A markdown table; rows are sequences of cells (str() applied)."""
    print('| ' + ' | '.join(headers) + ' |')
    print('|' + '---|' * len(headers))
    for row in rows:
        print('| ' + ' | '.join(str(c) for c in row) + ' |')


def compare_table(what, ours_name, base_name, rows, unit=SECONDS, runs_note=True):
    """rows: (label, ours values, baseline values[, unit]); a baseline of None prints no ratio.
    The ratio is ours / baseline, of the medians (n/a when the baseline's is 0)."""
    out = []
    n = None
    for row in rows:
        label, ours, base = row[:3]
        u = row[3] if len(row) > 3 else unit
        n = len(ours)
        r = '%.3g' % ratio(ours, base) if base and median(base) else ('n/a' if base else '')
        out.append((label, mmm(ours, u), mmm(base, u) if base else '', r))
    suffix = ' (%d runs each)' % n if runs_note and n else ''
    table([what + suffix, '%s: min / median / max' % ours_name, '%s: min / median / max' % base_name,
           'ratio (%s / %s, medians)' % (ours_name, base_name)], out)


def pct(values, p):
    """The p-th percentile of values (nearest rank)."""
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
