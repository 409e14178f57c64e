#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the daemon's loop with many peers (issue 7's figures).

One cell, the real polkitd (root is allowed, as on a real system), peers added
one AddPeer at a time up to N (default 10,000):
  - AddPeer p50 over the first 1,000 and the last 1,000 adds (flatness);
  - GetManagedObjects as `busctl call` sees it and as a client that does not
    print it sees it, next to the plainest sd-bus service (tests/bench/
    plain-objects.c) exporting as many objects, once with the peers' property
    signatures and once with one property (the issue's "plain sd-bus service");
  - the daemon's RSS at N peers;
  - p99 of a property Get from another client while 10 logins hash (Argon2id)
    and while Apply moves every peer to another subnet.

Each run (--repeat, default 3) is a fresh cell; the tables show min / median /
max over the runs of each run's figure (and of every sample for the timings
taken several times a run), with ratios of medians.

Usage: bench_loop.py [--peers N] [--repeat R]   (needs root; prints tables)
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
from fresh_fs import durable_writes, put_state_on_fresh_ext4  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
PASSWORD = 'correct horse battery'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


PLAIN = os.path.join(h.build_dir(), 'tests', 'bench', 'plain-objects')
PLAIN_PATH = '/org/pic/Bench'


def busctl_managed_objects(bus, name, path, runs=5):
    """Seconds, each of runs, of `busctl call` printing the whole answer."""
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        p = h.run(['busctl', '--system', 'call', name, path, 'org.freedesktop.DBus.ObjectManager',
                   'GetManagedObjects'], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address), timeout=120)
        times.append(time.monotonic() - t0)
        assert p.returncode == 0 and len(p.stdout) > 100
    return times


def client_managed_objects(bus, name, path, runs=5):
    """Seconds, each of runs, of an sd-bus client that reads the answer and prints nothing."""
    return [float(h.run([PLAIN, 'call', name, path, '1'], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
                        timeout=120).stdout) / 1000 for _ in range(runs)]


def plain_service(world, bus, name, n, kind):
    """Starts plain-objects owning name on bus with n objects."""
    bus.allow_owner(name)
    world.spawn([PLAIN, 'serve', name, str(n), kind], name=name,
                env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
    bus.wait_for_owner(name)


def gets_while(cell, work):
    """Runs work() in a thread; meanwhile Gets the Name property from another connection. Returns latencies."""
    conn = cell.bus.new_connection()
    props = dbus.Interface(conn.get_object(h.CELL_BUS_NAME, h.CELL_PATH, introspect=False),
                           'org.freedesktop.DBus.Properties')
    latencies, done = [], threading.Event()
    errors = []

    def run():
        try:
            work()
        except Exception as e:  # reported below
            errors.append(e)
        done.set()

    t = threading.Thread(target=run)
    t.start()
    while not done.is_set():
        t0 = time.monotonic()
        props.Get(MANAGER, 'Name', timeout=60)
        latencies.append(time.monotonic() - t0)
        time.sleep(0.002)
    t.join()
    conn.close()
    if errors:
        raise errors[0]
    return latencies


def one_run(n):
    """A fresh cell with n peers: one run of every case; returns {case: value or [samples]}."""
    r = {}
    with h.TempWorld(prefix='pic-bench-') as world:
        cell = h.Cell(world=world, polkit='real', extra_args=['--stats-interval=3600', '--log-level=warning'])
        put_state_on_fresh_ext4(world, cell, 'cell-fs')
        cell.start()
        mgr = cell.manager()
        mgr.Setup(sv({'Name': 'bench', 'Domain': 'bench.lan', 'VpnAddress': '10.64.0.1/16',
                      'AdminPassword': PASSWORD}), timeout=60)
        empty = sv({})
        add_times = []
        for i in range(n):
            t0 = time.monotonic()
            mgr.AddPeer('peer%d' % i, empty, timeout=60)
            add_times.append(time.monotonic() - t0)
        first, last = add_times[:1000], add_times[-1000:]
        r['first'], r['last'] = first, last
        r['first50'], r['last50'] = statistics.median(first), statistics.median(last)
        r['first99'], r['last99'] = pct(first, 99) / 1000, pct(last, 99) / 1000
        assert len(h.uapi_get(cell.uapi_socket)['peers']) == n

        # The two waits inside every AddPeer, alone: polkitd's answer and the fsyncs.
        me = cell.bus.connection().get_unique_name()
        polkit_only = []
        for _ in range(1000):
            t0 = time.monotonic()
            h.check_authorization(cell.bus, me, 'org.pic.cell1.manage-peers')
            polkit_only.append(time.monotonic() - t0)
        r['polkit'] = polkit_only
        probe = os.path.join(os.path.dirname(cell.state_dir), 'fsync-probe')
        os.mkdir(probe)
        r['fsync'] = durable_writes(probe, 1000) / 1000

        plain_service(world, cell.bus, 'org.pic.BenchSame', n, 'full')
        plain_service(world, cell.bus, 'org.pic.BenchSmall', n, 'small')
        for key, name, path in (('pic', h.CELL_BUS_NAME, h.CELL_PATH), ('same', 'org.pic.BenchSame', PLAIN_PATH),
                                ('small', 'org.pic.BenchSmall', PLAIN_PATH)):
            r['busctl-' + key] = busctl_managed_objects(cell.bus, name, path)
            r['client-' + key] = client_managed_objects(cell.bus, name, path)
        r['rss'] = rss_kib(cell.pid()) / 1024

        logins = lambda: [threading.Thread(target=lambda: cell.manager().Authenticate('admin', PASSWORD, timeout=60))
                          for _ in range(10)]

        def ten_logins():
            threads = logins()
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        during_logins = gets_while(cell, ten_logins)
        mgr.Configure(sv({'VpnAddress': '10.65.0.1/16'}), timeout=60)
        t0 = time.monotonic()
        during_apply = gets_while(cell, lambda: cell.manager().Apply(timeout=600))
        r['apply'] = time.monotonic() - t0
        assert str(cell.properties(MANAGER)['VpnAddress']) == '10.65.0.1/16'
        for key, lat in (('logins', during_logins), ('applying', during_apply)):
            r[key + '-n'] = len(lat)
            r[key + '-50'], r[key + '-99'], r[key + '-max'] = pct(lat, 50) / 1000, pct(lat, 99) / 1000, max(lat)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    n = args.peers
    h.require_root()

    results = repeat.runs(args.repeat, lambda: one_run(n))
    col = lambda key: [r[key] for r in results]  # noqa: E731
    every = lambda key: [v for r in results for v in r[key]]  # noqa: E731
    MS = repeat.MS
    print()
    print('AddPeer, one call at a time, real polkitd, state on a fresh ext4 (%d runs of %d adds each)' % (
        len(results), n))
    print()
    repeat.compare_table('AddPeer: each run\'s p50 and p99', 'last 1,000 (up to %d peers)' % n, 'first 1,000', [
        ('p50', col('last50'), col('first50'), MS),
        ('p99', col('last99'), col('first99'), MS),
    ])
    print()
    repeat.table(['every single call of all runs', 'min / median / max', 'p99'], [
        ('AddPeer, first 1,000 of each run', repeat.mmm(every('first'), MS), '%.2f ms' % pct(every('first'), 99)),
        ('AddPeer, last 1,000 of each run', repeat.mmm(every('last'), MS), '%.2f ms' % pct(every('last'), 99)),
        ('alone: a polkitd CheckAuthorization (python-dbus client)', repeat.mmm(every('polkit'), MS),
         '%.2f ms' % pct(every('polkit'), 99)),
        ('alone: a durable write (write, fsync, rename, fsync dir), mean of 1,000 per run',
         repeat.mmm(col('fsync'), MS), ''),
    ])
    print()
    repeat.table(['with %d peers, per run' % n, 'min / median / max'], [
        ('pic-celld RSS', repeat.mmm(col('rss'), ('%.1f MB', 1))),
        ('Apply moving every peer', repeat.mmm(col('apply'), ('%.2f s', 1))),
    ])
    print()
    rows = []
    for key, what in (('same', 'plain sd-bus, same 14 properties'), ('small', 'plain sd-bus, 1 property')):
        for how, label in (('busctl', '`busctl call`'), ('client', 'a client reading, not printing')):
            rows.append(('%s: %s' % (label, what), every(how + '-pic'), every(how + '-' + key), MS_0))
    repeat.compare_table('GetManagedObjects, %d objects, 5 calls a run (baseline: the same objects from)' % n,
                         'pic-celld', 'baseline', rows, runs_note=False)
    print()
    repeat.table(['property Get from another client, each run\'s figure', 'Gets per run', 'p50', 'p99', 'max'], [
        ('while 10 logins hash', repeat.mmm(col('logins-n'), ('%d', 1)), repeat.mmm(col('logins-50'), MS),
         repeat.mmm(col('logins-99'), MS), repeat.mmm(col('logins-max'), MS_1)),
        ('while Apply moves %d peers' % n, repeat.mmm(col('applying-n'), ('%d', 1)),
         repeat.mmm(col('applying-50'), MS), repeat.mmm(col('applying-99'), MS),
         repeat.mmm(col('applying-max'), MS_1)),
    ])
    print('\n(cells with three values are min / median / max over the runs)')


MS_0 = ('%.0f ms', 1000)
MS_1 = ('%.1f ms', 1000)


if __name__ == '__main__':
    main()
